"""Ranking rules about sittings, through the real service on loopback (bundled embedder,
SQLite file). A sitting is what was said without a pause longer than the episode gap.

- Fusion's best sitting keeps a result within the first `TESSERA_RERANK_KEEP_WITHIN`, whatever
  the rerank does (`TESSERA_RERANK_KEEP_SITTINGS`): the rerank may pick which of its items
  stands for it, not drop it.
- A question that gathers several things (how many, in total, compared…) is answered by the
  best item of each sitting before a sitting's second-best (`TESSERA_RERANK_SPREAD`); other
  questions keep the rerank's order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import Api, unique
from tessera_server.testing import ServiceHandle, run_service

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


def _texts(results: list[dict[str, object]]) -> list[str]:
    return [str(r["text"]) for r in results]


def _service(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str]
) -> Iterator[ServiceHandle]:
    with run_service(tmp_path_factory.mktemp(name), env=env) as handle:
        yield handle


# Only the sitting rule under test is on: the turn-level guard and the other rule are off.
BASE = {"TESSERA_RERANK_KEEP_TURNS": "0", "TESSERA_RERANK_KEEP_FUSED": "0"}


@pytest.fixture(scope="module")
def sitting_kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {
        **BASE,
        "TESSERA_RERANK_KEEP_WITHIN": "1",
        "TESSERA_RERANK_KEEP_SITTINGS": "1",
        "TESSERA_RERANK_SPREAD": "0",
    }
    yield from _service(tmp_path_factory, "kept", env)


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {**BASE, "TESSERA_RERANK_KEEP_SITTINGS": "0", "TESSERA_RERANK_SPREAD": "0.3"}
    yield from _service(tmp_path_factory, "spread", env)


@pytest.fixture(scope="module")
def neither(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {
        **BASE,
        "TESSERA_RERANK_KEEP_WITHIN": "1",
        "TESSERA_RERANK_KEEP_SITTINGS": "0",
        "TESSERA_RERANK_SPREAD": "0",
    }
    yield from _service(tmp_path_factory, "neither", env)


def _fill(api: Api, user: str, lines: list[tuple[str, str, str]]) -> None:
    for when, role, text in lines:
        api.sync_add(user, text, role=role, event_time=when)


def test_fusions_best_sitting_keeps_a_place_whatever_the_rerank_does(
    sitting_kept: ServiceHandle, neither: ServiceHandle
) -> None:
    lines = [
        (DAY_ONE, "assistant", REPLY),
        (DAY_FIVE, "user", "I keep my fish tank in the living room."),
        (DAY_FIVE, "user", "I feed my fish twice a day."),
        (DAY_FIVE, "user", "I have been baking sourdough bread every weekend this spring."),
    ]
    question = "How do I care for my aquarium?"
    firsts: dict[str, str] = {}
    for name, handle in (("kept", sitting_kept), ("neither", neither)):
        api = Api(handle.base_url, handle.api_key)
        try:
            user = unique("sitting")
            _fill(api, user, lines)
            fused = api.search(question, user_id=user, rerank=False)
            assert "Caring for an aquarium" in _texts(fused)[0], _texts(fused)
            firsts[name] = _texts(api.search(question, user_id=user))[0]
        finally:
            api.close()
    assert "Caring for an aquarium" in firsts["kept"]
    assert "Caring for an aquarium" not in firsts["neither"], "the rule is not tested"


def test_the_rerank_still_chooses_which_item_stands_for_the_kept_sitting(
    sitting_kept: ServiceHandle,
) -> None:
    # The same day also holds a short line of the user's own: the rerank prefers it, and it
    # holds the first place for its sitting instead of the long reply.
    api = Api(sitting_kept.base_url, sitting_kept.api_key)
    try:
        user = unique("sitting-own")
        _fill(
            api,
            user,
            [
                (DAY_ONE, "assistant", REPLY),
                (DAY_ONE, "user", "My aquarium sits by the window in the study."),
                (DAY_FIVE, "user", "I keep my fish tank in the living room."),
                (DAY_FIVE, "user", "I feed my fish twice a day."),
            ],
        )
        first = _texts(api.search("How do I care for my aquarium?", user_id=user))[0]
    finally:
        api.close()
    assert "Caring for an aquarium" not in first
    assert "by the window" in first, first


TANKS = [
    (DAY_ONE, "user", "I set up a 20-gallon tank for my guppies today."),
    (DAY_ONE, "user", "The 20-gallon tank for my guppies got a new heater."),
    (DAY_ONE, "user", "I cleaned the filter of the guppy tank too."),
    (DAY_FIVE, "user", "I gave my nephew a small 5-gallon tank for his betta fish."),
    (DAY_NINE, "user", "I have been baking sourdough bread every weekend this spring."),
    (DAY_NINE, "user", "My sister is visiting from Lisbon in June."),
]


def _first_two(handle: ServiceHandle, question: str) -> list[str]:
    api = Api(handle.base_url, handle.api_key)
    try:
        user = unique("spread")
        _fill(api, user, TANKS)
        return _texts(api.search(question, user_id=user, top_k=2))
    finally:
        api.close()


def test_a_question_that_gathers_takes_each_sittings_best_first(
    spread: ServiceHandle, neither: ServiceHandle
) -> None:
    question = "How many tanks do I have?"
    spread_two = _first_two(spread, question)
    plain_two = _first_two(neither, question)
    assert any("nephew" in t for t in spread_two), spread_two
    assert not any("nephew" in t for t in plain_two), "the rule is not tested"


def test_a_question_that_does_not_gather_keeps_the_reranks_order(
    spread: ServiceHandle, neither: ServiceHandle
) -> None:
    question = "Which fish live in my tank?"
    assert _first_two(spread, question) == _first_two(neither, question)
