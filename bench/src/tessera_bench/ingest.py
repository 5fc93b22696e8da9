"""Ingest of conversation turns, variant against variant in one run: what the API add and
the consolidation worker achieve, and how much text each consolidated turn makes them embed.

Each variant is a service on a fresh SQLite file: the current code with extra settings
(``--variant noparts:TESSERA_TURN_PART_CHARS=200000``), or another source tree on the Python
path (``--variant old:tree=/tmp/old/packages/tessera-server/src``, e.g. a ``git worktree`` of
an older commit). Every round sends each variant the same turns (users x turns drawn from
the benchmark's real texts, as the scale run's ingest does), in alternating order, so the
variants share the box's load; the load average is recorded beside each figure.

Work is counted from what is stored, so it is the same for any code: texts embedded at add
(one per turn) and by consolidation (episode texts, facts, foresight), in the embedder's
tokens (its window of 256 at most). A turns/s change with the same tokens per turn is
speed; with more tokens per turn, it is more text embedded.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import paths
from .report import command_line, machine_info, write_json
from .specs import named_items

USER_PREFIX = "ingest-"


@dataclass
class Variant:
    name: str
    tree: str | None = None  # a source folder put first on the Python path
    env: dict[str, str] = field(default_factory=dict)
    backend: str = "sqlite"  # or "postgres": a new database on a throwaway server
    workers: int = 1  # `tessera worker` processes draining the jobs
    clients: int = 1  # threads sending the adds at once (each user's turns stay in order)
    single: bool = False  # each turn its own `POST /v1/memories` instead of a batch per user
    processes: int = 1  # API processes (`tessera serve --workers N`)


def variant_settings(v: Variant) -> dict[str, Any]:
    """A variant as a result file records it."""
    return {
        "name": v.name,
        "tree": v.tree,
        "backend": v.backend,
        "workers": v.workers,
        "clients": v.clients,
        "single": v.single,
        "processes": v.processes,
        "env_items": [f"{k}={x}" for k, x in sorted(v.env.items())],
    }


def describe_variant(v: dict[str, Any]) -> str:
    """A recorded variant as one line of a report's list."""
    what = ", ".join(
        [
            *([f"tree {v['tree']}"] if v["tree"] else []),
            *(["PostgreSQL"] if v.get("backend") == "postgres" else []),
            *([f"{v['workers']} workers"] if v.get("workers", 1) > 1 else []),
            *([f"{v['clients']} clients"] if v.get("clients", 1) > 1 else []),
            *(["one add per turn"] if v.get("single") else []),
            *([f"{v['processes']} API processes"] if v.get("processes", 1) > 1 else []),
            *v["env_items"],
        ]
    )
    return f"- **{v['name']}**: {what or 'the current code, default settings'}"


def parse_variant(text: str) -> Variant:
    """`NAME[:ITEM,ITEM…]`, each item `tree=PATH`, `backend=sqlite|postgres`, `workers=N`,
    `clients=N`, `adds=single|batch`, `processes=N` or `TESSERA_…=VALUE`."""
    name, items = named_items(text, "a variant")
    variant = Variant(name)
    for key, value in items:
        if key == "tree":
            variant.tree = value
        elif key == "backend" and value in ("sqlite", "postgres"):
            variant.backend = value
        elif key in ("workers", "clients", "processes") and value.isdigit() and int(value) >= 1:
            setattr(variant, key, int(value))
        elif key == "adds" and value in ("single", "batch"):
            variant.single = value == "single"
        elif key.startswith("TESSERA_"):
            variant.env[key] = value
        else:
            raise argparse.ArgumentTypeError(f"unknown item {key!r} in {text!r}")
    return variant


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--variant",
        action="append",
        type=parse_variant,
        default=[],
        metavar="NAME[:tree=PATH,backend=postgres,workers=N,clients=N,adds=single,"
        "processes=N,TESSERA_X=V]",
        help="a service to measure (repeatable; default: the current code alone)",
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds (each runs every variant)")
    p.add_argument("--users", type=int, default=4, help="users per round (one batch add each)")
    p.add_argument("--turns", type=int, default=16, help="turns per user")
    p.add_argument("--pool", type=int, default=10_000, help="distinct real texts drawn from")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", type=Path, default=None, help="folder for the services' files")


