"""Relative dates resolved against the turn's time, and when foresight expires."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from tessera_server.engine.extract import TurnView
from tessera_server.engine.extract.dates import (
    DEADLINE_HORIZON_DAYS,
    PLAN_HORIZON_DAYS,
    TEMPORARY_STATE_DAYS,
    annotate,
    direction,
    find_dates,
    foresight_expiry,
    later,
)
from tessera_server.engine.extract.offline import OfflineExtractor, foresight_expired

# Wednesday 8 May 2024, 14:00 UTC.
WED = datetime(2024, 5, 8, 14, 0, tzinfo=timezone.utc)
# Saturday 11 May 2024.
SAT = datetime(2024, 5, 11, 9, 0, tzinfo=timezone.utc)


def first(text: str, anchor: datetime = WED, prefer: str | None = None) -> date:
    mentions = find_dates(text, anchor, prefer=prefer)
    assert mentions, f"no date found in {text!r}"
    return mentions[0].when.date()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday", date(2024, 5, 7)),
        ("last night", date(2024, 5, 7)),
        ("today", date(2024, 5, 8)),
        ("tonight", date(2024, 5, 8)),
        ("tomorrow", date(2024, 5, 9)),
        ("the day after tomorrow", date(2024, 5, 10)),
        ("the day before yesterday", date(2024, 5, 6)),
        ("in two weeks", date(2024, 5, 22)),
        ("in a couple of weeks", date(2024, 5, 22)),
        ("in 3 days", date(2024, 5, 11)),
        ("two days ago", date(2024, 5, 6)),
        ("a month from now", date(2024, 6, 8)),
        ("next week", date(2024, 5, 15)),
        ("next month", date(2024, 6, 8)),
        ("next year", date(2025, 5, 8)),
        ("last week", date(2024, 5, 1)),
        ("this weekend", date(2024, 5, 11)),
        ("next weekend", date(2024, 5, 18)),
        ("by the end of the week", date(2024, 5, 12)),
        ("at the end of the month", date(2024, 5, 31)),
        ("the end of next month", date(2024, 6, 30)),
    ],
)
def test_relative_phrases(text: str, expected: date) -> None:
    assert first(text) == expected


@pytest.mark.parametrize(
    ("text", "anchor", "expected"),
    [
        # "next Friday" is the Friday of the following calendar week ...
        ("next Friday", WED, date(2024, 5, 17)),
        ("next Monday", WED, date(2024, 5, 13)),
        ("next Sunday", SAT, date(2024, 5, 19)),
        # ... "this Friday", "on Friday", "by Friday" the coming one ...
        ("this Friday", WED, date(2024, 5, 10)),
        ("I'm seeing her on Friday", WED, date(2024, 5, 10)),
        ("submit it by Friday", WED, date(2024, 5, 10)),
        ("out of office until Monday", WED, date(2024, 5, 13)),
        # ... said on the day itself, "on Wednesday" in future talk is a week later ...
        ("I'm flying out on Wednesday", WED, date(2024, 5, 15)),
        # ... and past talk points back.
        ("last Friday", WED, date(2024, 5, 3)),
        ("I went to the gym on Monday", WED, date(2024, 5, 6)),
        ("we met on Wednesday", WED, date(2024, 5, 1)),
    ],
)
def test_weekdays(text: str, anchor: datetime, expected: date) -> None:
    assert first(text, anchor) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm flying to Tokyo on the 20th", date(2024, 5, 20)),
        ("rent is due on the 5th", date(2024, 6, 5)),  # the 5th has passed: next month's
        ("I got back on the 5th", date(2024, 5, 5)),  # past talk: this month's
        ("the 31st", date(2024, 5, 31)),
    ],
)
def test_day_of_month(text: str, expected: date) -> None:
    assert first(text) == expected


def test_day_of_month_skips_months_without_that_day() -> None:
    feb = datetime(2024, 2, 10, tzinfo=timezone.utc)
    assert first("due on the 30th", feb) == date(2024, 3, 30)


@pytest.mark.parametrize(
    ("text", "anchor", "expected", "last"),
    [
        # Said in May, last summer is the previous year's; said in October, this year's.
        ("last summer", WED, date(2023, 6, 1), date(2023, 8, 31)),
        ("last summer", datetime(2023, 10, 5, tzinfo=timezone.utc), date(2023, 6, 1), None),
        ("last summer", datetime(2023, 7, 20, tzinfo=timezone.utc), date(2022, 6, 1), None),
        ("this summer", WED, date(2024, 6, 1), date(2024, 8, 31)),
        ("next summer", WED, date(2024, 6, 1), None),
        ("next summer", datetime(2024, 7, 1, tzinfo=timezone.utc), date(2025, 6, 1), None),
        ("last winter", WED, date(2023, 12, 1), date(2024, 2, 29)),
        ("this winter", datetime(2024, 1, 15, tzinfo=timezone.utc), date(2023, 12, 1), None),
        ("I'm going camping in the fall", WED, date(2024, 9, 1), date(2024, 11, 30)),
    ],
)
def test_seasons(text: str, anchor: datetime, expected: date, last: date | None) -> None:
    mention = find_dates(text, anchor)[0]
    assert mention.granularity == "season"
    assert mention.when.date() == expected
    if last is not None:
        assert mention.last_day.date() == last


@pytest.mark.parametrize(
    ("text", "prefer", "expected"),
    [
        ("in February", "future", date(2025, 2, 1)),
        ("in February", "past", date(2024, 2, 1)),
        ("I'm going skiing in February", None, date(2025, 2, 1)),
        ("in June", None, date(2024, 6, 1)),
        ("mid-June", None, date(2024, 6, 15)),
        ("May 2023", None, date(2023, 5, 1)),
        ("this Christmas", None, date(2024, 12, 25)),
        ("New Year's Eve", "future", date(2024, 12, 31)),
        ("last Halloween", None, date(2023, 10, 31)),
        # Month-day dates stay in the turn's year unless a direction is asked for.
        ("March 3rd", None, date(2024, 3, 3)),
        ("March 3rd", "future", date(2025, 3, 3)),
        ("on 7 June", None, date(2024, 6, 7)),
        ("2023-05-07", None, date(2023, 5, 7)),
    ],
)
def test_months_holidays_and_absolute_dates(text: str, prefer: str | None, expected: date) -> None:
    assert first(text, prefer=prefer) == expected


def test_may_the_verb_is_not_a_month() -> None:
    assert find_dates("May I ask you something? I may be late.", WED) == []


def test_durations_are_marked_and_not_annotated() -> None:
    [mention] = find_dates("staying with my parents for the next two weeks", WED)
    assert mention.granularity == "duration"
    assert mention.when.date() == date(2024, 5, 22)
    assert annotate("I'm here for two weeks", WED) == "I'm here for two weeks"


def test_periods_carry_their_last_day() -> None:
    [week] = find_dates("I'm sick this week", WED)
    assert (week.when.date(), week.last_day.date()) == (date(2024, 5, 8), date(2024, 5, 12))
    [month] = find_dates("in June", WED)
    assert month.last_day.date() == date(2024, 6, 30)
    [day] = find_dates("tomorrow", WED)
    assert day.until is None and day.last_day == day.when


def test_time_zone_of_the_turn_decides_the_day() -> None:
    late_in_new_york = datetime(2024, 5, 8, 23, 30, tzinfo=timezone(timedelta(hours=-4)))
    [mention] = find_dates("tomorrow", late_in_new_york)
    assert mention.when.date() == date(2024, 5, 9)  # 10 May in UTC, 9 May where it was said


def test_annotate_resolves_relative_dates_for_episodes() -> None:
    text = annotate("I visited Rome last summer and I'm going back next Friday.", WED)
    assert text == (
        "I visited Rome last summer [summer 2023] and I'm going back next Friday [17 May 2024]."
    )


def test_direction_reads_tense() -> None:
    assert direction("I'm going to Paris") == 1
    assert direction("my flight leaves on Friday") == 1
    assert direction("I went there and it was great") == -1
    assert direction("I've got an interview on Thursday") >= 0  # "have got" is not past
    assert direction("Paris") == 0


def test_absurd_phrases_are_skipped_not_raised() -> None:
    assert find_dates("in 99999 years", WED) == []
    first_day = datetime(1, 1, 1, tzinfo=timezone.utc)
    assert find_dates("yesterday", first_day) == []
    assert later(datetime.max.replace(tzinfo=timezone.utc), 5).year == 9999


# -- expiry --------------------------------------------------------------------------------


def test_a_dated_foresight_expires_at_the_start_of_the_next_day() -> None:
    due = datetime(2024, 5, 17, 14, 0, tzinfo=timezone.utc)
    for kind in ("plan", "deadline", "temporary_state"):
        assert foresight_expiry(kind, WED, due) == datetime(2024, 5, 18, tzinfo=timezone.utc)


def test_undated_foresight_expires_after_a_horizon_per_kind() -> None:
    assert foresight_expiry("plan", WED, None) == WED + timedelta(days=PLAN_HORIZON_DAYS)
    assert foresight_expiry("deadline", WED, None) == WED + timedelta(days=DEADLINE_HORIZON_DAYS)
    assert foresight_expiry("temporary_state", WED, None) == WED + timedelta(days=7)
    assert TEMPORARY_STATE_DAYS == 7


def test_expiry_keeps_the_turn_time_zone_and_saturates() -> None:
    tz = timezone(timedelta(hours=2))
    due = datetime(2024, 5, 17, 23, 0, tzinfo=tz)
    assert foresight_expiry("plan", WED, due) == datetime(2024, 5, 18, tzinfo=tz)
    end = datetime(9999, 12, 31, tzinfo=timezone.utc)
    assert foresight_expiry("deadline", WED, end).year == 9999


def extract_one(text: str, when: datetime = WED) -> list[tuple[str, date | None, datetime | None]]:
    out = OfflineExtractor().extract([TurnView(0, "User", "user", text, when)])
    return [(f.kind, f.due_at.date() if f.due_at else None, f.expires_at) for f in out.foresight]


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "kind", "due", "expires"),
    [
        # A plan with a date expires the day after it.
        ("I'm going to Paris next Friday.", "plan", date(2024, 5, 17), midnight(date(2024, 5, 18))),
        ("I have a dentist appointment tomorrow.", "plan", date(2024, 5, 9), midnight(date(2024, 5, 10))),
        # A plan for a period lasts until the period is over.
        ("We're going camping in June.", "plan", date(2024, 6, 1), midnight(date(2024, 7, 1))),
        # An undated plan lasts the default horizon.
        ("I want to learn the cello.", "plan", None, WED + timedelta(days=PLAN_HORIZON_DAYS)),
        # A deadline expires the day after it is due.
        ("My thesis is due on June 30.", "deadline", date(2024, 6, 30), midnight(date(2024, 7, 1))),
        # A temporary state lasts a week unless the text says when it ends.
        ("I'm sick with the flu.", "temporary_state", None, WED + timedelta(days=7)),
        ("I'm on vacation until the 20th.", "temporary_state", date(2024, 5, 20), midnight(date(2024, 5, 21))),
        ("I'm staying with my parents for two weeks.", "temporary_state", date(2024, 5, 22), midnight(date(2024, 5, 23))),
        ("I'm swamped this week.", "temporary_state", date(2024, 5, 12), midnight(date(2024, 5, 13))),
    ],
)  # fmt: skip
def test_offline_foresight_due_and_expiry(
    text: str, kind: str, due: date | None, expires: datetime
) -> None:
    assert extract_one(text) == [(kind, due, expires)]


def test_expired_foresight_is_recognised() -> None:
    [(_, _, expires)] = extract_one("I'm going to Paris tomorrow.")
    assert expires is not None
    assert not foresight_expired(expires, WED + timedelta(days=1))
    assert foresight_expired(expires, WED + timedelta(days=2))
    assert not foresight_expired(None, WED)
