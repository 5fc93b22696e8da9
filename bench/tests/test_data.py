from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from tessera_bench.data import (
    load_locomo,
    load_longmemeval,
    normalise_dia_id,
    split_evidence,
    subset,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D1:3", "D1:3"),
        ("D30:05", "D30:5"),
        ("D:11:26", "D11:26"),
        (" D2:7 ", "D2:7"),
        ("D", None),
        ("D10", None),
        ("", None),
        ("session 1", None),
    ],
)
def test_normalise_dia_id(raw: str, expected: str | None) -> None:
    assert normalise_dia_id(raw) == expected


def test_split_evidence_on_semicolons_and_whitespace() -> None:
    assert split_evidence("D8:6; D9:17") == ["D8:6", "D9:17"]
    assert split_evidence("D9:1 D4:4 D4:6") == ["D9:1", "D4:4", "D4:6"]
    assert split_evidence("D1:1") == ["D1:1"]
    assert split_evidence("  ") == []


def test_locomo_turns_sessions_and_content(data_dir: Path) -> None:
    ds = load_locomo(data_dir)
    assert [s.scope_id for s in ds.scopes] == ["conv-a", "conv-b"]
    a = ds.scopes[0]
    assert [t.turn_id for t in a.turns] == [
        "conv-a-D1:1",
        "conv-a-D1:2",
        "conv-a-D1:3",
        "conv-a-D2:1",
        "conv-a-D2:2",
    ]
    assert a.turns[0].event_time == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    assert a.turns[3].event_time == datetime(2023, 6, 9, 10, 0, tzinfo=timezone.utc)
    assert a.turns[0].content == "Caroline: Hey Mel, I went hiking on Sunday."
    assert a.turns[2].content == (
        "Caroline: Look at this. [image: a photo of a golden retriever on a beach]"
    )
    assert a.turns[2].caption is not None
    assert ds.stats["sessions"] == 3
    assert ds.stats["empty_sessions"] == 1
    assert ds.stats["turns"] == 7


def test_locomo_evidence_quirks(data_dir: Path) -> None:
    ds = load_locomo(data_dir)
    questions = {q.text: q for q in ds.questions}
    # Zero-padded id resolves.
    assert questions["What did Melanie paint?"].evidence == {"conv-a-D1:2"}
    # Several ids in one string, separated by ';' or spaces, and 'D:1:1' meaning D1:1.
    assert questions["What pets and hobbies?"].evidence == {
        "conv-a-D2:2",
        "conv-a-D2:1",
        "conv-a-D1:3",
        "conv-a-D1:1",
    }
    # Unresolvable ids are dropped from the gold set, and counted.
    assert questions["Ghost?"].evidence == {"conv-a-D2:2"}
    assert ds.stats["unresolved_evidence"] == 2
    assert ds.unresolved_ids == ["conv-a:D9:9", "conv-a:D"]
    # Category 5 is left out; an empty-evidence question is counted and left out.
    assert "Unanswerable?" not in questions
    assert "Open?" not in questions
    assert ds.stats["questions_skipped_category_5"] == 1
    assert ds.stats["questions_without_evidence"] == 1
    assert ds.stats["questions"] == 5
    assert ds.stats["questions_total"] == 7
    assert {q.category for q in ds.questions} == {"1", "2", "3", "4"}
    assert ds.category_names["2"] == "temporal"


def test_locomo_category_selection(data_dir: Path) -> None:
    ds = load_locomo(data_dir, categories=(4,))
    assert {q.category for q in ds.questions} == {"4"}


