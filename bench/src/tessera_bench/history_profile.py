"""Where a history import's CPU goes: the engine run in this process on a fresh SQLite file,
with the CPU time of each part counted around the calls that make it.

Three ways of bringing a history in: **import** (each session one batch add, then one
consolidation of the user: what `tessera import` does), **live** (one async add per turn,
the worker's jobs run as the cadence queues them: what the quality benchmark's ingest does)
and **verbatim** (each session one batch add with `infer=false`: stored as notes, nothing to
consolidate). Variants (`--variant NAME:setting=value,...`, settings by their field names in
`config.py`) run one after another on each history and way, in alternating order, so that
a before/after comparison shares the box's load.
Counted per turn: CPU ms of the embedding model (at add, and in consolidation), of the offline
extractor, of the portrait and panel rebuilds, and of everything else (SQL, segmenting,
narration, Python); texts and model tokens embedded; and how many of them were the same text,
or the same token row (what a cache could have saved), embedded twice.

The counting wraps the runtime's embedder and extractor from outside (measuring only); the
process runs nothing else meanwhile, so the process's CPU time around a call is the call's.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import paths
from .data import Scope as DataScope
from .history import BATCH_LIMIT, KINDS, histories
from .report import command_line, machine_info, write_json
from .specs import named_items

WAYS = ("import", "live", "verbatim")
DEFAULT_WAYS = ("import", "live")


@dataclass
class ProfileVariant:
    """Settings the engine runs with (field names of `Settings`, values as the environment
    would give them)."""

    name: str
    settings: dict[str, str] = field(default_factory=dict)


def parse_profile_variant(text: str) -> ProfileVariant:
    from tessera_server.config import Settings

    name, items = named_items(text, "a variant")
    for key, _ in items:
        if key not in Settings.model_fields:
            raise argparse.ArgumentTypeError(f"{key!r} is not a setting (see config.py)")
    return ProfileVariant(name, dict(items))


class _Meter:
    """CPU seconds per part, and the texts embedded."""

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.texts: list[str] = []
        self.stage = "add"

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        start = time.process_time()
        try:
            yield
        finally:
            self.cpu[name] += time.process_time() - start


def _metered(runtime: Any, meter: _Meter) -> None:
    """Count the embedder's and the extractor's CPU (and the texts embedded)."""
    from tessera_server.engine import consolidation, maintenance

    embedder, extractor = runtime.embedder, runtime.extractor

    class Embedder:
        model_id, dim, runtime = embedder.model_id, embedder.dim, embedder.runtime

        def embed(self, texts: list[str]) -> Any:
            meter.texts.extend(texts)
            with meter.part(f"embedding at {meter.stage}"):
                return embedder.embed(texts)

    class Extractor:
        name = extractor.name

        def extract(self, turns: Any) -> Any:
            with meter.part("extraction"):
                return extractor.extract(turns)

    runtime.embedder, runtime.extractor = Embedder(), Extractor()

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with meter.part("portrait and panels"):
                return fn(*args, **kwargs)

        return counted

    # Consolidation's own names for them (maintenance's stay as they are).
    setattr(consolidation, "refresh_portrait", wrap(maintenance.refresh_portrait))  # noqa: B010
    setattr(consolidation, "refresh_panels", wrap(maintenance.refresh_panels))  # noqa: B010


def profile(
    way: str, scopes: list[DataScope], work: Path, settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """One history import in this process, counted, with `settings` on top of the defaults."""
    from tessera_server.app import build_runtime
    from tessera_server.config import load_settings
    from tessera_server.engine import worker
    from tessera_server.engine.clock import utcnow
    from tessera_server.engine.memory import Memory
    from tessera_server.engine.records import NewTurn, Scope
    from tessera_server.providers.embedder.minilm import build_tokenizer

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    url = f"sqlite:///{work / 'tessera.db'}"
    overrides: dict[str, Any] = dict(settings or {})
    runtime = build_runtime(load_settings(database_url=url, worker_enabled=False, **overrides))
    tenant, _ = runtime.store.ensure_tenant("profile", utcnow())
    memory = Memory(runtime)
    meter = _Meter()
    _metered(runtime, meter)
    memory.batch(
        Scope(tenant, "warm", None), [NewTurn("warm up", "user")] * 40, infer=False, metadata=None
    )
    meter.cpu.clear()
    meter.texts.clear()
    start = time.process_time()
    turns = 0
    for n, data in enumerate(scopes):
        user = Scope(tenant, f"u{n}", None)
        turns += len(data.turns)
        if way in ("import", "verbatim"):
            meter.stage = "add"
            sessions: dict[str, list[NewTurn]] = {}
            for t in data.turns:
                said = NewTurn(t.content, t.role, t.turn_id, t.event_time)
                sessions.setdefault(t.session_id, []).append(said)
            for session_id, said_list in sessions.items():
                scope = Scope(tenant, user.user_id, session_id)
                for at in range(0, len(said_list), BATCH_LIMIT):
                    chunk = said_list[at : at + BATCH_LIMIT]
                    memory.batch(scope, chunk, infer=way == "import", metadata=None)
            if way == "import":
                memory.enqueue_consolidation(user)
            meter.stage = "consolidation"
            while worker.work_once(runtime):
                pass
        else:
            for t in data.turns:
                meter.stage = "add"
                said = NewTurn(t.content, t.role, t.turn_id, t.event_time)
                memory.add(user, said, mode="async", infer=True, metadata=None)
                meter.stage = "consolidation"
                while worker.work_once(runtime):
                    pass
            memory.consolidate_now(user)
    total = time.process_time() - start
    runtime.store.close()
    rows = Counter(tuple(e.ids) for e in build_tokenizer().encode_batch(meter.texts))
    texts = Counter(meter.texts)
    parts = {name: round(1000 * cpu / turns, 1) for name, cpu in sorted(meter.cpu.items())}
    parts["everything else"] = round(1000 * (total - sum(meter.cpu.values())) / turns, 1)
    return {
        "way": way,
        "turns": turns,
        "chars_per_turn": round(sum(len(t.content) for s in scopes for t in s.turns) / turns),
        "cpu_ms_per_turn": round(1000 * total / turns, 1),
        "cpu_ms_per_turn_by_part": parts,
        "texts_embedded_per_turn": round(len(meter.texts) / turns, 2),
        "tokens_embedded_per_turn": round(
            sum(min(256, len(r)) * n for r, n in rows.items()) / turns, 1
        ),
        "same_text_embedded_again": sum(n - 1 for n in texts.values()),
        "same_token_row_embedded_again": sum(n - 1 for n in rows.values()),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kinds", default=",".join(KINDS), help="histories (chat, long-reply)")
    p.add_argument(
        "--ways",
        default=",".join(DEFAULT_WAYS),
        help=f"ways of bringing the histories in, of {', '.join(WAYS)}",
    )
    p.add_argument(
        "--variant",
        action="append",
        type=parse_profile_variant,
        default=[],
        metavar="NAME[:setting=value,...]",
        help="engine settings to profile (repeatable; default: the current defaults alone)",
    )
    p.add_argument("--chat-users", type=int, default=1)
    p.add_argument("--long-users", type=int, default=1)
    p.add_argument("--distractors", type=int, default=20)
    p.add_argument("--work", type=Path, default=None)


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        f"# {doc['name']}",
        "",
        f"`{doc['command']}`",
        "",
        "The engine in one process on a fresh SQLite file, CPU time counted around each part "
        "(see `bench/src/tessera_bench/history_profile.py`); **import**: a batch per session "
        "then the worker's jobs; **live**: one async add per turn, the worker's jobs as they "
        "are queued"
        + (
            "; **verbatim**: a batch per session with `infer=false`"
            if any(r["way"] == "verbatim" for r in doc["runs"])
            else ""
        )
        + f". {doc['machine']['cpu']}, {doc['machine']['cores']} cores; load average "
        f"(1 min) {doc['load_average'][0]:.1f} at the start, {doc['load_average'][1]:.1f} at "
        "the end (CPU time per turn is much less affected by other work than wall time).",
        "",
        "| history | way | turns (chars/turn) | CPU ms/turn | by part (ms/turn) "
        "| texts / tokens embedded per turn | same text / token row embedded again |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    variants = any("variant" in r for r in doc["runs"])
    if variants:
        lines[-2] = lines[-2].replace("| way |", "| way | variant |")
        lines[-1] = lines[-1].replace("|---|---|", "|---|---|---|", 1)
    for r in doc["runs"]:
        parts = "; ".join(f"{k} {v}" for k, v in r["cpu_ms_per_turn_by_part"].items())
        lines.append(
            f"| {r['kind']} | {r['way']} "
            + (f"| {r['variant']} " if variants else "")
            + f"| {r['turns']} ({r['chars_per_turn']:,}) "
            f"| {r['cpu_ms_per_turn']} | {parts} | {r['texts_embedded_per_turn']} / "
            f"{r['tokens_embedded_per_turn']} | {r['same_text_embedded_again']} / "
            f"{r['same_token_row_embedded_again']} |"
        )
    if variants:
        lines += [
            "",
            "Variants (settings on top of the defaults; load average before / after):",
            "",
        ]
        seen: dict[str, dict[str, str]] = {}
        for r in doc["runs"]:
            seen.setdefault(r["variant"], r.get("settings", {}))
        for name, settings in seen.items():
            said = ", ".join(f"`{k}={v}`" for k, v in settings.items()) or "the defaults"
            loads = "; ".join(
                f"{r['kind']} {r['way']} {r['load_average'][0]:.1f} / {r['load_average'][1]:.1f}"
                for r in doc["runs"]
                if r["variant"] == name
            )
            lines.append(f"- **{name}**: {said} ({loads})")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    import os

    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "ingest-history-profile"
    work: Path = args.work or paths.default_work_dir() / name
    users = {"chat": args.chat_users, "long-reply": args.long_users}
    variants: list[ProfileVariant] = args.variant or [ProfileVariant("current")]
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    unknown = sorted(set(ways) - set(WAYS))
    if unknown:
        raise SystemExit(f"unknown ways {', '.join(unknown)}; known: {', '.join(WAYS)}")
    load_start = os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    turn = 0
    for kind in (k.strip() for k in args.kinds.split(",") if k.strip()):
        scopes = histories(kind, data_dir, users[kind], args.distractors)
        for way in ways:
            # Alternating order: neither variant always runs first on a warming box.
            order = variants if turn % 2 == 0 else variants[::-1]
            turn += 1
            measured: dict[str, dict[str, Any]] = {}
            for v in order:
                load = os.getloadavg()[0]
                result = profile(way, scopes, work / f"{kind}-{way}-{v.name}", v.settings)
                measured[v.name] = {
                    "kind": kind,
                    "variant": v.name,
                    "settings": v.settings,
                    **result,
                    "load_average": [load, os.getloadavg()[0]],
                }
                print(measured[v.name], flush=True)
            runs.extend(measured[v.name] for v in variants)
    shutil.rmtree(work, ignore_errors=True)
    doc = {
        "benchmark": "history-profile",
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "load_average": [load_start, os.getloadavg()[0]],
        "runs": runs,
    }
    write_json(out_dir / f"{name}.json", doc)
    text = markdown(doc)
    (out_dir / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0
