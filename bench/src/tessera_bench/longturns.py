"""Ingest of long turns: what storing a pasted document or log costs, and whether its middle
is found.

A started service (SQLite, or PostgreSQL with ``--service-env TESSERA_DATABASE_URL=…``)
ingests turns of several lengths in three ways: an async add followed by one consolidation
(what a conversation does), a sync add (stored and consolidated before the answer), and a
verbatim add (``infer=false``, stored as notes at once). Each turn holds one needle
sentence in its middle; after ingest the needle's question is searched and the hit's part
is checked. The baseline, in the same run, is the same ways with turns of 1,000 characters
(one part each). Figures: characters and turns per second, seconds per turn, parts made,
and whether the needle's part came first.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from . import paths
from .report import run_header, write_result
from .tessera import TesseraClient, service

NEEDLE = (
    "The staging cluster's backup key is kept in the blue fireproof safe behind the "
    "receptionist's desk in Lisbon."
)
QUESTION = "Where is the staging cluster backup key kept?"
_TOPICS = ("quarterly revenue", "office plants", "database vacuum", "holiday rota", "toner")
_WORDS = "the team reviewed notes about our plans and agreed to follow up with the vendor"
MODES = ("async+consolidate", "sync", "verbatim")


def document(chars: int, seed: int) -> str:
    """Paragraphs of filler, about `chars` long, with the needle in the middle."""
    rng = random.Random(seed)
    words = _WORDS.split()
    paragraphs: list[str] = []
    size = 0
    while size < chars - len(NEEDLE):
        topic = rng.choice(_TOPICS)
        sentence_count = rng.randint(3, 7)
        text = ". ".join(
            f"Regarding {topic}, " + " ".join(rng.choice(words) for _ in range(rng.randint(8, 20)))
            for _ in range(sentence_count)
        )
        paragraphs.append(text + ".")
        size += len(text) + 3
    paragraphs.insert(len(paragraphs) // 2, NEEDLE)
    return "\n\n".join(paragraphs)[: max(chars, len(NEEDLE))]


def _one(client: TesseraClient, mode: str, chars: int, count: int, tag: str) -> dict[str, Any]:
    user = f"{tag}-{mode}-{chars}"
    texts = [document(chars, seed) for seed in range(count)]
    started = time.perf_counter()
    for n, text in enumerate(texts):
        if mode == "sync":
            client.add(user_id=user, content=text, role="assistant", mode="sync", turn_id=f"t{n}")
        elif mode == "verbatim":
            client.add(user_id=user, content=text, role="assistant", infer=False, turn_id=f"t{n}")
        else:
            client.add(user_id=user, content=text, role="assistant", turn_id=f"t{n}")
    if mode == "async+consolidate":
        client.consolidate(user)
    seconds = time.perf_counter() - started
    items = client.count_items(user)
    found = 0
    search_ms: list[float] = []
    for _ in range(3):
        t0 = time.perf_counter()
        hits = client.search(user, QUESTION, top_k=5)
        search_ms.append((time.perf_counter() - t0) * 1000)
    if hits and "blue fireproof safe" in str(hits[0].get("text", "")):
        found = 1
    total_chars = sum(len(t) for t in texts)
    return {
        "mode": mode,
        "chars_per_turn": chars,
        "turns": count,
        "seconds": round(seconds, 2),
        "seconds_per_turn": round(seconds / count, 3),
        "chars_per_second": round(total_chars / seconds),
        "turns_per_second": round(count / seconds, 2),
        "episodes_made": items.get("episode", 0),
        "needle_first": bool(found),
        "search_ms_median": round(statistics.median(search_ms), 1),
    }


def run(args: argparse.Namespace) -> int:
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "long-turns"
    service_dir = args.service_dir or paths.default_work_dir() / f"service-{name}"
    if not args.base_url and service_dir.exists():
        shutil.rmtree(service_dir)
    sizes = [int(x) for x in args.sizes.split(",")]
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    env = dict(v.split("=", 1) for v in args.service_env)
    with service(
        base_url=args.base_url, api_key=args.api_key, data_dir=service_dir, env=env
    ) as target:
        client = TesseraClient(target.base_url, target.api_key)
        try:
            tag = f"lt{os.getpid()}"
            for chars in [args.baseline_chars, *sizes]:
                count = args.baseline_turns if chars == args.baseline_chars else args.turns
                for mode in MODES:
                    row = _one(client, mode, chars, count, tag)
                    row["baseline"] = chars == args.baseline_chars
                    rows.append(row)
                    print(row, flush=True)
        finally:
            client.close()
    doc = {
        "benchmark": "long-turns",
        **run_header(name, load_start),
        "backend": "postgresql" if "TESSERA_DATABASE_URL" in env else "sqlite",
        "rows": rows,
    }
    print(write_result(out_dir, doc, markdown))
    return 0


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        f"# Ingest of long turns ({doc['name']}, {doc['backend']})",
        "",
        f"`{doc['command']}` on {m['cpu']}, {m['cores']} cores; load average "
        f"{doc['load_average_at_start'][0]} at start, {doc['load_average_at_end'][0]} at end "
        "(other work on the machine slows wall times).",
        "",
        "Each turn is filler paragraphs with one needle sentence in the middle; after ingest "
        "its question is searched (top 5, rerank on). The first rows (1,000 characters, one "
        "part per turn) are the baseline of the same run.",
        "",
        "| chars/turn | mode | turns | s/turn | chars/s | turns/s | episodes made | "
        "needle part first | search ms (median) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['chars_per_turn']:,}{' (baseline)' if r['baseline'] else ''} | {r['mode']} "
            f"| {r['turns']} | {r['seconds_per_turn']} | {r['chars_per_second']:,} "
            f"| {r['turns_per_second']} | {r['episodes_made']} "
            f"| {'yes' if r['needle_first'] else 'no'} | {r['search_ms_median']} |"
        )
    lines.append("")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sizes", default="10000,100000", help="turn lengths in characters (comma list)"
    )
    p.add_argument("--turns", type=int, default=3, help="long turns per size and mode")
    p.add_argument("--baseline-chars", type=int, default=1000)
    p.add_argument("--baseline-turns", type=int, default=30)
