"""Tessera under test: the real service, driven over HTTP.

The benchmark talks to the wire contract directly with ``httpx`` rather than through the SDK,
because it reads additive fields (an item's source turn ids) that a published client may not
model. Each scope becomes one ``user_id``; every turn is added in order with its deterministic
``turn_id``, its session date as ``event_time`` and ``{"dia_id", "speaker"}`` metadata; then the
scope is consolidated inline and every question searched. Turn ids and ``dia_id`` travel hashed
(:func:`opaque`) and are mapped back here, so the data set's own names never reach the service.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .data import Scope, Turn
from .metrics import Hit, word_count

log = logging.getLogger("tessera_bench")


class ServiceError(RuntimeError):
    pass


def _source_ids(payload: Mapping[str, Any]) -> list[str] | None:
    """Find source turn ids on an item payload, wherever the service put them."""
    meta = payload.get("metadata")
    nested = meta.get("tessera") if isinstance(meta, Mapping) else None
    for holder in (payload, meta, nested, payload.get("provenance")):
        if isinstance(holder, Mapping):
            value = holder.get("source_turn_ids")
            if isinstance(value, list):
                return [str(v) for v in value]
    return None


class TesseraClient:
    """A small typed HTTP client for the calls the benchmark makes."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(5):
            response = self._http.request(method, path, **kwargs)
            if response.status_code in (429, 503) and attempt < 4:
                time.sleep(float(response.headers.get("Retry-After", "1") or 1))
                continue
            if response.status_code >= 400:
                raise ServiceError(
                    f"{method} {path} → {response.status_code}: {response.text[:500]}"
                )
            return response.json() if response.content else None
        raise ServiceError(f"{method} {path}: still rate limited")

    def add(
        self,
        *,
        user_id: str,
        content: str,
        role: str,
        turn_id: str | None = None,
        event_time: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool = True,
        mode: str = "async",
        session_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user_id": user_id,
            "content": content,
            "role": role,
            "infer": infer,
            "mode": mode,
        }
        if turn_id is not None:
            body["turn_id"] = turn_id
        if event_time is not None:
            body["event_time"] = event_time
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if session_id is not None:
            body["session_id"] = session_id
        result: dict[str, Any] = self._request("POST", "/v1/memories", json=body)
        return result

    def batch(
        self,
        *,
        user_id: str,
        messages: Sequence[Mapping[str, Any]],
        infer: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user_id": user_id,
            "messages": [dict(m) for m in messages],
            "infer": infer,
            "mode": "async",
        }
        if metadata is not None:
            body["metadata"] = dict(metadata)
        result: dict[str, Any] = self._request("POST", "/v1/memories:batch", json=body)
        return result

    def consolidate(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", "/v1/consolidate", params={"sync": "true"}, json={"user_id": user_id}
        )
        return result

    def search(
        self, user_id: str, query: str, *, top_k: int | None = None, rerank: bool = True
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"user_id": user_id, "query": query, "rerank": rerank}
        if top_k is not None:
            body["top_k"] = top_k
        payload = self._request("POST", "/v1/search", json=body)
        results: list[dict[str, Any]] = payload["results"]
        return results

    def query(self, user_id: str, query: str, *, mode: str = "reasoning") -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", "/v1/query", json={"user_id": user_id, "query": query, "mode": mode}
        )
        return result

    def get(self, item_id: str, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "GET", f"/v1/memories/{item_id}", params={"user_id": user_id}
        )
        return result

    def count_items(self, user_id: str) -> dict[str, int]:
        """Episodes and facts the scope holds, by walking the list cursor."""
        counts: dict[str, int] = {}
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"user_id": user_id, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = self._request("GET", "/v1/memories", params=params)
            for item in page.get("items", []):
                kind = str(item.get("type", "other"))
                counts[kind] = counts.get(kind, 0) + 1
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return counts

    def wipe(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("DELETE", "/v1/memories", json={"user_id": user_id})
        return result


def opaque(value: str) -> str:
    """A benchmark id as the service sees it: a hash, so that nothing in the data's own naming
    (LongMemEval session names such as ``answer_…``) can reach the service or its ranking."""
    digest = hashlib.sha256(f"tessera-bench\0{value}".encode()).hexdigest()
    return f"t{digest[:24]}"


def turn_payload(turn: Turn) -> dict[str, Any]:
    """The add-memory body fields for one benchmark turn (ids hashed with :func:`opaque`)."""
    metadata: dict[str, Any] = {"dia_id": opaque(turn.ref), "speaker": turn.speaker}
    if turn.caption:
        metadata["image_caption"] = turn.caption
    return {
        "content": turn.content,
        "role": turn.role,
        "turn_id": opaque(turn.turn_id),
        "event_time": turn.event_time.isoformat().replace("+00:00", "Z"),
        "metadata": metadata,
    }


@dataclass
class IngestStats:
    turns: int = 0
    add_seconds: float = 0.0
    consolidate_seconds: float = 0.0
    created: int = 0
    consolidations: int = 0
    turns_consolidated_by_final_call: int = 0
    llm_calls: int = 0
    items: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0


class TesseraSystem:
    """Ingests each scope into the service, consolidates it, then searches every question.

    Several :class:`TesseraSystem` views (rerank on/off) can share one ingestion through a
    shared :class:`TesseraSession`.
    """

    def __init__(self, session: TesseraSession, name: str, *, rerank: bool) -> None:
        self.name = name
        self.rerank = rerank
        self._session = session

    def rank(self, scope: Scope, depth: int) -> dict[str, list[Hit]]:
        self._session.ensure_ingested(scope)
        return {
            q.qid: self._session.search(scope, q.text, rerank=self.rerank) for q in scope.questions
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "tessera service over HTTP",
            "base_url": self._session.client.base_url,
            "rerank": self.rerank,
            "top_k": self._session.top_k,
        }

    def close(self) -> None:
        return None


class TesseraSession:
    """Shared ingestion state and item → source-turn mapping for the Tessera systems."""

    def __init__(
        self,
        client: TesseraClient,
        *,
        top_k: int = 100,
        scope_prefix: str = "",
        consolidate: bool = True,
        max_words: int = 1000,
        min_items: int = 10,
        count_items: bool = True,
        ingest: bool = True,
    ) -> None:
        #: False: the scopes are already in the service (a previous run's data): map ids only.
        self.ingest = ingest
        self.count_items = count_items
        self._lock = threading.Lock()
        self.client = client
        self.top_k = top_k
        self.max_words = max_words
        self.min_items = min_items
        self.scope_prefix = scope_prefix
        self.consolidate = consolidate
        self.stats = IngestStats()
        self._ingested: set[str] = set()
        self._sources: dict[str, tuple[str, ...]] = {}
        self._by_ref: dict[str, dict[str, str]] = {}
        #: Hashed turn id (as the service knows it) -> the data set's own turn id.
        self._real: dict[str, str] = {}
        self.unmapped_items = 0
        self.search_seconds: list[float] = []

    def user_id(self, scope: Scope) -> str:
        return f"{self.scope_prefix}{scope.scope_id}"

    def ingest_all(self, scopes: Sequence[Scope], workers: int) -> None:
        """Ingest many scopes up front, ``workers`` scopes at a time (turns stay in order)."""
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            # In order: "the first n" are all done, so a long ingest can be read in part
            # (`--reuse-service --limit-scopes n`) while it runs on.
            for n, _ in enumerate(pool.map(self.ensure_ingested, scopes), start=1):
                log.info(
                    "tessera: the first %d/%d scopes ingested (%.0f s)",
                    n,
                    len(scopes),
                    time.perf_counter() - started,
                )
        self.stats.wall_seconds += time.perf_counter() - started

    def ensure_ingested(self, scope: Scope) -> None:
        if scope.scope_id in self._ingested:
            return
        user_id = self.user_id(scope)
        self._by_ref[scope.scope_id] = {opaque(t.ref): t.turn_id for t in scope.turns}
        with self._lock:
            self._real.update((opaque(t.turn_id), t.turn_id) for t in scope.turns)
            if not self.ingest:
                self._ingested.add(scope.scope_id)
                return
        started = time.perf_counter()
        created = 0
        for turn in scope.turns:
            result = self.client.add(
                user_id=user_id, infer=True, mode="async", **turn_payload(turn)
            )
            created += 1 if result.get("created", True) else 0
        add_seconds = time.perf_counter() - started
        consolidate_seconds = 0.0
        summary: Any = None
        if self.consolidate:
            started = time.perf_counter()
            summary = self.client.consolidate(user_id)
            consolidate_seconds = time.perf_counter() - started
        counts = self.client.count_items(user_id) if self.count_items else {}
        with self._lock:
            self.stats.turns += len(scope.turns)
            self.stats.created += created
            self.stats.add_seconds += add_seconds
            self.stats.consolidate_seconds += consolidate_seconds
            if isinstance(summary, Mapping):
                self.stats.consolidations += 1
                done = int(summary.get("turns_consolidated", 0) or 0)
                self.stats.turns_consolidated_by_final_call += done
                self.stats.llm_calls += int(summary.get("llm_calls", 0) or 0)
            for kind, n in counts.items():
                self.stats.items[kind] = self.stats.items.get(kind, 0) + n
            self._ingested.add(scope.scope_id)

    def search(self, scope: Scope, query: str, *, rerank: bool) -> list[Hit]:
        user_id = self.user_id(scope)
        started = time.perf_counter()
        results = self._search_with_fallback(user_id, query, rerank=rerank)
        self.search_seconds.append(time.perf_counter() - started)
        hits: list[Hit] = []
        words = 0
        for item in results:
            if words > self.max_words and len(hits) >= self.min_items:
                break  # past every budget and every k: the rest cannot change a figure
            words += word_count(str(item.get("text", "")))
            sources = self.sources_of(scope, item)
            hits.append(
                Hit(
                    text=str(item.get("text", "")),
                    sources=sources,
                    score=float(item.get("score", 0.0)),
                    item_id=str(item.get("id", "")),
                    kind=str(item.get("type", "")),
                )
            )
        return hits

    def _search_with_fallback(
        self, user_id: str, query: str, *, rerank: bool
    ) -> list[dict[str, Any]]:
        while True:
            try:
                return self.client.search(user_id, query, top_k=self.top_k, rerank=rerank)
            except ServiceError as exc:
                # top_k is bounded by the service's configured maximum: halve until it fits.
                if "422" in str(exc) and self.top_k > 10:
                    self.top_k //= 2
                    log.warning("search top_k rejected; retrying with top_k=%d", self.top_k)
                    continue
                raise

    def sources_of(self, scope: Scope, item: Mapping[str, Any]) -> tuple[str, ...]:
        item_id = str(item.get("id", ""))
        if item_id in self._sources:
            return self._sources[item_id]
        found = _source_ids(item)
        if found is None and item_id:
            full = self.client.get(item_id, self.user_id(scope))
            found = _source_ids(full)
            if found is None:
                # A verbatim (infer=false) episode carries the turn's own metadata.
                meta = full.get("metadata") or {}
                ref = meta.get("dia_id") if isinstance(meta, Mapping) else None
                turn_id = self._by_ref.get(scope.scope_id, {}).get(str(ref)) if ref else None
                found = [turn_id] if turn_id else None
        if not found:
            self.unmapped_items += 1
            found = []
        sources = tuple(self._real.get(f, f) for f in found)
        self._sources[item_id] = sources
        return sources

    def describe_ingest(self) -> dict[str, Any]:
        s = self.stats
        return {
            "turns": s.turns,
            "turns_created": s.created,
            "add_seconds": round(s.add_seconds, 3),
            "add_turns_per_second_per_client": round(s.turns / s.add_seconds, 1)
            if s.add_seconds
            else None,
            "ingest_wall_seconds": round(s.wall_seconds, 1) if s.wall_seconds else None,
            "consolidate_seconds": round(s.consolidate_seconds, 3),
            "turns_consolidated_by_final_call": s.turns_consolidated_by_final_call,
            "llm_calls": s.llm_calls,
            "items": dict(sorted(s.items.items())),
            "unmapped_items": self.unmapped_items,
            "top_k": self.top_k,
        }


@dataclass
class ServiceTarget:
    base_url: str
    api_key: str
    pid: int | None = None
    log_path: Path | None = None


@contextmanager
def service(
    *, base_url: str | None, api_key: str | None, data_dir: Path, env: Mapping[str, str] | None
) -> Iterator[ServiceTarget]:
    """Use an already-running service, or start one with the server's test harness."""
    if base_url:
        if not api_key:
            raise SystemExit("--base-url needs --api-key (or TESSERA_API_KEY)")
        yield ServiceTarget(base_url=base_url, api_key=api_key)
        return
    try:
        from tessera_server.testing import run_service
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "tessera-server is not installed: install it, or pass --base-url/--api-key"
        ) from exc
    log.info("starting a Tessera service on %s", data_dir)
    with run_service(data_dir, env=env, tenant="bench") as handle:
        yield ServiceTarget(
            base_url=handle.base_url,
            api_key=handle.api_key,
            pid=handle.process.pid,
            log_path=handle.log_path,
        )
