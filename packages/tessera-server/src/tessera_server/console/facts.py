"""Geometry of the facts page: each fact's valid-time and known-time spans as bars on one
shared time axis, drawn as SVG (attributes, not inline styles, so the strict CSP holds)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from ..engine.clock import utcnow
from ..engine.records import FactRecord

WIDTH = 1000.0


class Bar(NamedTuple):
    x: float
    width: float
    open_ended: bool


class FactRow(NamedTuple):
    fact: FactRecord
    valid: Bar
    known: Bar
    current: bool


class Axis(NamedTuple):
    start: datetime
    end: datetime
    marks: list[tuple[str, float]]


class Timelines(NamedTuple):
    rows: list[FactRow]
    axis: Axis | None


def timelines(
    facts: list[FactRecord], as_of: datetime | None, known_as_of: datetime | None
) -> Timelines:
    """Rows for the facts on an axis from the earliest time any of them names to now (or
    the latest vantage asked for), with the vantage lines' positions."""
    if not facts:
        return Timelines([], None)
    now = utcnow()
    times = [now]
    for fact in facts:
        times += [fact.t_valid, fact.t_created]
        times += [t for t in (fact.t_invalid, fact.t_expired) if t is not None]
    times += [t for t in (as_of, known_as_of) if t is not None]
    start, end = min(times), max(times)
    # A little room after the last moment, so that a span begun just now still shows.
    end += (end - start) * 0.03
    span = max((end - start).total_seconds(), 1.0)

    def at(moment: datetime) -> float:
        return round((moment - start).total_seconds() / span * WIDTH, 2)

    def bar(begin: datetime, finish: datetime | None) -> Bar:
        left = at(begin)
        right = at(finish or end)
        return Bar(left, max(right - left, 6.0), finish is None)

    rows = [
        FactRow(
            fact,
            bar(fact.t_valid, fact.t_invalid),
            bar(fact.t_created, fact.t_expired),
            fact.t_invalid is None and fact.t_expired is None,
        )
        for fact in facts
    ]
    marks = [(name, at(t)) for name, t in (("as_of", as_of), ("known_as_of", known_as_of)) if t]
    return Timelines(rows, Axis(start, end, marks))
