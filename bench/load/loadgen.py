#!/usr/bin/env python
"""Load generator for the Tessera service: N concurrent clients mixing add, search and query.

Each client is an agent with its own connection and its own `user_id`; in a closed loop (no
think time unless asked) it picks an operation by weight and sends it:

* `add`    - `POST /v1/memories`, an async turn (consolidation is queued on the cadence and run
             by the service's worker, as in production);
* `search` - `POST /v1/search`, `top_k` 10, reranked;
* `query`  - `POST /v1/query`, a composed context;
* `wipe`   - `DELETE /v1/memories`, erase the client's whole scope (not in the default mix;
             a small weight keeps the amount of stored data level during a soak).

Before the clock starts every user gets `--prefill` verbatim memories (one batch call), so
reads search real data. The first `--warmup` seconds are load but not measured.

Reported, per operation and overall: requests, throughput, latency p50/p95/p99/max, errors
(anything but a 2xx, or a transport failure) and 429s (counted apart: the service's rate limit
working as designed), plus the service's resident memory (its process tree, from /proc)
sampled every `--rss-interval` seconds, and how much it grew. Writes `<name>.json`,
`<name>.md` and `<name>-rss.png` into `--output-dir` (default `bench/load/results/`).

Usage, from the repository root:

    python bench/load/loadgen.py                        # 50 clients, 60 s, own service
    python bench/load/loadgen.py --soak 600             # the 10-minute soak (name: soak)
    python bench/load/loadgen.py --rate-limit 600       # trip the limiter on purpose: 429s
    python bench/load/loadgen.py --base-url http://127.0.0.1:8420 --api-key tsk_live_... \\
        [--service-pid PID]                             # an already-running service

A service the generator starts itself is `tessera serve` on a loopback port with a fresh SQLite
file and `TESSERA_RATE_LIMIT_PER_MINUTE` set to `--rate-limit` (default 10,000,000: generous,
so every client shares one key without being limited). The exit status is 1 when the error
rate (429s excluded) is above `--max-error-rate` (default 0) or the RSS grew by more than
`--max-rss-growth-pct` (when given); the results are written either way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_OUTPUT = HERE / "results"
OPERATIONS = ("add", "search", "query", "wipe")
PATHS = {
    "add": "/v1/memories",
    "search": "/v1/search",
    "query": "/v1/query",
    "wipe": "/v1/memories",
}
METHODS = {"wipe": "DELETE"}
DEFAULT_MIX = "add=4,search=3,query=3"

# Small vocabularies, so turns and questions overlap the way a real conversation does.
PLACES = ["Lisbon", "Oslo", "Kyoto", "Denver", "Tallinn", "Recife", "Gdansk", "Hobart"]
FOODS = ["ramen", "falafel", "pierogi", "paella", "tacos", "dal", "bibimbap", "goulash"]
PEOPLE = ["Ana", "Bo", "Chidi", "Dara", "Emil", "Fatima", "Goran", "Hana"]
HOBBIES = ["climbing", "chess", "sailing", "pottery", "running", "birding", "baking", "judo"]
TURNS = [
    "I moved to {place} last spring and I love the harbour there.",
    "My favourite food is {food}, especially on rainy days.",
    "My sister {person} is visiting next week; we plan to go {hobby}.",
    "I started {hobby} in January and I go every Saturday.",
    "Remind me that {person} prefers {food} over anything else.",
    "We had {food} in {place} with {person} after the conference.",
    "I'm thinking about quitting {hobby}; my knee hurts.",
    "Work is busy: the {place} office wants the report by Friday.",
]
QUESTIONS = [
    "Where does the user live?",
    "What food does the user like?",
    "Who is visiting next week?",
    "What hobbies does the user have?",
    "What does {person} prefer to eat?",
    "What happened in {place}?",
    "When does the user go {hobby}?",
    "What is due on Friday?",
]


def sentence(rng: random.Random, templates: list[str]) -> str:
    return rng.choice(templates).format(
        place=rng.choice(PLACES),
        food=rng.choice(FOODS),
        person=rng.choice(PEOPLE),
        hobby=rng.choice(HOBBIES),
    )


# -- measurements ------------------------------------------------------------------------


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)  # seconds, successes only
    errors: int = 0
    rate_limited: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)


class Recorder:
    """Collects outcomes once the measured window has started."""

    def __init__(self, operations: list[str]) -> None:
        self.ops = {op: OpStats() for op in operations}
        self.measuring = False
        self.timeline: Counter[int] = Counter()  # second since start -> completed requests
        self.start = time.monotonic()

    def record(self, op: str, latency: float, outcome: str, kind: str = "") -> None:
        self.timeline[int(time.monotonic() - self.start)] += 1
        if not self.measuring:
            return
        stats = self.ops[op]
        if outcome == "ok":
            stats.latencies.append(latency)
        elif outcome == "429":
            stats.rate_limited += 1
        else:
            stats.errors += 1
            stats.error_kinds[kind] += 1


def process_tree_rss_mb(pid: int) -> float | None:
    """Resident memory of a process and all its descendants, in MB (Linux /proc)."""
    total_kb = 0
    seen: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, ValueError):
            if current == pid:
                return None
    return total_kb / 1024.0


def threads_and_fds(pid: int) -> tuple[int, int] | None:
    """The service process's thread count and open file descriptors (Linux /proc)."""
    try:
        threads = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
        fds = sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
    except (OSError, ValueError, StopIteration):
        return None
    return threads, fds


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- the clients -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    clients: int
    duration: float
    warmup: float
    weights: dict[str, float]
    users: int
    prefill: int
    think: float
    seed: int
    user_prefix: str


