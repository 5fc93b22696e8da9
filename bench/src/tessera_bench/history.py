"""History import: how fast a real conversation history is brought in, variant against
variant in one run.

A history is what `tessera import` sends: each session of a user as one batch add
(`POST /v1/memories:batch`, `infer=true`, the session's id and its turns' own times), then
one consolidation of the user queued at the end. Two kinds of history, from the benchmark
data: **chat** (LoCoMo conversations, short turns between two people) and **long-reply**
(LongMemEval long haystacks: a question's sessions among distractor sessions, with long
assistant replies that are searched in parts). Every variant gets the same histories in each
round, in alternating order, each on a fresh SQLite file (or PostgreSQL database); the adds
are measured in the service, the consolidation in `tessera worker` processes started once the
adds are in, from their first claim to the last job's end.

Figures per kind and variant: turns/s and CPU-ms per turn for the adds and for the
consolidation (CPU seconds of the processes, which a busy box's share of the cores changes
much less than wall time), the load average beside them, and a digest of everything stored
(turns, episodes with their parts, facts, foresight, portraits and panels, and the vectors'
bits), so a faster variant is shown to store the same memories.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import statistics
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import paths
from .data import Scope, load_locomo, load_longmemeval
from .ingest import (
    Variant,
    describe_variant,
    embedded_work,
    measure_ingest,
    parse_variant,
    per_consolidated_turn,
    variant_settings,
)
from .report import command_line, machine_info, write_json
from .tessera import opaque

USER_PREFIX = "history-"
KINDS = ("chat", "long-reply")
BATCH_LIMIT = 500  # the service's `max_batch`: a longer session is sent in several batches


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--variant",
        action="append",
        type=parse_variant,
        default=[],
        metavar="NAME[:tree=PATH,backend=postgres,workers=N,TESSERA_X=V]",
        help="a service to measure (repeatable; default: the current code alone)",
    )
    p.add_argument("--rounds", type=int, default=2, help="rounds (each runs every variant)")
    p.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"histories to import, comma-separated (default: {','.join(KINDS)})",
    )
    p.add_argument("--chat-users", type=int, default=1, help="LoCoMo conversations per chat import")
    p.add_argument(
        "--long-users",
        type=int,
        default=2,
        help="LongMemEval long-haystack questions (tuning part) per long-reply import",
    )
    p.add_argument("--distractors", type=int, default=20, help="distractor sessions per question")
    p.add_argument("--work", type=Path, default=None, help="folder for the services' files")


def histories(kind: str, data_dir: Path, users: int, distractors: int) -> list[Scope]:
    """The first `users` histories of a kind (LongMemEval's from its tuning part)."""
    if kind == "chat":
        return load_locomo(data_dir).scopes[:users]
    if kind == "long-reply":
        data = load_longmemeval(data_dir, haystack="long", distractors=distractors)
        tune = [s for s in data.scopes if s.questions and s.questions[0].part == "tune"]
        return tune[:users]
    raise ValueError(f"unknown history kind {kind!r}; known: {', '.join(KINDS)}")


def history_requests(scopes: Sequence[Scope]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Each user's requests in order: one batch per session (ids hashed, as the quality
    benchmark sends them), then one queued consolidation of the user."""
    users = []
    for n, scope in enumerate(scopes):
        user_id = f"{USER_PREFIX}{n:04d}"
        sessions: dict[str, list[dict[str, Any]]] = {}
        for turn in scope.turns:
            sessions.setdefault(turn.session_id, []).append(
                {
                    "role": turn.role,
                    "content": turn.content,
                    "turn_id": opaque(turn.turn_id),
                    "event_time": turn.event_time.isoformat().replace("+00:00", "Z"),
                }
            )
        requests: list[tuple[str, dict[str, Any]]] = []
        for session_id, messages in sessions.items():
            for start in range(0, len(messages), BATCH_LIMIT):
                body = {
                    "user_id": user_id,
                    "session_id": opaque(session_id),
                    "infer": True,
                    "mode": "async",
                    "messages": messages[start : start + BATCH_LIMIT],
                }
                requests.append(("/v1/memories:batch", body))
        requests.append(("/v1/consolidate", {"user_id": user_id}))
        users.append(requests)
    return users


def _rows(backend: str, db: str, sql: str) -> list[tuple[Any, ...]]:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:
            return [tuple(r) for r in pg.execute(sql.encode()).fetchall()]
    conn = sqlite3.connect(db, timeout=30)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def _vector_bytes(value: Any) -> bytes:
    """A stored vector's bits, whatever the backend returns (a blob, or pgvector's text)."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    import numpy as np

    text = str(value).strip("[]")
    return np.array([float(x) for x in text.split(",")], dtype=np.float32).tobytes()


