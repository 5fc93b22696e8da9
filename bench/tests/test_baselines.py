from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tessera_bench.baselines import Bm25, RawTurnBaselines, RawTurnSystem, dense_rank
from tessera_bench.data import load_locomo, load_longmemeval
from tessera_bench.embedder import CachedEmbedder
from tessera_bench.evaluate import LOCOMO_SPEC, LONGMEMEVAL_SPEC, evaluate
from tessera_bench.systems import reciprocal_rank_fusion


def test_rrf_scores_and_ties() -> None:
    # doc 2 is 2nd in both lists: 2/(60+2) beats 1/(60+1) from one list alone.
    assert reciprocal_rank_fusion([[0, 2], [1, 2]]) == [2, 0, 1]
    # ...but first + last of three in both beats second in both: 1/61 + 1/63 > 2/62.
    assert reciprocal_rank_fusion([[0, 2, 1], [1, 2, 0]])[0] == 0
    # Symmetric ties fall back to first-seen order.
    assert reciprocal_rank_fusion([[0, 1], [1, 0]]) == [0, 1]
    # Documents in only one list still appear.
    assert reciprocal_rank_fusion([[5], [7, 5]]) == [5, 7]
    assert reciprocal_rank_fusion([[], []]) == []


def test_bm25_stems_drops_stopwords_and_ignores_unmatched() -> None:
    bm25 = Bm25(
        [
            "Melanie: I painted a sunrise last year",
            "Caroline: the support group was great",
            "Melanie: painting sunrises is relaxing",
        ]
    )
    order = bm25.rank("When did Melanie paint a sunrise?")
    assert set(order[:2]) == {0, 2}  # "paint"/"painted"/"painting" share a stem
    assert order[2] == 1  # no shared term: ranked last
    assert bm25.scores("When did Melanie paint a sunrise?")[1] == 0.0
    # A query of stopwords only matches nothing: every score is zero, order is document order.
    assert bm25.rank("the of and") == [0, 1, 2]
    assert not bm25.scores("the of and").any()


def test_dense_rank_orders_by_cosine() -> None:
    docs = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    assert dense_rank(docs, np.array([0.0, 1.0], dtype=np.float32)) == [1, 2, 0]
    assert dense_rank(np.zeros((0, 2), dtype=np.float32), np.zeros(2, dtype=np.float32)) == []


def test_raw_turn_systems_on_tiny_locomo(data_dir: Path, hash_embedder: object) -> None:
    ds = load_locomo(data_dir)
    shared = RawTurnBaselines(hash_embedder)  # type: ignore[arg-type]
    systems = shared.systems(["bm25", "dense", "rrf"])
    ranked = systems[0].rank(ds.scopes[0], depth=3)
    q = next(q for q in ds.scopes[0].questions if q.text == "When did Caroline go hiking?")
    assert ranked[q.qid][0].sources == ("conv-a-D1:1",)
    assert len(ranked[q.qid]) <= 3
    results = evaluate(ds, systems, LOCOMO_SPEC)
    assert [r.name for r in results] == ["bm25", "dense", "rrf"]
    for r in results:
        assert r.overall["questions"] == 5
        assert set(r.by_group) == {"1", "2", "3", "4"}
        assert 0.0 <= r.overall["recall@budget500"] <= 1.0
        # The whole tiny conversation fits in 1000 words: dense ranks every turn.
    dense = results[1]
    assert dense.overall["recall@budget1000"] == pytest.approx(1.0)


def test_raw_turn_systems_on_tiny_longmemeval(data_dir: Path, hash_embedder: object) -> None:
    ds = load_longmemeval(data_dir)
    shared = RawTurnBaselines(hash_embedder)  # type: ignore[arg-type]
    results = evaluate(ds, shared.systems(["bm25", "rrf"]), LONGMEMEVAL_SPEC)
    for r in results:
        assert r.overall["questions"] == 2
        assert set(r.by_group) == {"single-session-user", "temporal-reasoning"}
        assert "turn_recall@10" in r.overall
        assert r.overall["recall_any@10"] == pytest.approx(1.0)


def test_dense_baselines_need_an_embedder() -> None:
    with pytest.raises(ValueError):
        RawTurnSystem(RawTurnBaselines(None), "dense")
    with pytest.raises(ValueError):
        RawTurnSystem(RawTurnBaselines(None), "splade")


def test_cached_embedder_round_trip(tmp_path: Path, hash_embedder: object) -> None:
    calls: list[int] = []

    class Counting:
        model_id = "count/test"

        def embed(self, texts: list[str]) -> object:
            calls.append(len(texts))
            return hash_embedder.embed(texts)  # type: ignore[attr-defined]

    first = CachedEmbedder(Counting(), tmp_path)
    a = first.embed(["x y", "z", "x y"])
    assert calls == [2]
    first.save()
    second = CachedEmbedder(Counting(), tmp_path)
    b = second.embed(["z", "x y"])
    assert calls == [2]  # served from disk
    np.testing.assert_allclose(b, a[[1, 0]])
    assert second.embed([]).shape == (0, 384)
