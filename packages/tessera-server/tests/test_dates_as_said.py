"""Dates as people say them: a phrase points forward in a plan and back in a report of the
past, and a past date said with a fact is when the fact began (docs/concepts/time.md)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from tessera_server.engine.extract.dates import find_dates, valid_from

MON_25_NOV = datetime(2024, 11, 25, 10, 0, tzinfo=timezone.utc)
TUE_3_DEC = datetime(2024, 12, 3, 10, 0, tzinfo=timezone.utc)


def first_date(text: str, said: datetime = MON_25_NOV) -> date:
    [mention] = find_dates(text, said)
    return mention.when.date()


@pytest.mark.parametrize(
    ("plan", "report", "forward", "back"),
    [
        ("Let's meet on the 14th.", "We met on the 14th.", date(2024, 12, 14), date(2024, 11, 14)),
        (
            "Let's have lunch on Friday.",
            "I saw her on Friday.",
            date(2024, 11, 29),
            date(2024, 11, 22),
        ),
        (
            "Shall we go to Rome in March?",
            "I was in Rome in March.",
            date(2025, 3, 1),
            date(2024, 3, 1),
        ),
        (
            "How about dinner on the 2nd?",
            "The parcel arrived on the 2nd.",
            date(2024, 12, 2),
            date(2024, 11, 2),
        ),
    ],
)
def test_a_plan_points_forward_and_a_report_points_back(
    plan: str, report: str, forward: date, back: date
) -> None:
    assert first_date(plan) == forward
    assert first_date(report) == back


def test_the_end_of_the_month_is_the_one_still_to_come_or_the_one_just_past() -> None:
    assert first_date("I'll send it at the end of the month.", TUE_3_DEC) == date(2024, 12, 31)
    assert first_date("We shipped it at the end of the month.", TUE_3_DEC) == date(2024, 11, 30)
    assert first_date("We shipped it at the end of the month.", MON_25_NOV) == date(2024, 10, 31)
    assert first_date("It was due at the end of last month.", TUE_3_DEC) == date(2024, 11, 30)
    assert first_date("The report is due by the end of the week.") == date(2024, 12, 1)


@pytest.mark.parametrize(
    ("said", "since"),
    [
        ("I moved to Lisbon last month.", datetime(2024, 10, 1, tzinfo=timezone.utc)),
        ("I moved to Lisbon last week.", datetime(2024, 11, 18, tzinfo=timezone.utc)),
        ("I moved to Lisbon two years ago.", datetime(2022, 11, 25, tzinfo=timezone.utc)),
        ("I moved to Lisbon in March.", datetime(2024, 3, 1, tzinfo=timezone.utc)),
        (
            "I've lived in Lisbon for the past two years.",
            datetime(2022, 11, 25, tzinfo=timezone.utc),
        ),
        ("I live in Lisbon.", MON_25_NOV),
        ("I'm moving to Lisbon next month.", MON_25_NOV),
        # A plan's year-less date resolves before the turn in the turn's year (14 March
        # 2024): still a plan, never the fact's start (docs/concepts/time.md).
        ("My friend from Lisbon is visiting on 14 March.", MON_25_NOV),
        ("I will move to Lisbon on 3 April.", MON_25_NOV),
        ("Lisbon is lovely. I moved to Porto last month.", MON_25_NOV),
    ],
)
def test_a_fact_holds_from_the_past_date_said_with_it(said: str, since: datetime) -> None:
    assert valid_from(said, "Lisbon", MON_25_NOV) == since