def request_for(op: str, rng: random.Random, user: str) -> dict[str, Any]:
    if op == "add":
        return {"user_id": user, "role": "user", "content": sentence(rng, TURNS)}
    if op == "search":
        return {"user_id": user, "query": sentence(rng, QUESTIONS), "top_k": 10}
    if op == "wipe":
        return {"user_id": user}
    return {"user_id": user, "query": sentence(rng, QUESTIONS)}


def user_name(plan: Plan, index: int) -> str:
    return f"{plan.user_prefix}-{index % plan.users}"


async def client_loop(
    index: int, base_url: str, api_key: str, plan: Plan, rec: Recorder, stop_at: float
) -> None:
    rng = random.Random(plan.seed * 1_000 + index)
    user = user_name(plan, index)
    ops = list(plan.weights)
    weights = [plan.weights[op] for op in ops]
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120.0) as http:
        while time.monotonic() < stop_at:
            op = rng.choices(ops, weights)[0]
            started = time.perf_counter()
            try:
                response = await http.request(
                    METHODS.get(op, "POST"), PATHS[op], json=request_for(op, rng, user)
                )
            except httpx.HTTPError as exc:
                rec.record(op, time.perf_counter() - started, "error", type(exc).__name__)
                await asyncio.sleep(0.1)
                continue
            latency = time.perf_counter() - started
            if response.status_code == 429:
                rec.record(op, latency, "429")
                # Honour Retry-After, as the SDK does, but never past the end of the run.
                wait = float(response.headers.get("retry-after", "1") or 1)
                await asyncio.sleep(max(0.0, min(wait, stop_at - time.monotonic())))
            elif response.is_success:
                rec.record(op, latency, "ok")
            else:
                slug = ""
                with contextlib.suppress(ValueError, AttributeError):
                    slug = str(response.json().get("type", "")).rsplit("#", 1)[-1]
                rec.record(op, latency, "error", f"HTTP {response.status_code} {slug}".strip())
            if plan.think:
                await asyncio.sleep(rng.expovariate(1.0 / plan.think))


async def prefill(base_url: str, api_key: str, plan: Plan) -> None:
    """Every user gets `plan.prefill` verbatim memories, so reads search real data."""
    if plan.prefill <= 0:
        return
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=300.0, limits=limits
    ) as http:

        async def one(index: int) -> None:
            rng = random.Random(plan.seed * 7_919 + index)
            body = {
                "user_id": user_name(plan, index),
                "infer": False,
                "messages": [
                    {"role": "user", "content": sentence(rng, TURNS)} for _ in range(plan.prefill)
                ],
            }
            response = await http.post("/v1/memories:batch", json=body)
            response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(plan.users)))


@dataclass
class Samples:
    rss: list[tuple[float, float]] = field(default_factory=list)  # (t, MB)
    handles: list[tuple[float, int, int]] = field(default_factory=list)  # (t, threads, fds)

    def take(self, pid: int, at: float) -> None:
        rss = process_tree_rss_mb(pid)
        if rss is not None:
            self.rss.append((at, round(rss, 1)))
        counts = threads_and_fds(pid)
        if counts is not None:
            self.handles.append((at, *counts))


