"""Reading dates in conversational text, relative to when a turn was said.

"Yesterday" in a turn from 8 May 2023 means 7 May 2023; episodes keep the resolved date
beside the phrase so that a later reader (or a search for "May 2023") can place it.

Conventions (the labelled set in `bench/extraction/` follows them):

- "next week" / "next month" / "next year" is the same day one unit later; "this week" is
  the turn's own week (Monday to Sunday), "the end of the week" its Sunday.
- "next Friday" is the Friday of the following calendar week; "on Friday", "this Friday",
  "by Friday" or a bare "Friday" is the nearest Friday in the direction the sentence points
  (after today for future talk, before today for past talk); "last Friday" the one before.
- "on the 5th" is the nearest 5th in that direction; "in June" the nearest June.
- Seasons are meteorological (spring from 1 March, summer from 1 June, fall from 1 September,
  winter from 1 December); "last summer" is the last summer that has ended, "next summer" the
  first one that has not started, "this summer" the one of the turn's year.
- Month-day dates without a year ("June 30") stay in the turn's year unless a direction is
  asked for (`prefer`), so a question about "May 7" matches the turn's May.

The direction of a sentence is read from its tense: past forms ("went", "was", "-ed", "ago")
point back, future forms ("will", "going to", "next", "until", a present progressive) and
plain present ("my flight leaves Friday") point forward.
"""

from __future__ import annotations

import bisect
import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 3,
}  # fmt: skip
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_SEASON_NAMES = {3: "spring", 6: "summer", 9: "fall", 12: "winter"}

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_FULL_MONTH_RE = "|".join(name for name in calendar.month_name if name) + "|Sept"
_NUM_RE = r"\d+|" + "|".join(
    n.replace(" ", r"\s+") for n in sorted(_NUMBERS, key=len, reverse=True)
)
_UNIT_RE = r"days?|weeks?|months?|years?"
_WEEKDAY_RE = "|".join(_WEEKDAYS)
_HOLIDAY_RE = (
    r"christmas\s+eve|christmas(?:\s+day)?|boxing\s+day|new\s+year'?s?\s+eve|"
    r"new\s+year'?s?(?:\s+day)?|halloween|valentine'?s(?:\s+day)?"
)

