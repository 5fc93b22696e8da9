"""Derived state kept beside the memories: portraits, panels, embeddings, digests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from .clock import utcnow
from .narration import own_vector_text
from .records import EpisodeRecord, FactRecord, PanelRecord, Scope
from .runtime import Runtime
from .timeline import holds

PANEL_SIMILARITY = 0.5
PANEL_WINDOW = 2000
CHARS_PER_TOKEN = 4


def portrait_of(facts: Sequence[FactRecord]) -> dict[str, Any]:
    """A profile from facts that hold together: grouped by subject and relation, a
    functional relation's one value, the values of the others in a list."""
    portrait: dict[str, dict[str, Any]] = {}
    for fact in facts:
        attrs = portrait.setdefault(fact.subject, {})
        if fact.functional:
            attrs[fact.relation] = fact.object
        else:
            values = attrs.setdefault(fact.relation, [])
            if isinstance(values, list) and fact.object not in values:
                values.append(fact.object)
    return portrait


def portrait_at(
    runtime: Runtime, tenant_id: int, user_id: str, as_of: datetime, known_as_of: datetime
) -> dict[str, Any]:
    """The user's profile as it stood: the facts valid at `as_of` as known at `known_as_of`."""
    facts = runtime.store.all_facts(Scope(tenant_id, user_id, None))
    return portrait_of([f for f in facts if holds(f, as_of, known_as_of)])


def refresh_portrait(runtime: Runtime, tenant_id: int, user_id: str) -> dict[str, Any]:
    """The user's profile now: every live fact, grouped by subject and relation."""
    portrait = portrait_of(runtime.store.live_facts(Scope(tenant_id, user_id, None)))
    runtime.store.put_portrait(tenant_id, user_id, portrait, utcnow())
    return portrait


def _summary(members: list[EpisodeRecord], centroid: np.ndarray[Any, Any]) -> str:
    """The member closest to the centroid, cut to about forty words."""
    best = max(
        members,
        key=lambda e: float(e.embedding @ centroid) if e.embedding is not None else -1.0,
    )
    words = best.text.split()
    text = " ".join(words[:40]) + (" …" if len(words) > 40 else "")
    return f"({len(members)} episodes) {text}"


def _clusters(
    episodes: list[EpisodeRecord],
) -> list[tuple[np.ndarray[Any, Any], list[EpisodeRecord]]]:
    """One greedy pass, oldest first: an episode joins the cluster whose centroid it is most
    similar to (the latest on a tie) at PANEL_SIMILARITY or above, else starts one.

    The centroid sums live in one matrix so each episode is compared with all clusters in a
    single product; comparing pair by pair in Python took 1.5 s per consolidation at 2,000
    episodes, on every turn added with mode=sync.
    """
    dim = len(episodes[0].embedding) if episodes and episodes[0].embedding is not None else 0
    sums = np.zeros((max(16, len(episodes)), dim), np.float32)
    norms = np.zeros(len(sums), np.float32)
    members: list[list[EpisodeRecord]] = []
    for episode in episodes:
        assert episode.embedding is not None
        vector = np.asarray(episode.embedding, np.float32)
        count = len(members)
        best = -1
        if count:
            sims = (sums[:count] @ vector) / np.where(norms[:count] > 0, norms[:count], 1.0)
            top = float(sims.max())
            if top >= PANEL_SIMILARITY:
                best = int(np.flatnonzero(sims == top)[-1])
        if best < 0:
            best = count
            members.append([])
        members[best].append(episode)
        sums[best] += vector
        norms[best] = np.linalg.norm(sums[best])
    return [
        ((sums[i] / (float(norms[i]) or 1.0)).astype(np.float32), group)
        for i, group in enumerate(members)
    ]


def refresh_panels(runtime: Runtime, tenant_id: int, user_id: str) -> int:
    """Cluster the user's recent episodes into level-0 panels with centroids and summaries."""
    episodes = [
        e
        for e in runtime.store.episodes_in_scope(
            Scope(tenant_id, user_id, None), ("episode", "note"), limit=PANEL_WINDOW
        )
        if e.embedding is not None
    ]
    panels = [
        PanelRecord(
            tenant_id=tenant_id,
            user_id=user_id,
            level=0,
            summary=_summary(members, unit),
            members=[m.id for m in members],
            centroid=unit,
            updated_at=max(m.event_time for m in members),
        )
        for unit, members in _clusters(list(reversed(episodes)))
    ]
    return runtime.store.replace_panels(tenant_id, user_id, panels)


def reindex(runtime: Runtime, scope: Scope) -> tuple[int, int]:
    """Backfill missing turn embeddings and recompute panel centroids; deterministic."""
    store, embedder, settings = runtime.store, runtime.embedder, runtime.settings
    missing = store.turns_missing_embeddings(scope)
    backfilled = 0
    for start in range(0, len(missing), 256):
        chunk = missing[start : start + 256]
        vectors = embedder.embed(
            [
                own_vector_text(t, settings.turn_part_chars, settings.turn_parts_embedded_once)
                for t in chunk
            ]
        )
        store.set_turn_embeddings(
            [(t.pk, v) for t, v in zip(chunk, vectors, strict=True) if t.pk is not None]
        )
        backfilled += len(chunk)
    for unembedded in (
        store.episodes_missing_embeddings(scope),
        store.facts_missing_embeddings(scope),
    ):
        for start in range(0, len(unembedded), 256):
            items = unembedded[start : start + 256]
            vectors = embedder.embed([text for _, text in items])
            store.set_item_embeddings(
                scope.tenant_id,
                [(item_id, v) for (item_id, _), v in zip(items, vectors, strict=True)],
            )
    panels = 0
    if scope.user_id is not None:
        panels = refresh_panels(runtime, scope.tenant_id, scope.user_id)
    return backfilled, panels


def compress(runtime: Runtime, scope: Scope, token_budget: int) -> str:
    """Panel summaries, newest first, packed under a token budget (~4 characters a token)."""
    if scope.user_id is None:
        return ""
    budget = token_budget * CHARS_PER_TOKEN
    lines: list[str] = []
    used = 0
    for panel in runtime.store.get_panels(scope.tenant_id, scope.user_id):
        line = f"- [{panel.updated_at.strftime('%-d %b %Y')}] {panel.summary}"
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)
