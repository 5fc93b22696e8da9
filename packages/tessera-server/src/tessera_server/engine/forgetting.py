"""Forgetting: deletes that take along exactly what depended on the deleted thing."""

from __future__ import annotations

from ..store.records import ForgetCounts, Scope
from .consolidation import narrate
from .ids import item_kind
from .maintenance import refresh_panels, refresh_portrait
from .runtime import Runtime
from .timeline import relink_dangling


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


def forget_turn(runtime: Runtime, scope: Scope, turn_id: str) -> ForgetCounts:
    """Remove a turn and whatever was derived from it alone; re-narrate shared episodes."""
    store = runtime.store
    turn = store.get_turn(scope, turn_id)
    if turn is None or turn.pk is None:
        return ForgetCounts()  # idempotent, so a retried delete is a zero-count report
    counts = ForgetCounts()
    rewritten = []
    with store.transaction():
        for episode in store.episodes_for_turns([turn.pk]):
            remaining = [pk for pk in episode.source_turn_pks if pk != turn.pk]
            if not remaining:
                counts.add(store.delete_episode(episode))
            else:
                episode.source_turn_pks = remaining
                rewritten.append(episode)
        counts.add(store.delete_orphans_of_turns(turn.tenant_id, [turn.pk]))
        counts.turns += store.delete_turn_rows(turn.tenant_id, [turn.pk])
        for episode in rewritten:
            turns = store.turns_by_pk(episode.source_turn_pks)
            episode.text = narrate(turns)
            episode.embedding = runtime.embedder.embed([episode.text])[0]
            store.update_episode(episode)
    _refresh(runtime, scope.tenant_id, turn.user_id)
    return counts


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
