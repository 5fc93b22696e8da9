"""Moving memory between stores: one JSON Lines format, written and read the same way by
every backend (`tessera export` / `tessera import`).

A file is a `header` row, then for each tenant a `tenant` row followed by its `turn`,
`episode`, `fact`, `foresight`, `portrait` and `panel` rows. Every field a store keeps is
written: times as ISO 8601 UTC with microseconds, vectors as base64 of little-endian
float32 (bit-exact), metadata and attributes as JSON. Turns are numbered (`ref`) in the
order they were stored and the other rows name their source turns by that number, so a
file does not depend on a database's primary keys, and exporting what was imported gives
the same file again (apart from the header's `exported_at` and `backend`).

Import runs in one transaction and is idempotent: a turn whose `turn_id` already exists in
its scope, or an item whose id exists, is skipped rather than stored twice. API keys and
jobs are not exported.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

import numpy as np

from ..engine.records import (
    EpisodeRecord,
    FactRecord,
    ForesightRecord,
    PanelRecord,
    TurnRecord,
    Vector,
)
from .rows import EPISODES, FACTS, FORESIGHT, PANELS, TURNS, Codec, Table

R = TypeVar("R")

FORMAT = "tessera-export"
VERSION = 1
ROW_TYPES = ("turn", "episode", "fact", "foresight", "portrait", "panel")


class Dumpable(Protocol):
    """What export and import need of a backend, beyond the engine's store protocol."""

    backend: str
    dim: int

    def transaction(self) -> AbstractContextManager[None]: ...

    def ensure_tenant(self, name: str, now: datetime) -> tuple[int, bool]: ...

    def insert_turn(self, turn: TurnRecord) -> tuple[TurnRecord, bool]: ...

    def claim_turns(self, pks: Sequence[int]) -> int: ...

    def insert_episode(self, ep: EpisodeRecord) -> EpisodeRecord: ...

    def insert_fact(self, fact: FactRecord) -> FactRecord: ...

    def insert_foresight(self, item: ForesightRecord) -> ForesightRecord: ...

    def put_portrait(
        self, tenant_id: int, user_id: str, data: dict[str, Any], now: datetime
    ) -> None: ...

    def replace_panels(
        self, tenant_id: int, user_id: str, panels: Sequence[PanelRecord]
    ) -> int: ...

    def export_tenants(self) -> list[tuple[int, str, datetime]]: ...

    def export_turns(self, tenant_id: int, user_id: str | None) -> Iterator[TurnRecord]: ...

    def export_episodes(self, tenant_id: int, user_id: str | None) -> Iterator[EpisodeRecord]: ...

    def export_facts(self, tenant_id: int, user_id: str | None) -> Iterator[FactRecord]: ...

    def export_foresight(
        self, tenant_id: int, user_id: str | None
    ) -> Iterator[ForesightRecord]: ...

    def export_portraits(
        self, tenant_id: int, user_id: str | None
    ) -> Iterator[tuple[str, dict[str, Any], datetime]]: ...

    def export_panels(self, tenant_id: int, user_id: str | None) -> Iterator[PanelRecord]: ...

    def item_owners(self, table: str, ids: Sequence[str]) -> dict[str, tuple[int, int]]: ...


class ImportRefused(ValueError):
    """The file cannot be imported (wrong format, another embedder, an id clash)."""


# -- value encoding ----------------------------------------------------------------------


def enc_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def dec_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ImportRefused(f"time {value!r} has no UTC offset")
    return parsed.astimezone(timezone.utc)


def enc_vec(value: Vector | None) -> str | None:
    if value is None:
        return None
    return base64.b64encode(np.asarray(value, dtype="<f4").tobytes()).decode("ascii")


def dec_vec(value: str | None) -> Vector | None:
    if value is None:
        return None
    return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)


# -- export ------------------------------------------------------------------------------

# The format's spelling of a row's values: labels as null when absent, metadata and attributes
# as JSON values, flags as booleans (rows.py's tables list the columns).
PORTABLE = Codec(
    enc_time=enc_time,
    dec_time=dec_time,
    enc_vec=enc_vec,
    dec_vec=dec_vec,
    enc_flag=bool,
    enc_label=lambda value: value,
    enc_json=lambda value: value,
    dec_json=lambda value: value,
)


