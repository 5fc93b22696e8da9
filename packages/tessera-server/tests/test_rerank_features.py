"""The offline reranker's finer features and the conversational lift after it.

Real parts throughout: the bundled embedder for vectors, a real SQLite file for the turn
order that the lift reads.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tessera_server.engine.records import EpisodeRecord, TurnRecord
from tessera_server.engine.retrieval import CONTEXT_LIFT, Hit, lift_neighbours
from tessera_server.providers.embedder import Embedder, load_embedder
from tessera_server.providers.reranker import Candidate
from tessera_server.providers.reranker.local import LocalReranker, RerankWeights
from tessera_server.store.sqlite.store import SQLiteStore

T0 = datetime(2023, 7, 7, 18, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder("minilm-int8")


def candidates(embedder: Embedder, texts: list[str], times: list[datetime]) -> list[Candidate]:
    vectors = embedder.embed(texts)
    return [
        Candidate(text=t, vector=v, event_time=when, pinned=False, fused_rank=0)
        for t, v, when in zip(texts, vectors, times, strict=True)
    ]


def test_a_full_date_in_the_question_favours_that_day(embedder: Embedder) -> None:
    reranker = LocalReranker()
    text = "Maria: We talked about fixing the flooded roads in our area."
    same_month = T0 + timedelta(days=2)
    scored = reranker.score(
        "What did Maria and John discuss on 7 July, 2023?",
        embedder.embed(["What did Maria and John discuss on 7 July, 2023?"])[0],
        candidates(embedder, [text, text], [T0, same_month]),
    )
    assert scored[0] - scored[1] == pytest.approx(reranker.weights.w_day, abs=1e-6)
    # A month alone favours the month, not one day of it.
    month_only = reranker.score(
        "What did Maria discuss in July 2023?",
        embedder.embed(["What did Maria discuss in July 2023?"])[0],
        candidates(embedder, [text, text], [T0, same_month]),
    )
    assert month_only[0] == pytest.approx(month_only[1], abs=1e-6)


def test_items_longer_than_a_paragraph_pay_for_their_length(embedder: Embedder) -> None:
    reranker = LocalReranker()
    short = "Ana: I adopted a grey cat called Pixel last spring."
    padded = short + " " + " ".join(["We talked about the weather and other things."] * 30)
    medium = short + " It sleeps on the sofa all day."
    query = "What is the name of Ana's cat?"
    qvec = embedder.embed([query])[0]
    cands = candidates(embedder, [short, padded, medium], [T0, T0, T0])
    # Same vector for all three: only the text (coverage and length) differs.
    same = [Candidate(c.text, cands[0].vector, c.event_time, False, 0) for c in cands]
    short_score, padded_score, medium_score = reranker.score(query, qvec, same)
    assert padded_score < short_score
    assert medium_score == pytest.approx(short_score, abs=1e-6), "under 80 words: no penalty"


def _store_with_conversation(tmp_path: Path) -> tuple[SQLiteStore, list[int], int]:
    """Four lines said a minute apart, then one more a week later; returns their pks."""
    store = SQLiteStore(tmp_path / "lift.db", 384)
    store.migrate()
    tenant, _ = store.ensure_tenant("acme", T0)
    lines = [
        (timedelta(minutes=0), "Bo: Which book has helped you most?"),
        (timedelta(minutes=1), "Ana: Becoming Nicole, a true story."),
        (timedelta(minutes=2), "Bo: What did you take away from it?"),
        (timedelta(minutes=3), "Ana: That tough times do not last."),
        (timedelta(days=7), "Ana: Back from the trip."),
    ]
    pks: list[int] = []
    for n, (after, content) in enumerate(lines):
        record, _ = store.insert_turn(
            TurnRecord(
                tenant_id=tenant,
                user_id="ana",
                session_id=None,
                turn_id=f"t{n}",
                role="user",
                content=content,
                event_time=T0 + after,
                metadata={},
                infer=True,
                created_at=T0,
            )
        )
        assert record.pk is not None
        pks.append(record.pk)
    return store, pks[:4], pks[4]


def _hit(item_id: str, score: float, sources: list[int]) -> Hit:
    record = EpisodeRecord(
        id=item_id,
        tenant_id=1,
        user_id="ana",
        session_id=None,
        kind="episode",
        text=item_id,
        role="user",
        event_time=T0,
        importance=0.5,
        metadata={},
        created_at=T0,
        source_turn_pks=sources,
    )
    return Hit(item_id, "episode", item_id, score, record)


def test_lines_next_to_a_strong_match_are_lifted_halfway(tmp_path: Path) -> None:
    store, pks, later = _store_with_conversation(tmp_path)
    try:
        question = _hit("question", 0.9, [pks[2]])  # matches the query best
        answer = _hit("answer", 0.3, [pks[3]])  # said right after it
        opening = _hit("opening", 0.5, pks[:2])  # said right before it
        trip = _hit("trip", 0.2, [later])  # next in order, but a week later
        strong_neighbour = _hit("strong", 0.95, [pks[1]])  # already above its neighbour
        hits = sorted([question, answer, opening, trip, strong_neighbour], key=lambda h: -h.score)
        lift_neighbours(hits, store, timedelta(minutes=30))
        assert answer.score == pytest.approx(0.3 + CONTEXT_LIFT[0] * (0.9 - 0.3))
        assert opening.score == pytest.approx(0.5 + CONTEXT_LIFT[0] * (0.95 - 0.5))
        assert trip.score == pytest.approx(0.2), "next in order, but a week later"
        assert strong_neighbour.score == pytest.approx(0.95)
        # The question follows `strong`'s line, so it too rises halfway to 0.95.
        assert question.score == pytest.approx(0.9 + CONTEXT_LIFT[0] * (0.95 - 0.9))
    finally:
        store.close()


def test_a_week_later_is_another_sitting(tmp_path: Path) -> None:
    store, pks, later = _store_with_conversation(tmp_path)
    try:
        last = _hit("last", 0.9, [pks[3]])
        trip = _hit("trip", 0.2, [later])
        lift_neighbours([last, trip], store, timedelta(minutes=30))
        assert trip.score == pytest.approx(0.2)
        lift_neighbours([last, trip], store, timedelta(days=8))
        assert trip.score == pytest.approx(0.2 + CONTEXT_LIFT[0] * 0.7)
    finally:
        store.close()


def test_the_lift_fades_with_distance(tmp_path: Path) -> None:
    store, pks, _ = _store_with_conversation(tmp_path)
    try:
        top = _hit("top", 0.9, [pks[0]])
        two_away = _hit("two-away", 0.1, [pks[2]])
        three_away = _hit("three-away", 0.1, [pks[3]])
        lift_neighbours([top, two_away, three_away], store, timedelta(minutes=30))
        assert two_away.score == pytest.approx(0.1 + CONTEXT_LIFT[1] * 0.8)
        assert three_away.score == pytest.approx(0.1 + CONTEXT_LIFT[2] * 0.8)
    finally:
        store.close()


def test_asking_what_the_assistant_said_lifts_the_length_penalty(embedder: Embedder) -> None:
    reranker = LocalReranker()
    answer = "assistant: " + " ".join(["Try the Lisbon rotation: Admon works Sundays."] * 20)
    short = "user: Admon asked about Sundays."
    for query, penalised in (
        ("Can you remind me what you said about Admon's Sunday shift?", False),
        ("Which shift does Admon work on Sunday?", True),
    ):
        qvec = embedder.embed([query])[0]
        cands = candidates(embedder, [answer, short], [T0, T0])
        same = [Candidate(c.text, cands[1].vector, c.event_time, False, 0) for c in cands]
        long_score, _ = reranker.score(query, qvec, same)
        unpenalised = LocalReranker(RerankWeights(w_long=0.0)).score(query, qvec, same)[0]
        assert (long_score < unpenalised - 1e-6) is penalised


def test_each_weight_scales_its_own_feature_and_every_feature_has_one(
    embedder: Embedder,
) -> None:
    """Zeroing one weight of `RerankWeights` zeroes exactly one feature's part and leaves the
    others as they were; no two weights share a feature and none is left without one."""
    query = "When did I tell Caroline about my garden, on 7 July 2023?"
    # One candidate that earns every feature: the user's own long line, spoken by the person
    # the question names, pinned, dated that day, saying when.
    text = "Caroline: I planted tomatoes in my garden yesterday. " + " ".join(
        ["The weather was warm and we sat outside for hours."] * 12
    )
    vector = embedder.embed([text])[0]
    candidate = Candidate(text, vector, T0, pinned=True, fused_rank=0, role="user")
    qvec = embedder.embed([query])[0]
    base = LocalReranker().contributions(query, qvec, [candidate])[0]
    assert all(part != 0.0 for part in base.values()), base
    owner: dict[str, str] = {}
    for weight in fields(RerankWeights):
        zeroed = RerankWeights(**{weight.name: 0.0})
        parts = LocalReranker(zeroed).contributions(query, qvec, [candidate])[0]
        changed = [name for name in base if parts[name] != base[name]]
        assert len(changed) == 1, (weight.name, changed)
        assert parts[changed[0]] == 0.0
        owner[changed[0]] = weight.name
    assert sorted(owner) == sorted(base)