async def sample_service(
    pid: int | None, rec: Recorder, interval: float, stop: asyncio.Event
) -> Samples:
    samples = Samples()
    while pid is not None:
        samples.take(pid, round(time.monotonic() - rec.start, 2))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            samples.take(pid, round(time.monotonic() - rec.start, 2))
            break
    return samples


async def run_load(
    base_url: str, api_key: str, plan: Plan, pid: int | None, rss_interval: float
) -> tuple[Recorder, Samples, float, float]:
    await prefill(base_url, api_key, plan)
    rec = Recorder(list(plan.weights))
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_service(pid, rec, rss_interval, stop))
    stop_at = time.monotonic() + plan.warmup + plan.duration
    clients = [
        asyncio.create_task(client_loop(i, base_url, api_key, plan, rec, stop_at))
        for i in range(plan.clients)
    ]
    await asyncio.sleep(plan.warmup)
    rec.measuring = True
    measured_from = time.monotonic()
    await asyncio.gather(*clients)
    measured = time.monotonic() - measured_from
    stop.set()
    samples = await sampler
    return rec, samples, measured, measured_from - rec.start


# -- the service -------------------------------------------------------------------------


@contextlib.contextmanager
def own_service(
    data_dir: Path | None, rate_limit: int, extra_env: dict[str, str]
) -> Iterator[tuple[str, str, int, Path]]:
    """`tessera serve` on loopback with a fresh database, via the server's test harness."""
    from tessera_server.testing import run_service

    env = {"TESSERA_RATE_LIMIT_PER_MINUTE": str(rate_limit), "TESSERA_LOG_LEVEL": "warning"}
    env.update(extra_env)
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="tessera-load-"))
            )
        handle = stack.enter_context(run_service(data_dir, env=env, tenant="load"))
        yield handle.base_url, handle.api_key, handle.process.pid, handle.log_path


def crashes_in_log(log_path: Path | None) -> int:
    if log_path is None or not log_path.is_file():
        return 0
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return text.count("Traceback") + text.count("unhandled ")


# -- reporting ---------------------------------------------------------------------------


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 1)


def summarize(
    rec: Recorder, measured: float, samples: Samples, measured_from: float
) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for op, stats in rec.ops.items():
        ok = len(stats.latencies)
        total = ok + stats.errors + stats.rate_limited
        operations[op] = {
            "requests": total,
            "ok": ok,
            "errors": stats.errors,
            "rate_limited_429": stats.rate_limited,
            "throughput_rps": round(total / measured, 2) if measured else None,
            "latency_ms": {
                "p50": ms(percentile(stats.latencies, 50)),
                "p95": ms(percentile(stats.latencies, 95)),
                "p99": ms(percentile(stats.latencies, 99)),
                "mean": ms(sum(stats.latencies) / ok) if ok else None,
                "max": ms(max(stats.latencies)) if ok else None,
            },
            "error_kinds": dict(stats.error_kinds),
        }
    all_latencies = [x for stats in rec.ops.values() for x in stats.latencies]
    requests = sum(o["requests"] for o in operations.values())
    errors = sum(o["errors"] for o in operations.values())
    limited = sum(o["rate_limited_429"] for o in operations.values())
    overall = {
        "requests": requests,
        "ok": len(all_latencies),
        "errors": errors,
        "rate_limited_429": limited,
        "error_rate": round(errors / requests, 6) if requests else None,
        "rate_limited_rate": round(limited / requests, 6) if requests else None,
        "throughput_rps": round(requests / measured, 2) if measured else None,
        "latency_ms": {
            "p50": ms(percentile(all_latencies, 50)),
            "p95": ms(percentile(all_latencies, 95)),
            "p99": ms(percentile(all_latencies, 99)),
            "max": ms(max(all_latencies)) if all_latencies else None,
        },
    }
    return {
        "measured_seconds": round(measured, 2),
        "operations": operations,
        "overall": overall,
        "rss": rss_summary(samples.rss, measured_from),
        "threads_fds": handles_summary(samples.handles, measured_from),
        "throughput_timeline": sorted(rec.timeline.items()),
    }


