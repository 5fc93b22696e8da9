"""Public identifiers: `ep_<uuid>` episodes, `ft_<uuid>` facts, `job_<int>` jobs (random, see
`store.protocol.new_job_pk`)."""

from __future__ import annotations

import re
import uuid
from typing import Literal

from .errors import NotFound, WrongIdKind

ItemKind = Literal["episode", "fact"]
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ITEM = re.compile(rf"^(ep|ft)_({_UUID})$")
_JOB = re.compile(r"^job_([1-9][0-9]{0,18})$")


def new_episode_id() -> str:
    return f"ep_{uuid.uuid4()}"


# Fixed namespace of turn-derived episode ids: the same turn always names the same episode, and
# ids of other tenants' turns cannot be guessed from one's own (the tenant is in the name).
_TURN_EPISODES = uuid.UUID("6f0c1f4e-2b7a-5c55-9a43-2d1e7c0b9a11")


def turn_episode_id(tenant_id: int, turn_pk: int) -> str:
    """The id of the episode a turn begins: shown while the turn waits for consolidation
    (engine/pending.py) and kept by the episode consolidation builds from it, so an id read
    before consolidation still names the same memory after it."""
    return f"ep_{uuid.uuid5(_TURN_EPISODES, f'{tenant_id}:{turn_pk}')}"


def new_fact_id() -> str:
    return f"ft_{uuid.uuid4()}"


def new_foresight_id() -> str:
    return f"fs_{uuid.uuid4()}"


def item_kind(item_id: str) -> ItemKind:
    """The kind an item id names; 422 for anything that is not an `ep_`/`ft_` id."""
    match = _ITEM.match(item_id)
    if match is None:
        raise WrongIdKind(
            "the id is not a memory id; expected `ep_<uuid>` (episode) or `ft_<uuid>` (fact)"
        )
    return "episode" if match.group(1) == "ep" else "fact"


def expect(item_id: str, kind: ItemKind) -> str:
    """Require an id of one kind, e.g. `correct` takes only facts."""
    found = item_kind(item_id)
    if found != kind:
        prefix = "ep_" if kind == "episode" else "ft_"
        raise WrongIdKind(
            f"this operation takes {_article(kind)} {kind} id (`{prefix}…`), but "
            f"the id given is {_article(found)} {found}"
        )
    return item_id


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def job_id(pk: int) -> str:
    return f"job_{pk}"


def job_pk(value: str) -> int:
    match = _JOB.match(value)
    if match is None:
        raise WrongIdKind("the id is not a job id; expected `job_<number>`")
    pk = int(match.group(1))
    if pk > 2**63 - 1:
        raise NotFound("no such job")
    return pk
