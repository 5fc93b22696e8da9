"""The raw-turn searches inside the first stage, through the real service on loopback
(bundled embedder, SQLite file).

The first stage runs two searches over raw turns, one by words and one by meaning, and fuses
them with the episode and fact arms. Where the question's words are common ones ("recommend",
"day", "interesting") the word arms and the rerank's word coverage favour lines that share
those words, and a line that only the meaning search ranks near the top (it says "unwind" to
a question about relaxing) can fall past the first few results. With
`TESSERA_RERANK_KEEP_RAW_DEPTH`, at every depth k up to it, the first k results hold the first
k // 2 sittings of each raw-turn search alone: the answer never does worse at depth (by half)
than either search it runs inside.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from ranking_ab import Line, answers, service_with
from tessera_server.providers.embedder import load_embedder
from tessera_server.testing import ServiceHandle

QUESTION = "How can I relax after a stressful day?"
UNWIND = "A warm bath and a quiet jazz record help me unwind after work."
# Lines that share the question's common words ("stressful", "day") and little of its meaning.
TEXTS = [
    UNWIND,
    "The most stressful part of my day is the commute.",
    "My day starts at six with a run around the lake.",
    "I had a stressful meeting about the budget today.",
    "Can you help me plan the day of my sister's wedding?",
    "After lunch I usually answer emails for an hour.",
    "I have been baking sourdough bread every weekend this spring.",
    "Moving day was stressful for the cat.",
    "Every day I water the tomatoes on the balcony.",
    "Tax day is always stressful for my brother.",
]
# Each line on a day of its own: every line is a sitting.
LINES = [Line("user", text, f"2024-03-{2 * n + 1:02d}T10:00:00Z") for n, text in enumerate(TEXTS)]
DEPTH = 4


@pytest.fixture(scope="module")
def raw_kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {"TESSERA_RERANK_KEEP_RAW_DEPTH": str(DEPTH)}
    yield from service_with(tmp_path_factory, "raw-kept", env)


@pytest.fixture(scope="module")
def raw_free(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    yield from service_with(tmp_path_factory, "raw-free", {"TESSERA_RERANK_KEEP_RAW_DEPTH": "0"})


def meaning_order() -> list[str]:
    """The lines as a search over raw turns by meaning alone ranks them (cosine to the
    question with the bundled embedder), best first."""
    embedder = load_embedder("minilm-int8")
    vectors = embedder.embed([QUESTION, *TEXTS])
    scores = np.asarray(vectors[1:]) @ np.asarray(vectors[0])
    return [TEXTS[i] for i in np.argsort(-scores, kind="stable")]


def line_of(result: str) -> str:
    return next(text for text in TEXTS if text[:40] in result)


def lost_at_depth(reranked: list[str], order: list[str]) -> list[int]:
    """The depths k at which the first k results miss a line of the order's first k // 2."""
    held = [line_of(r) for r in reranked]
    return [k for k in range(1, DEPTH + 1) if not set(order[: k // 2]) <= set(held[:k])]


def test_the_answer_holds_at_depth_what_the_meaning_search_alone_ranks_first(
    raw_kept: ServiceHandle, raw_free: ServiceHandle
) -> None:
    order = meaning_order()
    # The case the rule is for: the meaning search ranks the line that answers second, and
    # it shares no word with the question.
    assert order.index(UNWIND) == 1, order
    got = answers({"kept": raw_kept, "free": raw_free}, LINES, QUESTION)
    assert lost_at_depth(got["kept"].reranked, order) == [], got["kept"].reranked
    assert lost_at_depth(got["free"].reranked, order), "the rule is not tested"
    # Fusion (rerank off) is the first stage's own order; the rule leaves it alone.
    assert got["kept"].fused == got["free"].fused
    # Within what it must keep, the rerank's order stands: its first choice stays first.
    assert got["kept"].reranked[0] == got["free"].reranked[0]
