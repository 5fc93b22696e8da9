"""Derived state kept beside the memories: portraits, panels, embeddings, digests."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..store.records import EpisodeRecord, PanelRecord, Scope
from .clock import utcnow
from .runtime import Runtime

PANEL_SIMILARITY = 0.5
PANEL_WINDOW = 2000
CHARS_PER_TOKEN = 4


def refresh_portrait(runtime: Runtime, tenant_id: int, user_id: str) -> dict[str, Any]:
    """The user's profile: every live fact, grouped by subject and relation."""
    facts = runtime.store.live_facts(Scope(tenant_id, user_id, None))
    portrait: dict[str, dict[str, Any]] = {}
    for fact in facts:
        attrs = portrait.setdefault(fact.subject, {})
        if fact.functional:
            attrs[fact.relation] = fact.object
        else:
            values = attrs.setdefault(fact.relation, [])
            if isinstance(values, list) and fact.object not in values:
                values.append(fact.object)
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


def refresh_panels(runtime: Runtime, tenant_id: int, user_id: str) -> int:
    """Cluster the user's recent episodes into level-0 panels with centroids and summaries."""
    episodes = [
        e
        for e in runtime.store.episodes_in_scope(
            Scope(tenant_id, user_id, None), ("episode", "note"), limit=PANEL_WINDOW
        )
        if e.embedding is not None
    ]
    clusters: list[tuple[np.ndarray[Any, Any], list[EpisodeRecord]]] = []
    for episode in reversed(episodes):
        assert episode.embedding is not None
        best, best_sim = -1, PANEL_SIMILARITY
        for i, (centroid, _) in enumerate(clusters):
            sim = float(episode.embedding @ centroid) / (float(np.linalg.norm(centroid)) or 1.0)
            if sim >= best_sim:
                best, best_sim = i, sim
        if best < 0:
            clusters.append((episode.embedding.astype(np.float32).copy(), [episode]))
        else:
            centroid, members = clusters[best]
            members.append(episode)
            clusters[best] = (centroid + episode.embedding, members)
    utcnow()
    panels = []
    for centroid, members in clusters:
        unit = (centroid / (float(np.linalg.norm(centroid)) or 1.0)).astype(np.float32)
        panels.append(
            PanelRecord(
                tenant_id=tenant_id,
                user_id=user_id,
                level=0,
                summary=_summary(members, unit),
                members=[m.id for m in members],
                centroid=unit,
                updated_at=max(m.event_time for m in members),
            )
        )
    return runtime.store.replace_panels(tenant_id, user_id, panels)


def reindex(runtime: Runtime, scope: Scope) -> tuple[int, int]:
    """Backfill missing turn embeddings and recompute panel centroids; deterministic."""
    store, embedder = runtime.store, runtime.embedder
    missing = store.turns_missing_embeddings(scope)
    backfilled = 0
    for start in range(0, len(missing), 256):
        chunk = missing[start : start + 256]
        vectors = embedder.embed([t.content for t in chunk])
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
