"""Consolidation: raw turns become episodes, facts, foresight, a portrait and panels.

A batch is written in one transaction that also marks its turns consolidated, so running
the same job twice (a retried or replayed job) creates nothing twice, and a crash leaves
either the whole batch or none of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

import numpy as np

from ..config import Settings
from . import timeline
from .clock import utcnow
from .extract import ExtractedFact, Extraction, TurnView
from .extract.dates import valid_from
from .ids import new_episode_id, new_fact_id, new_foresight_id, turn_episode_id
from .maintenance import refresh_panels, refresh_portrait
from .narration import narrate_parts, own_vector_text, speaker_of
from .parts import part_attrs
from .records import EpisodeRecord, FactRecord, ForesightRecord, Scope, TurnRecord
from .runtime import Runtime
from .scope import owned_by

# Pending turns read per batch.
BATCH_TURNS = 400
# The job kind that runs `consolidate` in the background worker.
JOB_KIND = "consolidate"


@dataclass
class Summary:
    turns_consolidated: int = 0
    tesserae_created: int = 0
    facts_created: int = 0
    foresight_created: int = 0
    llm_calls: int = 0

    def add(self, other: Summary) -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class TurnsTaken(Exception):
    """Another consolidation took some of this batch's turns first; read again."""


_TRAILING_NOTE = re.compile(r"(\s*\[[^\[\]]*\])+\s*$")


def asks_question(turn: TurnRecord) -> bool:
    """Whether a turn ends by asking something, so that the next turn is its reply.

    The last sentence mark decides ("…right? :)" asks; "Why? Because I can." does not);
    a trailing bracketed note such as an image caption is not part of what was said.
    """
    text = _TRAILING_NOTE.sub("", turn.content)
    marks = [ch for ch in text if ch in ".?!"]
    return bool(marks) and marks[-1] == "?"


def _full(episode: list[TurnRecord], words: int, next_words: int, settings: Settings) -> bool:
    """Whether a next turn of `next_words` words is kept out of the episode, whatever it says:
    a cap reached, or (with exchanges) an episode whose last turn asked nothing."""
    return (
        len(episode) >= settings.episode_max_turns
        or words + next_words > settings.episode_max_words
        or (settings.episode_exchanges and not asks_question(episode[-1]))
    )


def segment(turns: list[TurnRecord], runtime: Runtime) -> list[list[TurnRecord]]:
    """Split consecutive turns on session, time gap, topic drift, exchanges and size caps.

    Small episodes make precise search results: an episode should hold one exchange (a
    question and its reply) rather than a stretch of conversation, so that a reader's
    context budget is spent on the lines that match.
    """
    settings = runtime.settings
    gap = timedelta(minutes=settings.episode_gap_minutes)
    segments: list[list[TurnRecord]] = []
    current: list[TurnRecord] = []
    centroid: np.ndarray[Any, np.dtype[np.float32]] | None = None
    words = 0
    for turn in turns:
        size = len(turn.content.split())
        if current:
            prev = current[-1]
            drift = False
            if centroid is not None and turn.embedding is not None and len(current) >= 2:
                norm = float(np.linalg.norm(centroid)) or 1.0
                drift = float(turn.embedding @ centroid) / norm < settings.episode_topic_threshold
            if (
                (turn.user_id, turn.session_id) != (prev.user_id, prev.session_id)
                or turn.event_time - prev.event_time > gap
                or _full(current, words, size, settings)
                or drift
                # A turn searched in parts is an episode (of parts) on its own.
                or max(len(turn.content), len(prev.content)) > settings.turn_part_chars
            ):
                segments.append(current)
                current, centroid, words = [], None, 0
        current.append(turn)
        words += size
        if turn.embedding is not None:
            centroid = turn.embedding.copy() if centroid is None else centroid + turn.embedding
    if current:
        segments.append(current)
    return segments


def could_grow(episode: list[TurnRecord], settings: Settings) -> bool:
    """Whether the next turn may still join the episode: a question awaiting its reply, or
    (without exchanges) any episode under its caps."""
    words = sum(len(t.content.split()) for t in episode)
    return not _full(episode, words, 1, settings)