# What is stored, without what differs between two runs of the same code: random ids, the
# clock at write time, and row keys. Source turns are named by their turn ids; a panel's
# members (episode ids) by its summary, which names how many it holds.
_DIGESTS = {
    "turns": (
        "SELECT t.user_id, t.session_id, t.turn_id, t.role, t.content, t.event_time, "
        "t.consolidated, t.embedding FROM turns t WHERE t.user_id LIKE '{p}%'"
    ),
    "episodes": (
        "SELECT e.user_id, e.session_id, e.kind, e.text, e.role, e.event_time, e.importance, "
        "e.attrs, (SELECT group_concat(t.turn_id, ',') FROM episode_sources s JOIN turns t "
        "ON t.pk = s.turn_pk WHERE s.episode_pk = e.pk), e.embedding FROM episodes e "
        "WHERE e.user_id LIKE '{p}%'"
    ),
    "facts": (
        "SELECT f.user_id, f.session_id, f.subject, f.relation, f.object, f.text, f.role, "
        "f.confidence, f.functional, f.t_valid, f.t_invalid, f.t_expired IS NULL, "
        "f.superseded_by IS NULL, (SELECT e.text FROM episodes e WHERE e.id = f.episode_id), "
        "(SELECT group_concat(t.turn_id, ',') FROM fact_sources s JOIN turns t "
        "ON t.pk = s.turn_pk WHERE s.fact_pk = f.pk), f.embedding FROM facts f "
        "WHERE f.user_id LIKE '{p}%'"
    ),
    "foresight": (
        "SELECT o.user_id, o.session_id, o.kind, o.content, o.due_at, o.expires_at, "
        "(SELECT e.text FROM episodes e WHERE e.pk = o.episode_pk), o.embedding "
        "FROM foresight o WHERE o.user_id LIKE '{p}%'"
    ),
    "portraits": "SELECT user_id, data FROM portraits WHERE user_id LIKE '{p}%'",
    "panels": ("SELECT user_id, level, summary, centroid FROM panels WHERE user_id LIKE '{p}%'"),
}
# Tables whose last column is a vector.
_WITH_VECTORS = ("turns", "episodes", "facts", "foresight", "panels")


def stored_digest(backend: str, db: str, prefix: str) -> dict[str, dict[str, Any]]:
    """Per table: rows, and SHA-256 digests of the rows without and with their vectors'
    bits, each row in a canonical order. Two runs that store the same memories have the
    same digests."""
    out: dict[str, dict[str, Any]] = {}
    for table, sql in _DIGESTS.items():
        if backend == "postgres":
            sql = sql.replace("group_concat(t.turn_id, ',')", "string_agg(t.turn_id, ',')")
        rows = _rows(backend, db, sql.replace("{p}", prefix))
        plain, full = [], []
        for row in rows:
            fields = list(row)
            vector = _vector_bytes(fields.pop()) if table in _WITH_VECTORS else b""
            if table == "portraits":
                fields[1] = json.dumps(json.loads(fields[1]), sort_keys=True)
            text = json.dumps([str(f) for f in fields])
            plain.append(text)
            full.append(text + vector.hex())
        out[table] = {
            "rows": len(rows),
            "digest": hashlib.sha256("\n".join(sorted(plain)).encode()).hexdigest()[:16],
            "digest_with_vectors": hashlib.sha256("\n".join(sorted(full)).encode()).hexdigest()[
                :16
            ],
        }
    return out