def turn_bodies(texts: Sequence[str], users: int, turns: int, seed: int) -> list[dict[str, Any]]:
    """One async batch add per user, of alternating user and assistant turns (as the scale
    run's ingest sends them: no event times, so a batch's turns are said together)."""
    rng = random.Random(seed)
    bodies = []
    for u in range(users):
        msgs = [
            {
                "role": "user" if j % 2 == 0 else "assistant",
                "content": rng.choice(texts),
                "turn_id": f"t{j:03d}",
            }
            for j in range(turns)
        ]
        bodies.append(
            {"user_id": f"{USER_PREFIX}{u:04d}", "infer": True, "mode": "async", "messages": msgs}
        )
    return bodies


def add_requests(bodies: Sequence[dict[str, Any]], single: bool) -> list[list[tuple[str, Any]]]:
    """Each user's requests in order: its batch, or (`single`) one add per turn."""
    if not single:
        return [[("/v1/memories:batch", b)] for b in bodies]
    keep = ("user_id", "infer", "mode")
    return [
        [("/v1/memories", {**{k: b[k] for k in keep}, **m}) for m in b["messages"]] for b in bodies
    ]


def send_adds(client: Any, users: list[list[tuple[str, Any]]], clients: int) -> None:
    """Send every user's requests, `clients` users at a time, each user's in order."""
    from concurrent.futures import ThreadPoolExecutor

    def one_user(requests: list[tuple[str, Any]]) -> None:
        for path, body in requests:
            client.post(path, body)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_user, users))


def embedded_work(backend: str, db: str, prefix: str) -> dict[str, Any]:
    """Texts and tokens the stored rows of `prefix`'s users were embedded from: turns at add;
    episodes, facts and foresight by consolidation (`db`: a SQLite path or PostgreSQL URL).
    An episode holding its source turn's own vector was not embedded again (a long turn's
    first part, a verbatim turn's note), so it is not counted."""
    from tessera_server.providers.embedder.minilm import build_tokenizer

    tokenizer = build_tokenizer()
    groups = {
        "turns": "SELECT content FROM turns WHERE user_id LIKE {m}",
        "episodes": "SELECT e.text FROM episodes e WHERE e.user_id LIKE {m} "
        "AND e.embedding IS NOT NULL AND NOT EXISTS (SELECT 1 FROM episode_sources s "
        "JOIN turns t ON t.pk = s.turn_pk WHERE s.episode_pk = e.pk AND t.embedding = e.embedding)",
        "facts": "SELECT text FROM facts WHERE user_id LIKE {m} AND embedding IS NOT NULL",
        "foresight": "SELECT content FROM foresight WHERE user_id LIKE {m}",
    }
    out: dict[str, Any] = {}
    for name, sql in groups.items():
        texts = _texts(backend, db, sql, f"{prefix}%")
        tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts)) if texts else 0
        out[name] = {"texts": len(texts), "distinct": len(set(texts)), "tokens": tokens}
    return out


def per_consolidated_turn(work: dict[str, Any], turns: int) -> dict[str, Any]:
    """Consolidation's embedded texts and tokens per consolidated turn."""
    made = [work[k] for k in ("episodes", "facts", "foresight")]
    if not turns:
        return {"consolidation_texts_per_turn": None, "consolidation_tokens_per_turn": None}
    return {
        "consolidation_texts_per_turn": round(sum(g["texts"] for g in made) / turns, 2),
        "consolidation_tokens_per_turn": round(sum(g["tokens"] for g in made) / turns, 1),
    }


def _texts(backend: str, db: str, sql: str, like: str) -> list[str]:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:
            return [str(r[0]) for r in pg.execute(sql.format(m="%s").encode(), (like,))]
    conn = sqlite3.connect(db, timeout=30)
    try:
        return [str(r[0]) for r in conn.execute(sql.format(m="?"), (like,))]
    finally:
        conn.close()