def consolidate(
    runtime: Runtime, scope: Scope, *, hold_open_end: bool = False, queued_job: bool = False
) -> Summary:
    """Consolidate the scope's pending turns, in batches.

    An episode is never cut at a batch's end: while more turns wait, and when `hold_open_end`
    (the background worker, which runs while a conversation is still arriving), a batch's
    last episode stays pending if it could still grow, to be consolidated with the turns
    that follow. Episodes thus do not depend on when the worker happened to run (a question
    and its reply used to land in two episodes when a job ran between them). Asked for
    explicitly (a sync add, `/v1/consolidate`), every pending turn is consolidated.

    The portrait and panels of the users it wrote for are refreshed once, at the end (see
    `_refresh_derived`; `queued_job`: this is a worker's job).
    """
    total = Summary()
    users: set[str] = set()
    try:
        for _ in range(1000):
            pending = runtime.store.pending_turns(scope, limit=BATCH_TURNS)
            if not pending:
                break
            more = len(pending) == BATCH_TURNS
            try:
                done = _consolidate_batch(runtime, pending, more=more, hold_open_end=hold_open_end)
            except TurnsTaken:
                continue
            if done is None:
                break  # only an open end waits
            total.add(done)
            users.update(t.user_id for t in pending if t.user_id is not None)
    finally:
        _refresh_derived(runtime, scope, users, queued_job)
    return total


def _refresh_derived(runtime: Runtime, scope: Scope, users: set[str], queued_job: bool) -> None:
    """Refresh the portrait and panels of `users` (those a consolidation wrote for).

    They are derived state, rebuilt whole from the user's facts and newest episodes, so only
    the last refresh after the last write counts: refreshed once per consolidation rather
    than once per batch, and a worker's job leaves them to a consolidation job of the same
    user that is already queued (a history import queues one per session; a conversation
    arriving faster than it is consolidated queues the next while one runs). That job
    refreshes them even when it finds nothing left to consolidate, so the last job always
    does. Each refresh read up to 2,000 of the user's episodes and clustered them again.
    """
    if queued_job and scope.user_id is not None:
        users = users | {scope.user_id}
    for user_id in sorted(users):
        if queued_job and runtime.store.queued_jobs(scope.tenant_id, user_id, JOB_KIND):
            continue
        refresh_portrait(runtime, scope.tenant_id, user_id)
        refresh_panels(runtime, scope.tenant_id, user_id)


