"""Forgetting: deletes that take along exactly what depended on the deleted thing."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..store.records import EpisodeRecord, ForgetCounts, Scope, TurnRecord
from .consolidation import narrate
from .ids import item_kind
from .maintenance import refresh_panels, refresh_portrait
from .runtime import Runtime


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
            counts = store.delete_episode(episode)
            if episode.kind == "note":
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
            cascade.counts.add(store.delete_episode(episode))
            cascade.removed.append(episode)
        else:
            episode.source_turn_pks = remaining
            cascade.rewritten.append(episode)
    cascade.counts.add(store.delete_orphans_of_turns(turn.tenant_id, [turn.pk]))
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
    runtime.store.restore_superseded(scope.tenant_id)
    for user_id in affected:
        refresh_portrait(runtime, scope.tenant_id, user_id)
        refresh_panels(runtime, scope.tenant_id, user_id)
    return total


def _refresh(runtime: Runtime, tenant_id: int, user_id: str | None) -> None:
    """Portrait and panels must not keep what was just forgotten. They belong to the
    owner of what was deleted, also when the call named only a session. Nor may a
    deleted fact keep closing the one it had superseded."""
    runtime.store.restore_superseded(tenant_id)
    if user_id is not None:
        refresh_portrait(runtime, tenant_id, user_id)
        refresh_panels(runtime, tenant_id, user_id)
