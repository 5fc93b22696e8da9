"""Turns still waiting for consolidation, served as verbatim episodes (read-after-write).

A turn added with `infer=true` becomes part of an episode only when consolidation runs,
which by default waits for `consolidate_every` turns. Until then the turn itself is what
reads show: `search` ranks it by the turn-level arms it is already indexed in, `query`
puts it in the context, `memories.list` and `memories.get` show it. Each such turn reads as
an episode whose id is derived from the turn; the episode consolidation builds from it keeps
that id when the turn begins it (a reply that joins its question's episode takes that one's),
and the two are never shown both, since consolidation claims the turn and writes the episode
in one transaction. Nothing is written for this: add costs the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..store import Store
from .ids import turn_episode_id
from .narration import narrate
from .records import EpisodeRecord, ListCursor, ListedItem, Scope, TurnRecord
from .scope import owned_by

# A scope rarely holds more than `consolidate_every` waiting turns; a stopped worker can let
# them pile up, and reads then show the newest this many.
PENDING_READ_LIMIT = 10_000


def pending_id(turn: TurnRecord) -> str:
    assert turn.pk is not None
    return turn_episode_id(turn.tenant_id, turn.pk)


def is_pending(turn: TurnRecord) -> bool:
    return turn.infer and not turn.consolidated and turn.pk is not None


def as_episode(turn: TurnRecord) -> EpisodeRecord:
    """The turn as an episode of its own, narrated like any other episode."""
    assert turn.pk is not None
    return EpisodeRecord(
        id=pending_id(turn),
        **owned_by(turn),
        kind="episode",
        text=narrate([turn]),
        role=turn.role,
        event_time=turn.event_time,
        importance=0.5,
        metadata=dict(turn.metadata),
        created_at=turn.created_at,
        source_turn_pks=[turn.pk],
        attrs={"pending": True},
        embedding=turn.embedding,
        source_turn_ids=[turn.turn_id],
    )


def of_turns(store: Store, turn_pks: Iterable[int]) -> dict[int, EpisodeRecord]:
    """The pending turns among `turn_pks`, as episodes, by turn pk."""
    wanted = sorted(set(turn_pks))
    if not wanted:
        return {}
    return {t.pk: as_episode(t) for t in store.turns_by_pk(wanted) if is_pending(t) and t.pk}


def in_scope(store: Store, scope: Scope) -> list[EpisodeRecord]:
    return [as_episode(t) for t in store.pending_turns(scope, PENDING_READ_LIMIT) if is_pending(t)]


def find(store: Store, scope: Scope, item_id: str) -> tuple[EpisodeRecord, TurnRecord] | None:
    """The pending turn an id names, if it is one in the scope."""
    for turn in store.pending_turns(scope, PENDING_READ_LIMIT):
        if is_pending(turn) and pending_id(turn) == item_id:
            return as_episode(turn), turn
    return None


def merge_listing(
    listed: Sequence[ListedItem],
    waiting: Sequence[EpisodeRecord],
    cursor: ListCursor | None,
    limit: int,
) -> list[ListedItem]:
    """Stored items and pending turns in one newest-first order, strictly after the cursor."""
    extra = [ListedItem("episode", ep.id, ep.created_at) for ep in waiting]
    if cursor is not None:
        extra = [i for i in extra if (i.created_at, i.id) < (cursor.created_at, cursor.item_id)]
    merged = sorted([*listed, *extra], key=lambda i: (i.created_at, i.id), reverse=True)
    return merged[:limit]