def _consolidate_batch(
    runtime: Runtime, pending: list[TurnRecord], *, more: bool, hold_open_end: bool
) -> Summary | None:
    """Consolidate the batch (`more`: other pending turns follow it); None when all it holds
    is an open end left pending."""
    store, embedder, settings = runtime.store, runtime.embedder, runtime.settings
    once, part_chars = settings.turn_parts_embedded_once, settings.turn_part_chars
    missing = [t for t in pending if t.embedding is None]
    if missing:
        vectors = embedder.embed([own_vector_text(t, part_chars, once) for t in missing])
        for turn, vec in zip(missing, vectors, strict=True):
            turn.embedding = vec
    segments = segment(pending, runtime)
    if (more or hold_open_end) and could_grow(segments[-1], runtime.settings):
        if len(segments) > 1:
            pending = pending[: len(pending) - len(segments.pop())]
        elif not more:
            return None
    views = [
        TurnView(i, speaker_of(t), t.role, t.content, t.event_time) for i, t in enumerate(pending)
    ]
    extraction: Extraction = runtime.extractor.extract(views)
    now = utcnow()

    seg_of_turn: dict[int, int] = {}
    for seg_index, seg in enumerate(segments):
        for turn in seg:
            seg_of_turn[id(turn)] = seg_index
    # Each segment's episode texts: one, or one per part of a long turn (see `parts`).
    seg_texts = [narrate_parts(seg, part_chars) for seg in segments]
    # With parts embedded once, a long turn's first part has the turn's own vector, made
    # from the same text when the turn was added (`own_vector_text`).
    shared = [once and len(group) > 1 for group in seg_texts]
    texts = [
        text
        for group, first_shared in zip(seg_texts, shared, strict=True)
        for text in group[1 if first_shared else 0 :]
    ]
    fact_texts = [f.text for f in extraction.facts if not f.negated]
    fore_texts = [f.content for f in extraction.foresight]
    vectors = embedder.embed(texts + fact_texts + fore_texts)
    embedded = iter(vectors[: len(texts)])
    ep_vecs = iter(
        seg[0].embedding if index == 0 and first_shared else next(embedded)
        for seg, group, first_shared in zip(segments, seg_texts, shared, strict=True)
        for index in range(len(group))
    )
    fact_vecs = iter(vectors[len(texts) : len(texts) + len(fact_texts)])
    fore_vecs = iter(vectors[len(texts) + len(fact_texts) :])

    facts_per_seg = [0] * len(segments)
    for fact in extraction.facts:
        facts_per_seg[seg_of_turn[id(pending[fact.turn_index])]] += 1

    summary = Summary(turns_consolidated=len(pending), llm_calls=extraction.llm_calls)
    with store.transaction():
        if store.claim_turns([t.pk for t in pending if t.pk is not None]) != len(pending):
            raise TurnsTaken()
        episodes: list[EpisodeRecord] = []
        for seg_index, (seg, group) in enumerate(zip(segments, seg_texts, strict=True)):
            first = seg[0]
            made = [
                store.insert_episode(
                    EpisodeRecord(
                        # The episode a turn begins keeps the id the turn was shown under
                        # while it waited (engine/pending.py); further parts get new ones.
                        id=turn_episode_id(first.tenant_id, first.pk)
                        if index == 1 and first.pk is not None
                        else new_episode_id(),
                        **owned_by(first),
                        kind="episode",
                        text=text,
                        role=first.role,
                        event_time=first.event_time,
                        importance=min(1.0, 0.3 + 0.1 * facts_per_seg[seg_index] + 0.02 * len(seg)),
                        metadata=dict(first.metadata),
                        # Recorded when its first turn was: the episode takes the place in
                        # newest-first listings the waiting turn held, so a page read before
                        # consolidation and the next one read after it agree.
                        created_at=first.created_at,
                        source_turn_pks=[t.pk for t in seg if t.pk is not None],
                        attrs=part_attrs(index, len(group)) if len(group) > 1 else {},
                        embedding=next(ep_vecs),
                    )
                )
                for index, text in enumerate(group, start=1)
            ]
            # Facts and foresight of a long turn hang on its first part.
            episodes.append(made[0])
            summary.tesserae_created += len(made)
        for fact in extraction.facts:
            turn = pending[fact.turn_index]
            episode = episodes[seg_of_turn[id(turn)]]
            vector = None if fact.negated else next(fact_vecs)
            summary.facts_created += _apply_fact(runtime, fact, turn, episode, vector, now)
        for item in extraction.foresight:
            turn = pending[item.turn_index]
            episode = episodes[seg_of_turn[id(turn)]]
            store.insert_foresight(
                ForesightRecord(
                    id=new_foresight_id(),
                    **owned_by(turn),
                    kind=item.kind,
                    content=item.content,
                    created_at=now,
                    due_at=item.due_at,
                    expires_at=item.expires_at,
                    episode_pk=episode.pk,
                    source_turn_pks=[turn.pk] if turn.pk is not None else [],
                    embedding=next(fore_vecs),
                )
            )
            summary.foresight_created += 1
    return summary


def _apply_fact(
    runtime: Runtime,
    fact: ExtractedFact,
    turn: TurnRecord,
    episode: EpisodeRecord,
    vector: Any,
    now: Any,
) -> int:
    """Write one extracted fact at its place on the timeline; returns facts created.

    A fact holds from when it was said unless the sentence dates it in the past ("I moved to
    Lisbon last month"); an extractor that gave its own time is taken at its word.
    """
    since = fact.t_valid
    if since == turn.event_time:
        since = valid_from(turn.content, fact.object, turn.event_time)
    if fact.negated:
        scope = timeline.owner_scope(turn.tenant_id, turn.user_id, turn.session_id)
        timeline.end(runtime.store, scope, fact.subject, fact.relation, fact.object, since)
        return 0
    placed = timeline.place(
        runtime.store,
        FactRecord(
            id=new_fact_id(),
            **owned_by(turn),
            subject=fact.subject,
            relation=fact.relation,
            object=fact.object,
            text=fact.text,
            role=turn.role,
            confidence=fact.confidence,
            importance=0.6,
            functional=fact.functional,
            t_valid=since,
            t_created=now,
            metadata=dict(turn.metadata),
            created_at=now,
            episode_id=episode.id,
            source_turn_pks=[turn.pk] if turn.pk is not None else [],
            embedding=vector,
        ),
        said_at=turn.event_time,
    )
    return 1 if placed else 0
