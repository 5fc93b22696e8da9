"""The facts' timeline: where a fact sits among the facts of its subject and relation.

Supersession is decided here and nowhere else. A functional relation (one value at a time:
where someone lives, who their manager is) forms a chain ordered by valid time, not by
arrival: each fact is valid until the next one in the chain starts, and the last is open.
So a history imported after newer facts (a 2023 "I live in Berlin" added after a 2024 "I
moved to Lisbon") closes where it belongs, at the newer fact's start, and `as_of` in 2023
still says Berlin. The chain is recomputed from the believed facts (not expired) each time
it changes — a fact added, corrected or forgotten — so the links never depend on the order
the changes came in. The stores only persist what is decided here.

A fact ended without a successor (a negation: "I no longer live in Berlin") keeps its end
unless a successor starts before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..store import Store
from .records import FactRecord, Scope

Change = tuple[str, datetime | None, str | None]


def owner_scope(tenant_id: int, user_id: str | None, session_id: str | None) -> Scope:
    """The scope a fact's chain lives in: the user across sessions, or, for memory without
    a user, its session."""
    return Scope(tenant_id, user_id, None if user_id else session_id)


def _order(fact: FactRecord) -> tuple[datetime, int]:
    return fact.t_valid, fact.pk if fact.pk is not None else 1 << 62


def _ended(fact: FactRecord) -> bool:
    """Ended by a negation rather than closed by a successor."""
    return fact.t_invalid is not None and fact.superseded_by is None


def chain_links(chain: Sequence[FactRecord]) -> list[Change]:
    """The (id, t_invalid, superseded_by) each fact of one functional chain should have,
    for the facts whose stored values differ."""
    ordered = sorted(chain, key=_order)
    if not ordered:  # a non-functional fact has no chain (zip below needs one fact at least)
        return []
    changes: list[Change] = []
    for fact, nxt in zip(ordered, [*ordered[1:], None], strict=True):
        want: tuple[datetime | None, str | None]
        if nxt is None:
            want = (fact.t_invalid, None) if _ended(fact) else (None, None)
        elif _ended(fact) and fact.t_invalid is not None and fact.t_invalid <= nxt.t_valid:
            want = (fact.t_invalid, None)
        else:
            want = (nxt.t_valid, nxt.id)
        if want != (fact.t_invalid, fact.superseded_by):
            changes.append((fact.id, *want))
    return changes


def valid_at(chain: Sequence[FactRecord], instant: datetime) -> list[FactRecord]:
    """The facts of a chain valid at an instant."""
    return [
        f for f in chain if f.t_valid <= instant and (f.t_invalid is None or instant < f.t_invalid)
    ]


def holds(fact: FactRecord, as_of: datetime, known_as_of: datetime) -> bool:
    """Whether a fact is valid at `as_of` as believed at `known_as_of` (the rule the search
    arms apply in each store)."""
    return (
        fact.t_valid <= as_of
        and (fact.t_invalid is None or as_of < fact.t_invalid)
        and fact.t_created <= known_as_of
        and (fact.t_expired is None or known_as_of < fact.t_expired)
    )


def relink(store: Store, scope: Scope, subject: str, relation: str) -> int:
    """Recompute one chain's links from its believed facts; returns how many changed."""
    chain = [f for f in store.believed_facts(scope, subject, relation) if f.functional]
    changes = chain_links(chain)
    store.set_fact_validity(scope.tenant_id, changes)
    return len(changes)


def place(store: Store, record: FactRecord, *, said_at: datetime | None = None) -> bool:
    """Insert a new fact at its place in valid time. A statement of what already holds at
    that instant (the same value) adds nothing: returns False.

    `said_at` is when a fact dated back by its sentence was said ("I moved to Lisbon last
    month"): such a start does not reach back past another value stated to hold in between
    (the later statement wins from that value's start on, rather than slipping under it).
    """
    scope = owner_scope(record.tenant_id, record.user_id, record.session_id)
    chain = store.believed_facts(scope, record.subject, record.relation)
    same = record.object.lower()
    if record.functional and said_at is not None and record.t_valid < said_at:
        between = [
            f.t_valid
            for f in chain
            if record.t_valid < f.t_valid <= said_at and f.object.lower() != same
        ]
        record.t_valid = max(between, default=record.t_valid)
    if record.functional:
        if any(f.object.lower() == same for f in valid_at(chain, record.t_valid)):
            return False
    elif any(f.object.lower() == same and f.t_invalid is None for f in chain):
        return False
    stored = store.insert_fact(record)
    if record.functional:
        functional = [f for f in chain if f.functional]
        store.set_fact_validity(scope.tenant_id, chain_links([*functional, stored]))
    return True


def end(store: Store, scope: Scope, subject: str, relation: str, obj: str, at: datetime) -> int:
    """A negation: facts saying `obj` that hold at `at` stop holding then (they are ended,
    not superseded). Returns how many."""
    chain = store.believed_facts(scope, subject, relation)
    same = obj.lower()
    changes: list[Change] = [
        (f.id, at, None) for f in valid_at(chain, at) if f.object.lower() == same
    ]
    store.set_fact_validity(scope.tenant_id, changes)
    return len(changes)


def relink_dangling(store: Store, tenant_id: int) -> int:
    """After a deletion: re-link every chain in which a fact's successor is gone (a forgotten
    turn in the middle of a chain re-links its neighbours; a forgotten last fact reopens the
    one before it). Returns how many links changed."""
    keys = {
        (owner_scope(f.tenant_id, f.user_id, f.session_id), f.subject, f.relation)
        for f in store.dangling_supersessions(tenant_id)
    }
    changed = 0
    for scope, subject, relation in sorted(
        keys, key=lambda k: (k[0].user_id or "", k[0].session_id or "", k[1], k[2])
    ):
        changed += relink(store, scope, subject, relation)
        # a non-functional fact with a dangling link (written by an older version) reopens
        orphans = [
            (f.id, None, None)
            for f in store.believed_facts(scope, subject, relation)
            if not f.functional and f.superseded_by is not None
        ]
        store.set_fact_validity(scope.tenant_id, orphans)
        changed += len(orphans)
    return changed
