"""Ranking rules about sittings, through the real service on loopback (bundled embedder,
SQLite file). A sitting is what was said without a pause longer than the episode gap.

- Fusion's best sitting keeps a result within the first `TESSERA_RERANK_KEEP_WITHIN`, whatever
  the rerank does (`TESSERA_RERANK_KEEP_SITTINGS`): the rerank may pick which of its items
  stands for it, not drop it.
- At every depth k up to `TESSERA_RERANK_KEEP_DEPTH`, the first k results hold every sitting
  of fusion's first k // 2 (and of the turn-level arms'): the rerank reorders, but never loses
  at depth a session its own first stage ranks near the top.
- A question that gathers several things (how many, in total, compared…) is answered by the
  best item of each sitting before a sitting's second-best (`TESSERA_RERANK_SPREAD`); other
  questions keep the rerank's order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ranking_ab import Line, answers, service_with
from tessera_server.testing import ServiceHandle

DAY_ONE = "2024-03-01T10:00:00Z"
DAY_FIVE = "2024-03-05T10:00:00Z"
DAY_NINE = "2024-03-09T10:00:00Z"

# The assistant's long reply is what every first-stage arm ranks first; the rerank prefers
# the user's own short lines of another day (the question is in the first person, and the
# reply runs far past a paragraph).
REPLY = (
    "Caring for an aquarium: cycle the aquarium before adding fish, test the aquarium water "
    "weekly. " + " ".join(["Patience matters more than equipment for a healthy tank."] * 8)
)

# Only the sitting rule under test is on: the turn-level guard and the other rules are off.
BASE = {
    "TESSERA_RERANK_KEEP_TURNS": "0",
    "TESSERA_RERANK_KEEP_FUSED": "0",
    "TESSERA_RERANK_KEEP_DEPTH": "0",
}


@pytest.fixture(scope="module")
def sitting_kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {
        **BASE,
        "TESSERA_RERANK_KEEP_WITHIN": "1",
        "TESSERA_RERANK_KEEP_SITTINGS": "1",
        "TESSERA_RERANK_SPREAD": "0",
    }
    yield from service_with(tmp_path_factory, "kept", env)


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {**BASE, "TESSERA_RERANK_KEEP_SITTINGS": "0", "TESSERA_RERANK_SPREAD": "0.3"}
    yield from service_with(tmp_path_factory, "spread", env)


@pytest.fixture(scope="module")
def neither(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {
        **BASE,
        "TESSERA_RERANK_KEEP_WITHIN": "1",
        "TESSERA_RERANK_KEEP_SITTINGS": "0",
        "TESSERA_RERANK_SPREAD": "0",
    }
    yield from service_with(tmp_path_factory, "neither", env)


def test_fusions_best_sitting_keeps_a_place_whatever_the_rerank_does(
    sitting_kept: ServiceHandle, neither: ServiceHandle
) -> None:
    lines = [
        Line("assistant", REPLY, DAY_ONE),
        Line("user", "I keep my fish tank in the living room.", DAY_FIVE),
        Line("user", "I feed my fish twice a day.", DAY_FIVE),
        Line("user", "I have been baking sourdough bread every weekend this spring.", DAY_FIVE),
    ]
    got = answers(
        {"kept": sitting_kept, "neither": neither}, lines, "How do I care for my aquarium?"
    )
    for answer in got.values():
        assert "Caring for an aquarium" in answer.fused[0], answer.fused
    assert "Caring for an aquarium" in got["kept"].reranked[0]
    assert "Caring for an aquarium" not in got["neither"].reranked[0], "the rule is not tested"


def test_the_rerank_still_chooses_which_item_stands_for_the_kept_sitting(
    sitting_kept: ServiceHandle,
) -> None:
    # The same day also holds a short line of the user's own: the rerank prefers it, and it
    # holds the first place for its sitting instead of the long reply.
    lines = [
        Line("assistant", REPLY, DAY_ONE),
        Line("user", "My aquarium sits by the window in the study.", DAY_ONE),
        Line("user", "I keep my fish tank in the living room.", DAY_FIVE),
        Line("user", "I feed my fish twice a day.", DAY_FIVE),
    ]
    first = answers({"kept": sitting_kept}, lines, "How do I care for my aquarium?")["kept"]
    assert "Caring for an aquarium" not in first.reranked[0]
    assert "by the window" in first.reranked[0], first.reranked


TANKS = [
    Line("user", "I set up a 20-gallon tank for my guppies today.", DAY_ONE),
    Line("user", "The 20-gallon tank for my guppies got a new heater.", DAY_ONE),
    Line("user", "I cleaned the filter of the guppy tank too.", DAY_ONE),
    Line("user", "I gave my nephew a small 5-gallon tank for his betta fish.", DAY_FIVE),
    Line("user", "I have been baking sourdough bread every weekend this spring.", DAY_NINE),
    Line("user", "My sister is visiting from Lisbon in June.", DAY_NINE),
]


def test_a_question_that_gathers_takes_each_sittings_best_first(
    spread: ServiceHandle, neither: ServiceHandle
) -> None:
    got = answers(
        {"spread": spread, "neither": neither}, TANKS, "How many tanks do I have?", top_k=2
    )
    assert any("nephew" in t for t in got["spread"].reranked), got["spread"].reranked
    assert not any("nephew" in t for t in got["neither"].reranked), "the rule is not tested"


def test_a_question_that_does_not_gather_keeps_the_reranks_order(
    spread: ServiceHandle, neither: ServiceHandle
) -> None:
    got = answers(
        {"spread": spread, "neither": neither}, TANKS, "Which fish live in my tank?", top_k=2
    )
    assert got["spread"].reranked == got["neither"].reranked


@pytest.fixture(scope="module")
def depth_kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {**BASE, "TESSERA_RERANK_SPREAD": "0", "TESSERA_RERANK_KEEP_DEPTH": "6"}
    yield from service_with(tmp_path_factory, "depth", env)


def _day(n: int) -> str:
    return f"2024-03-{n:02d}T10:00:00Z"


# Two long replies about the topic (what fusion ranks first) and the user's own short lines
# of other days (what the rerank prefers: the question is in the first person).
SESSIONS = [
    Line("assistant", REPLY, _day(1)),
    Line(
        "assistant",
        "Aquarium care in short: change a quarter of the aquarium water every week and rinse "
        "the aquarium filter in old tank water. "
        + " ".join(["A stable routine keeps the fish calm and the water clear."] * 7),
        _day(2),
    ),
    Line("user", "I keep my fish tank in the living room.", _day(5)),
    Line("user", "I feed my fish twice a day.", _day(6)),
    Line("user", "My aquarium sits by the window in the study.", _day(7)),
    Line("user", "I clean my fish tank glass on Sundays.", _day(8)),
    Line("user", "I have been baking sourdough bread every weekend this spring.", _day(9)),
]


def _sitting_of(text: str) -> str:
    return next(line.when or "" for line in SESSIONS if line.text[:40] in text)


def _lost_at_depth(reranked: list[str], fused: list[str], depth: int) -> list[int]:
    """The depths k at which the reranked first k miss a sitting of fusion's first k // 2."""
    return [
        k
        for k in range(1, depth + 1)
        if not {_sitting_of(t) for t in fused[: k // 2]} <= {_sitting_of(t) for t in reranked[:k]}
    ]


def test_the_rerank_never_loses_at_depth_a_sitting_fusion_ranks_near_the_top(
    depth_kept: ServiceHandle, neither: ServiceHandle
) -> None:
    got = answers(
        {"depth": depth_kept, "neither": neither}, SESSIONS, "How do I care for my aquarium?"
    )
    for answer in got.values():
        assert "Caring for an aquarium" in answer.fused[0], answer.fused
    assert _lost_at_depth(got["depth"].reranked, got["depth"].fused, 6) == []
    assert _lost_at_depth(got["neither"].reranked, got["neither"].fused, 6), (
        "the rule is not tested"
    )
    # Within the sittings it must keep, the rerank's order stands: the first place is still
    # the rerank's choice whenever fusion's first sitting fits in the second.
    assert got["depth"].reranked[0] == got["neither"].reranked[0]
