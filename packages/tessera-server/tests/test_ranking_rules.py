"""Ranking rules, through the real service on loopback (bundled embedder, SQLite file).

- A question the user asks about themselves ("I", "my") is answered by the user's own lines
  before the assistant's replies that echo the topic.
- The turn-level arms' best match (what a search over raw turns ranks first) keeps a place
  within the first `TESSERA_RERANK_KEEP_WITHIN` results, whatever the rerank does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import Api, unique
from tessera_server.testing import ServiceHandle, run_service

USER_LINE = "I finally set up a second aquarium last week, a small one for my nephew."
ECHO = (
    "A second aquarium is a lovely project! Small aquariums need steady care: cycle the "
    "aquarium before adding fish, test the aquarium water weekly, and keep the aquarium "
    "away from direct sunlight so algae stay down."
)
FILLER = [
    "I have been baking sourdough bread every weekend this spring.",
    "Sourdough needs a lively starter; feed it the night before you bake.",
    "My sister is visiting from Lisbon in June.",
    "Lisbon in June is lovely; the festivals fill the old town with music.",
]


def _scope(api: Api, user: str, lines: list[tuple[str, str]]) -> None:
    for role, text in lines:
        api.sync_add(user, text, role=role)


def _texts(results: list[dict[str, object]]) -> list[str]:
    return [str(r["text"]) for r in results]


def _rank(results: list[dict[str, object]], needle: str) -> int:
    return next(i for i, text in enumerate(_texts(results)) if needle in text)


def test_a_question_about_oneself_is_answered_by_ones_own_lines_first(api: Api) -> None:
    user = unique("own-words")
    _scope(
        api,
        user,
        [("user", FILLER[0]), ("assistant", FILLER[1]), ("user", USER_LINE), ("assistant", ECHO)],
    )
    about_me = api.search("How many aquariums do I have?", user_id=user)
    assert _rank(about_me, "for my nephew") < _rank(about_me, "lovely project")
    # The same topic asked about in general: the reply, which matches it better, leads.
    general = api.search("How should an aquarium be cared for?", user_id=user)
    assert _rank(general, "lovely project") < _rank(general, "for my nephew")


@pytest.fixture(scope="module")
def strict_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    """The turn-level best must hold the very first place."""
    env = {"TESSERA_RERANK_KEEP_WITHIN": "1"}
    with run_service(tmp_path_factory.mktemp("strict"), env=env) as handle:
        yield handle


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {"TESSERA_RERANK_KEEP_WITHIN": "1", "TESSERA_RERANK_KEEP_TURNS": "0"}
    with run_service(tmp_path_factory.mktemp("unguarded"), env=env) as handle:
        yield handle


def test_the_best_raw_turn_match_keeps_its_place_whatever_the_rerank_does(
    strict_head: ServiceHandle, unguarded: ServiceHandle
) -> None:
    # The assistant's long reply is what every first-stage arm ranks first (its words and its
    # meaning match the question best); the rerank prefers the user's own short line (the
    # question is in the first person, and the reply runs past 80 words).
    best = "Caring for an aquarium: cycle the aquarium before adding fish, test the aquarium " + (
        "water weekly. "
        + " ".join(["Patience matters more than equipment for a healthy tank."] * 8)
    )
    lines = [
        ("user", "I keep my fish tank in the living room."),
        ("assistant", best),
        ("user", "I feed my fish twice a day."),
        ("user", FILLER[0]),
    ]
    question = "How do I care for my aquarium?"
    firsts: dict[str, str] = {}
    for name, handle in (("guarded", strict_head), ("unguarded", unguarded)):
        api = Api(handle.base_url, handle.api_key)
        try:
            user = unique("guard")
            _scope(api, user, lines)
            # Fusion's order (no rerank): the reply leads every arm.
            fused = api.search(question, user_id=user, rerank=False)
            assert "Caring for an aquarium" in _texts(fused)[0], _texts(fused)
            firsts[name] = _texts(api.search(question, user_id=user))[0]
        finally:
            api.close()
    assert "Caring for an aquarium" in firsts["guarded"]
    assert "Caring for an aquarium" not in firsts["unguarded"], "the rule is not tested"
