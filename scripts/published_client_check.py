#!/usr/bin/env python3
"""Drive every public method of the published client `tessera-memory==0.1.4` against a service.

Run it with a Python that has the *published* client installed (not this repository's SDK):

    python -m venv /tmp/tessera-0.1.4
    /tmp/tessera-0.1.4/bin/pip install tessera-memory==0.1.4
    /tmp/tessera-0.1.4/bin/python scripts/published_client_check.py \
        --base-url http://127.0.0.1:8420 --api-key tsk_live_...

Both clients, `Tessera` (sync) and `AsyncTessera` (async), run the same flow, each under its
own fresh `user_id`: health/ready, adds (async, sync, infer=False, sync with infer=False,
replay), batch (and one past the cadence, for a job handle), paged list, get, correct,
pin/unpin, search, query (chat and reasoning), procedures, resources (caption,
file upload, recall), consolidate (202 and ?sync=true 200), reindex, compress, jobs, the
documented errors, forget_turn, delete and wipe. The client's models forbid unknown fields,
so any response the service shapes differently from the 0.1.4 contract fails to parse here.
Every public method of the installed client is checked off as it is called; one that the
flow never reached is a failure too.

Exit status: 0 when every check passed, 1 when any failed, 2 when the client is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import os
import struct
import sys
import tempfile
import traceback
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

try:
    import httpx
    import pydantic
    import tessera_memory as tm
    from tessera_memory import models as tmm
except ImportError as exc:  # pragma: no cover - depends on the environment
    print(
        f"cannot import the published client ({exc}); install it first:\n"
        "    pip install tessera-memory==0.1.4",
        file=sys.stderr,
    )
    sys.exit(2)

EXPECTED_VERSION = "0.1.4"
NIL_EPISODE = "ep_00000000-0000-0000-0000-000000000000"


class Skip(Exception):
    """A check could not run because an earlier one did not produce what it needs."""


@dataclass
class Report:
    lines: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, status: str, label: str, detail: str = "") -> None:
        self.lines.append((status, label, detail))
        text = f"{status:<4} {label}"
        if detail:
            text += f" — {detail}"
        print(text, flush=True)

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        return [line for line in self.lines if line[0] != "ok"]


def describe(exc: BaseException) -> str:
    """One readable line for why a check failed."""
    if isinstance(exc, pydantic.ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}"
            for e in exc.errors()[:6]
        )
        return f"PARSE FAILURE into {exc.title}: {problems}"
    if isinstance(exc, tm.APIStatusError):
        detail = exc.problem.detail if exc.problem else "(problem body did not parse)"
        return (
            f"HTTP {exc.status_code} {type(exc).__name__}: {detail} (X-Request-Id {exc.request_id})"
        )
    if isinstance(exc, AssertionError):
        return f"assertion failed: {exc}" if str(exc) else "assertion failed"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


async def ev(value: Any) -> Any:
    """Await a coroutine (async client) or pass a plain value through (sync client)."""
    if inspect.isawaitable(value):
        return await value
    return value


def tiny_png(path: Path, size: int = 8) -> Path:
    """Write a small, valid RGB PNG (a red square) built with zlib/struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xd0\x20\x20" * size for _ in range(size))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return path


# ---------------------------------------------------------------------------------------
# Coverage: every public method of the installed client is recorded when called.
# ---------------------------------------------------------------------------------------

RESOURCE_NAMES = ("memories", "jobs", "maintenance", "procedures", "resources", "search", "query")


def public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.isfunction(member)
    )


def client_surface(client_cls: type) -> set[str]:
    """`health`, `memories.add`, … for every public method the installed client offers."""
    names = {f"client.{m}" for m in public_methods(client_cls)}
    probe = client_cls(api_key="tsk_live_probe", base_url="http://127.0.0.1:9")
    for res in RESOURCE_NAMES:
        resource = getattr(probe, res)
        names |= {f"{res}.{m}" for m in public_methods(type(resource))}
        if callable(resource):
            names.add(f"{res}.__call__")
    close = getattr(probe, "close", None) or getattr(probe, "aclose", None)
    result = close() if close else None
    if inspect.iscoroutine(result):
        asyncio.run(result)
    return names