def test_longmemeval_scopes_order_and_gold(data_dir: Path) -> None:
    ds = load_longmemeval(data_dir)
    assert [s.scope_id for s in ds.scopes] == ["q1", "q2"]
    assert ds.stats["abstention_skipped"] == 1
    assert ds.stats["haystacks_reordered_by_date"] == 1
    q1 = ds.scopes[0]
    # Sessions are ingested in date order: s_a (20 May) before s_b (21 May).
    assert [t.session_id for t in q1.turns] == ["s_a", "s_a", "s_b", "s_b"]
    assert q1.turns[0].content == "user: Recommend a pasta recipe."
    assert q1.turns[1].role == "assistant"
    question = q1.questions[0]
    assert question.evidence == {"q1:s_b:0"}
    assert question.evidence_sessions == {"s_b"}
    assert question.category == "single-session-user"
    assert question.asked_at == datetime(2023, 5, 30, 23, 40, tzinfo=timezone.utc)
    q2 = ds.scopes[1].questions[0]
    assert q2.evidence == {"q2:s_c:0", "q2:s_d:1"}
    assert ds.category_names == {
        "single-session-user": "single-session-user",
        "temporal-reasoning": "temporal-reasoning",
    }


def test_subset(data_dir: Path) -> None:
    ds = load_locomo(data_dir)
    small = subset(ds, scopes=1, questions=2)
    assert len(small.scopes) == 1
    assert len(small.questions) == 2
    assert len(ds.questions) == 5


def test_locomo_halves_follow_conversation_order(data_dir: Path) -> None:
    """The first LOCOMO_TUNE_CONVERSATIONS conversations tune; every later one reports."""
    import json

    from tessera_bench.data import LOCOMO_FILE, LOCOMO_TUNE_CONVERSATIONS, parse_locomo

    base = json.loads((data_dir / LOCOMO_FILE).read_text(encoding="utf-8"))[0]
    samples = [{**base, "sample_id": f"conv-{n}"} for n in range(LOCOMO_TUNE_CONVERSATIONS + 2)]
    ds = parse_locomo(samples, path=Path("locomo10.json"))
    parts = {s.scope_id: {q.part for q in s.questions} for s in ds.scopes}
    assert all(parts[f"conv-{n}"] == {"tune"} for n in range(LOCOMO_TUNE_CONVERSATIONS))
    assert parts[f"conv-{LOCOMO_TUNE_CONVERSATIONS}"] == {"report"}
    assert parts[f"conv-{LOCOMO_TUNE_CONVERSATIONS + 1}"] == {"report"}


def test_longmemeval_halves_are_a_fixed_hash_of_the_question_id(data_dir: Path) -> None:
    from tessera_bench.data import hashed_part, only_part

    ds = load_longmemeval(data_dir)
    for q in ds.questions:
        assert q.part == hashed_part(q.qid)
    # The rule is a property of the id alone: not of file order, nor of the run.
    ids = [f"q{n}" for n in range(400)]
    halves = [hashed_part(i) for i in ids]
    assert halves == [hashed_part(i) for i in reversed(ids)][::-1]
    assert 150 < halves.count("tune") < 250
    for part in ("tune", "report"):
        kept = only_part(ds, part)
        assert all(q.part == part for q in kept.questions)
    assert len(only_part(ds, "tune").questions) + len(only_part(ds, "report").questions) == len(
        ds.questions
    )
    with pytest.raises(ValueError):
        only_part(ds, "held-out")


def test_long_haystacks_add_deterministic_distractors_that_answer_nothing(
    data_dir: Path,
) -> None:
    oracle = {s.scope_id: s for s in load_longmemeval(data_dir).scopes}
    long = load_longmemeval(data_dir, haystack="long", distractors=12)
    again = load_longmemeval(data_dir, haystack="long", distractors=12)
    assert long.name == "longmemeval-long" and len(long.scopes) == len(oracle)
    for scope, same in zip(long.scopes[:40], again.scopes[:40], strict=True):
        base = oracle[scope.scope_id]
        [q] = scope.questions
        assert q.evidence == base.questions[0].evidence  # the gold turns are the oracle's
        own = {t.session_id for t in base.turns}
        extra = {t.session_id for t in scope.turns} - own
        assert 1 <= len(extra) <= 12 and not (extra & q.evidence_sessions)
        assert [t.turn_id for t in scope.turns] == [t.turn_id for t in same.turns]
        times = [t.event_time for t in scope.turns]
        assert times == sorted(times)  # interleaved by date, so the order is plausible
        assert q.asked_at is None or max(times) <= q.asked_at