def one_import(
    variant: Variant,
    users: list[list[tuple[str, dict[str, Any]]]],
    work: Path,
    log_dir: Path,
    postgres: Any = None,
) -> dict[str, Any]:
    """One variant's import of the histories: adds, then the worker drains the jobs."""
    from .scale import consolidated_turns

    turns = sum(
        len(body["messages"]) for user in users for path, body in user if "messages" in body
    )
    # No per-key byte budget: a history's long batches would be throttled by it.
    budget = {"TESSERA_WORK_BUDGET_BYTES_PER_MINUTE": "0"}
    m = measure_ingest(
        variant,
        users,
        work,
        log_dir,
        postgres,
        prefix="history",
        user_prefix=USER_PREFIX,
        env=budget,
    )
    backend, db, drain = m.backend, m.db, m.drain_seconds
    api_seconds, api_cpu, worker_cpu, total_jobs = m.api_seconds, m.api_cpu, m.worker_cpu, m.jobs
    done = consolidated_turns(backend, db, USER_PREFIX)
    work_done = embedded_work(backend, db, USER_PREFIX)
    return {
        "variant": variant.name,
        "backend": backend,
        "workers": variant.workers,
        "turns": turns,
        "chars": sum(
            len(message["content"])
            for user in users
            for _, body in user
            for message in body.get("messages", [])
        ),
        "jobs": total_jobs,
        "api_seconds": round(api_seconds, 2),
        "api_add_turns_per_second": round(turns / api_seconds, 1),
        "api_add_cpu_ms_per_turn": round(1000 * api_cpu / turns, 1),
        "turns_consolidated": done,
        "drain_seconds": round(drain, 2),
        "turns_consolidated_per_second": round(done / drain, 1) if drain else None,
        "consolidation_cpu_ms_per_turn": round(1000 * worker_cpu / done, 1) if done else None,
        "embedded": work_done,
        "add_tokens_per_turn": round(work_done["turns"]["tokens"] / turns, 1),
        **per_consolidated_turn(work_done, done),
        "stored": stored_digest(backend, db, USER_PREFIX),
        "load_average": m.load_average,
    }


_FIGURES = (
    "api_add_turns_per_second",
    "api_add_cpu_ms_per_turn",
    "turns_consolidated_per_second",
    "consolidation_cpu_ms_per_turn",
    "add_tokens_per_turn",
    "consolidation_texts_per_turn",
    "consolidation_tokens_per_turn",
)


