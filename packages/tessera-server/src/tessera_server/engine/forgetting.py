"""Forgetting: deletes that take along exactly what depended on the deleted thing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..store import Store
from .ids import item_kind
from .maintenance import refresh_panels, refresh_portrait
from .narration import narrate
from .parts import part_of
from .records import EpisodeRecord, ForgetCounts, Scope, TurnRecord
from .runtime import Runtime
from .timeline import relink_dangling


def remove_episode(store: Store, episode: EpisodeRecord) -> ForgetCounts:
    """An episode goes with its foresight and the facts drawn from it."""
    assert episode.pk is not None
    facts, foresight = store.derived_from_episode(episode)
    return ForgetCounts(
        foresight=store.delete_rows("foresight", foresight),
        facts=store.delete_rows("facts", facts),
        episodes=store.delete_rows("episodes", [episode.pk]),
    )


def remove_orphans(store: Store, turn_pks: Sequence[int]) -> ForgetCounts:
    """Facts and foresight whose every source turn is among these turns go with them."""
    facts, foresight = store.drawn_only_from(turn_pks)
    counts = ForgetCounts(
        facts=store.delete_rows("facts", facts),
        foresight=store.delete_rows("foresight", foresight),
    )
    store.unlink_turns(turn_pks)
    return counts


def forget_item(runtime: Runtime, scope: Scope, item_id: str) -> ForgetCounts:
    store = runtime.store
    kind = item_kind(item_id)
    with store.transaction():
        if kind == "fact":
            facts = store.get_facts(scope, [item_id])
            if not facts:
                return ForgetCounts()  # idempotent: forgetting what is gone forgets nothing
            owner = facts[0].user_id
            counts = store.delete_fact(facts[0])
        else:
            episodes = store.get_episodes(scope, [item_id])
            if not episodes:
                return ForgetCounts()
            episode = episodes[0]
            owner = episode.user_id
            if episode.kind == "note" and part_of(episode.attrs) is not None:
                # One part of a verbatim long turn: the turn goes, and with it every part.
                counts = ForgetCounts()
                for turn in store.turns_by_pk(episode.source_turn_pks):
                    counts.add(_remove_turn(runtime, turn).counts)
            else:
                counts = remove_episode(store, episode)
            if episode.kind == "note" and part_of(episode.attrs) is None:
                # A note is its turn, stored verbatim: forgetting one forgets the other.
                counts.turns += store.delete_turn_rows(episode.tenant_id, episode.source_turn_pks)
    _refresh(runtime, scope.tenant_id, owner)
    return counts


@dataclass
class TurnCascade:
    """What forgetting a turn removes: the counts, the episodes that go with it and the
    episodes that keep their other turns and are narrated again without it."""

    counts: ForgetCounts = field(default_factory=ForgetCounts)
    removed: list[EpisodeRecord] = field(default_factory=list)
    rewritten: list[EpisodeRecord] = field(default_factory=list)


class _DryRun(Exception):
    """Raised inside the preview's transaction so that everything it did is rolled back."""


def _remove_turn(runtime: Runtime, turn: TurnRecord) -> TurnCascade:
    """The cascade, inside the caller's transaction; the rewritten episodes are not yet
    narrated again."""
    store = runtime.store
    assert turn.pk is not None
    cascade = TurnCascade()
    for episode in store.episodes_for_turns([turn.pk]):
        remaining = [pk for pk in episode.source_turn_pks if pk != turn.pk]
        if not remaining:
            cascade.counts.add(remove_episode(store, episode))
            cascade.removed.append(episode)
        else:
            episode.source_turn_pks = remaining
            cascade.rewritten.append(episode)
    cascade.counts.add(remove_orphans(store, [turn.pk]))
    cascade.counts.turns += store.delete_turn_rows(turn.tenant_id, [turn.pk])
    return cascade


def forget_turn(runtime: Runtime, scope: Scope, turn_id: str) -> ForgetCounts:
    """Remove a turn and whatever was derived from it alone; re-narrate shared episodes."""
    store = runtime.store
    turn = store.get_turn(scope, turn_id)
    if turn is None or turn.pk is None:
        return ForgetCounts()  # idempotent, so a retried delete is a zero-count report
    with store.transaction():
        cascade = _remove_turn(runtime, turn)
        for episode in cascade.rewritten:
            turns = store.turns_by_pk(episode.source_turn_pks)
            episode.text = narrate(turns)
            episode.embedding = runtime.embedder.embed([episode.text])[0]
            store.update_episode(episode)
    _refresh(runtime, scope.tenant_id, turn.user_id)
    return cascade.counts


def preview_forget_turn(runtime: Runtime, scope: Scope, turn_id: str) -> TurnCascade | None:
    """What `forget_turn` would remove, found by running its cascade and rolling it back
    (the same store calls, so the preview cannot drift from the deed); None when the scope
    has no such turn."""
    store = runtime.store
    turn = store.get_turn(scope, turn_id)
    if turn is None or turn.pk is None:
        return None
    outcome = TurnCascade()
    try:
        with store.transaction():
            outcome = _remove_turn(runtime, turn)
            raise _DryRun
    except _DryRun:
        pass
    return outcome


def wipe(runtime: Runtime, scope: Scope) -> int:
    """Erase the scope. A wipe of whole users drops their portraits and panels with the
    rest; a wipe of one session rebuilds them for every user who had memories in it, so
    neither the profile nor a digest keeps what was erased."""
    whole_user = scope.user_id is not None and scope.session_id is None
    affected = [] if whole_user else runtime.store.users_in_scope(scope)
    total = runtime.store.wipe(scope)
    relink_dangling(runtime.store, scope.tenant_id)
    for user_id in affected:
        refresh_portrait(runtime, scope.tenant_id, user_id)
        refresh_panels(runtime, scope.tenant_id, user_id)
    return total


def _refresh(runtime: Runtime, tenant_id: int, user_id: str | None) -> None:
    """Portrait and panels must not keep what was just forgotten. They belong to the
    owner of what was deleted, also when the call named only a session. Nor may a
    deleted fact keep closing the one it had superseded."""
    relink_dangling(runtime.store, tenant_id)
    if user_id is not None:
        refresh_portrait(runtime, tenant_id, user_id)
        refresh_panels(runtime, tenant_id, user_id)