WARM_TEXTS = 40  # a batch past one fair-scheduling chunk (32 texts): bulk work


def warm_up(client: Any) -> None:
    """Run the service's model once on a batch (bulk work: on the fair scheduler's second
    instance, which the service loads on its first bulk call, 0.3 s of CPU) and once on a
    query, so neither one-off start-up is counted as ingest."""
    messages = [
        {"role": "user", "content": f"Warming up the model before the run, note {i}."}
        for i in range(WARM_TEXTS)
    ]
    client.post("/v1/memories:batch", {"user_id": "warm", "infer": False, "messages": messages})
    client.post("/v1/search", {"user_id": "warm", "query": "warm up"})


@dataclass
class Measured:
    """What one variant's adds and drain cost: wall time and CPU of the service, the worker
    processes and (on PostgreSQL) the database server, and the jobs the adds queued."""

    backend: str
    db: str
    api_seconds: float
    api_cpu: float
    api_db_cpu: float
    jobs: int
    drain_seconds: float
    worker_cpu: float
    drain_db_cpu: float
    db_measured: bool
    load_average: list[float]


def measure_ingest(
    variant: Variant,
    requests: list[list[tuple[str, Any]]],
    work: Path,
    log_dir: Path,
    postgres: Any,
    *,
    prefix: str,
    user_prefix: str = USER_PREFIX,
    env: dict[str, str] | None = None,
) -> Measured:
    """Start the variant's service on a fresh database, send `requests` (one list per user,
    in order) from `variant.clients` threads, then let `variant.workers` worker processes
    drain the queued jobs of the users named `user_prefix…`; the database stays for the caller
    to read (`Measured.db`)."""
    from tessera_server.testing import run_service

    from .latency import process_tree_cpu_s
    from .scale import Client, jobs_state, worker_processes

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    backend = variant.backend
    db_pid: int | None = None
    if backend == "postgres":
        db = postgres.create_database(prefix=prefix)
        url = db
        pid_file = postgres.data / "postmaster.pid" if postgres.data else None
        if pid_file is not None and pid_file.exists():
            db_pid = int(pid_file.read_text().split()[0])
    else:
        db = str(work / "tessera.db")
        url = f"sqlite:///{db}"
    service_env = {
        "TESSERA_DATABASE_URL": url,
        "TESSERA_WORKER_ENABLED": "false",
        "TESSERA_RATE_LIMIT_PER_MINUTE": "10000000",
        "TESSERA_LOG_LEVEL": "warning",
        **(env or {}),
        **variant.env,
    }
    if variant.tree:
        service_env["PYTHONPATH"] = variant.tree
    with run_service(work, env=service_env, tenant="bench", workers=variant.processes) as handle:
        client = Client(handle.base_url, handle.api_key)
        try:
            warm_up(client)
            load_before = _load()
            cpu0 = process_tree_cpu_s(handle.process.pid) or 0.0
            db0 = _cpu(db_pid)
            t0 = time.perf_counter()
            send_adds(client, requests, variant.clients)
            api_seconds = time.perf_counter() - t0
            api_cpu = (process_tree_cpu_s(handle.process.pid) or 0.0) - cpu0
            api_db_cpu = _cpu(db_pid) - db0
        finally:
            client.close()
        total_jobs = sum(jobs_state(backend, db, user_prefix).values())
        with worker_processes(handle.env, variant.workers, log_dir) as procs:
            first: float | None = None
            first_cpu = first_db = 0.0
            while True:
                state = jobs_state(backend, db, user_prefix)
                now = time.perf_counter()
                if first is None and state.get("queued", 0) < total_jobs:
                    first = now
                    first_cpu = sum(_cpu(p.pid) for p in procs)
                    first_db = _cpu(db_pid)
                if not state.get("queued") and not state.get("running"):
                    break
                time.sleep(0.05)
            finished = time.perf_counter()
            worker_cpu = sum(_cpu(p.pid) for p in procs) - first_cpu
            drain_db_cpu = _cpu(db_pid) - first_db
        load_after = _load()
    return Measured(
        backend=backend,
        db=db,
        api_seconds=api_seconds,
        api_cpu=api_cpu,
        api_db_cpu=api_db_cpu,
        jobs=total_jobs,
        drain_seconds=finished - (first or finished),
        worker_cpu=worker_cpu,
        drain_db_cpu=drain_db_cpu,
        db_measured=db_pid is not None,
        load_average=[load_before, load_after],
    )