def _refs(refs: dict[int, int], pks: list[int]) -> list[int]:
    """Source turns by their number in the file (turns not in the file are left out)."""
    return [refs[pk] for pk in pks if pk in refs]


def _row(kind: str, table: Table[Any], item: Any, **more: Any) -> dict[str, Any]:
    """An exported row: its type, the record's columns but the tenant (the `tenant` row before
    it names that), and `more`."""
    values = table.encode(item, PORTABLE)
    del values["tenant_id"]
    return {"type": kind, **values, **more}


def export_rows(src: Dumpable, tenant: str | None, user_id: str | None) -> Iterator[dict[str, Any]]:
    """Every row of one tenant (or all), optionally only one user's, in a stable order."""
    tenants = src.export_tenants()
    if tenant is not None:
        tenants = [t for t in tenants if t[1] == tenant]
        if not tenants:
            raise LookupError(f"no tenant named {tenant!r}")
    yield {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "dim": src.dim,
        "backend": src.backend,
        "user_id": user_id,
        "exported_at": enc_time(datetime.now(timezone.utc)),
    }
    for tenant_id, name, created_at in tenants:
        yield {"type": "tenant", "name": name, "created_at": enc_time(created_at)}
        refs: dict[int, int] = {}
        for turn in src.export_turns(tenant_id, user_id):
            assert turn.pk is not None
            refs[turn.pk] = len(refs) + 1
            yield _row("turn", TURNS, turn, ref=refs[turn.pk], consolidated=turn.consolidated)
        episode_ids: dict[int, str] = {}
        for ep in src.export_episodes(tenant_id, user_id):
            assert ep.pk is not None
            episode_ids[ep.pk] = ep.id
            yield _row("episode", EPISODES, ep, sources=_refs(refs, ep.source_turn_pks))
        for fact in src.export_facts(tenant_id, user_id):
            yield _row("fact", FACTS, fact, sources=_refs(refs, fact.source_turn_pks))
        for item in src.export_foresight(tenant_id, user_id):
            row = _row("foresight", FORESIGHT, item, sources=_refs(refs, item.source_turn_pks))
            # Named by the episode's id: primary keys do not travel.
            pk = row.pop("episode_pk")
            yield {**row, "episode_id": episode_ids.get(pk) if pk else None}
        for owner, data, updated_at in src.export_portraits(tenant_id, user_id):
            yield {
                "type": "portrait",
                "user_id": owner,
                "data": data,
                "updated_at": enc_time(updated_at),
            }
        for panel in src.export_panels(tenant_id, user_id):
            yield _row("panel", PANELS, panel)


# -- import ------------------------------------------------------------------------------


