"""Panel clustering: the one-pass greedy rule, kept exactly while it was made fast."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from tessera_server.engine.maintenance import PANEL_SIMILARITY, _clusters
from tessera_server.engine.records import EpisodeRecord

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def episode(i: int, vector: np.ndarray) -> EpisodeRecord:
    return EpisodeRecord(
        id=f"ep_{i:05d}",
        tenant_id=1,
        user_id="u",
        session_id=None,
        kind="episode",
        text=f"episode {i}",
        role="user",
        event_time=T0 + timedelta(minutes=i),
        importance=0.5,
        metadata={},
        created_at=T0,
        embedding=vector.astype(np.float32),
    )


def reference(episodes: list[EpisodeRecord]) -> list[list[str]]:
    """The rule as written out: compare with every cluster in turn, keep the best at or
    above the threshold (a later cluster wins a tie), else open a new cluster."""
    clusters: list[tuple[np.ndarray, list[str]]] = []
    for ep in episodes:
        assert ep.embedding is not None
        best, best_sim = -1, PANEL_SIMILARITY
        for i, (total, _) in enumerate(clusters):
            sim = float(ep.embedding @ total) / (float(np.linalg.norm(total)) or 1.0)
            if sim >= best_sim:
                best, best_sim = i, sim
        if best < 0:
            clusters.append((ep.embedding.copy(), [ep.id]))
        else:
            total, members = clusters[best]
            clusters[best] = (total + ep.embedding, [*members, ep.id])
    return [members for _, members in clusters]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clusters_follow_the_greedy_rule(seed: int) -> None:
    # Topics (random directions) with noisy members, so some episodes sit near the threshold.
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(12, 384))
    vectors = []
    for _ in range(600):
        v = topics[rng.integers(len(topics))] + rng.normal(scale=rng.uniform(0.3, 1.2), size=384)
        vectors.append(v / np.linalg.norm(v))
    episodes = [episode(i, v) for i, v in enumerate(vectors)]
    got = _clusters(episodes)
    assert [[m.id for m in members] for _, members in got] == reference(episodes)
    assert 12 <= len(got) < 600  # the noise makes some singletons; most episodes join
    for unit, members in got:
        total = np.sum([m.embedding for m in members], axis=0)
        assert np.allclose(unit, total / np.linalg.norm(total), atol=1e-6)
        assert unit.dtype == np.float32


def test_identical_directions_join_and_a_tie_goes_to_the_later_cluster() -> None:
    x, y = np.eye(384)[0], np.eye(384)[1]
    both = (x + y) / np.sqrt(2)  # 0.707 to either cluster: a tie above the threshold
    episodes = [episode(0, x), episode(1, y), episode(2, both), episode(3, x)]
    got = [[m.id for m in members] for _, members in _clusters(episodes)]
    assert got == [["ep_00000", "ep_00003"], ["ep_00001", "ep_00002"]]


def test_no_episodes_no_clusters() -> None:
    assert _clusters([]) == []
