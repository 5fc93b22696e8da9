"""`query`: retrieved memory composed into one prompt-ready, dated context block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .clock import utcnow
from .maintenance import portrait_at
from .records import EpisodeRecord, FactRecord, ForesightRecord, Scope
from .retrieval import Hit, SearchParams, search
from .runtime import Runtime

CONTEXT_TOKEN_BUDGET = 2000
CHARS_PER_TOKEN = 4
FORESIGHT_LIMIT = 5


@dataclass
class Composed:
    context: str
    results: list[Hit]
    facts: list[Hit]
    episodes: list[Hit]
    foresight: list[ForesightRecord]
    portrait: dict[str, Any] | None
    provenance: dict[str, Any] = field(
        default_factory=lambda: {"route": None, "verifier": None, "repaired": False}
    )


def _fact_line(hit: Hit) -> str:
    record = hit.record
    assert isinstance(record, FactRecord)
    since = record.t_valid.strftime("%-d %b %Y")
    until = f" until {record.t_invalid.strftime('%-d %b %Y')}" if record.t_invalid else ""
    return f"- {record.text} (since {since}{until})"


def _episode_block(hit: Hit) -> str:
    """An episode's text. A consolidated episode begins with its date; a note (a turn stored
    verbatim) is given its date here, so every block of the context is dated."""
    record = hit.record
    assert isinstance(record, EpisodeRecord)
    if record.kind != "note":
        return record.text
    return f"[{record.event_time.date().isoformat()}] {record.text}"


def _relevant_foresight(
    runtime: Runtime, scope: Scope, query_vector: Any, params: SearchParams
) -> list[ForesightRecord]:
    """Foresight live at the query's instant (`as_of`, default now): not expired then, and
    already said then (its source turns' time), as known at `known_as_of`."""
    now = utcnow()
    as_of = params.as_of or now
    live = runtime.store.live_foresight(scope, as_of)
    if params.known_as_of is not None:
        live = [f for f in live if f.created_at <= params.known_as_of]
    if params.as_of is not None:
        said = {
            t.pk: t.event_time
            for t in runtime.store.turns_by_pk(
                sorted({pk for f in live for pk in f.source_turn_pks})
            )
        }
        live = [
            f
            for f in live
            if max((said[pk] for pk in f.source_turn_pks if pk in said), default=f.created_at)
            <= as_of
        ]
    scored = [
        (float(item.embedding @ query_vector) if item.embedding is not None else 0.0, item)
        for item in live
    ]
    scored.sort(key=lambda pair: -pair[0])
    return [item for _, item in scored[:FORESIGHT_LIMIT]]


def _portrait(runtime: Runtime, scope: Scope, params: SearchParams) -> dict[str, Any] | None:
    """The profile as of the query's instant: the stored one for now, else rebuilt from the
    facts that held then, so that profile, facts and foresight agree."""
    if scope.user_id is None:
        return None
    if params.as_of is None and params.known_as_of is None:
        return runtime.store.get_portrait(scope.tenant_id, scope.user_id)
    now = utcnow()
    return portrait_at(
        runtime, scope.tenant_id, scope.user_id, params.as_of or now, params.known_as_of or now
    )


def _pack(sections: list[tuple[str, list[str]]], budget_chars: int) -> str:
    """Sections in order, each line kept only while the whole stays under the budget."""
    out: list[str] = []
    used = 0
    for title, lines in sections:
        if not lines:
            continue
        header = f"## {title}"
        if used + len(header) + 1 > budget_chars:
            break
        block = [header]
        used += len(header) + 1
        for line in lines:
            if used + len(line) + 1 > budget_chars:
                continue
            block.append(line)
            used += len(line) + 1
        if len(block) > 1:
            out.append("\n".join(block))
        else:
            used -= len(header) + 1
    return "\n\n".join(out)


def compose(
    runtime: Runtime,
    scope: Scope,
    params: SearchParams,
    mode: str,
    hits: list[Hit] | None = None,
) -> Composed:
    """The context for `params`; `hits` when the caller already ran this very search."""
    if hits is None:
        hits = search(runtime, scope, params)
    facts = [h for h in hits if h.type == "fact"]
    episodes = [h for h in hits if h.type == "episode"]
    portrait: dict[str, Any] | None = None
    foresight: list[ForesightRecord] = []
    sections: list[tuple[str, list[str]]] = []
    if mode == "chat":
        portrait = _portrait(runtime, scope, params)
        if portrait:
            lines = []
            for subject, attrs in portrait.items():
                parts = [
                    f"{rel.replace('_', ' ')}: {', '.join(v) if isinstance(v, list) else v}"
                    for rel, v in attrs.items()
                ]
                lines.append(f"- {subject}: " + "; ".join(parts))
            sections.append(("Profile", lines))
        qvec = runtime.embedder.embed([params.query])[0]
        foresight = _relevant_foresight(runtime, scope, np.asarray(qvec), params)
    sections.append(("Facts", [_fact_line(h) for h in facts]))
    dated = sorted(
        episodes,
        key=lambda h: h.record.event_time if isinstance(h.record, EpisodeRecord) else utcnow(),
    )
    sections.append(("Episodes (oldest first)", [_episode_block(h) for h in dated]))
    if foresight:
        sections.append(
            (
                "Upcoming",
                [
                    f"- [{f.kind}{', due ' + f.due_at.strftime('%-d %b %Y') if f.due_at else ''}] {f.content}"
                    for f in foresight
                ],
            )
        )
    context = _pack(sections, CONTEXT_TOKEN_BUDGET * CHARS_PER_TOKEN)
    return Composed(context, hits, facts, episodes, foresight, portrait if mode == "chat" else None)