class _Importer:
    def __init__(self, dst: Dumpable) -> None:
        self.dst = dst
        self.counts = {"tenant": 0, **{t: 0 for t in ROW_TYPES}, "skipped": 0}
        self.tenant_id: int | None = None
        self.existing_tenant = False
        self.refs: dict[int, int] = {}
        self.episode_pks: dict[str, int] = {}
        self.to_claim: list[int] = []
        self.panels: dict[str, list[PanelRecord]] = {}
        self.seen_header = False

    def tenant(self) -> int:
        if self.tenant_id is None:
            raise ImportRefused("a row comes before any `tenant` row")
        return self.tenant_id

    def flush(self) -> None:
        if self.tenant_id is not None:
            for user_id, panels in self.panels.items():
                self.dst.replace_panels(self.tenant_id, user_id, panels)
        if self.to_claim:
            self.dst.claim_turns(self.to_claim)
        self.panels, self.to_claim = {}, []

    def exists(self, table: str, item_id: str) -> int | None:
        """The pk of an item already stored under this tenant, if any."""
        if not self.existing_tenant:
            return None
        owner = self.dst.item_owners(table, [item_id]).get(item_id)
        if owner is None:
            return None
        if owner[0] != self.tenant():
            raise ImportRefused(f"id {item_id!r} already belongs to another tenant")
        return owner[1]

    def row(self, row: dict[str, Any]) -> None:
        kind = row.get("type")
        if kind == "header":
            if row.get("format") != FORMAT or row.get("version") != VERSION:
                raise ImportRefused(
                    f"not a {FORMAT} version {VERSION} file "
                    f"(format={row.get('format')!r}, version={row.get('version')!r})"
                )
            if row.get("dim") != self.dst.dim:
                raise ImportRefused(
                    f"the file holds {row.get('dim')}-dimensional vectors; this database "
                    f"is for {self.dst.dim}"
                )
            self.seen_header = True
            return
        if not self.seen_header:
            raise ImportRefused(f"the file does not start with a {FORMAT} header")
        handler = getattr(self, f"_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            raise ImportRefused(f"unknown row type {kind!r}")
        handler(row)

    def _tenant(self, row: dict[str, Any]) -> None:
        self.flush()
        tenant_id, created = self.dst.ensure_tenant(str(row["name"]), dec_time(row["created_at"]))
        self.tenant_id, self.existing_tenant = tenant_id, not created
        self.counts["tenant"] += 1
        self.refs, self.episode_pks = {}, {}

    def _record(self, table: Table[R], row: dict[str, Any], **more: Any) -> R:
        """The record of an imported row, in this database's tenant."""
        return table.decode({**row, "tenant_id": self.tenant()}, PORTABLE, stored=False, **more)

    def _turn(self, row: dict[str, Any]) -> None:
        stored, created = self.dst.insert_turn(self._record(TURNS, row))
        assert stored.pk is not None
        self.refs[int(row["ref"])] = stored.pk
        if not created:
            self.counts["skipped"] += 1
            return
        self.counts["turn"] += 1
        if row["consolidated"]:
            self.to_claim.append(stored.pk)

    def _sources(self, row: dict[str, Any]) -> list[int]:
        return [self.refs[r] for r in row["sources"] if r in self.refs]

    def _episode(self, row: dict[str, Any]) -> None:
        found = self.exists("episodes", row["id"])
        if found is not None:
            self.episode_pks[row["id"]] = found
            self.counts["skipped"] += 1
            return
        ep = self.dst.insert_episode(
            self._record(EPISODES, row, source_turn_pks=self._sources(row))
        )
        assert ep.pk is not None
        self.episode_pks[ep.id] = ep.pk
        self.counts["episode"] += 1

    def _fact(self, row: dict[str, Any]) -> None:
        if self.exists("facts", row["id"]) is not None:
            self.counts["skipped"] += 1
            return
        self.dst.insert_fact(self._record(FACTS, row, source_turn_pks=self._sources(row)))
        self.counts["fact"] += 1

    def _foresight(self, row: dict[str, Any]) -> None:
        if self.exists("foresight", row["id"]) is not None:
            self.counts["skipped"] += 1
            return
        episode_id = row["episode_id"]
        episode_pk = None
        if episode_id is not None:
            episode_pk = self.episode_pks.get(episode_id)
            if episode_pk is None:
                owner = self.dst.item_owners("episodes", [episode_id]).get(episode_id)
                episode_pk = owner[1] if owner and owner[0] == self.tenant() else None
        item = {**row, "episode_pk": episode_pk}
        self.dst.insert_foresight(self._record(FORESIGHT, item, source_turn_pks=self._sources(row)))
        self.counts["foresight"] += 1

    def _portrait(self, row: dict[str, Any]) -> None:
        self.dst.put_portrait(
            self.tenant(), str(row["user_id"]), dict(row["data"]), dec_time(row["updated_at"])
        )
        self.counts["portrait"] += 1

    def _panel(self, row: dict[str, Any]) -> None:
        user_id = str(row["user_id"] or "")
        panel = self._record(PANELS, {**row, "user_id": user_id})
        if panel.centroid is None:
            raise ImportRefused("a panel row has no centroid")
        self.panels.setdefault(user_id, []).append(panel)
        self.counts["panel"] += 1


def import_rows(dst: Dumpable, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Store exported rows, all or nothing; returns how many rows of each type were stored
    (and how many were `skipped` as already present)."""
    importer = _Importer(dst)
    with dst.transaction():
        for row in rows:
            importer.row(row)
        importer.flush()
    return importer.counts
