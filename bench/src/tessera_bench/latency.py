"""Latency and throughput of the service as one scope grows.

One scope is filled with verbatim memories (``infer=false`` batches) up to each configured size;
at every size the runner measures, client side and over HTTP:

- batch ingest throughput (turns/s, and the model tokens/s behind it) with 1 and with N
  concurrent clients, both drawn from the same slice of texts so they see the same lengths;
- ``search`` p50/p95 with rerank off and on, at each concurrency (query embedding included),
  and right after a pin (a write that changes what searches see);
- ``query`` p50/p95 (reasoning and chat modes);
- ``add`` p50/p95 for ``infer=false``, ``mode=async`` and ``mode=sync``;
- the service process tree's resident memory (when the runner started the service);
- with ``--processes N`` (default 2), search throughput and p50/p95 of the same service run
  as N API processes (``serve --workers N``, each with the model as configured) against
  the single process, on the same database and questions, in interleaved rounds so both see
  the same machine load.

Texts are real conversational turns (LoCoMo, then LongMemEval) so the lexical and dense indexes
see realistic vocabulary; questions are LoCoMo questions. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from . import paths
from .data import load_locomo, load_longmemeval
from .embedder import wordpiece_lengths

log = logging.getLogger("tessera_bench")


@dataclass(frozen=True)
class Profile:
    sizes: tuple[int, ...]
    searches: int
    queries: int
    adds: int
    ingest_sample: int
    pins: int = 20  # searches timed right after a pin or unpin


# Seconds of gentle searching before a size is measured (see `Runner.settle`).
SETTLE_S = 5.0
SETTLE_ABOVE = 20_000
SETTLE_BIG_S = 150.0

PROFILES = {
    "quick": Profile(sizes=(1_000, 10_000), searches=100, queries=40, adds=20, ingest_sample=1_000),
    "full": Profile(
        sizes=(1_000, 10_000, 100_000), searches=400, queries=100, adds=60, ingest_sample=4_000
    ),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    p.add_argument("--sizes", default=None, help="scope sizes, e.g. 1000,10000,100000")
    p.add_argument("--concurrency", default="1,8", help="client counts, e.g. 1,8")
    p.add_argument("--searches", type=int, default=None, help="search calls per cell")
    p.add_argument("--queries", type=int, default=None, help="query calls per mode")
    p.add_argument("--adds", type=int, default=None, help="add calls per mode")
    p.add_argument(
        "--ingest-sample", type=int, default=None, help="turns ingested at max concurrency"
    )
    p.add_argument("--batch-size", type=int, default=200, help="messages per batch call")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument(
        "--processes",
        type=int,
        default=2,
        help="also measure searches on N API processes sharing the database (0 or 1: skip)",
    )
    p.add_argument("--rounds", type=int, default=4, help="interleaved rounds per comparison")
    p.add_argument(
        "--client-processes",
        action="store_true",
        help="in the configuration comparison, run each concurrent client as its own process "
        "(not a thread of this one), so the load generator's GIL does not cap what it sends",
    )
    p.add_argument(
        "--reference-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also compare a one-process service run with this environment (repeatable), "
        "e.g. TESSERA_EMBEDDER_COMBINE_TEXTS=0 for the service before query batching",
    )
    p.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE[,KEY=VALUE]",
        help="also compare a one-process service run with this environment under this label "
        "(repeatable), e.g. lanes1:TESSERA_EMBEDDER_CROWDED_LANES=1 beside a --reference-env",
    )
    p.add_argument("--no-plot", action="store_true")


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def settle(search: Callable[[], object], seconds: float) -> None:
    """Run `search` at a gentle pace for `seconds` before measuring (at least once).

    A grown scope's first searches load its caches, and past 20k memories the SQLite backend
    builds HNSW graphs in the background (searches stay exact, and slower, until they are
    ready, about a minute at 100k on two cores). The figures report the steady state; the
    settling time is recorded beside them.
    """
    started = time.perf_counter()
    while True:
        search()
        if time.perf_counter() - started >= seconds:
            return
        time.sleep(2.0)  # leave the cores to background work


def summarise(latencies_s: Sequence[float], wall_s: float | None = None) -> dict[str, float]:
    ms = [x * 1000.0 for x in latencies_s]
    out = {
        "n": float(len(ms)),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else math.nan,
    }
    if wall_s:
        out["per_second"] = round(len(ms) / wall_s, 1)
    return out


def _process_tree(pid: int) -> Iterator[int]:
    """A process and its live descendants, each once, from /proc (Linux only)."""
    seen: set[int] = set()
    stack = [pid]
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        yield p
        task_dir = Path(f"/proc/{p}/task")
        if not task_dir.is_dir():
            continue
        for task in task_dir.iterdir():
            try:
                stack += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue


def process_tree_rss_mb(pid: int) -> float | None:
    """Resident memory of a process and its descendants, from /proc (Linux only)."""
    total_kb = 0
    for p in _process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1) if total_kb else None


def process_tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its descendants (Linux)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for p in _process_tree(pid):
        try:
            # Fields after the command name (which may hold spaces) start at the state.
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / tick if total else None


def self_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def post_json(
    client: httpx.Client,
    path: str,
    body: dict[str, Any],
    *,
    params: dict[str, str] | None = None,
    attempts: int,
    retry_on: tuple[int, ...],
) -> Any:
    """POST and return the JSON answer, waiting out `Retry-After` on the given statuses."""
    for attempt in range(attempts):
        r = client.post(path, json=body, params=params)
        if r.status_code in retry_on and attempt < attempts - 1:
            time.sleep(float(r.headers.get("Retry-After", "1") or 1))
            continue
        if r.status_code >= 400:
            raise RuntimeError(f"POST {path} → {r.status_code}: {r.text[:300]}")
        return r.json()
    raise RuntimeError(f"POST {path}: still refused after {attempts} attempts")


class TextPool:
    """An endless supply of realistic turn texts (cycled with a counter once exhausted)."""

    def __init__(self, texts: Sequence[str]) -> None:
        if not texts:
            raise ValueError("empty text pool")
        self._texts = list(texts)
        self._next = 0

    def take(self, n: int) -> list[str]:
        out: list[str] = []
        for _ in range(n):
            i = self._next
            base = self._texts[i % len(self._texts)]
            lap = i // len(self._texts)
            out.append(base if lap == 0 else f"{base} (#{lap})")
            self._next += 1
        return out


def load_pools(data_dir: Path) -> tuple[TextPool, list[str]]:
    texts: list[str] = []
    questions: list[str] = []
    if (data_dir / "locomo10.json").is_file():
        locomo = load_locomo(data_dir, categories=(1, 2, 3, 4, 5))
        texts += [t.content for t in locomo.turns]
        questions += [q.text for q in locomo.questions]
    if (data_dir / "longmemeval_oracle.json.gz").is_file():
        lme = load_longmemeval(data_dir)
        texts += [t.content[:4000] for t in lme.turns]
        questions += [q.text for q in lme.questions]
    if not texts:
        raise SystemExit(f"no benchmark data under {data_dir}")
    return TextPool(texts), questions


class Runner:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        user_id: str,
        top_k: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self.api_key = api_key
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.user_id = user_id
        self.top_k = top_k
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._clock = datetime(2024, 1, 1, tzinfo=timezone.utc)
        self.pending_jobs: list[str] = []

    def client(self) -> httpx.Client:
        c: httpx.Client | None = getattr(self._local, "client", None)
        if c is None:
            c = httpx.Client(
                base_url=self.base_url,
                headers=self.headers,
                timeout=600.0,
                transport=self._transport,
            )
            self._local.client = c
            with self._lock:
                self._clients.append(c)
        return c

    def close(self) -> None:
        for c in self._clients:
            c.close()

    def post(self, path: str, body: dict[str, Any], params: dict[str, str] | None = None) -> Any:
        return post_json(self.client(), path, body, params=params, attempts=6, retry_on=(429, 503))

    def next_time(self) -> str:
        with self._lock:
            self._clock += timedelta(seconds=30)
            return self._clock.isoformat().replace("+00:00", "Z")

    # -- workloads ------------------------------------------------------------------------

    def ingest(
        self, texts: Sequence[str], *, batch_size: int, concurrency: int
    ) -> dict[str, float]:
        batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]

        def send(batch: Sequence[str]) -> float:
            started = time.perf_counter()
            self.post(
                "/v1/memories:batch",
                {
                    "user_id": self.user_id,
                    "infer": False,
                    "mode": "async",
                    "messages": [{"role": "user", "content": t} for t in batch],
                },
            )
            return time.perf_counter() - started

        tokens = sum(wordpiece_lengths(texts))
        started = time.perf_counter()
        latencies = _run_parallel(send, batches, concurrency)
        wall = time.perf_counter() - started
        return {
            "turns": float(len(texts)),
            "tokens": float(tokens),
            "tokens_per_turn": round(tokens / len(texts), 1) if texts else math.nan,
            "seconds": round(wall, 3),
            "turns_per_second": round(len(texts) / wall, 1) if wall else math.nan,
            "tokens_per_second": round(tokens / wall) if wall else math.nan,
            "batch_p50_ms": round(percentile([x * 1000 for x in latencies], 50), 2),
            "concurrency": float(concurrency),
        }

    def search(self, question: str, *, rerank: bool) -> float:
        """One search, timed (seconds)."""
        return self.search_with_cpu(question, rerank=rerank)[0]

    def search_with_cpu(self, question: str, *, rerank: bool) -> tuple[float, float]:
        """One search: seconds it took, and CPU seconds this client thread spent on it."""
        started, cpu = time.perf_counter(), time.thread_time()
        self.post(
            "/v1/search",
            {"user_id": self.user_id, "query": question, "top_k": self.top_k, "rerank": rerank},
        )
        return time.perf_counter() - started, time.thread_time() - cpu

    def searches(
        self, questions: Sequence[str], *, rerank: bool, concurrency: int
    ) -> dict[str, float]:
        started = time.perf_counter()
        latencies = _run_parallel(lambda q: self.search(q, rerank=rerank), questions, concurrency)
        return summarise(latencies, time.perf_counter() - started)

    def searches_after_pins(self, questions: Sequence[str]) -> dict[str, float]:
        """Each search right after a pin or an unpin in the scope: a write that changes what
        searches see without adding anything, so an index that rebuilt on it would show."""
        page = self.client().get("/v1/memories", params={"user_id": self.user_id, "limit": "1"})
        page.raise_for_status()
        item = page.json()["items"][0]["id"]
        latencies = []
        for n, q in enumerate(questions):
            pinned = self.client().request(
                "POST" if n % 2 == 0 else "DELETE",
                f"/v1/memories/{item}/pin",
                json={"user_id": self.user_id},
            )
            pinned.raise_for_status()
            latencies.append(self.search(q, rerank=False))
        return summarise(latencies)

    def settle(self, questions: Sequence[str], seconds: float) -> None:
        """Search the questions ten at a time, in turn, at a gentle pace for `seconds`."""
        starts = itertools.count(0, 10)

        def batch() -> None:
            at = next(starts)
            picked = [questions[(at + i) % len(questions)] for i in range(10)]
            self.searches(picked, rerank=False, concurrency=1)

        settle(batch, seconds)

    def queries(self, questions: Sequence[str], *, mode: str) -> dict[str, float]:
        def one(q: str) -> float:
            started = time.perf_counter()
            self.post("/v1/query", {"user_id": self.user_id, "query": q, "mode": mode})
            return time.perf_counter() - started

        started = time.perf_counter()
        latencies = _run_parallel(one, questions, 1)
        return summarise(latencies, time.perf_counter() - started)

    def adds(self, texts: Sequence[str], *, infer: bool, mode: str) -> dict[str, float]:
        def one(text: str) -> float:
            started = time.perf_counter()
            result = self.post(
                "/v1/memories",
                {
                    "user_id": self.user_id,
                    "role": "user",
                    "content": text,
                    "infer": infer,
                    "mode": mode,
                    "event_time": self.next_time(),
                },
            )
            elapsed = time.perf_counter() - started
            job = result.get("job") if isinstance(result, dict) else None
            if isinstance(job, dict) and job.get("id"):
                with self._lock:
                    self.pending_jobs.append(str(job["id"]))
            return elapsed

        started = time.perf_counter()
        latencies = _run_parallel(one, texts, 1)
        return summarise(latencies, time.perf_counter() - started)

    def drain_jobs(self, timeout_s: float = 300.0) -> int:
        """Wait for the consolidation jobs our adds queued, so they do not skew what follows."""
        deadline = time.monotonic() + timeout_s
        waiting = list(dict.fromkeys(self.pending_jobs))
        self.pending_jobs.clear()
        while waiting and time.monotonic() < deadline:
            still: list[str] = []
            for job_id in waiting:
                r = self.client().get(f"/v1/jobs/{job_id}")
                if r.status_code == 200 and r.json().get("status") in ("queued", "running"):
                    still.append(job_id)
            waiting = still
            if waiting:
                time.sleep(0.5)
        return len(waiting)


def _run_parallel(fn: Callable[[Any], Any], items: Sequence[Any], concurrency: int) -> list[Any]:
    if concurrency <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(fn, items))


def _cycle(items: Sequence[str], n: int, offset: int = 0) -> list[str]:
    return [items[(offset + i) % len(items)] for i in range(n)]


def _searcher(runner: Runner) -> Callable[[str], tuple[float, float]]:
    return lambda q: runner.search_with_cpu(q, rerank=False)


# One HTTP client per client process (see `_process_search`).
_process_clients: dict[tuple[str, str], httpx.Client] = {}


def _process_search(job: tuple[str, str, str, int, str]) -> tuple[float, float]:
    """A search sent from a client process: (seconds, this process's CPU seconds on it)."""
    base_url, api_key, user_id, top_k, question = job
    client = _process_clients.get((base_url, api_key))
    if client is None:
        client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=600.0
        )
        _process_clients[base_url, api_key] = client
    started, cpu = time.perf_counter(), time.process_time()
    post_json(
        client,
        "/v1/search",
        {"user_id": user_id, "query": question, "top_k": top_k, "rerank": False},
        attempts=6,
        retry_on=(429,),
    )
    return time.perf_counter() - started, time.process_time() - cpu


