"""Foresight: plans, deadlines and temporary states a sentence states, with their due dates
resolved against the turn's time (`dates.py`)."""

from __future__ import annotations

import re
from datetime import datetime

from .. import ExtractedForesight, TurnView
from ..dates import DateMention, direction, find_dates, foresight_expiry
from .rules import ADVERBS
from .text import declarative_parts, window

# An intention of the speaker's own: "I"/"we" (or no subject, "Gonna try …"), then an
# intention marker. A bare "will" counts only with a date (`_dated_event`): undated, in
# chat it is mostly a courtesy ("I'll keep you posted") or a prediction.
_PLAN = re.compile(
    r"(?:\b(?:I|we)\s+|^\s*(?=(?:going|planning|hoping|need|have|want)\s+to\s+"
    r"(?!(?:the|a|an|my|our|your|his|her|their|this|that|some|community|church|school|work|"
    r"events?|meetings?|classes|concerts?)\b)))"
    r"(?:(?:definitely|really|probably|also|just|still|totally|finally|actually|soon)\s+)*"
    r"(?:(?:am|are)\s+going\s+to|going\s+to|"
    r"(?:am|are)?\s*plan(?:s|ning)?\s+(?:to|on)|intend(?:s|ing)?\s+to|"
    r"(?:am|are)?\s*hop(?:e|ing)\s+to|want\s+to|would\s+(?:like|love)\s+to|"
    r"have\s+to|need\s+to|(?:am|are)\s+about\s+to|"
    r"(?:am|are)\s+(?:thinking\s+(?:of|about)|looking\s+forward\s+to|"
    r"excited\s+(?:for|about)|scheduled|booked|signed\s+up)|have\s+(?:booked|"
    r"scheduled|signed\s+up))\b"
    r"(?P<rest>.*)",
    re.IGNORECASE,
)
# What an undated "I'll …" usually is in chat: a courtesy or a prediction, not a plan.
_NOT_AN_ACTION = re.compile(
    r"\s*(?:(?:definitely|really|probably|also|just|still|totally|always|never|sure|"
    r"certainly|surely)\s+)*(?:keep|let|make\s+sure|make\s+it|be|never|always|try|see|say|"
    r"think|bet|miss|remember|tell|update|check|look|figure|do\s+my\s+best|love|hope|need|"
    r"consider|stay|continue|get\s+back|send|share|show|talk|chat|catch\s+up|ask|admit|"
    r"agree|give\s+it|forget|find\s+out|work\s+on\s+it|pay\s+off|help|take\s+care|enjoy|"
    r"appreciate|treasure|cherish|hear|read\s+more|know|learn\s+more|have\s+(?:a|so|fun)|"
    r"go(?!\s+(?:to|on|for|back|see|visit|and|get|pick))|what|it|this|that|you|the\s+future)\b",
    re.IGNORECASE,
)
_NOT_A_PLAN = re.compile(
    r"\b(?:not\s+going\s+to|will\s+not|(?:am|is|are)\s+not\s+\w+ing|cancel(?:l)?ed|"
    r"called\s+off|postponed|no\s+longer|not\s+anymore|maybe|might|perhaps|possibly|"
    r"who\s+knows|not\s+sure|if|unless|in\s+case|would\s+have|could\s+have|should\s+have|"
    r"would\s+be|used\s+to|wanted\s+to)\b",
    re.IGNORECASE,
)
_DEADLINE = re.compile(
    r"\b(?:due(?!\s+to\b)|deadline|clos(?:es|ing)|expires?|hand\s+in|turn\s+in|submit|"
    r"no\s+later\s+than|(?:finish|complete|send|file|pay|return|deliver)\b[^.?!]*\bby)\b",
    re.IGNORECASE,
)
_STATE = (
    r"(?:sick|ill|unwell|down\s+with|home\s+sick|in\s+(?:the\s+)?hospital|in\s+a\s+cast|"
    r"on\s+crutches|recovering|injured|pregnant|on\s+(?:vacation|holiday|leave|a\s+trip|"
    r"sabbatical|a\s+break|maternity\s+leave|paternity\s+leave|sick\s+leave|medical\s+leave|"
    r"a\s+diet|a\s+cleanse|antibiotics|call|jury\s+duty|the\s+road)|out\s+of\s+(?:town|"
    r"office|the\s+office|the\s+country)|off\s+work|away|travel(?:l)?ing|staying\s+(?:at|with|"
    r"in)|visiting|busy|swamped|slammed|stressed|exhausted|burn(?:ed|t)\s+out|fasting|"
    r"working\s+from\s+home|working\s+remotely|quarantining|isolating|self-isolating|"
    r"between\s+jobs|house-?sitting|dog-?sitting|snowed\s+in|stuck\s+(?:in|at))\b"
)
_TEMPORARY = re.compile(
    rf"(?:(?<!\byou\s)\b(?:am|is|are|'s)\s+|^\s*(?:currently|still|temporarily)\s+){ADVERBS}{_STATE}",
    re.IGNORECASE,
)
_UNTIL = re.compile(
    r"(?:until|till|til|through|thru|to|back\s+on|back\s+by|back|ends?\s+on|ending)\s*$",
    re.IGNORECASE,
)
_PROGRESSIVE = re.compile(r"\b(?:am|is|are|'s)\s+\w+ing\b", re.IGNORECASE)
_RECURRING = re.compile(r"\b(?:birthday|anniversary|name\s+day)\b", re.IGNORECASE)
_EXPLICIT_FUTURE = re.compile(
    r"^(?:tomorrow|the\s+day\s+after|next|coming|in\s|within|.*\bfrom\s+now)",
    re.IGNORECASE,
)