def summarise(runs: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Medians per kind and variant, and whether each variant stored what the first did."""
    out: dict[str, Any] = {}
    for kind in dict.fromkeys(r["kind"] for r in runs):
        per: dict[str, Any] = {}
        for name in names:
            mine = [r for r in runs if r["kind"] == kind and r["variant"] == name]
            if not mine:
                continue
            figures: dict[str, Any] = {}
            for key in _FIGURES:
                values = [r[key] for r in mine if r[key] is not None]
                figures[key] = statistics.median(values) if values else None
            figures["turns"] = mine[0]["turns"]
            figures["chars_per_turn"] = round(mine[0]["chars"] / mine[0]["turns"])
            figures["rounds"] = len(mine)
            figures["load_average"] = [r["load_average"] for r in mine]
            figures.update(_same_as(runs, kind, name, names[0]))
            per[name] = figures
        out[kind] = per
    return out


def _same_as(runs: Sequence[dict[str, Any]], kind: str, name: str, base: str) -> dict[str, Any]:
    """Whether `name` stored, in every round, what `base` stored from the same turns."""
    rounds = sorted({r["round"] for r in runs if r["kind"] == kind})
    texts = vectors = True
    differing: set[str] = set()
    for rnd in rounds:
        pair = {
            r["variant"]: r["stored"]
            for r in runs
            if r["kind"] == kind and r["round"] == rnd and r["variant"] in (name, base)
        }
        if len(pair) < 2 and name != base:
            continue
        mine, theirs = pair[name], pair[base]
        for table in mine:
            if mine[table]["digest"] != theirs[table]["digest"]:
                texts = False
                differing.add(table)
            if mine[table]["digest_with_vectors"] != theirs[table]["digest_with_vectors"]:
                vectors = False
                differing.add(f"{table} vectors")
    return {
        "same_items_as_first": texts,
        "same_vectors_as_first": vectors,
        "differs_in": sorted(differing),
    }


def _fmt(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:,.{places}f}"


def history_markdown(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    lines = [
        f"# {doc['name']}",
        "",
        f"`{doc['command']}`",
        "",
        f"{s['rounds']} rounds; in each, every variant imports the same histories on a fresh "
        "database, in alternating order: each session one batch add (`infer=true`, its own "
        "turn times), one queued consolidation per user, then `tessera worker` drains the "
        "jobs. **chat**: LoCoMo conversations; **long-reply**: LongMemEval long-haystack "
        f"questions with {s['distractors']} distractor sessions (tuning part). "
        f"{doc['machine']['cpu']}, {doc['machine']['cores']} cores. Medians over rounds; CPU "
        "ms are the service's (adds) and the worker's (consolidation) CPU time per turn, "
        "less sensitive to other work on the box than turns/s; the load average (1 min) "
        "before/after each run is in the rounds table. *Same items / vectors*: every round's "
        "stored turns, episodes, facts, foresight, portraits and panels (without ids and "
        "clock times) have the same digest as the first variant's, without / with the "
        "vectors' bits.",
        "",
        "| history | variant | turns (chars/turn) | add turns/s | add CPU ms/turn "
        "| consolidation turns/s | consolidation CPU ms/turn | consolidation tokens/turn "
        "| same items / vectors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind, per in doc["summary"].items():
        for name, m in per.items():
            same = (
                f"{'yes' if m['same_items_as_first'] else 'no'} / "
                f"{'yes' if m['same_vectors_as_first'] else 'no'}"
            )
            if m["differs_in"]:
                same += f" ({', '.join(m['differs_in'])})"
            cells = [
                f"{m['turns']} ({m['chars_per_turn']:,})",
                _fmt(m["api_add_turns_per_second"], 1),
                _fmt(m["api_add_cpu_ms_per_turn"], 1),
                _fmt(m["turns_consolidated_per_second"], 1),
                _fmt(m["consolidation_cpu_ms_per_turn"], 1),
                _fmt(m["consolidation_tokens_per_turn"], 1),
                same,
            ]
            lines.append(f"| {kind} | {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Rounds",
        "",
        "| round | history | variant | add turns/s | add CPU ms/turn | consolidation turns/s "
        "| consolidation CPU ms/turn | load before / after |",
        "|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for r in doc["runs"]:
        lo = " / ".join(f"{x:.1f}" for x in r["load_average"])
        lines.append(
            f"| {r['round']} | {r['kind']} | {r['variant']} | {r['api_add_turns_per_second']} "
            f"| {r['api_add_cpu_ms_per_turn']} | {r['turns_consolidated_per_second']} "
            f"| {r['consolidation_cpu_ms_per_turn']} | {lo} |"
        )
    lines += ["", "Variants:", ""]
    lines += [describe_variant(v) for v in s["variants"]]
    return "\n".join(lines) + "\n"


def _rounds(
    args: argparse.Namespace,
    variants: Sequence[Variant],
    imports: dict[str, list[list[tuple[str, dict[str, Any]]]]],
    work: Path,
    postgres: Any,
) -> Iterator[dict[str, Any]]:
    for rnd in range(args.rounds):
        for kind, users in imports.items():
            order = list(variants) if rnd % 2 == 0 else list(reversed(variants))
            for v in order:
                result = one_import(v, users, work / v.name, work, postgres)
                result.update(round=rnd, kind=kind)
                print(
                    f"round {rnd} {kind} {v.name}: add {result['api_add_turns_per_second']} "
                    f"turns/s ({result['api_add_cpu_ms_per_turn']} CPU ms/turn), consolidation "
                    f"{result['turns_consolidated_per_second']} turns/s "
                    f"({result['consolidation_cpu_ms_per_turn']} CPU ms/turn), "
                    f"load {result['load_average']}",
                    flush=True,
                )
                yield result


def run_history(args: argparse.Namespace) -> int:
    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "ingest-history"
    work: Path = args.work or paths.default_work_dir() / name
    variants: list[Variant] = args.variant or [Variant("current")]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    users = {"chat": args.chat_users, "long-reply": args.long_users}
    imports = {
        kind: history_requests(histories(kind, data_dir, users[kind], args.distractors))
        for kind in kinds
    }
    postgres = None
    if any(v.backend == "postgres" for v in variants):
        from tessera_server.store.postgres import testserver

        postgres = testserver.start()
    try:
        runs = list(_rounds(args, variants, imports, work, postgres))
    finally:
        if postgres is not None:
            postgres.stop()
    shutil.rmtree(work, ignore_errors=True)
    doc = {
        "benchmark": "history",
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "settings": {
            "rounds": args.rounds,
            "kinds": kinds,
            "chat_users": args.chat_users,
            "long_users": args.long_users,
            "distractors": args.distractors,
            "variants": [variant_settings(v) for v in variants],
        },
        "summary": summarise(runs, [v.name for v in variants]),
        "runs": runs,
    }
    write_json(out_dir / f"{name}.json", doc)
    md = history_markdown(doc)
    (out_dir / f"{name}.md").write_text(md, encoding="utf-8")
    print(md)
    return 0