class ClientProcesses:
    """Client processes, one pool per concurrency, started once and reused: each process
    sends one search at a time, so c concurrent clients are c single-threaded processes
    (as c separate applications would be), not c threads sharing this one's GIL."""

    def __init__(self) -> None:
        self._pools: dict[int, Any] = {}

    def run(self, runner: Runner, questions: Sequence[str], c: int) -> list[tuple[float, float]]:
        jobs = [
            (runner.base_url, runner.api_key, runner.user_id, runner.top_k, q) for q in questions
        ]
        if c <= 1:
            return [_process_search(job) for job in jobs]
        pool = self._pools.get(c)
        if pool is None:
            import multiprocessing

            pool = self._pools[c] = multiprocessing.get_context("spawn").Pool(c)
        # chunksize 1: a process takes the next question when it is free, so c are in flight.
        return list(pool.map(_process_search, jobs, chunksize=1))

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
            pool.join()
        self._pools.clear()


def compare_configurations(
    runners: dict[str, Runner],
    questions: Sequence[str],
    *,
    concurrency: Sequence[int],
    searches: int,
    rounds: int,
    offset: int,
    pids: dict[str, int] | None = None,
    client_processes: ClientProcesses | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Search throughput and latency of several services over the same scope, A/B.

    Each round sends the same questions to every configuration at each concurrency, the
    configurations taking turns to go first, so a machine whose load drifts (a shared box)
    shifts both alike; latencies and busy time add up over the rounds. Beside them: the CPU
    the service's process tree spent per search (for the configurations in `pids`), the
    CPU the load generator's clients spent per search, and the load average around each
    cell, since service and clients share the machine's cores.
    """
    labels = list(runners)
    per_round = max(8, searches // max(1, rounds))

    def send(runner: Runner, qs: Sequence[str], c: int) -> list[tuple[float, float]]:
        if client_processes is not None:
            return client_processes.run(runner, qs, c)
        return _run_parallel(_searcher(runner), qs, c)

    for label in labels:  # warm-up: every API process loads the scope's indexes
        runner = runners[label]
        warm = _cycle(questions, 8 * max(concurrency), offset)
        send(runner, warm, max(concurrency))
    keys = [(a, c) for a in labels for c in concurrency]
    latencies: dict[tuple[str, int], list[float]] = {key: [] for key in keys}
    client_cpu: dict[tuple[str, int], float] = {key: 0.0 for key in keys}
    service_cpu: dict[tuple[str, int], float] = {key: 0.0 for key in keys}
    loads: dict[tuple[str, int], list[float]] = {key: [] for key in keys}
    busy: dict[tuple[str, int], float] = {key: 0.0 for key in keys}
    for n in range(rounds):
        order = labels if n % 2 == 0 else labels[::-1]
        for c in concurrency:
            qs = _cycle(questions, per_round, offset + n * per_round)
            for label in order:
                runner = runners[label]
                pid = (pids or {}).get(label)
                cpu_before = process_tree_cpu_s(pid) if pid else None
                started = time.perf_counter()
                timed = send(runner, qs, c)
                busy[label, c] += time.perf_counter() - started
                cpu_after = process_tree_cpu_s(pid) if pid else None
                if cpu_before is not None and cpu_after is not None:
                    service_cpu[label, c] += cpu_after - cpu_before
                latencies[label, c] += [t for t, _ in timed]
                client_cpu[label, c] += sum(cpu for _, cpu in timed)
                loads[label, c].append(os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label in labels:
        out[label] = {}
        for c in concurrency:
            cell = summarise(latencies[label, c], busy[label, c])
            n_done = len(latencies[label, c]) or 1
            cell["client_cpu_ms_per_request"] = round(1000 * client_cpu[label, c] / n_done, 2)
            if pids and label in pids:
                cell["service_cpu_ms_per_request"] = round(1000 * service_cpu[label, c] / n_done, 2)
                if busy[label, c]:
                    cell["service_cores_busy"] = round(service_cpu[label, c] / busy[label, c], 2)
            cell["load_average"] = round(sum(loads[label, c]) / max(1, len(loads[label, c])), 2)
            out[label][f"c{c}"] = cell
    return out


def measure(
    runner: Runner,
    pool: TextPool,
    questions: Sequence[str],
    *,
    sizes: Sequence[int],
    concurrency: Sequence[int],
    profile: Profile,
    batch_size: int,
    service_pid: int | None,
    alternatives: dict[str, Runner] | None = None,
    rounds: int = 4,
    pids: dict[str, int] | None = None,
    client_processes: ClientProcesses | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Grow the scope through ``sizes``; yield the measurements taken at each one."""
    current = 0
    max_c = max(concurrency)
    offset = 0
    for size in sizes:
        cell: dict[str, Any] = {"memories": size}
        grow = size - current
        sample = min(profile.ingest_sample, grow // 2) if max_c > 1 else 0
        log.info("latency: growing scope %d → %d", current, size)
        texts = pool.take(grow)
        # Embedding cost follows text length and the pool runs from short chat turns into long
        # answers, so the concurrent sample is spread over the slice instead of taken from its end.
        picked = {i * grow // sample for i in range(sample)}
        solo = [t for i, t in enumerate(texts) if i not in picked]
        cell["ingest"] = {"c1": runner.ingest(solo, batch_size=batch_size, concurrency=1)}
        if sample:
            cell["ingest"][f"c{max_c}"] = runner.ingest(
                [texts[i] for i in sorted(picked)], batch_size=batch_size, concurrency=max_c
            )
        current = size
        settle_s = SETTLE_BIG_S if size > SETTLE_ABOVE else SETTLE_S
        runner.settle(questions, settle_s)
        cell["settle_seconds"] = settle_s
        searches: dict[str, Any] = {}
        for rerank in (False, True):
            label = "rerank_on" if rerank else "rerank_off"
            searches[label] = {}
            for c in concurrency:
                qs = _cycle(questions, profile.searches, offset)
                offset += profile.searches
                runner.searches(qs[: max(4, c)], rerank=rerank, concurrency=c)  # warm-up
                searches[label][f"c{c}"] = runner.searches(qs, rerank=rerank, concurrency=c)
        searches["after_pin"] = runner.searches_after_pins(_cycle(questions, profile.pins, offset))
        offset += profile.pins
        cell["search"] = searches
        if alternatives:
            cell["configurations"] = compare_configurations(
                {"one_process": runner, **alternatives},
                questions,
                concurrency=concurrency,
                searches=profile.searches,
                rounds=rounds,
                offset=offset,
                pids=pids,
                client_processes=client_processes,
            )
            offset += profile.searches
        cell["query"] = {
            mode: runner.queries(_cycle(questions, profile.queries, offset), mode=mode)
            for mode in ("reasoning", "chat")
        }
        offset += profile.queries
        cell["add"] = {
            "infer_false": runner.adds(pool.take(profile.adds), infer=False, mode="async"),
            "async": runner.adds(pool.take(profile.adds), infer=True, mode="async"),
            "sync": runner.adds(pool.take(profile.adds), infer=True, mode="sync"),
        }
        current += 3 * profile.adds
        cell["jobs_left_running"] = runner.drain_jobs()
        if service_pid is not None:
            cell["service_rss_mb"] = process_tree_rss_mb(service_pid)
        cell["bench_rss_mb"] = self_rss_mb()
        yield size, cell


def latency_markdown(doc: dict[str, Any]) -> str:
    machine = doc["machine"]
    conc = doc["settings"]["concurrency"]
    lines = [
        f"## Latency — `{doc['name']}` (profile {doc['settings']['profile']})",
        "",
        f"{doc['created_at']} · {machine['cpu']} · {machine['cores']} cores · service and "
        "clients on the same machine · times in ms, client side, over HTTP on loopback",
        "",
        f"`{doc['command']}`",
        "",
    ]
    if doc.get("load_average_at_start"):
        start = ", ".join(str(x) for x in doc["load_average_at_start"])
        end = ", ".join(str(x) for x in doc.get("load_average_at_end") or []) or "-"
        lines += [f"Load average (1, 5, 15 min) at the start: {start}; at the end: {end}", ""]
    header = ["memories", "ingest turns/s (c1)"]
    header += [f"ingest turns/s (c{max(conc)})"] if max(conc) > 1 else []
    header += ["tokens per turn", "ingest tokens/s (c1)"]
    for label in ("rerank_off", "rerank_on"):
        for c in conc:
            header.append(f"search {label.replace('_', ' ')} c{c} p50/p95")
    header += ["search after a pin p50/p95", "query reasoning p50/p95", "query chat p50/p95"]
    header += ["add infer=false p50/p95", "add async p50/p95", "add sync p50/p95", "service RSS MB"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---:|" * len(header))

    def pp(cell: dict[str, Any]) -> str:
        return f"{cell['p50_ms']:.1f} / {cell['p95_ms']:.1f}"

    for size, cell in doc["sizes"].items():
        row = [size, f"{cell['ingest']['c1']['turns_per_second']:.0f}"]
        if max(conc) > 1:
            sample = cell["ingest"].get(f"c{max(conc)}")
            row.append(f"{sample['turns_per_second']:.0f}" if sample else "-")
        solo = cell["ingest"]["c1"]
        row += [f"{solo.get('tokens_per_turn', '-')}", f"{solo.get('tokens_per_second', '-')}"]
        for label in ("rerank_off", "rerank_on"):
            for c in conc:
                row.append(pp(cell["search"][label][f"c{c}"]))
        after_pin = cell["search"].get("after_pin")
        row.append(pp(after_pin) if after_pin else "-")
        row += [pp(cell["query"]["reasoning"]), pp(cell["query"]["chat"])]
        row += [pp(cell["add"][k]) for k in ("infer_false", "async", "sync")]
        row.append(str(cell.get("service_rss_mb") or "-"))
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Search throughput (requests/s): "
        + "; ".join(
            f"{size}: "
            + ", ".join(
                f"{label} c{c} {cell['search'][label][f'c{c}'].get('per_second', '-')}"
                for label in ("rerank_off", "rerank_on")
                for c in conc
            )
            for size, cell in doc["sizes"].items()
        ),
    ]
    lines += configurations_markdown(doc)
    return "\n".join(lines) + "\n"


def configurations_markdown(doc: dict[str, Any]) -> list[str]:
    """The one-process / N-process comparison, one row per size and configuration."""
    rows = [(size, cell) for size, cell in doc["sizes"].items() if cell.get("configurations")]
    if not rows:
        return []
    conc = doc["settings"]["concurrency"]
    lo, hi = min(conc), max(conc)
    lines = [
        "",
        f"Search (rerank off) on one API process against {doc['settings']['processes']} "
        "sharing the database, same questions, interleaved rounds "
        f"({doc['settings'].get('comparison_rounds', '-')}); clients "
        + (
            "in separate processes"
            if doc["settings"].get("client_processes")
            else "threads of the load generator"
        )
        + ", on the same cores as the service:",
        "",
        "Configurations: one process = the service as configured; "
        + "; ".join(
            f"{label.replace('_', ' ')} = {', '.join(f'{k}={v}' for k, v in env) or 'defaults'}"
            for label, env in (
                ("reference", doc["settings"].get("reference_env")),
                (f"processes_{doc['settings']['processes']}", doc["settings"].get("processes_env")),
                *doc["settings"].get("also_env", {}).items(),
            )
            if env is not None
        ),
        "",
        "| memories | configuration | "
        + " | ".join(f"c{c} req/s | c{c} p50/p95 ms" for c in conc)
        + f" | c{hi} / c{lo} throughput | "
        + " | ".join(f"c{c} service CPU ms/req (cores busy)" for c in conc)
        + " | "
        + " | ".join(f"c{c} client CPU ms/req" for c in conc)
        + " | load average | RSS MB |",
        "|---|---|" + "---:|" * (4 * len(conc) + 3),
    ]
    for size, cell in rows:
        for label, cells in cell["configurations"].items():
            rss = cell.get(
                "service_rss_mb" if label == "one_process" else f"{label}_service_rss_mb"
            )
            ratio = cells[f"c{hi}"]["per_second"] / cells[f"c{lo}"]["per_second"]
            row = [size, label.replace("_", " ")]
            for c in conc:
                row += [f"{cells[f'c{c}']['per_second']:.1f}", pp_cell(cells[f"c{c}"])]
            row.append(f"{ratio:.2f}x")
            for c in conc:
                got = cells[f"c{c}"]
                cpu = got.get("service_cpu_ms_per_request")
                row.append(f"{cpu:.1f} ({got.get('service_cores_busy', 0):.2f})" if cpu else "-")
            row += [str(cells[f"c{c}"].get("client_cpu_ms_per_request", "-")) for c in conc]
            loads = [cells[f"c{c}"].get("load_average") for c in conc]
            row.append(" / ".join(f"{x:.1f}" for x in loads if x is not None) or "-")
            row.append(str(rss or "-"))
            lines.append("| " + " | ".join(str(x) for x in row) + " |")
    return lines


def pp_cell(cell: dict[str, Any]) -> str:
    return f"{cell['p50_ms']:.1f} / {cell['p95_ms']:.1f}"


def latency_plot(doc: dict[str, Any], path: Path) -> None:
    from .report import _pyplot

    plt = _pyplot()
    sizes = [int(s) for s in doc["sizes"]]
    cells = list(doc["sizes"].values())
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    series = 0
    for label in ("rerank_off", "rerank_on"):
        for c in doc["settings"]["concurrency"]:
            colour = colours[series % len(colours)]
            series += 1
            for pct, style in (("p50_ms", "-"), ("p95_ms", ":")):
                ys = [cell["search"][label][f"c{c}"][pct] for cell in cells]
                ax.plot(
                    sizes,
                    ys,
                    style,
                    color=colour,
                    marker="o",
                    label=f"search {label.replace('_', ' ')} c{c} {pct[:3]}",
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("memories in the scope")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Tessera search latency vs scope size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _labelled_env(value: str) -> tuple[str, dict[str, str]]:
    """`LABEL:KEY=VALUE[,KEY=VALUE]` (an `--also` argument) as (label, environment)."""
    label, sep, pairs = value.partition(":")
    env = dict(pair.partition("=")[::2] for pair in pairs.split(",") if pair)
    reserved = {"one_process", "reference"}
    if not sep or not label or label in reserved or label.startswith("processes_") or not env:
        raise SystemExit(f"--also expects LABEL:KEY=VALUE[,KEY=VALUE], got {value!r}")
    return label, env


@contextmanager
def processes_service(
    service_dir: Path, processes: int, env: dict[str, str], *, log_name: str | None = None
) -> Iterator[tuple[dict[str, str], int, Any]]:
    """Another service on the same database as `processes` API processes (no job worker),
    each with the model as configured: a lone query on every core, overlapping ones on
    one-thread copies. (With each process's model on cores / N threads, a lone client was
    answered on one thread: 57.8 against 69.1 searches/s for one process,
    `latency-cores-wave5-two`.)"""
    from tessera_server.testing import run_service

    extra = {"TESSERA_WORKER_ENABLED": "false", **env}
    with run_service(
        service_dir,
        env=extra,
        tenant="bench",
        workers=processes,
        log_name=log_name or f"service-{processes}-{len(env)}.log",
    ) as handle:
        yield extra, handle.process.pid, handle


def run_latency(args: argparse.Namespace) -> int:
    from .cli import _env_pairs
    from .report import command_line, machine_info, write_json
    from .tessera import service

    profile = PROFILES[args.profile]
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else profile.sizes
    if list(sizes) != sorted(set(sizes)):
        raise SystemExit("--sizes must be strictly increasing")
    concurrency = tuple(int(x) for x in args.concurrency.split(","))
    profile = Profile(
        sizes=sizes,
        searches=args.searches or profile.searches,
        queries=args.queries or profile.queries,
        adds=args.adds or profile.adds,
        ingest_sample=args.ingest_sample or profile.ingest_sample,
    )
    name: str = args.name or f"latency-{args.profile}"
    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    pool, questions = load_pools(data_dir)
    service_dir = args.service_dir or paths.default_work_dir() / f"service-{name}"
    if not args.base_url and service_dir.exists():
        shutil.rmtree(service_dir)
    doc: dict[str, Any] = {
        "benchmark": "latency",
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "settings": {
            "profile": args.profile,
            "sizes": list(sizes),
            "concurrency": list(concurrency),
            "searches_per_cell": profile.searches,
            "queries_per_mode": profile.queries,
            "adds_per_mode": profile.adds,
            "ingest_sample_at_max_concurrency": profile.ingest_sample,
            "searches_after_pins": profile.pins,
            "batch_size": args.batch_size,
            "top_k": args.top_k,
            "service_env": sorted(_env_pairs(args.service_env)),
            "processes": args.processes,
            "comparison_rounds": args.rounds,
        },
        "sizes": {},
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with (
        service(
            base_url=args.base_url,
            api_key=args.api_key,
            data_dir=service_dir,
            env=_env_pairs(args.service_env),
        ) as target,
        ExitStack() as stack,
    ):
        user_id = f"latency-{name}-{int(time.time())}"
        runner = Runner(target.base_url, target.api_key, user_id=user_id, top_k=args.top_k)
        if target.pid is not None:
            doc["service_rss_mb_idle"] = process_tree_rss_mb(target.pid)
        alternatives: dict[str, Runner] = {}
        pids: dict[str, int] = {}
        if args.reference_env and target.pid is not None:
            reference_env = {**_env_pairs(args.service_env), **_env_pairs(args.reference_env)}
            _, reference_pid, reference = stack.enter_context(
                processes_service(service_dir, 1, reference_env)
            )
            doc["settings"]["reference_env"] = sorted(reference_env.items())
            alternatives["reference"] = Runner(
                reference.base_url, reference.api_key, user_id=user_id, top_k=args.top_k
            )
            pids["reference"] = reference_pid
        also = [_labelled_env(value) for value in args.also] if target.pid is not None else []
        for label, also_env in also:
            env_also = {**_env_pairs(args.service_env), **also_env}
            _, pids[label], other = stack.enter_context(
                processes_service(service_dir, 1, env_also, log_name=f"service-{label}.log")
            )
            doc["settings"].setdefault("also_env", {})[label] = sorted(env_also.items())
            alternatives[label] = Runner(
                other.base_url, other.api_key, user_id=user_id, top_k=args.top_k
            )
        if args.processes > 1 and target.pid is not None:
            env, pids[f"processes_{args.processes}"], many = stack.enter_context(
                processes_service(service_dir, args.processes, _env_pairs(args.service_env))
            )
            doc["settings"]["processes_env"] = sorted(env.items())
            alternatives[f"processes_{args.processes}"] = Runner(
                many.base_url, many.api_key, user_id=user_id, top_k=args.top_k
            )
        clients = ClientProcesses() if args.client_processes else None
        doc["settings"]["client_processes"] = bool(args.client_processes)
        try:
            for size, cell in measure(
                runner,
                pool,
                questions,
                sizes=sizes,
                concurrency=concurrency,
                profile=profile,
                batch_size=args.batch_size,
                service_pid=target.pid,
                alternatives=alternatives,
                rounds=args.rounds,
                pids=({"one_process": target.pid} if target.pid else {}) | pids,
                client_processes=clients,
            ):
                for label, pid in pids.items():
                    cell[f"{label}_service_rss_mb"] = process_tree_rss_mb(pid)
                doc["sizes"][str(size)] = cell
                write_json(out_dir / f"{name}.json", doc)  # partial results survive a crash
                log.info(
                    "latency @%d: search off c1 p50 %.1f ms p95 %.1f ms",
                    size,
                    cell["search"]["rerank_off"][f"c{concurrency[0]}"]["p50_ms"],
                    cell["search"]["rerank_off"][f"c{concurrency[0]}"]["p95_ms"],
                )
        finally:
            if clients is not None:
                clients.close()
            runner.close()
            for alternative in alternatives.values():
                alternative.close()
    doc["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_json(out_dir / f"{name}.json", doc)
    (out_dir / f"{name}.md").write_text(latency_markdown(doc), encoding="utf-8")
    if not args.no_plot:
        latency_plot(doc, out_dir / f"{name}.png")
    print((out_dir / f"{name}.md").read_text(encoding="utf-8"))
    return 0