def one_run(
    variant: Variant,
    bodies: list[dict[str, Any]],
    work: Path,
    log_dir: Path,
    postgres: Any = None,
) -> dict[str, Any]:
    """One variant's ingest; `postgres` is the throwaway server PostgreSQL variants use."""
    from .scale import consolidated_turns

    turns = sum(len(b["messages"]) for b in bodies)
    requests = add_requests(bodies, variant.single)
    m = measure_ingest(variant, requests, work, log_dir, postgres, prefix="ingest")
    done = consolidated_turns(m.backend, m.db, USER_PREFIX)
    drain = m.drain_seconds
    work_done = embedded_work(m.backend, m.db, USER_PREFIX)
    return {
        "variant": variant.name,
        "backend": m.backend,
        "workers": variant.workers,
        "clients": variant.clients,
        "single": variant.single,
        "processes": variant.processes,
        "turns": turns,
        "jobs": m.jobs,
        "api_add_turns_per_second": round(turns / m.api_seconds, 1),
        "turns_consolidated": done,
        "drain_seconds": round(drain, 2),
        "turns_consolidated_per_second": round(done / drain, 1) if drain else None,
        # CPU seconds the service (adds) and the worker (from its first claim) used: what the
        # work costs, which a busy box's share of the cores does not change much.
        "api_add_cpu_ms_per_turn": round(1000 * m.api_cpu / turns, 1),
        "consolidation_cpu_ms_per_turn": round(1000 * m.worker_cpu / done, 1) if done else None,
        # PostgreSQL's own processes (the store's side of the same work); None on SQLite,
        # whose work runs inside the service and the worker.
        "db_cpu_ms_per_turn_added": round(1000 * m.api_db_cpu / turns, 1)
        if m.db_measured
        else None,
        "db_cpu_ms_per_turn_consolidated": round(1000 * m.drain_db_cpu / done, 1)
        if m.db_measured and done
        else None,
        "embedded": work_done,
        "add_tokens_per_turn": round(work_done["turns"]["tokens"] / turns, 1),
        **per_consolidated_turn(work_done, done),
        "load_average": m.load_average,
    }


def _cpu(pid: int | None) -> float:
    from .latency import process_tree_cpu_s

    return (process_tree_cpu_s(pid) or 0.0) if pid else 0.0


def _load() -> float:
    with open("/proc/loadavg", encoding="ascii") as f:
        return float(f.read().split()[0])


