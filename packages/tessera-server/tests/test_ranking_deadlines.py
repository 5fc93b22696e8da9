"""The pure rule behind "ranking never loses at depth what its first stage holds": deadlines
from the first stage's order, met with as few moves of the rerank's order as possible."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from tessera_server.engine.records import EpisodeRecord
from tessera_server.engine.retrieval import Hit, depth_jobs, meet_deadlines

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _hits(ids: list[str]) -> list[Hit]:
    out = []
    for n, item in enumerate(ids):
        record = EpisodeRecord(item, 1, "u", None, "episode", item, "user", T0, 0.5, {}, T0)
        out.append(Hit(item, "episode", item, 1.0 - n / 100, record))
    return out


def _ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def test_nothing_moves_when_the_reranks_order_meets_every_deadline() -> None:
    hits = _hits(["a", "b", "c", "d"])
    assert _ids(meet_deadlines(hits, [(2, {"b"}), (4, {"d", "c"})])) == ["a", "b", "c", "d"]


def test_a_late_hit_moves_up_to_its_deadline_only_and_scores_stay_descending() -> None:
    hits = meet_deadlines(_hits(["a", "b", "c", "d", "e"]), [(3, {"e"})])
    assert _ids(hits) == ["a", "b", "e", "c", "d"]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_a_job_is_met_by_the_reranks_best_hit_of_its_set() -> None:
    # A sitting {d, e} due within 2: its best hit in the rerank's order (d) stands for it.
    assert _ids(meet_deadlines(_hits(["a", "b", "c", "d", "e"]), [(2, {"e", "d"})])) == [
        "a",
        "d",
        "b",
        "c",
        "e",
    ]


def test_the_most_urgent_job_goes_first_when_places_run_short() -> None:
    hits = meet_deadlines(_hits(["a", "b", "c", "d", "e"]), [(2, {"e"}), (1, {"d"})])
    assert _ids(hits)[:2] == ["d", "e"]


def _sitting(ids: list[str]) -> dict[str, int]:
    return {i: ord(i[0]) for i in ids}  # the first letter names the sitting


def test_depth_jobs_give_the_nth_first_stage_sitting_a_place_within_2n() -> None:
    hits = _hits(["a1", "b1", "c1", "c2", "d1"])
    jobs = depth_jobs(hits, [["c2", "d1", "a1"], ["b1", "c1"]], _sitting(_ids(hits)), 4)
    assert sorted((d, sorted(ids)) for d, ids in jobs) == [
        (2, ["b1"]),
        (2, ["c1", "c2"]),
        (4, ["d1"]),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_at_every_depth_the_answer_holds_the_first_stages_sittings_of_half_that_depth(
    seed: int,
) -> None:
    rng = random.Random(seed)
    ids = [f"{rng.choice('abcdefgh')}{n}" for n in range(30)]
    rerank_order = ids[:]
    rng.shuffle(rerank_order)
    fusion, turns = ids[:], ids[:]
    rng.shuffle(fusion)
    rng.shuffle(turns)
    sitting = _sitting(ids)
    depth = 12
    hits = _hits(rerank_order)
    answer = meet_deadlines(hits, depth_jobs(hits, [fusion, turns], sitting, depth))
    assert sorted(_ids(answer)) == sorted(ids)
    for k in range(1, depth + 1):
        held = {sitting[h.id] for h in answer[:k]}
        for order in (fusion, turns):
            assert {sitting[i] for i in order[: k // 2]} <= held, (k, _ids(answer))


def test_counted_by_sitting_an_orders_nth_distinct_sitting_is_due_within_2n() -> None:
    # A raw-turn search's first two hits come from one sitting: counted by results, its second
    # sitting (b) is due past depth 4; counted by sittings, within 4.
    hits = _hits(["a1", "a2", "b1", "c1"])
    order = [["a1", "a2", "b1", "c1"]]
    sitting = _sitting(_ids(hits))
    by_results = depth_jobs(hits, order, sitting, 4)
    by_sittings = depth_jobs(hits, order, sitting, 4, distinct=True)
    assert sorted((d, sorted(ids)) for d, ids in by_results) == [(2, ["a1", "a2"])]
    assert sorted((d, sorted(ids)) for d, ids in by_sittings) == [(2, ["a1", "a2"]), (4, ["b1"])]