def foresight(turn: TurnView, speaker: str, raw: str, sentence: str) -> list[ExtractedForesight]:
    """The plan, deadline or temporary state a sentence states, if any."""
    text = " ".join(declarative_parts(sentence))
    if not text or _NOT_A_PLAN.search(text):
        return []
    said = turn.event_time
    if _DEADLINE.search(text):
        kind = "deadline"
    elif _TEMPORARY.search(text):
        kind = "temporary_state"
    elif _dated_event(text, said) or _intention(text):
        kind = "plan"
    else:
        return []
    mentions = _future(find_dates(text, said, prefer="future"), said)
    ends = [m for m in mentions if _UNTIL.search(window(text, m.start, 30))]
    durations = [m for m in mentions if m.granularity == "duration"]
    points = [m for m in mentions if m not in ends and m not in durations]
    due: datetime | None = None
    last_day: datetime | None = None
    starts_later = (
        points
        and not ends
        and not durations
        and not any(m.until for m in points)
        and points[0].when.date() > said.date()
    )
    if kind == "temporary_state" and starts_later:
        kind = "plan"  # "my sister is visiting on Friday": it starts later
    if kind == "temporary_state":
        # It lasts until the stated end, for the stated time, or to the end of a period.
        if ends:
            due = ends[-1].when
        elif durations:
            due = durations[0].when
        elif points:
            due = points[0].last_day
        last_day = due
    elif points or ends:
        first = (points or ends)[0]
        due = first.when if first.when.date() >= said.date() else said
        last_day = first.last_day
    expires = foresight_expiry(kind, said, last_day)
    content = f"{speaker}: {raw}"
    return [ExtractedForesight(kind, content, turn.index, due, expires)]


def _intention(text: str) -> bool:
    """An undated plan: "I want to learn the cello", not "I'll keep you posted"."""
    return any(not _NOT_AN_ACTION.match(m.group("rest")) for m in _PLAN.finditer(text))


def _dated_event(text: str, said: datetime) -> bool:
    """A future event mentioned in passing: "my flight leaves next Tuesday"."""
    mentions = [
        m
        for m in _future(find_dates(text, said, prefer="auto"), said)
        if m.granularity != "duration"
        # "parks are lovely in spring" is habitual; "this spring" is a time
        and not (m.granularity == "season" and re.match(r"(?:in|over|during)\b", m.phrase, re.I))
    ]
    if not mentions:
        return False
    explicit = bool(_EXPLICIT_FUTURE.match(mentions[0].phrase))
    if _RECURRING.search(text) and not explicit:
        return False  # "Caroline's birthday is July 12" is a fact, not a plan
    same_day = mentions[0].when.date() == said.date()
    if same_day and not (_PROGRESSIVE.search(text) or _PLAN.search(text)):
        return False  # "here's my example for today"
    return explicit or direction(text) >= 0


def _future(mentions: list[DateMention], said: datetime) -> list[DateMention]:
    today = said.date()
    return [m for m in mentions if m.last_day.astimezone(said.tzinfo).date() >= today]


def foresight_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