def rss_summary(samples: list[tuple[float, float]], measured_from: float) -> dict[str, Any]:
    """Start, middle, end and growth of the service's RSS over the measured window.

    "Start", "middle" and "end" are medians of the first, third and last quarter of the
    measured samples, so one spike does not decide. The first minutes fill bounded caches
    (a SQLite page cache per request thread, the ONNX runtime's arenas, a vector matrix per
    scope searched, the allocator's per-thread arenas), so a leak is growth that goes on in
    the second half: the middle-to-end growth and the least-squares slope over that half.
    """
    if not samples:
        return {"samples": [], "note": "not sampled (no service pid)"}
    measured = [(t, mb) for t, mb in samples if t >= measured_from] or samples
    quarter = max(1, len(measured) // 4)
    half_at = len(measured) // 2

    def median(part: list[tuple[float, float]]) -> float:
        ordered = sorted(mb for _, mb in part)
        return ordered[len(ordered) // 2]

    start_mb = median(measured[:quarter])
    mid_mb = median(measured[half_at : half_at + quarter])
    end_mb = median(measured[-quarter:])
    half = measured[half_at:]
    slope = None
    if len(half) >= 3:
        ts = [t for t, _ in half]
        ys = [mb for _, mb in half]
        t_mean, y_mean = sum(ts) / len(ts), sum(ys) / len(ys)
        var = sum((t - t_mean) ** 2 for t in ts)
        if var > 0:
            slope = (
                sum((t - t_mean) * (y - y_mean) for t, y in zip(ts, ys, strict=True)) / var * 60.0
            )
    return {
        "samples": [list(s) for s in samples],
        "before_load_mb": samples[0][1],
        "start_mb": start_mb,
        "end_mb": end_mb,
        "min_mb": min(mb for _, mb in measured),
        "max_mb": max(mb for _, mb in measured),
        "growth_mb": round(end_mb - start_mb, 1),
        "growth_pct": round(100.0 * (end_mb - start_mb) / start_mb, 2) if start_mb else None,
        "mid_mb": mid_mb,
        "second_half_growth_mb": round(end_mb - mid_mb, 1),
        "second_half_growth_pct": round(100.0 * (end_mb - mid_mb) / mid_mb, 2) if mid_mb else None,
        "slope_second_half_mb_per_min": None if slope is None else round(slope, 2),
    }


def handles_summary(samples: list[tuple[float, int, int]], measured_from: float) -> dict[str, Any]:
    """Threads and open file descriptors: a leak of either shows as a steady climb."""
    if not samples:
        return {"samples": []}
    measured = [s for s in samples if s[0] >= measured_from] or samples
    return {
        "samples": [list(s) for s in samples],
        "threads_start": measured[0][1],
        "threads_end": measured[-1][1],
        "threads_max": max(s[1] for s in measured),
        "fds_start": measured[0][2],
        "fds_end": measured[-1][2],
        "fds_max": max(s[2] for s in measured),
    }


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(doc: dict[str, Any], png_name: str | None) -> str:
    cfg, res = doc["config"], doc["results"]
    lines = [
        f"# Tessera load: {cfg['clients']} clients, {fmt(res['measured_seconds'])} s measured",
        "",
        f"{doc['started_at']} · {doc['machine']['cpus']} CPUs · Python {doc['machine']['python']}"
        f" · service: {cfg['service']} · mix "
        + ", ".join(f"{op} {w:g}" for op, w in cfg["mix"].items())
        + f" · {cfg['users']} users, {cfg['prefill']} memories each before the run"
        + f" · warm-up {fmt(cfg['warmup_seconds'])} s (not measured)",
        "",
        "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | 429s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [*res["operations"].items(), ("**all**", res["overall"])]
    for op, o in rows:
        lat = o["latency_ms"]
        lines.append(
            f"| {op} | {fmt(o['requests'])} | {fmt(o['throughput_rps'])} | {fmt(lat['p50'])} | "
            f"{fmt(lat['p95'])} | {fmt(lat['p99'])} | {fmt(lat['max'])} | {fmt(o['errors'])} | "
            f"{fmt(o['rate_limited_429'])} |"
        )
    overall = res["overall"]
    lines += [
        "",
        f"Error rate (429s excluded): {100.0 * (overall['error_rate'] or 0):.3f} % "
        f"({overall['errors']} of {overall['requests']}); deliberate 429s: "
        f"{overall['rate_limited_429']}. Service log crashes: {doc['service_log_crashes']}.",
    ]
    kinds = {k: v for o in res["operations"].values() for k, v in o["error_kinds"].items()}
    if kinds:
        lines.append("Errors by kind: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
    rss = res["rss"]
    if rss.get("samples"):
        lines += [
            "",
            "| service RSS | MB |",
            "|---|---:|",
            f"| before load (after prefill) | {fmt(rss['before_load_mb'])} |",
            f"| start of measured window (median, first quarter) | {fmt(rss['start_mb'])} |",
            f"| end of measured window (median, last quarter) | {fmt(rss['end_mb'])} |",
            f"| min / max | {fmt(rss['min_mb'])} / {fmt(rss['max_mb'])} |",
            f"| middle of the window (median, third quarter) | {fmt(rss['mid_mb'])} |",
            f"| growth, start to end | {fmt(rss['growth_mb'])} ({fmt(rss['growth_pct'])} %) |",
            f"| growth, middle to end | {fmt(rss['second_half_growth_mb'])} "
            f"({fmt(rss['second_half_growth_pct'])} %) |",
            f"| slope over the second half, MB/min | {fmt(rss['slope_second_half_mb_per_min'])} |",
        ]
        handles = res["threads_fds"]
        if handles.get("samples"):
            lines += [
                "",
                f"Service threads: {handles['threads_start']} at the start of the measured "
                f"window, {handles['threads_end']} at the end (max {handles['threads_max']}); "
                f"open file descriptors: {handles['fds_start']} -> {handles['fds_end']} "
                f"(max {handles['fds_max']}).",
            ]
    else:
        lines += ["", f"Service RSS: {rss.get('note', 'not sampled')}."]
    if png_name:
        lines += ["", f"![service RSS and throughput over time]({png_name})"]
    lines += ["", f"Command: `{doc['command']}`", ""]
    return "\n".join(lines)


def plot(doc: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    res = doc["results"]
    samples = res["rss"].get("samples") or []
    timeline = res["throughput_timeline"]
    fig, (ax_rss, ax_tp) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    if samples:
        ax_rss.plot([t for t, _ in samples], [mb for _, mb in samples], color="tab:blue")
    ax_rss.set_ylabel("service RSS (MB)")
    ax_rss.set_ylim(bottom=0)
    ax_rss.grid(alpha=0.3)
    full_seconds = timeline[:-1]  # the last second is cut short by the end of the run
    if full_seconds:
        ax_tp.plot([t for t, _ in full_seconds], [n for _, n in full_seconds], color="tab:green")
    ax_tp.set_ylabel("completed requests / s")
    ax_tp.set_xlabel("seconds since load started")
    ax_tp.set_ylim(bottom=0)
    ax_tp.grid(alpha=0.3)
    warmup = doc["config"]["warmup_seconds"]
    for ax in (ax_rss, ax_tp):
        if warmup:
            ax.axvspan(0, warmup, color="grey", alpha=0.15, label="warm-up (not measured)")
    ax_rss.legend(loc="lower right")
    cfg = doc["config"]
    fig.suptitle(
        f"Tessera under load: {cfg['clients']} clients, {res['measured_seconds']:.0f} s measured"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# -- command line ------------------------------------------------------------------------


def parse_mix(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in OPERATIONS:
            raise argparse.ArgumentTypeError(f"unknown operation {name!r} in --mix")
        weights[name] = float(weight or 1)
    if not any(w > 0 for w in weights.values()):
        raise argparse.ArgumentTypeError("--mix needs a positive weight")
    return {op: w for op, w in weights.items() if w > 0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="N concurrent clients mixing add/search/query against a Tessera service.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--clients", type=int, default=50, help="concurrent clients")
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    p.add_argument(
        "--soak",
        type=float,
        default=None,
        metavar="SECONDS",
        help="soak mode: measure this long (e.g. 600), sample RSS every 5 s, name 'soak'",
    )
    p.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first")
    p.add_argument(
        "--mix",
        type=parse_mix,
        default=None,
        help="operation weights (default add=4,search=3,query=3; soak: plus wipe=0.1)",
    )
    p.add_argument("--users", type=int, default=None, help="distinct user_ids (default: clients)")
    p.add_argument("--prefill", type=int, default=20, help="memories per user before the run")
    p.add_argument("--think-ms", type=float, default=0.0, help="mean pause between requests")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--user-prefix",
        default=None,
        help="user_ids are <prefix>-<n> (default: load-<run id>); reuse one to load old data",
    )
    p.add_argument("--base-url", default=None, help="use a running service instead")
    p.add_argument("--api-key", default=os.environ.get("TESSERA_API_KEY"))
    p.add_argument("--service-pid", type=int, default=None, help="its pid, to sample RSS")
    p.add_argument(
        "--rate-limit",
        type=int,
        default=10_000_000,
        help="TESSERA_RATE_LIMIT_PER_MINUTE of a started service (lower it to test 429s)",
    )
    p.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--data-dir", type=Path, default=None, help="keep the started service's data")
    p.add_argument("--rss-interval", type=float, default=None, help="seconds (default 1; soak 5)")
    p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    p.add_argument("--name", default=None, help="file stem (default: load, or soak)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--max-error-rate", type=float, default=0.0, help="fail above (429s excluded)")
    p.add_argument(
        "--max-rss-growth-pct",
        type=float,
        default=None,
        help="fail if RSS grew more than this from the middle to the end of the window",
    )
    args = p.parse_args(argv)
    if args.mix is None:
        # A soak looks for leaks, so it keeps the amount of stored data level: now and then a
        # client erases its scope. (Memory that grows with the data is the dense index by
        # design; `python -m tessera_bench latency` measures it per store size.)
        args.mix = parse_mix(DEFAULT_MIX + (",wipe=0.1" if args.soak is not None else ""))
    if args.soak is not None:
        args.duration = args.soak
    if args.rss_interval is None:
        args.rss_interval = 5.0 if args.soak is not None else 1.0
    if args.name is None:
        args.name = "soak" if args.soak is not None else "load"
    if args.base_url and not args.api_key:
        p.error("--base-url needs --api-key (or TESSERA_API_KEY)")
    if args.clients < 1 or args.duration <= 0:
        p.error("--clients and --duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        clients=args.clients,
        duration=args.duration,
        warmup=args.warmup,
        weights=args.mix,
        users=args.users or args.clients,
        prefill=args.prefill,
        think=args.think_ms / 1000.0,
        seed=args.seed,
        user_prefix=args.user_prefix
        or f"load-{int(time.time()) % 100_000:05d}{random.Random().randrange(1000):03d}",
    )
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    extra_env = dict(item.split("=", 1) for item in args.service_env)
    log_path: Path | None = None
    with contextlib.ExitStack() as stack:
        if args.base_url:
            base_url, api_key, pid = args.base_url.rstrip("/"), args.api_key, args.service_pid
            service = base_url
        else:
            base_url, api_key, pid, log_path = stack.enter_context(
                own_service(args.data_dir, args.rate_limit, extra_env)
            )
            service = f"own `tessera serve` (SQLite, rate limit {args.rate_limit:,}/min)"
        print(
            f"load: {plan.clients} clients x {plan.duration:g} s (+{plan.warmup:g} s warm-up) "
            f"against {base_url}",
            flush=True,
        )
        rec, samples, measured, measured_from = asyncio.run(
            run_load(base_url, api_key, plan, pid, args.rss_interval)
        )
        crashes = crashes_in_log(log_path)
    doc: dict[str, Any] = {
        "kind": "tessera-load",
        "started_at": started_at,
        "command": " ".join(["python", "bench/load/loadgen.py", *(argv or sys.argv[1:])]),
        "git_commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "clients": plan.clients,
            "duration_seconds": plan.duration,
            "warmup_seconds": plan.warmup,
            "mix": plan.weights,
            "users": plan.users,
            "prefill": plan.prefill,
            "think_ms": args.think_ms,
            "seed": plan.seed,
            "service": service,
            "rate_limit_per_minute": None if args.base_url else args.rate_limit,
            "rss_interval_seconds": args.rss_interval,
        },
        "results": summarize(rec, measured, samples, measured_from),
        "service_log_crashes": crashes,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    png_name = f"{args.name}-rss.png"
    has_png = not args.no_plot and plot(doc, args.output_dir / png_name)
    (args.output_dir / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    table = markdown(doc, png_name if has_png else None)
    (args.output_dir / f"{args.name}.md").write_text(table)
    print(table)
    overall, rss = doc["results"]["overall"], doc["results"]["rss"]
    failed = []
    if (overall["error_rate"] or 0.0) > args.max_error_rate:
        failed.append(f"error rate {overall['error_rate']} > {args.max_error_rate}")
    if crashes:
        failed.append(f"{crashes} crash(es) in the service log")
    growth = rss.get("second_half_growth_pct")
    limit = args.max_rss_growth_pct
    if limit is not None and growth is not None and growth > limit:
        failed.append(f"RSS grew {growth} % > {args.max_rss_growth_pct} %")
    if overall["requests"] == 0:
        failed.append("no request completed in the measured window")
    for reason in failed:
        print(f"FAILED: {reason}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
