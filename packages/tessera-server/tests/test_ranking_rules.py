"""Ranking rules, through the real service on loopback (bundled embedder, SQLite file).

- A question the user asks about themselves ("I", "my") is answered by the user's own lines
  before the assistant's replies that echo the topic.
- The turn-level arms' best match (what a search over raw turns ranks first) keeps a place
  within the first `TESSERA_RERANK_KEEP_WITHIN` results, whatever the rerank does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ranking_ab import Line, answers, fill, rank_of, service_with, texts
from server_helpers import Api, unique
from tessera_server.testing import ServiceHandle

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


def test_a_question_about_oneself_is_answered_by_ones_own_lines_first(api: Api) -> None:
    user = unique("own-words")
    fill(
        api,
        user,
        [
            Line("user", FILLER[0]),
            Line("assistant", FILLER[1]),
            Line("user", USER_LINE),
            Line("assistant", ECHO),
        ],
    )
    about_me = texts(api.search("How many aquariums do I have?", user_id=user))
    assert rank_of(about_me, "for my nephew") < rank_of(about_me, "lovely project")
    # The same topic asked about in general: the reply, which matches it better, leads.
    general = texts(api.search("How should an aquarium be cared for?", user_id=user))
    assert rank_of(general, "lovely project") < rank_of(general, "for my nephew")


@pytest.fixture(scope="module")
def strict_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    """The turn-level best must hold the very first place."""
    yield from service_with(tmp_path_factory, "strict", {"TESSERA_RERANK_KEEP_WITHIN": "1"})


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    env = {
        "TESSERA_RERANK_KEEP_WITHIN": "1",
        "TESSERA_RERANK_KEEP_TURNS": "0",
        "TESSERA_RERANK_KEEP_DEPTH": "0",
    }
    yield from service_with(tmp_path_factory, "unguarded", env)


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
        Line("user", "I keep my fish tank in the living room."),
        Line("assistant", best),
        Line("user", "I feed my fish twice a day."),
        Line("user", FILLER[0]),
    ]
    got = answers(
        {"guarded": strict_head, "unguarded": unguarded}, lines, "How do I care for my aquarium?"
    )
    for answer in got.values():
        # Fusion's order (no rerank): the reply leads every arm.
        assert "Caring for an aquarium" in answer.fused[0], answer.fused
    assert "Caring for an aquarium" in got["guarded"].reranked[0]
    assert "Caring for an aquarium" not in got["unguarded"].reranked[0], "the rule is not tested"