def instrument(client: Any, kind: str, called: set[str]) -> Any:
    """Record each public method call on `client` (and its resources) into `called`."""

    def wrap(owner: Any, prefix: str, name: str) -> None:
        original = getattr(owner, name)
        label = f"{kind}:{prefix}.{name}"
        if inspect.iscoroutinefunction(original):

            @functools.wraps(original)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                called.add(label)
                return await original(*args, **kwargs)

            setattr(owner, name, awrapper)
        else:

            @functools.wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                called.add(label)
                return original(*args, **kwargs)

            setattr(owner, name, wrapper)

    for name in public_methods(type(client)):
        wrap(client, "client", name)
    for res in RESOURCE_NAMES:
        resource = getattr(client, res)
        for name in public_methods(type(resource)):
            wrap(resource, res, name)
    return client


# ---------------------------------------------------------------------------------------
# The flow, shared by the sync and async clients.
# ---------------------------------------------------------------------------------------


class Flow:
    def __init__(
        self,
        kind: str,
        client: Any,
        make_client: Callable[..., Any],
        report: Report,
        called: set[str],
        workdir: Path,
    ) -> None:
        self.kind = kind
        self.c = client
        self.make_client = make_client
        self.report = report
        self.called = called
        self.workdir = workdir
        self.is_async = kind == "async"
        self.user = f"published-check-{kind}-{uuid.uuid4().hex[:10]}"
        self.session = f"s-{uuid.uuid4().hex[:8]}"
        self.st: dict[str, Any] = {}
        self.now = datetime.now(timezone.utc)
        self.note = f"Convention {uuid.uuid4().hex[:6]}: always run ruff before pushing."

    def need(self, key: str) -> Any:
        if key not in self.st:
            raise Skip(f"needs {key!r} from an earlier check that did not pass")
        return self.st[key]

    async def check(self, label: str, body: Callable[[], Awaitable[str | None]]) -> None:
        full = f"[{self.kind}] {label}"
        try:
            detail = await body()
        except Skip as exc:
            self.report.add("SKIP", full, str(exc))
        except Exception as exc:
            self.report.add("FAIL", full, describe(exc))
        else:
            self.report.add("ok", full, detail or "")

    async def expect_error(
        self,
        label: str,
        call: Callable[[], Any],
        error_types: tuple[type[BaseException], ...],
        statuses: tuple[int, ...],
    ) -> tm.APIStatusError:
        """Run a call that must fail with a documented, parsed problem."""
        try:
            result = await ev(call())
        except error_types as exc:
            assert isinstance(exc, tm.APIStatusError)
            assert exc.status_code in statuses, f"status {exc.status_code}, wanted {statuses}"
            assert exc.problem is not None, (
                f"{label}: the problem body did not parse into the client's ProblemDetail "
                f"(body: {exc.response.text[:300] if exc.response is not None else None!r})"
            )
            assert exc.problem.status == exc.status_code, "problem.status != HTTP status"
            assert exc.problem.detail, "problem has no detail"
            assert exc.request_id, "no X-Request-Id on the error response"
            assert exc.problem.instance == exc.request_id, (
                f"problem.instance {exc.problem.instance!r} != X-Request-Id {exc.request_id!r}"
            )
            return exc
        except tm.APIStatusError as exc:
            raise AssertionError(
                f"{label}: got {type(exc).__name__} (HTTP {exc.status_code}: "
                f"{exc.problem.detail if exc.problem else exc}), wanted "
                f"{'/'.join(t.__name__ for t in error_types)}"
            ) from exc
        raise AssertionError(f"{label}: succeeded with {result!r}, wanted an error")

    # -- the checks --------------------------------------------------------------------

    async def run(self) -> None:
        """Every check in order; a check that needs what an earlier one stored is skipped
        when that one did not pass."""
        await self.check("health() / ready()", self.health)
        await self.check("memories.with_raw_response.add(mode=async) -> 201", self.add_async)
        await self.check("memories.add(same turn_id) is a no-op", self.replay)
        await self.check("memories.add(role=assistant, no turn_id)", self.add_minted)
        await self.check("memories.add(mode=sync) -> 200 summary", self.add_sync)
        await self.check("memories.add(infer=False, metadata, event_time)", self.add_raw)
        await self.check("memories.batch(messages)", self.batch)
        await self.check(
            "memories.batch past the cadence returns a parsed job handle", self.cadence
        )
        await self.check(
            "memories.add(mode=sync, infer=False) parses as SyncAddResponse", self.sync_raw
        )
        await self.check(
            "memories.list(limit=1) paging (iter_pages, get_next_page, iter)", self.listing
        )
        await self.check("memories.get(ep_ id)", self.get_item)
        await self.check("search(types, filters, as_of, known_as_of) / search.search", self.search)
        await self.check("memories.correct(ft_) and 409 on a superseded fact", self.correct)
        await self.check("memories.pin / unpin", self.pins)
        await self.check("query(mode=chat) / query.query(mode=reasoning)", self.query)
        await self.check("procedures.remember / recall / record_outcome", self.procedures)
        await self.check("resources.remember(caption) / recall", self.resources)
        await self.check(
            "resources.file(png) -> 201 described offline (no vision model)", self.upload
        )
        await self.check("maintenance.consolidate -> 202 job handle", self.consolidate)
        await self.check(
            "maintenance.consolidate(?sync=true via http_client) -> 200", self.consolidate_sync
        )
        await self.check("jobs.get(job_id)", self.jobs)
        await self.check("maintenance.reindex", self.reindex)
        await self.check("maintenance.compress(token_budget)", self.compress)
        await self.check("documented errors map to the client's exception types", self.errors)
        await self.check("with_options / env configuration / context manager", self.options)
        await self.check("memories.forget_turn", self.forget_turn)
        await self.check("memories.delete(ep_)", self.delete)
        await self.check("memories.wipe leaves nothing findable", self.wipe)

    # -- the checks, one method each --------------------------------------------------

    async def health(self) -> str:
        c = self.c
        h = await ev(c.health())
        assert isinstance(h, tmm.HealthStatus), type(h)
        assert h.status.value == "ok", h
        r = await ev(c.ready())
        assert isinstance(r, tmm.HealthStatus) and r.status.value == "ok", r
        return "health ok, ready ok"

    async def add_async(self) -> str:
        c, U, S, st = self.c, self.user, self.session, self.st
        raw = await ev(
            c.memories.with_raw_response.add(
                content="Hello! Just checking in before the planning meeting.",
                role="user",
                user_id=U,
                session_id=S,
                turn_id=f"t-{uuid.uuid4().hex}",
                metadata={"source": "published-check", "n": 1},
            )
        )
        assert isinstance(raw, tm.APIResponse), type(raw)
        assert raw.status_code == 201, f"status {raw.status_code}, wanted 201"
        assert raw.request_id, "no X-Request-Id"
        body = raw.parsed
        assert isinstance(body, tmm.AsyncAddResponse), type(body)
        assert body.created is True, body
        st["turn_id"] = body.turn_id
        if body.job is not None:
            st["job_id"] = body.job.id
        return f"201 turn {body.turn_id}, queued={body.consolidation_queued}"

    async def replay(self) -> str:
        c, U, S = self.c, self.user, self.session
        turn_id = self.need("turn_id")
        body = await ev(
            c.memories.add(
                content="Hello! Just checking in before the planning meeting.",
                role="user",
                user_id=U,
                session_id=S,
                turn_id=turn_id,
            )
        )
        assert isinstance(body, tmm.AsyncAddResponse), type(body)
        assert body.created is False, f"replay reported created={body.created}"
        assert body.turn_id == turn_id
        return "created=false on replay"

    async def add_minted(self) -> str:
        c, U = self.c, self.user
        body = await ev(c.memories.add(content="Sounds good.", role="assistant", user_id=U))
        assert isinstance(body, tmm.AsyncAddResponse), type(body)
        assert body.created, body
        return f"client-minted turn {body.turn_id}"

    async def add_sync(self) -> str:
        c, U, now = self.c, self.user, self.now
        body = await ev(
            c.memories.add(
                content="I live in Berlin.",
                role="user",
                user_id=U,
                mode="sync",
                event_time=now - timedelta(minutes=5),
            )
        )
        assert isinstance(body, tmm.SyncAddResponse), type(body)
        s = body.consolidation
        assert s.facts_created >= 1, f"no fact extracted from 'I live in Berlin.': {s}"
        return (
            f"200 tesserae={s.tesserae_created} facts={s.facts_created} "
            f"foresight={s.foresight_created} turns={s.turns_consolidated} llm={s.llm_calls}"
        )

    async def add_raw(self) -> str:
        c, U, now = self.c, self.user, self.now
        body = await ev(
            c.memories.add(
                content=self.note,
                role="system",
                user_id=U,
                infer=False,
                event_time=now - timedelta(hours=1),
                metadata={"kind": "convention", "priority": 2},
            )
        )
        assert isinstance(body, tmm.AsyncAddResponse), type(body)
        assert body.job is None and body.consolidation_queued is False, (
            f"infer=False must not queue consolidation: {body}"
        )
        return "stored verbatim, nothing queued"

    async def batch(self) -> str:
        c, U, S = self.c, self.user, self.session
        messages: list[Any]
        if self.is_async:
            messages = [
                tmm.BatchMessage(role="user", content="We are planning a trip to Lisbon."),
                tmm.BatchMessage(
                    role="assistant", content="Lisbon is lovely.", turn_id=f"b-{uuid.uuid4()}"
                ),
            ]
        else:
            messages = [
                {"role": "user", "content": "We are planning a trip to Lisbon."},
                {"role": "assistant", "content": "Lisbon is lovely."},
            ]
        body = await ev(
            c.memories.batch(messages=messages, user_id=U, session_id=S, metadata={"batch": True})
        )
        assert isinstance(body, tmm.BatchAddResponse), type(body)
        assert len(body.results) == 2, body
        assert all(r.created for r in body.results), body
        return f"{len(body.results)} turns appended"

    async def cadence(self) -> str:
        c, U, S, st = self.c, self.user, self.session, self.st
        messages = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": f"Cadence turn {i}."}
            for i in range(10)
        ]
        body = await ev(c.memories.batch(messages=messages, user_id=U, session_id=f"{S}-c"))
        assert isinstance(body, tmm.BatchAddResponse), type(body)
        jobs = [r.job for r in body.results if r.job is not None]
        assert jobs, "10 turns queued no consolidation job (cadence never fired)"
        assert isinstance(jobs[0], tmm.TesseraApiV1MemoriesJobHandle), type(jobs[0])
        assert all(r.consolidation_queued == (r.job is not None) for r in body.results)
        st["cadence_job_id"] = jobs[0].id
        return f"job {jobs[0].id} ({jobs[0].status}) handed back by the batch"

    async def sync_raw(self) -> str:
        c, U = self.c, self.user
        # The 0.1.4 client parses every mode="sync" answer as SyncAddResponse.
        body = await ev(
            c.memories.add(
                content="Note: the office wifi password rotates monthly.",
                role="user",
                user_id=U,
                mode="sync",
                infer=False,
            )
        )
        assert isinstance(body, tmm.SyncAddResponse), type(body)
        return f"200 with {body.consolidation}"

    async def listing(self) -> str:
        c, U, st = self.c, self.user, self.st
        first = await ev(c.memories.list(user_id=U, limit=1))
        assert first.__class__.__name__.endswith("CursorPage"), type(first)
        items: list[Any] = []
        pages = 0
        if self.is_async:
            async for page in first.iter_pages():
                pages += 1
                items.extend(page.items)
            streamed = [i async for i in await ev(c.memories.list(user_id=U, limit=2))]
        else:
            for page in first.iter_pages():
                pages += 1
                items.extend(page.items)
            streamed = list(c.memories.list(user_id=U, limit=2))
        assert all(isinstance(i, tmm.MemoryItem) for i in items)
        ids = [i.id for i in items]
        assert len(ids) == len(set(ids)), f"an item repeated across pages: {ids}"
        assert {i.id for i in streamed} == set(ids), "iteration and paging disagree"
        assert len(items) >= 2, f"only {len(items)} item(s) listed"
        if first.has_next_page():
            second = await ev(first.get_next_page())
            assert second.items and second.items[0].id == ids[1], "get_next_page order"
        created = [i.created_at for i in items]
        assert created == sorted(created, reverse=True), "list is not newest first"
        st["items"] = items
        for item in items:
            if item.type.value == "episode" and item.text == self.note:
                st["note_id"] = item.id
            if item.type.value == "episode":
                st.setdefault("episode_id", item.id)
            if item.type.value == "fact":
                st.setdefault("list_fact_id", item.id)
        return f"{len(items)} items over {pages} pages of 1"

    async def get_item(self) -> str:
        c, U = self.c, self.user
        item_id = self.need("note_id")
        item = await ev(c.memories.get(item_id, user_id=U))
        assert isinstance(item, tmm.MemoryItem), type(item)
        assert item.id == item_id and item.text == self.note, item
        assert item.metadata and item.metadata.get("kind") == "convention", item.metadata
        return f"{item.type.value} {item.id}"

    async def search(self) -> str:
        c, U, st = self.c, self.user, self.st
        filters: list[Any]
        if self.is_async:
            filters = [tmm.FilterClause(field="importance", op="gte", value=0)]
        else:
            filters = [{"field": "importance", "op": "gte", "value": 0}]
        res = await ev(
            c.search(
                "Where do I live?",
                user_id=U,
                types=["fact"],
                top_k=5,
                filters=filters,
                as_of=datetime.now(timezone.utc) + timedelta(seconds=1),
                known_as_of=datetime.now(timezone.utc) + timedelta(seconds=1),
            )
        )
        assert isinstance(res, tmm.SearchResponse), type(res)
        assert all(r.type.value == "fact" for r in res.results), res.results
        berlin = [r for r in res.results if "berlin" in r.text.lower()]
        assert berlin, f"no Berlin fact found: {[r.text for r in res.results]}"
        st["fact_id"] = berlin[0].id
        assert berlin[0].id.startswith("ft_"), berlin[0].id
        res2 = await ev(
            c.search.search(
                "ruff convention",
                user_id=U,
                rerank=False,
                types=["episode", "fact"],
                filters=[{"field": "metadata.kind", "op": "eq", "value": "convention"}],
            )
        )
        assert isinstance(res2, tmm.SearchResponse)
        assert any(r.text == self.note for r in res2.results), "raw note not found by metadata"
        scores = [r.score for r in res2.results]
        assert scores == sorted(scores, reverse=True), "scores not descending"
        return f"fact {berlin[0].id!s}: {berlin[0].text!r}"

    async def correct(self) -> str:
        c, U, st, now = self.c, self.user, self.st, self.now
        fact_id = self.need("fact_id")
        fact = await ev(
            c.memories.correct(fact_id, object="Munich", confidence=0.9, t_valid=now, user_id=U)
        )
        assert isinstance(fact, tmm.FactItem), type(fact)
        assert fact.id.startswith("ft_") and fact.id != fact_id, fact
        assert "munich" in fact.text.lower(), fact.text
        st["new_fact_id"] = fact.id
        await self.expect_error(
            "correcting a superseded fact",
            lambda: c.memories.correct(fact_id, object="Hamburg", user_id=U),
            (tm.ConflictError,),
            (409,),
        )
        return f"{fact_id} -> {fact.id} ({fact.text!r}); second correct 409"

    async def pins(self) -> str:
        c, U = self.c, self.user
        ep = self.need("note_id")
        pinned = await ev(c.memories.pin(ep, user_id=U))
        assert isinstance(pinned, tmm.PinResponse), type(pinned)
        assert pinned.pinned is True and pinned.changed is True, pinned
        again = await ev(c.memories.pin(ep, user_id=U))
        assert again.changed is False, f"re-pin reported changed: {again}"
        raw = await ev(c.memories.with_raw_response.unpin(ep, user_id=U))
        assert raw.status_code == 200
        assert raw.parsed.pinned is False and raw.parsed.changed is True, raw.parsed
        return "pin, re-pin (changed=false), unpin"

    async def query(self) -> str:
        c, U = self.c, self.user
        chat = await ev(c.query("Where do I live and what are we planning?", user_id=U))
        assert isinstance(chat, tmm.QueryResponse), type(chat)
        assert chat.context, "empty context"
        lean = await ev(
            c.query.query(
                "Where do I live?",
                mode="reasoning",
                user_id=U,
                top_k=5,
                as_of=datetime.now(timezone.utc),
                known_as_of=datetime.now(timezone.utc),
                filters=[{"field": "importance", "op": "gte", "value": 0}],
            )
        )
        assert isinstance(lean, tmm.QueryResponse), type(lean)
        return (
            f"chat: {len(chat.results)} results, {len(chat.facts)} facts, "
            f"{len(chat.foresight)} foresight, portrait={'yes' if chat.portrait else 'no'}; "
            f"reasoning: {len(lean.results)} results"
        )

    async def procedures(self) -> str:
        c, U = self.c, self.user
        trigger = "deploy the staging environment"
        raw = await ev(
            c.procedures.with_raw_response.remember(
                trigger=trigger,
                steps=["run the tests", "build the image", "helm upgrade staging"],
                success="the staging health check is green",
                user_id=U,
            )
        )
        assert raw.status_code == 201, f"status {raw.status_code}, wanted 201"
        proc = raw.parsed
        assert isinstance(proc, tmm.ProcedureView), type(proc)
        assert proc.uses == 0 and proc.last_outcome is None, proc
        found = await ev(
            c.procedures.recall(
                task="how do I deploy to staging?", k=3, min_similarity=0.0, user_id=U
            )
        )
        assert isinstance(found, tmm.RecallProceduresResponse), type(found)
        assert found.results and found.results[0].procedure.id == proc.id, found
        assert found.results[0].procedure.uses == 0, "recall changed the use counter"
        after = await ev(c.procedures.record_outcome(proc.id, success=True, user_id=U))
        assert isinstance(after, tmm.ProcedureView), type(after)
        assert after.uses == 1 and after.last_outcome is True, after
        return f"{proc.id}: recalled at {found.results[0].similarity:.2f}, uses 0 -> 1"

    async def resources(self) -> str:
        c, U = self.c, self.user
        caption = "A red bicycle leaning against a yellow wall."
        item = await ev(
            c.resources.remember(
                blob_ref=f"s3://bucket/{uuid.uuid4().hex}.png",
                mime="image/png",
                caption=caption,
                user_id=U,
            )
        )
        assert isinstance(item, tmm.ResourceItem), type(item)
        assert item.caption == caption, f"caption not stored verbatim: {item.caption!r}"
        found = await ev(c.resources.recall(query="bicycle", k=3, user_id=U))
        assert isinstance(found, tmm.RecallResourcesResponse), type(found)
        assert found.results and found.results[0].resource.id == item.id, found
        return f"{item.id} recalled at {found.results[0].similarity:.2f}"

    async def upload(self) -> str:
        c, U = self.c, self.user
        png = tiny_png(self.workdir / f"red-{self.kind}.png")
        item = await ev(c.resources.file(path=png, blob_ref="local://red.png", user_id=U))
        assert isinstance(item, tmm.ResourceItem), type(item)
        # No vision model: described offline (name, format, size, colours), OCR later.
        assert "red" in item.caption and "8x8" in item.caption, item.caption
        return f"201 stored without a vision model: {item.caption!r}"

    async def consolidate(self) -> str:
        c, U, st = self.c, self.user, self.st
        raw = await ev(c.maintenance.with_raw_response.consolidate(user_id=U))
        assert raw.status_code == 202, f"status {raw.status_code}, wanted 202"
        assert isinstance(raw.parsed, tmm.EnqueuedResponse), type(raw.parsed)
        st["job_id"] = raw.parsed.job.id
        assert raw.parsed.job.id.startswith("job_"), raw.parsed.job
        return f"202 {raw.parsed.job.id} ({raw.parsed.job.status})"

    async def consolidate_sync(self) -> str:
        U = self.user

        # The 0.1.4 client has no `sync` argument; the service's documented `?sync=true`
        # is added by an httpx request hook on a caller-supplied http_client.
        async def ahook(request: httpx.Request) -> None:
            hook(request)

        def hook(request: httpx.Request) -> None:
            if request.url.path == "/v1/consolidate":
                request.url = request.url.copy_merge_params({"sync": "true"})

        if self.is_async:
            http: Any = httpx.AsyncClient(event_hooks={"request": [ahook]})
        else:
            http = httpx.Client(event_hooks={"request": [hook]})
        inline = self.make_client(http_client=http)
        try:
            raw = await ev(inline.maintenance.with_raw_response.consolidate(user_id=U))
        finally:
            await ev(http.aclose() if self.is_async else http.close())
        assert raw.status_code == 200, f"status {raw.status_code}, wanted 200"
        summary = raw.parsed
        assert isinstance(summary, tmm.TesseraApiV1MaintenanceConsolidationSummary), type(summary)
        return f"200 inline: turns={summary.turns_consolidated}"

    async def jobs(self) -> str:
        c = self.c
        cadence_job = self.need("cadence_job_id")
        first = await ev(c.jobs.get(cadence_job))
        assert isinstance(first, tmm.JobStatusResponse) and first.id == cadence_job, first
        job_id = self.need("job_id")
        job = await ev(c.jobs.get(job_id))
        assert isinstance(job, tmm.JobStatusResponse), type(job)
        assert job.id == job_id, job
        for _ in range(100):
            if job.status.value in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.1)
            job = await ev(c.jobs.get(job_id))
        assert job.status.value != "failed", f"job failed: {job.error}"
        return f"{job.id} {job.kind} {job.status.value}"

    async def reindex(self) -> str:
        c, U, S = self.c, self.user, self.session
        body = await ev(c.maintenance.reindex(user_id=U))
        assert isinstance(body, tmm.ReindexResponse), type(body)
        again = await ev(c.maintenance.reindex(user_id=U, session_id=S))
        assert isinstance(again, tmm.ReindexResponse), type(again)
        return f"backfilled={body.turns_backfilled} panels={body.panels_refreshed}"

    async def compress(self) -> str:
        c, U = self.c, self.user
        body = await ev(c.maintenance.compress(user_id=U, token_budget=300))
        assert isinstance(body, tmm.CompressResponse), type(body)
        default = await ev(c.maintenance.compress(user_id=U))
        assert isinstance(default, tmm.CompressResponse)
        return f"digest of {len(body.digest)} chars"

    async def errors(self) -> str:
        c, U, st = self.c, self.user, self.st
        await self.expect_error(
            "get of an unknown episode",
            lambda: c.memories.get(NIL_EPISODE, user_id=U),
            (tm.NotFoundError,),
            (404,),
        )
        await self.expect_error(
            "list without a scope",
            lambda: c.memories.list(),
            (tm.UnprocessableEntityError,),
            (422,),
        )
        episode = st.get("note_id", NIL_EPISODE)
        await self.expect_error(
            "correct on an episode id",
            lambda: c.memories.correct(episode, object="x", user_id=U),
            (tm.NotFoundError, tm.UnprocessableEntityError, tm.ConflictError),
            (404, 409, 422),
        )
        await self.expect_error(
            "an unknown job",
            lambda: c.jobs.get("job_987654321"),
            (tm.NotFoundError,),
            (404,),
        )
        await self.expect_error(
            "record_outcome on an unknown procedure",
            lambda: c.procedures.record_outcome(NIL_EPISODE, success=False, user_id=U),
            (tm.NotFoundError,),
            (404,),
        )
        await self.expect_error(
            "top_k past the bound",
            lambda: c.search("x", user_id=U, top_k=100000),
            (tm.UnprocessableEntityError,),
            (422,),
        )
        await self.expect_error(
            "a filter on an unknown field",
            lambda: c.search("x", user_id=U, filters=[{"field": "nope", "op": "eq", "value": 1}]),
            (tm.UnprocessableEntityError,),
            (422,),
        )
        bad = self.make_client(api_key="tsk_live_not-a-real-key", max_retries=0)
        try:
            await self.expect_error(
                "an unknown API key",
                lambda: bad.memories.list(user_id=U),
                (tm.AuthenticationError,),
                (401,),
            )
        finally:
            await ev(bad.aclose() if self.is_async else bad.close())
        return "404, 422, 409/404, 401 all parsed as ProblemDetail with request ids"

    async def options(self) -> str:
        c, U = self.c, self.user
        tuned = c.with_options(timeout=30.0, max_retries=0, default_headers={"X-Probe": "1"})
        self.called.add(f"{self.kind}:client.with_options")
        h = await ev(tuned.health())
        assert h.status.value == "ok"
        old = {k: os.environ.get(k) for k in ("TESSERA_API_KEY", "TESSERA_BASE_URL")}
        os.environ["TESSERA_API_KEY"] = c.api_key
        os.environ["TESSERA_BASE_URL"] = c.base_url
        try:
            from_env = self.make_client(from_env=True)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if self.is_async:
            async with from_env as ctx:
                page = await ctx.memories.list(user_id=U, limit=1)
        else:
            with from_env as ctx:
                page = ctx.memories.list(user_id=U, limit=1)
        assert page.items, "env-configured client saw nothing"
        return "with_options(...) and env-configured client as a context manager"

    async def forget_turn(self) -> str:
        c, U, S = self.c, self.user, self.session
        turn_id = self.need("turn_id")
        body = await ev(c.memories.forget_turn(turn_id, user_id=U, session_id=S))
        assert isinstance(body, tmm.ForgetResponse), type(body)
        assert body.turns_deleted == 1, f"turns_deleted={body.turns_deleted}, wanted 1"
        # Forgetting is idempotent: the second time is a zero-count report, not an error.
        again = await ev(c.memories.forget_turn(turn_id, user_id=U, session_id=S))
        assert isinstance(again, tmm.ForgetResponse), type(again)
        assert again.turns_deleted == 0, f"second forget deleted {again.turns_deleted}"
        return (
            f"turns={body.turns_deleted} tesserae={body.tesserae_deleted} "
            f"facts={body.facts_deleted} foresight={body.foresight_deleted}; again zero"
        )

    async def delete(self) -> str:
        c, U = self.c, self.user
        ep = self.need("note_id")
        body = await ev(c.memories.delete(ep, user_id=U))
        assert isinstance(body, tmm.ForgetResponse), type(body)
        assert body.tesserae_deleted >= 1, body
        await self.expect_error(
            "get after delete",
            lambda: c.memories.get(ep, user_id=U),
            (tm.NotFoundError,),
            (404,),
        )
        return f"tesserae={body.tesserae_deleted} turns={body.turns_deleted}; then 404"

    async def wipe(self) -> str:
        c, U = self.c, self.user
        raw = await ev(c.memories.with_raw_response.wipe(user_id=U))
        assert raw.status_code == 200
        body = raw.parsed
        assert isinstance(body, tmm.WipeResponse), type(body)
        assert body.total > 0, body
        page = await ev(c.memories.list(user_id=U))
        assert page.items == [] and page.has_more is False, page.items
        hits = await ev(c.search("Berlin Lisbon ruff bicycle", user_id=U))
        assert hits.results == [], hits.results
        found = await ev(c.procedures.recall(task="deploy staging", user_id=U))
        assert found.results == [], found.results
        found_r = await ev(c.resources.recall(query="bicycle", user_id=U))
        assert found_r.results == [], found_r.results
        return f"total={body.total}; nothing left in list/search/recall"