PATTERN = re.compile(
    rf"""\b(?:
        (?P<dayafter>the\s+day\s+(?:after\s+tomorrow|before\s+yesterday))
      | (?P<endof>(?:the\s+)?end\s+of\s+(?:the\s+|this\s+|next\s+|last\s+)?(?:week|month|year))\b
      | (?P<simple>today|tonight|yesterday|tomorrow|last\s+night|
                   this\s+(?:morning|afternoon|evening))
      | (?P<rel>last|next|this|past|coming)\s+
        (?P<relunit>week(?:end)?|month|year|summer|winter|spring|fall|autumn)
      | (?P<num>{_NUM_RE})\s+(?P<unit>{_UNIT_RE})\s+(?P<dir>ago|from\s+now|later|earlier)
      | (?:in|within)\s+(?P<innum>{_NUM_RE})\s+(?P<inunit>{_UNIT_RE})
      | (?:for|over|during|in|within)\s+(?:the\s+)?
        (?P<drel>next|coming|past|last|another|following)?\s*
        (?P<dnum>{_NUM_RE})\s+(?P<dunit>{_UNIT_RE})
      | (?:(?P<srel>in|over|during)\s+the\s+|(?P<srel2>in|over|during)\s+)
        (?P<season>summer|winter|spring|fall|autumn)
      | (?P<wdrel>last|next|this|on|by|until|till|through|before|after|from|coming)\s+
        (?P<wd>{_WEEKDAY_RE})(?!s)
      | (?P<wdbare>{_WEEKDAY_RE})(?!s)
      | (?:(?P<hrel>this|next|last)\s+)?(?P<hol>{_HOLIDAY_RE})
      | (?P<iso>\d{{4}}-\d{{2}}-\d{{2}})
      | (?P<m1>{_MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(?P<y1>\d{{4}}))?
      | (?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH_RE})(?:,?\s+(?P<y2>\d{{4}}))?
      | the\s+(?P<dom>\d{{1,2}})(?:st|nd|rd|th)(?!\s+(?:of\s+)?(?:{_MONTH_RE})\b)
      | (?:(?P<mrel>this|next|last|early|mid|late|(?:the\s+)?end\s+of)[\s-]+)?
        (?-i:(?P<mon>{_FULL_MONTH_RE}))(?:\s+(?P<monyear>\d{{4}}))?
        (?!\s*\d)(?!\s+(?:I|we|you|he|she|it|they|be)\b)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)

_PAST_HINT = re.compile(
    r"\b(?:was|were|did|had|went|came|saw|met|took|made|gave|left|said|told|ate|drank|ran|"
    r"bought|found|began|became|felt|thought|spent|stayed|visited|started|finished|moved|"
    r"arrived|returned|happened|ago|yesterday|last|used\s+to|got\s+back)\b|"
    r"\b(?:I|we|he|she|they|you|it)\s+(?:just\s+|finally\s+|already\s+)?"
    r"(?!(?:need|feed|seed|speed|bleed|breed|proceed|succeed|exceed|shed|wed|embed)\b)[a-z]+ed\b",
    re.IGNORECASE,
)
_FUTURE_HINT = re.compile(
    r"\b(?:will|shall|going\s+to|gonna|'ll|plan|plans|planning|next|tomorrow|upcoming|due|"
    r"let's|let\s+us|lets|how\s+about|remind\s+me|see\s+you|can\s+we|could\s+we|"
    r"should\s+we|why\s+don't\s+we|"
    r"until|till|by|deadline|soon|want\s+to|need\s+to|have\s+to|hope\s+to|hoping\s+to|"
    r"can't\s+wait|looking\s+forward|leaving|leaves|starts?|begins?|closes?)\b|"
    r"\b(?:am|is|are|'m|'re|'s)\s+[a-z]+ing\b",
    re.IGNORECASE,
)
_FORWARD = ("by", "until", "till", "through", "before", "after", "from", "coming")
_CLAUSE_END = re.compile(r"[.!?;]")


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    phrase: str
    when: datetime
    granularity: str  # day | week | month | year | season | duration
    relative: bool
    # The last day the phrase covers ("this week" → its Sunday); None when it is one day.
    until: datetime | None = None

    @property
    def last_day(self) -> datetime:
        return self.until or self.when


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
    day = min(anchor.day, calendar.monthrange(anchor.year + amount, anchor.month)[1])
    return anchor.replace(year=anchor.year + amount, day=day), "year"


def _number(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else _NUMBERS.get(text, 1)


def _safe_date(anchor: datetime, year: int, month: int, day: int) -> datetime | None:
    try:
        return anchor.replace(year=year, month=month, day=day)
    except ValueError:
        return None


def _week_end(day: datetime) -> datetime:
    return day + timedelta(days=6 - day.weekday())


def _month_end(day: datetime) -> datetime:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _year_end(day: datetime) -> datetime:
    return day.replace(month=12, day=31)


def _season(anchor: datetime, year: int, month: int) -> tuple[datetime, datetime]:
    start = anchor.replace(year=year, month=month, day=1)
    end, _ = _shift(start, 3, "month")
    return start, end - timedelta(days=1)


def direction(text: str) -> int:
    """+1 when a sentence talks about the future, -1 about the past, 0 when it can't tell."""
    text = re.sub(r"\b(?:have|'ve|has|'s)\s+got\b", "have", text, flags=re.IGNORECASE)
    past = len(_PAST_HINT.findall(text))
    future = len(_FUTURE_HINT.findall(text))
    return (future > past) - (past > future)


def _holiday(phrase: str) -> tuple[int, int]:
    text = re.sub(r"[\s'\u2019]+", " ", phrase.lower())
    if text.startswith("christmas eve"):
        return 12, 24
    if text.startswith("christmas"):
        return 12, 25
    if text.startswith("boxing"):
        return 12, 26
    if text.startswith("new year"):
        return (12, 31) if text.endswith("eve") else (1, 1)
    if text.startswith("halloween"):
        return 10, 31
    return 2, 14  # valentine's


def _nearest_day_of_month(anchor: datetime, dom: int, sign: int) -> datetime | None:
    """The `dom`-th of a month: after today (sign > 0), before (sign < 0), else nearest."""
    candidates = []
    for offset in range(-13, 14):
        month0 = anchor.month - 1 + offset
        year, month = anchor.year + month0 // 12, month0 % 12 + 1
        found = _safe_date(anchor, year, month, dom)
        if found is not None:
            candidates.append(found)
    today = anchor.date()
    after = [c for c in candidates if c.date() > today]
    before = [c for c in candidates if c.date() < today]
    if sign > 0:
        return after[0] if after else None
    if sign < 0:
        return before[-1] if before else None
    same = [c for c in candidates if c.date() == today]
    if same:
        return same[0]
    # The nearer of the next and the previous one; a tie goes to the next.
    options = after[:1] + before[-1:]
    return min(options, key=lambda c: (abs((c.date() - today).days), c < anchor), default=None)


def _in_direction(anchor: datetime, month: int, day: int, sign: int) -> datetime | None:
    """`month`/`day` in the turn's year, moved a year forward or back to follow `sign`."""
    found = _safe_date(anchor, anchor.year, month, day)
    if found is None:
        return None
    if sign > 0 and found.date() < anchor.date():
        return _safe_date(anchor, anchor.year + 1, month, day)
    if sign < 0 and found.date() > anchor.date():
        return _safe_date(anchor, anchor.year - 1, month, day)
    return found


Resolved = tuple[datetime, str, bool, datetime | None]


def _resolve(m: re.Match[str], anchor: datetime, sign: int, strict: bool) -> Resolved | None:
    """(when, granularity, relative, until) of one match; `sign` is the sentence direction.

    `strict` says the caller asked for a direction, which then also applies to month-day
    dates without a year.
    """
    g = m.groupdict()
    if g["dayafter"]:
        days = 2 if "after" in g["dayafter"].lower() else -2
        return anchor + timedelta(days=days), "day", True, None
    if g["endof"]:
        return _resolve_end_of(anchor, g["endof"].lower(), sign), "day", True, None
    if g["simple"]:
        word = g["simple"].lower()
        if word == "yesterday" or word.startswith("last"):
            return anchor - timedelta(days=1), "day", True, None
        if word == "tomorrow":
            return anchor + timedelta(days=1), "day", True, None
        return anchor, "day", True, None
    if g["rel"]:
        rel, unit = g["rel"].lower(), g["relunit"].lower()
        step = {"last": -1, "past": -1, "next": 1, "coming": 1, "this": 0}[rel]
        if unit == "weekend":
            saturday = anchor + timedelta(days=(5 - anchor.weekday()) % 7)
            if anchor.weekday() == 6:  # on a Sunday, "this weekend" is the one under way
                saturday = anchor - timedelta(days=1)
            if rel == "coming":
                step = 0
            elif rel == "this" and sign < 0 and saturday.date() > anchor.date():
                step = -1  # "we went hiking this weekend", said on a Monday: the one just past
            saturday += timedelta(weeks=step)
            return saturday, "day", True, saturday + timedelta(days=1)
        if unit in _SEASONS:
            return _resolve_season(anchor, _SEASONS[unit], rel)
        when, gran = _shift(anchor, step, unit)
        if unit == "week":
            return when, gran, True, _week_end(when)
        if unit == "month":
            return when, gran, True, _month_end(when)
        return when, gran, True, _year_end(when)
    if g["num"]:
        amount = _number(g["num"])
        back = g["dir"].lower() in ("ago", "earlier")
        when, gran = _shift(anchor, -amount if back else amount, g["unit"])
        return when, gran, True, None
    if g["innum"]:
        when, gran = _shift(anchor, _number(g["innum"]), g["inunit"])
        return when, gran, True, None
    if g["dnum"]:
        rel = (g["drel"] or "").lower()
        back = rel in ("past", "last") or (not rel and sign < 0)
        amount = _number(g["dnum"])
        when, _ = _shift(anchor, -amount if back else amount, g["dunit"])
        return when, "duration", True, None
    if g["season"]:
        rel = {1: "upcoming", -1: "latest"}.get(sign, "this")
        return _resolve_season(anchor, _SEASONS[g["season"].lower()], rel)
    if g["wd"] or g["wdbare"]:
        target = _WEEKDAYS[(g["wd"] or g["wdbare"]).lower()]
        rel = (g["wdrel"] or "").lower()
        delta = target - anchor.weekday()
        if rel == "next":
            # The weekday of the following calendar week (Monday to Sunday).
            delta = (7 - anchor.weekday()) + target
        elif rel == "last" or (rel in ("on", "", "this") and sign < 0):
            delta = delta - 7 if delta >= 0 else delta
        elif rel in _FORWARD or (rel in ("on", "") and sign > 0):
            delta = delta + 7 if delta <= 0 else delta
        else:  # "this Friday", or "on Friday" with no tense to go by: the coming one
            delta = delta if delta >= 0 else delta + 7
        return anchor + timedelta(days=delta), "day", True, None
    if g["hol"]:
        month, day = _holiday(g["hol"])
        hrel = (g["hrel"] or "").lower()
        hsign = {"next": 1, "this": 1, "last": -1}.get(hrel, sign)
        found = _in_direction(anchor, month, day, hsign)
        if found is not None and hrel == "next" and found.date() == anchor.date():
            found = _safe_date(anchor, anchor.year + 1, month, day)
        return (found, "day", True, None) if found else None
    if g["iso"]:
        year, month, day = (int(x) for x in g["iso"].split("-"))
        found = _safe_date(anchor, year, month, day)
        return (found, "day", False, None) if found else None
    if g["dom"]:
        found = _nearest_day_of_month(anchor, int(g["dom"]), sign)
        return (found, "day", True, None) if found else None
    if g["mon"]:
        return _resolve_month(anchor, g, sign)
    month_s, day_s, year_s = (g["m1"], g["d1"], g["y1"]) if g["m1"] else (g["m2"], g["d2"], g["y2"])
    month = _MONTHS[month_s.lower().rstrip(".")]
    if year_s:
        found = _safe_date(anchor, int(year_s), month, int(day_s))
    elif strict:
        found = _in_direction(anchor, month, int(day_s), sign)
    else:
        found = _safe_date(anchor, anchor.year, month, int(day_s))
    return (found, "day", False, None) if found else None


def _resolve_end_of(anchor: datetime, text: str, sign: int) -> datetime:
    """The last day of a week, month or year. "Next"/"last" name the unit; a bare "the end
    of the month" is this one's, unless the sentence reports the past and this one's end is
    still to come (said on 3 December, "we shipped it at the end of the month" means
    30 November)."""
    unit = text.split()[-1]
    ends = {"week": _week_end, "month": _month_end, "year": _year_end}[unit]
    step = 1 if " next " in f" {text} " else -1 if " last " in f" {text} " else 0
    end = ends(_shift(anchor, step, unit)[0])
    if step == 0 and " this " not in f" {text} " and sign < 0 and end.date() > anchor.date():
        end = ends(_shift(anchor, -1, unit)[0])
    return end


def _resolve_season(anchor: datetime, month: int, rel: str) -> Resolved:
    """A season's first day and last day. `rel`: last | this | next | upcoming | latest."""
    seasons = [_season(anchor, anchor.year + k, month) for k in (-2, -1, 0, 1)]
    today = anchor.date()
    if rel in ("last", "past"):
        start, end = [s for s in seasons if s[1].date() < today][-1]
    elif rel in ("next", "coming"):
        start, end = next(s for s in seasons if s[0].date() > today)
    elif rel == "upcoming":  # "in the summer" said of the future: the current or next one
        start, end = next(s for s in seasons if s[1].date() >= today)
    elif rel == "latest":  # "in the summer" said of the past: the current or last one
        start, end = [s for s in seasons if s[0].date() <= today][-1]
    else:  # "this": the one of the turn's year (winter: the one that began in December)
        year = anchor.year - 1 if month == 12 and anchor.month < 3 else anchor.year
        start, end = _season(anchor, year, month)
    return start, "season", True, end


def _resolve_month(anchor: datetime, g: dict[str, str | None], sign: int) -> Resolved | None:
    name = (g["mon"] or "").lower()
    month = _MONTHS[name]
    rel = " ".join((g["mrel"] or "").lower().split())
    if g["monyear"]:
        year = int(g["monyear"])
    elif rel == "next":
        year = anchor.year if month > anchor.month else anchor.year + 1
    elif rel == "last":
        year = anchor.year if month < anchor.month else anchor.year - 1
    elif rel == "this" or sign == 0:
        year = anchor.year
    elif sign > 0:
        year = anchor.year if month >= anchor.month else anchor.year + 1
    else:
        year = anchor.year if month <= anchor.month else anchor.year - 1
    first = _safe_date(anchor, year, month, 1)
    if first is None:
        return None
    last = _month_end(first)
    day = {"mid": 15, "late": 20}.get(rel, 1)
    if rel.endswith("end of"):
        return last, "day", not g["monyear"], None
    return first.replace(day=day), "month", not g["monyear"], last


def later(when: datetime, days: float) -> datetime:
    """`when` plus some days, saturating at the end of the calendar instead of overflowing."""
    try:
        return when + timedelta(days=days)
    except OverflowError:
        return datetime.max.replace(tzinfo=when.tzinfo)


def find_dates(text: str, anchor: datetime, prefer: str | None = None) -> list[DateMention]:
    """Every date expression in `text`, resolved against `anchor`.

    `prefer` = "future" or "past" resolves ambiguous phrases (a weekday, "the 5th", "June",
    "June 30") in that direction; "auto" reads the direction from each sentence's tense and
    applies it to all of them; None (the default) reads it from the tense too, but leaves
    month-day dates without a year in the turn's year.

    A phrase that resolves outside the calendar ("in 99999 years", "1e9 days ago", or
    "yesterday" said on 1 January of year 1) is not a date and is skipped.
    """
    forced = {"future": 1, "past": -1}.get(prefer or "")
    found = []
    bounds = [c.end() for c in _CLAUSE_END.finditer(text)]
    signs: dict[tuple[int, int], int] = {}
    for m in PATTERN.finditer(text):
        if forced is not None:
            sign = forced
        else:
            # The direction of the sentence the phrase sits in (of a window of it, for a
            # very long one), worked out once per sentence and window.
            i = bisect.bisect_right(bounds, m.start())
            key = (i, m.start() // 256)
            if key not in signs:
                start = bounds[i - 1] if i else 0
                stop = bounds[i] if i < len(bounds) else len(text)
                lo = max(start, key[1] * 256 - 256)
                signs[key] = direction(text[lo : min(stop, lo + 768)])
            sign = signs[key]
        try:
            resolved = _resolve(m, anchor, sign, strict=prefer is not None)
        except (ValueError, OverflowError, StopIteration, IndexError):
            continue
        if resolved is None:
            continue
        when, gran, relative, until = resolved
        found.append(DateMention(m.start(), m.end(), m.group(0), when, gran, relative, until))
    return found


def describe(when: datetime, granularity: str) -> str:
    if granularity == "month":
        return when.strftime("%B %Y")
    if granularity == "year":
        return when.strftime("%Y")
    if granularity == "season":
        return f"{_SEASON_NAMES.get(when.month, 'season')} {when.year}"
    if granularity == "week":
        return "week of " + when.strftime("%-d %B %Y")
    return when.strftime("%-d %B %Y")


def annotate(text: str, anchor: datetime) -> str:
    """The text with each relative date followed by its resolution in brackets."""
    out: list[str] = []
    pos = 0
    for mention in find_dates(text, anchor):
        if not mention.relative or mention.granularity == "duration":
            continue
        out.append(text[pos : mention.end])
        out.append(f" [{describe(mention.when, mention.granularity)}]")
        pos = mention.end
    out.append(text[pos:])
    return "".join(out)


def _period_start(mention: DateMention) -> datetime:
    """The first moment of the period a mention names: a week's Monday, a month's first, a
    year's 1 January for a named period ("last month", "in March"); the day's midnight for
    a point ("two years ago", "on Friday")."""
    when = mention.when.replace(hour=0, minute=0, second=0, microsecond=0)
    if mention.until is None:
        return when
    if mention.granularity == "week":
        return when - timedelta(days=when.weekday())
    if mention.granularity == "month":
        return when.replace(day=1)
    if mention.granularity == "year":
        return when.replace(month=1, day=1)
    return when


def valid_from(text: str, value: str, said_at: datetime) -> datetime:
    """When a stated fact began to hold: the past date said with it, else when it was said.

    "I moved to Lisbon last month", said on 25 November, holds from 1 October: the date is
    read from the sentence that names the value, must point back (the sentence reports the
    past, or the phrase does: "ago", "last …", "for the past two years") and resolves to the
    start of its period. A date in a sentence about the future ("I move to Lisbon next month",
    "my sister is visiting on 14 March") is a plan, not a change of fact, and leaves the fact
    at `said_at`.
    """
    needle = value.strip().lower()
    if not needle:
        return said_at
    starts = [0, *(c.end() for c in _CLAUSE_END.finditer(text))]
    for lo, hi in zip(starts, [*starts[1:], len(text)], strict=True):
        sentence = text[lo:hi]
        if needle not in sentence.lower():
            continue
        pointing = direction(sentence)
        if pointing > 0:
            # A sentence about the future dates a plan, never the fact's start, even when
            # its year-less date ("on 14 March") falls in the turn's year before the turn.
            continue
        back = pointing < 0
        for mention in find_dates(sentence, said_at, prefer="past" if back else None):
            start = _period_start(mention)
            if start < said_at and (back or mention.when < said_at):
                return start
    return said_at


# How long foresight stays live when nothing in the text says when it ends.
PLAN_HORIZON_DAYS = 30
DEADLINE_HORIZON_DAYS = 14
TEMPORARY_STATE_DAYS = 7


def start_of_next_day(when: datetime) -> datetime:
    """Midnight at the start of the day after `when`, in `when`'s own time zone."""
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return later(midnight, 1)


def foresight_expiry(kind: str, said_at: datetime, last_day: datetime | None) -> datetime:
    """When a foresight note stops being relevant.

    With a date (a plan's day, a deadline, the day a temporary state ends; for a period such
    as "in June" its last day) it expires at the start of the following day. Without one,
    a plan expires after `PLAN_HORIZON_DAYS`, a deadline after `DEADLINE_HORIZON_DAYS` and a
    temporary state ("I'm sick") after `TEMPORARY_STATE_DAYS`, counted from when it was said.
    """
    if last_day is not None:
        return start_of_next_day(last_day)
    horizon = {"deadline": DEADLINE_HORIZON_DAYS, "temporary_state": TEMPORARY_STATE_DAYS}
    return later(said_at, horizon.get(kind, PLAN_HORIZON_DAYS))
