"""How consolidation cuts a conversation into episodes: exchanges, word and turn caps.

Episodes are what search returns, and a reader's context budget is spent by their words, so
an episode holds one exchange (a question and its reply), never more words than
`episode_max_words` allows unless a single turn is that long on its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
from server_helpers import Api
from tessera_server.config import Settings
from tessera_server.engine.consolidation import asks_question, segment
from tessera_server.engine.narration import narrate
from tessera_server.engine.records import TurnRecord
from tessera_server.engine.runtime import Runtime

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def turn(content: str, n: int, *, session: str | None = None) -> TurnRecord:
    return TurnRecord(
        tenant_id=1,
        user_id="u",
        session_id=session,
        turn_id=f"t{n}",
        role="user" if n % 2 == 0 else "assistant",
        content=content,
        event_time=T0 + timedelta(seconds=n),
        metadata={},
        infer=True,
        created_at=T0,
        pk=n,
        embedding=np.ones(4, dtype=np.float32) / 2.0,
    )


def runtime(**overrides: Any) -> Runtime:
    return cast(Runtime, SimpleNamespace(settings=Settings(**overrides)))


def ids(segments: list[list[TurnRecord]]) -> list[list[str]]:
    return [[t.turn_id for t in seg] for seg in segments]


def test_a_question_and_its_reply_form_one_episode() -> None:
    turns = [
        turn("Ana: I finally finished the pottery class.", 0),
        turn("Ben: Congrats! How long have you been doing pottery?", 1),
        turn("Ana: Seven years now, it keeps me calm.", 2),
        turn("Ben: That is lovely.", 3),
        turn("Ana: Thanks, see you soon.", 4),
    ]
    assert ids(segment(turns, runtime())) == [["t0"], ["t1", "t2"], ["t3"], ["t4"]]


def test_chained_questions_stay_together_until_a_cap() -> None:
    turns = [
        turn("Ana: Are you coming on Friday?", 0),
        turn("Ben: Yes! Should I bring the board games?", 1),
        turn("Ana: Please do.", 2),
    ]
    assert ids(segment(turns, runtime())) == [["t0", "t1", "t2"]]
    assert ids(segment(turns, runtime(episode_max_turns=2))) == [["t0", "t1"], ["t2"]]


def test_the_word_cap_splits_and_a_long_turn_stays_whole() -> None:
    long_answer = "Assistant: " + " ".join(["word"] * 300)
    turns = [
        turn("User: Can you explain how sourdough starters work?", 0),
        turn(long_answer, 1),
        turn("User: What flour should I use?", 2),
        turn("Assistant: Rye or whole wheat flour feeds a starter well.", 3),
    ]
    segments = segment(turns, runtime(episode_max_words=80))
    assert ids(segments) == [["t0"], ["t1"], ["t2", "t3"]]
    assert segments[1][0].content == long_answer  # never cut inside a turn


def test_without_exchanges_the_old_shape_holds() -> None:
    turns = [turn(f"Ana: statement number {i}.", i) for i in range(6)]
    settings = {"episode_exchanges": False, "episode_max_words": 10_000}
    assert ids(segment(turns, runtime(**settings))) == [
        ["t0", "t1", "t2", "t3"],
        ["t4", "t5"],
    ]


def test_sessions_still_split_exchanges() -> None:
    turns = [turn("Ana: Did you call?", 0, session="a"), turn("Ben: Yes.", 1, session="b")]
    assert ids(segment(turns, runtime())) == [["t0"], ["t1"]]


def test_what_counts_as_asking() -> None:
    def asks(text: str) -> bool:
        return asks_question(turn(text, 0))

    assert asks("Ben: How are you?")
    assert asks("Ben: Fancy a walk? :)")
    assert asks("Ben: Look at this! What do you think? [image: a photo of a dog]")
    assert not asks("Ben: Why? Because I can.")
    assert not asks("Ben: I went hiking.")
    assert not asks("Ben: no punctuation at all")


def test_search_returns_the_exchange_with_the_answer(api: Api, uid: str) -> None:
    """End to end: the reply is found in the same small episode as the question it answers."""
    lines = [
        ("user", "Caroline: I went to a support group meeting yesterday, it was inspiring."),
        (
            "assistant",
            "Melanie: Wow, what a lovely family picture! How long have you been married?",
        ),
        ("user", "Caroline: Five years already, time flies!"),
        ("assistant", "Melanie: I painted a sunset over the lake last weekend."),
        ("user", "Caroline: It looks peaceful, you should frame it."),
    ]
    for role, content in lines:
        api.add_ok(uid, content, role=role, event_time="2023-05-08T13:56:00Z")
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == len(lines)
    episodes = api.episodes(user_id=uid)
    assert sorted(len(e["metadata"]["tessera"]["source_turn_ids"]) for e in episodes) == [
        1,
        1,
        1,
        2,
    ]
    hits = api.search("How long has Caroline been married?", user_id=uid, types=["episode"])
    assert "Five years already" in hits[0]["text"]
    assert "married?" in hits[0]["text"]
    assert "sunset" not in hits[0]["text"]


def test_narration_is_dated_once_and_names_each_speaker_once() -> None:
    said = turn("user: I moved to Lisbon.", 0)  # the speaker is already in the text
    reply = turn("Good luck with the move!", 1)
    named = turn("Caroline: Thanks!", 2)
    named.metadata = {"speaker": "Caroline"}
    assert narrate([said, reply, named]) == (
        "[2024-03-01] user: I moved to Lisbon.\nAssistant: Good luck with the move!\n"
        "Caroline: Thanks!"
    )
