"""The two pure rules behind long turns and the rerank guard: how a turn is cut into parts,
and how fusion's best keep a place in the reranked answer."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from tessera_server.engine.parts import part_attrs, part_of, split_parts
from tessera_server.engine.records import EpisodeRecord
from tessera_server.engine.retrieval import Hit, guarded_ids, keep_fused_head

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_short_turn_is_one_part_as_written() -> None:
    assert split_parts("  short turn  ", 1000) == ["  short turn  "]


@pytest.mark.parametrize("limit", [200, 1000])
def test_parts_keep_every_character_and_cut_at_the_coarsest_boundary(limit: int) -> None:
    paragraphs = [
        " ".join(f"Sentence {p}.{s} says something about topic {p}." for s in range(p % 9 + 1))
        for p in range(60)
    ]
    text = "\n\n".join(paragraphs)
    parts = split_parts(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert _squash("".join(parts)) == _squash(text)
    # A paragraph that fits in a part is never cut.
    for paragraph in paragraphs:
        if len(paragraph) <= limit // 2:
            assert any(paragraph in p for p in parts)


def test_a_log_without_blank_lines_is_cut_at_lines_and_a_long_word_mid_word() -> None:
    log = "\n".join(f"2025-01-01T00:00:{n % 60:02d} worker {n} ok" for n in range(400))
    parts = split_parts(log, 500)
    assert all(len(p) <= 500 for p in parts)
    assert all(p.split(" ")[0].startswith("2025-") for p in parts)  # each starts at a line
    blob = "x" * 2_500
    cut = [len(p) for p in split_parts(blob, 1000)]
    assert len(cut) == 3 and sum(cut) == 2_500 and max(cut) <= 1000


def test_part_attrs_round_trip() -> None:
    assert part_of(part_attrs(3, 7)) == (3, 7)
    assert part_of({}) is None and part_of({"part": "x"}) is None


def _hits(ids: list[str]) -> list[Hit]:
    out = []
    for n, item in enumerate(ids):
        record = EpisodeRecord(item, 1, "u", None, "episode", item, "user", T0, 0.5, {}, T0)
        out.append(Hit(item, "episode", item, 1.0 - n / 100, record))
    return out


def test_the_guard_leaves_an_answer_that_keeps_fusions_best_alone() -> None:
    hits = _hits(["b", "a", "c", "d", "e", "f"])
    assert keep_fused_head(hits, ["a", "b", "c"], 5) is hits


def test_the_guard_lifts_fusions_best_back_within_its_place_with_descending_scores() -> None:
    reranked = ["d", "e", "f", "g", "h", "b", "a", "i", "c"]
    hits = keep_fused_head(
        _hits(reranked), guarded_ids(_hits(reranked), ["a", "b", "c", "x"], [], 3, 0), 5
    )
    order = [h.id for h in hits]
    assert sorted(order) == sorted(reranked)
    assert {"a", "b", "c"} <= set(order[:5])
    assert order[:2] == ["d", "e"]  # the rerank's own head stays where it was
    assert [order.index(i) for i in ("b", "a", "c")] == sorted(
        order.index(i) for i in ("b", "a", "c")
    )  # guarded items keep the rerank's order among themselves
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_the_guard_is_off_at_zero_and_bounded_by_top_k() -> None:
    hits = _hits(["d", "e", "a"])
    assert guarded_ids(hits, ["a"], ["a"], 0, 0) == []
    assert [h.id for h in keep_fused_head(hits, [], 5)] == ["d", "e", "a"]
    assert [h.id for h in keep_fused_head(_hits(["d", "e", "a"]), ["a"], 1)] == ["a", "d", "e"]


def test_guarded_ids_put_the_turn_level_best_first_and_skip_what_is_not_a_candidate() -> None:
    hits = _hits(["d", "e", "a", "b"])
    assert guarded_ids(hits, ["a", "b", "d"], ["x", "b", "a"], 2, 1) == ["b", "a"]
    assert guarded_ids(hits, ["a", "b"], ["x", "b"], 0, 1) == ["b"]