# ---------------------------------------------------------------------------------------


async def run_all(base_url: str, api_key: str, report: Report, workdir: Path) -> set[str]:
    called: set[str] = set()

    def factory(cls: type) -> Callable[..., Any]:
        def make(*, from_env: bool = False, **kw: Any) -> Any:
            if from_env:  # TESSERA_API_KEY / TESSERA_BASE_URL
                return cls()
            kw.setdefault("api_key", api_key)
            return cls(base_url=base_url, **kw)

        return make

    sync_client = instrument(tm.Tessera(api_key=api_key, base_url=base_url), "sync", called)
    try:
        await Flow("sync", sync_client, factory(tm.Tessera), report, called, workdir).run()
    finally:
        sync_client.close()

    async_client = instrument(tm.AsyncTessera(api_key=api_key, base_url=base_url), "async", called)
    try:
        await Flow("async", async_client, factory(tm.AsyncTessera), report, called, workdir).run()
    finally:
        await async_client.aclose()
    # `client.search(...)` / `client.query(...)` go through the resources' __call__, which the
    # flow uses on both clients; close()/aclose() just ran above.
    for kind in ("sync", "async"):
        called |= {f"{kind}:search.__call__", f"{kind}:query.__call__"}
    called |= {"sync:client.close", "async:client.aclose"}
    return called


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8420")
    parser.add_argument("--api-key", required=True, help="a tsk_live_… key with write rights")
    parser.add_argument(
        "--expect-version",
        default=EXPECTED_VERSION,
        help="the published client version that must be installed (default %(default)s)",
    )
    args = parser.parse_args(argv)
    report = Report()

    installed = getattr(tm, "__version__", "?")
    print(f"tessera-memory {installed} from {Path(tm.__file__).parent}")
    print(f"service {args.base_url}\n")
    if installed != args.expect_version:
        report.add(
            "FAIL",
            "installed client version",
            f"{installed}, expected the published {args.expect_version}",
        )

    with tempfile.TemporaryDirectory(prefix="tessera-published-check-") as tmp:
        called = asyncio.run(run_all(args.base_url.rstrip("/"), args.api_key, report, Path(tmp)))

    surface = {f"sync:{n}" for n in client_surface(tm.Tessera)} | {
        f"async:{n}" for n in client_surface(tm.AsyncTessera)
    }
    missing = sorted(surface - called)
    if missing:
        report.add("FAIL", "coverage", f"public client methods never called: {missing}")
    else:
        report.add("ok", "coverage", f"all {len(surface)} public methods (sync+async) called")

    failures = report.failures
    print()
    if failures:
        print(f"{len(failures)} of {len(report.lines)} checks did not pass:")
        for status, label, detail in failures:
            print(f"  - {status} {label}: {detail}")
        return 1
    print(f"all {len(report.lines)} checks passed against {args.base_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
