"""Reading dates in conversational text, relative to when a turn was said.

"Yesterday" in a turn from 8 May 2023 means 7 May 2023; episodes keep the resolved date
beside the phrase so that a later reader (or a search for "May 2023") can place it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS.pop("may", None)
_MONTHS["may"] = 5
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUM_RE = r"\d+|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
_UNIT_RE = r"days?|weeks?|months?|years?"
_WEEKDAY_RE = "|".join(_WEEKDAYS)

PATTERN = re.compile(
    rf"""\b(?:
        (?P<simple>today|tonight|yesterday|tomorrow|last\s+night|this\s+morning)
      | (?P<rel>last|next|this|past)\s+(?P<relunit>week(?:end)?|month|year|summer|winter|spring|fall)
      | (?P<num>{_NUM_RE})\s+(?P<unit>{_UNIT_RE})\s+(?P<dir>ago|from\s+now|later)
      | in\s+(?P<innum>{_NUM_RE})\s+(?P<inunit>{_UNIT_RE})
      | (?P<wdrel>last|next|this|on)\s+(?P<wd>{_WEEKDAY_RE})
      | (?P<iso>\d{{4}}-\d{{2}}-\d{{2}})
      | (?P<m1>{_MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?
      | (?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH_RE})(?:,?\s+(?P<y2>\d{{4}}))?
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    phrase: str
    when: datetime
    granularity: str  # day | week | month | year | season
    relative: bool


def _shift(anchor: datetime, amount: int, unit: str) -> tuple[datetime, str]:
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return anchor + timedelta(days=amount), "day"
    if unit == "week":
        return anchor + timedelta(weeks=amount), "week"
    if unit == "month":
        month0 = anchor.month - 1 + amount
        year = anchor.year + month0 // 12
        month = month0 % 12 + 1
        day = min(anchor.day, calendar.monthrange(year, month)[1])
        return anchor.replace(year=year, month=month, day=day), "month"
    return anchor.replace(year=anchor.year + amount, day=min(anchor.day, 28)), "year"


def _number(text: str) -> int:
    text = text.lower()
    return int(text) if text.isdigit() else _NUMBERS.get(text, 1)


def _safe_date(anchor: datetime, year: int, month: int, day: int) -> datetime | None:
    try:
        return anchor.replace(year=year, month=month, day=day)
    except ValueError:
        return None


def _resolve(m: re.Match[str], anchor: datetime) -> tuple[datetime, str, bool] | None:
    g = m.groupdict()
    if g["simple"]:
        word = g["simple"].lower()
        if word == "yesterday" or word.startswith("last"):
            return anchor - timedelta(days=1), "day", True
        if word == "tomorrow":
            return anchor + timedelta(days=1), "day", True
        return anchor, "day", True
    if g["rel"]:
        rel, unit = g["rel"].lower(), g["relunit"].lower()
        sign = {"last": -1, "past": -1, "next": 1, "this": 0}[rel]
        if unit == "weekend":
            days_to_sat = (5 - anchor.weekday()) % 7
            base = anchor + timedelta(days=days_to_sat)
            return (
                base
                + timedelta(weeks=sign if sign else 0)
                - (timedelta(weeks=1) if sign < 0 and days_to_sat == 0 else timedelta()),
                "day",
                True,
            )
        if unit in ("summer", "winter", "spring", "fall"):
            return anchor.replace(year=anchor.year + min(sign, 0) + max(sign, 0)), "season", True
        when, gran = _shift(anchor, sign, unit)
        return when, gran, True
    if g["num"]:
        amount = _number(g["num"])
        sign = -1 if g["dir"].lower() == "ago" else 1
        when, gran = _shift(anchor, sign * amount, g["unit"])
        return when, gran, True
    if g["innum"]:
        when, gran = _shift(anchor, _number(g["innum"]), g["inunit"])
        return when, gran, True
    if g["wd"]:
        target = _WEEKDAYS[g["wd"].lower()]
        rel = g["wdrel"].lower()
        delta = target - anchor.weekday()
        if rel == "last":
            delta = delta - 7 if delta >= 0 else delta
        elif rel == "next":
            delta = delta + 7 if delta <= 0 else delta
        elif rel == "on":
            # "on Friday" said on a Wednesday usually means the coming Friday.
            delta = delta if delta >= 0 else delta + 7
        return anchor + timedelta(days=delta), "day", True
    if g["iso"]:
        year, month, day = (int(x) for x in g["iso"].split("-"))
        found = _safe_date(anchor, year, month, day)
        return (found, "day", False) if found else None
    month_s, day_s, year_s = (g["m1"], g["d1"], g["y1"]) if g["m1"] else (g["m2"], g["d2"], g["y2"])
    month = _MONTHS[month_s.lower().rstrip(".")]
    year = int(year_s) if year_s else anchor.year
    found = _safe_date(anchor, year, month, int(day_s))
    return (found, "day", False) if found else None


def later(when: datetime, days: float) -> datetime:
    """`when` plus some days, saturating at the end of the calendar instead of overflowing."""
    try:
        return when + timedelta(days=days)
    except OverflowError:
        return datetime.max.replace(tzinfo=when.tzinfo)


def find_dates(text: str, anchor: datetime) -> list[DateMention]:
    """Every date expression in `text`, resolved against `anchor`.

    A phrase that resolves outside the calendar ("in 99999 years", "1e9 days ago", or
    "yesterday" said on 1 January of year 1) is not a date and is skipped.
    """
    found = []
    for m in PATTERN.finditer(text):
        try:
            resolved = _resolve(m, anchor)
        except (ValueError, OverflowError):
            continue
        if resolved is None:
            continue
        when, gran, relative = resolved
        found.append(DateMention(m.start(), m.end(), m.group(0), when, gran, relative))
    return found


def describe(when: datetime, granularity: str) -> str:
    if granularity == "month":
        return when.strftime("%B %Y")
    if granularity == "year":
        return when.strftime("%Y")
    if granularity == "season":
        return when.strftime("%Y")
    if granularity == "week":
        return "week of " + when.strftime("%-d %B %Y")
    return when.strftime("%-d %B %Y")


def annotate(text: str, anchor: datetime) -> str:
    """The text with each relative date followed by its resolution in brackets."""
    out: list[str] = []
    pos = 0
    for mention in find_dates(text, anchor):
        if not mention.relative:
            continue
        out.append(text[pos : mention.end])
        out.append(f" [{describe(mention.when, mention.granularity)}]")
        pos = mention.end
    out.append(text[pos:])
    return "".join(out)
