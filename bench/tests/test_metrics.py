from __future__ import annotations

import math

import pytest
from tessera_bench.metrics import (
    Hit,
    aggregate,
    covered,
    evidence_first,
    question_metrics,
    recall_at_budget,
    recall_at_k,
    session_recall_any,
    turn_recall,
    within_budget,
    word_count,
)


def hit(words: int, *sources: str) -> Hit:
    return Hit(text=" ".join(["w"] * words), sources=tuple(sources))


def test_word_count_splits_on_any_whitespace() -> None:
    assert word_count("Caroline:  I went\tto the\nsupport group") == 7
    assert word_count("") == 0
    assert word_count("   ") == 0


def test_budget_keeps_items_while_they_fit_and_stops_at_the_first_that_does_not() -> None:
    hits = [hit(100, "a"), hit(150, "b"), hit(300, "c"), hit(10, "d")]
    kept = within_budget(hits, 250)
    assert [h.sources for h in kept] == [("a",), ("b",)]
    # "d" would fit after "c" is refused, but the walk stops: no skipping ahead.
    assert [h.sources for h in within_budget(hits, 500)] == [("a",), ("b",)]
    assert [h.sources for h in within_budget(hits, 560)] == [("a",), ("b",), ("c",), ("d",)]


def test_budget_exactly_filled_keeps_the_item_that_lands_on_it() -> None:
    hits = [hit(200, "a"), hit(50, "b"), hit(1, "c")]
    assert [h.sources for h in within_budget(hits, 250)] == [("a",), ("b",)]


def test_budget_first_item_too_long_keeps_nothing() -> None:
    hits = [hit(600, "a"), hit(5, "b")]
    assert within_budget(hits, 500) == []
    assert recall_at_budget(frozenset({"b"}), hits, 500) == 0.0


def test_budget_zero_or_empty_inputs() -> None:
    assert within_budget([hit(1, "a")], 0) == []
    assert within_budget([], 500) == []
    assert recall_at_budget(frozenset({"a"}), [], 500) == 0.0


def test_empty_text_items_cost_nothing() -> None:
    hits = [hit(0, "a"), hit(250, "b"), hit(0, "c"), hit(1, "d")]
    assert [h.sources for h in within_budget(hits, 250)] == [("a",), ("b",), ("c",)]


def test_reach_policy_keeps_the_crossing_item() -> None:
    hits = [hit(100, "a"), hit(200, "b"), hit(10, "c")]
    assert [h.sources for h in within_budget(hits, 250, "reach")] == [("a",), ("b",)]
    assert [h.sources for h in within_budget([hit(600, "a")], 500, "reach")] == [("a",)]


def test_recall_counts_evidence_turns_covered_by_source_turns() -> None:
    # An episode covering several turns covers each of them; duplicates count once.
    hits = [Hit("x y", ("t1", "t2")), Hit("z", ("t2",)), Hit("q", ("t9",))]
    assert covered(hits) == {"t1", "t2", "t9"}
    assert turn_recall(frozenset({"t1", "t2", "t3", "t4"}), hits) == 0.5
    assert recall_at_k(frozenset({"t9"}), hits, 2) == 0.0
    assert recall_at_k(frozenset({"t9"}), hits, 3) == 1.0
    assert math.isnan(turn_recall(frozenset(), hits))


def test_recall_at_budget_with_multi_turn_items() -> None:
    hits = [Hit("a " * 200, ("t1", "t2", "t3")), Hit("b " * 200, ("t4",)), Hit("c", ("t5",))]
    evidence = frozenset({"t3", "t4", "t5"})
    assert recall_at_budget(evidence, hits, 250) == pytest.approx(1 / 3)
    assert recall_at_budget(evidence, hits, 400) == pytest.approx(2 / 3)
    assert recall_at_budget(evidence, hits, 401) == pytest.approx(1.0)


def test_items_without_sources_recall_nothing() -> None:
    hits = [Hit("fact text", ()), Hit("turn", ("t1",))]
    assert recall_at_k(frozenset({"t1"}), hits, 1) == 0.0
    assert recall_at_k(frozenset({"t1"}), hits, 2) == 1.0


def test_session_recall_any() -> None:
    session_of = {"t1": "s1", "t2": "s2", "t3": "s3"}
    hits = [Hit("a", ("t1",)), Hit("b", ("t3",))]
    assert session_recall_any(frozenset({"s3"}), hits, 2, session_of) == 1.0
    assert session_recall_any(frozenset({"s3"}), hits, 1, session_of) == 0.0
    assert session_recall_any(frozenset({"s2", "s1"}), hits, 1, session_of) == 1.0
    assert math.isnan(session_recall_any(frozenset(), hits, 1, session_of))


def test_question_metrics_keys() -> None:
    hits = [hit(10, "t1"), hit(10, "t2")]
    m = question_metrics(
        frozenset({"t2"}),
        hits,
        budgets=(10, 20),
        ks=(1, 2),
        prefix="turn_recall",
        gold_sessions=frozenset({"s2"}),
        session_of={"t1": "s1", "t2": "s2"},
        session_ks=(1,),
    )
    assert m == {
        "turn_recall@budget10": 0.0,
        "turn_recall@budget20": 1.0,
        "turn_recall@1": 0.0,
        "turn_recall@2": 1.0,
        "recall_any@1": 0.0,
    }


def test_aggregate_macro_averages_over_questions_and_groups() -> None:
    rows = [
        ("1", {"recall@10": 1.0}),
        ("1", {"recall@10": 0.0}),
        ("2", {"recall@10": 0.5}),
        ("2", {"recall@10": math.nan}),
    ]
    overall, groups = aggregate(rows)
    assert overall["recall@10"] == pytest.approx(0.5)
    assert overall["questions"] == 4
    assert groups["1"]["recall@10"] == pytest.approx(0.5)
    assert groups["2"]["recall@10"] == pytest.approx(0.5)
    assert groups["2"]["questions"] == 2


def test_evidence_first_keeps_the_first_hits_holding_evidence_shortest_first() -> None:
    hits = [hit(300, "x"), hit(200, "a"), hit(40, "b", "y"), hit(10, "z"), hit(5, "c")]
    evidence = frozenset({"a", "b", "c"})
    # Only the first four count: "c" (fifth) is beyond reach, however short it is.
    assert [h.sources for h in evidence_first(evidence, hits, 4)] == [("b", "y"), ("a",)]
    # As ranked, the 300-word miss fills the budget before "a"; reordered, both fit.
    assert recall_at_budget(evidence, hits, 250) == 0.0
    figures = question_metrics(evidence, hits, budgets=(250,), ks=(), reordered=(250, 4))
    assert figures["recall@budget250_first4"] == pytest.approx(2 / 3)


def test_reordered_recall_is_never_below_the_ranked_one() -> None:
    hits = [hit(30, "a"), hit(60, "x"), hit(30, "b"), hit(30, "c")]
    evidence = frozenset({"a", "b", "c"})
    for budget in (0, 30, 60, 100, 200):
        for first in (1, 2, 3, 4):
            ranked = recall_at_budget(evidence, hits[:first], budget)
            best = recall_at_budget(evidence, evidence_first(evidence, hits, first), budget)
            assert best >= ranked