def summarise(runs: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = (
        "api_add_turns_per_second",
        "turns_consolidated_per_second",
        "api_add_cpu_ms_per_turn",
        "consolidation_cpu_ms_per_turn",
        "db_cpu_ms_per_turn_added",
        "db_cpu_ms_per_turn_consolidated",
        "add_tokens_per_turn",
        "consolidation_texts_per_turn",
        "consolidation_tokens_per_turn",
    )
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        figures: dict[str, Any] = {}
        for k in keys:
            values = [r[k] for r in mine if r[k] is not None]
            figures[k] = statistics.median(values) if values else None
        figures["episodes"] = statistics.median(r["embedded"]["episodes"]["texts"] for r in mine)
        figures["rounds"] = len(mine)
        out[name] = figures
    return out


def _fmt(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def ingest_markdown(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    lines = [
        f"# {doc['name']}",
        "",
        f"`{doc['command']}`",
        "",
        f"{s['rounds']} rounds of {s['users']} users x {s['turns']} turns (async adds, a batch "
        "per user from one client unless the variant says otherwise, then the variant's "
        "`tessera worker` processes, one unless it says), every variant "
        "on the same turns in each round, in alternating order; "
        f"{doc['machine']['cpu']}, {doc['machine']['cores']} cores. "
        "Medians over rounds; load average (1 min) before/after each run in the rounds table.",
        "",
        "| variant | API add turns/s | consolidation turns/s | API add CPU ms/turn "
        "| consolidation CPU ms/turn | PostgreSQL CPU ms/turn, add / consolidation "
        "| add tokens/turn | consolidation texts/turn | consolidation tokens/turn | episodes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in doc["summary"].items():
        cells = [
            _fmt(m["api_add_turns_per_second"], 1),
            _fmt(m["turns_consolidated_per_second"], 1),
            _fmt(m["api_add_cpu_ms_per_turn"], 1),
            _fmt(m["consolidation_cpu_ms_per_turn"], 1),
            f"{_fmt(m['db_cpu_ms_per_turn_added'], 1)} / "
            f"{_fmt(m['db_cpu_ms_per_turn_consolidated'], 1)}",
            _fmt(m["add_tokens_per_turn"], 1),
            _fmt(m["consolidation_texts_per_turn"], 2),
            _fmt(m["consolidation_tokens_per_turn"], 1),
            _fmt(m["episodes"], 0),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Rounds",
        "",
        "| round | variant | API add turns/s | consolidation turns/s | CPU ms/turn add "
        "/ consolidation | load |",
        "|---:|---|---:|---:|---|---|",
    ]
    for r in doc["runs"]:
        lo = "/".join(f"{x:.1f}" for x in r["load_average"])
        lines.append(
            f"| {r['round']} | {r['variant']} | {r['api_add_turns_per_second']:.1f} "
            f"| {r['turns_consolidated_per_second']} | {r['api_add_cpu_ms_per_turn']} / "
            f"{r['consolidation_cpu_ms_per_turn']} | {lo} |"
        )
    lines += ["", "Variants:", ""]
    lines += [describe_variant(v) for v in doc["settings"]["variants"]]
    return "\n".join(lines) + "\n"


def run_ingest(args: argparse.Namespace) -> int:
    from .latency import load_pools

    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "ingest"
    work: Path = args.work or paths.default_work_dir() / name
    variants: list[Variant] = args.variant or [Variant("current")]
    pool, _ = load_pools(data_dir)
    texts = list(dict.fromkeys(pool.take(args.pool)))
    runs: list[dict[str, Any]] = []
    postgres = None
    if any(v.backend == "postgres" for v in variants):
        from tessera_server.store.postgres import testserver

        postgres = testserver.start()
    try:
        _rounds(args, variants, texts, work, postgres, runs)
    finally:
        if postgres is not None:
            postgres.stop()
    shutil.rmtree(work, ignore_errors=True)
    doc = _doc(args, name, variants, texts, runs)
    write_json(out_dir / f"{name}.json", doc)
    md = ingest_markdown(doc)
    (out_dir / f"{name}.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


def _rounds(
    args: argparse.Namespace,
    variants: Sequence[Variant],
    texts: Sequence[str],
    work: Path,
    postgres: Any,
    runs: list[dict[str, Any]],
) -> None:
    for rnd in range(args.rounds):
        bodies = turn_bodies(texts, args.users, args.turns, args.seed + rnd)
        order = list(variants) if rnd % 2 == 0 else list(reversed(variants))
        for v in order:
            result = one_run(v, bodies, work / v.name, work, postgres)
            result["round"] = rnd
            runs.append(result)
            print(
                f"round {rnd} {v.name}: API {result['api_add_turns_per_second']} turns/s, "
                f"consolidation {result['turns_consolidated_per_second']} turns/s, "
                f"{result['consolidation_tokens_per_turn']} tokens/turn, "
                f"load {result['load_average']}",
                flush=True,
            )


def _doc(
    args: argparse.Namespace,
    name: str,
    variants: Sequence[Variant],
    texts: Sequence[str],
    runs: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "benchmark": "ingest",
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "settings": {
            "rounds": args.rounds,
            "users": args.users,
            "turns": args.turns,
            "pool_texts": len(texts),
            "seed": args.seed,
            "variants": [variant_settings(v) for v in variants],
        },
        "summary": summarise(runs, [v.name for v in variants]),
        "runs": runs,
    }
