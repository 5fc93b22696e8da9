#!/usr/bin/env python
"""Fairness between tenants: does one tenant's bulk import starve another's interactive calls?

The scenario the red team ran, measured twice in one run on the same machine:

1. **baseline**: the scheduler and the byte budget off (`TESSERA_FAIR_WORK_SLOTS=0`,
   `TESSERA_WORK_BUDGET_BYTES_PER_MINUTE=0`): only the request count is limited;
2. **fair**: the service's defaults (bulk embedding a chunk at a time on its own instance
   of the model, round-robin between tenants and behind interactive calls; 4 MB of request
   bodies per key a minute).

Each gets a fresh service (`tessera serve`, its own SQLite file). An *interactive* tenant adds
one-line turns in a closed loop, first alone (`--idle` seconds: its idle latency), then while
a *bulk* tenant sends `--batches` batches of 500 messages of about 3.9 KB each (≈ 1.95 MB a
batch, all at once, as the red team did), for `--loaded` seconds from the first batch. A bulk
client that gets 429 waits `Retry-After` and sends the batch again, as the SDK does.

Reported per configuration: the interactive tenant's p50/p95/max latency idle and loaded, the
ratio of loaded to idle p95 (the goal: within 3x), errors, the bulk batches accepted and 429s,
and the machine's load average around each run (the CPU may be shared). `--repeat N` runs the
configurations N times, interleaved, and reports each configuration's median ratio.
Writes `results/fairness.json` and `results/fairness.md`.

    python bench/load/fairness.py                 # both configurations, defaults below
    python bench/load/fairness.py --loaded 90 --batches 4 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
WORDS = [
    "memory",
    "agent",
    "harbour",
    "climbing",
    "recipe",
    "lisbon",
    "weekend",
    "project",
    "deadline",
    "sister",
    "museum",
    "garden",
    "invoice",
    "running",
    "coffee",
    "train",
    "library",
    "concert",
    "doctor",
    "holiday",
    "kitchen",
    "bicycle",
    "river",
    "meeting",
    "report",
    "laptop",
    "morning",
    "evening",
    "market",
    "guitar",
    "travel",
]
CONFIGS = {
    "baseline": {"TESSERA_FAIR_WORK_SLOTS": "0", "TESSERA_WORK_BUDGET_BYTES_PER_MINUTE": "0"},
    # The service's defaults, spelled out (the test harness raises the byte budget).
    "fair": {"TESSERA_FAIR_WORK_SLOTS": "1", "TESSERA_WORK_BUDGET_BYTES_PER_MINUTE": "4000000"},
}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
    }


def bulk_batch(rng: random.Random, n: int = 500, chars: int = 3_900) -> dict[str, Any]:
    messages = []
    per_message = chars // 6 + 1  # the words average under six characters with a space
    for i in range(n):
        text = " ".join(rng.choices(WORDS, k=per_message))
        while len(text) < chars:
            text += " " + rng.choice(WORDS)
        role = "user" if i % 2 == 0 else "assistant"
        messages.append({"role": role, "content": text[:chars]})
    return {"user_id": "importer", "messages": messages}


def interactive_loop(
    client: httpx.Client, until: float, out: list[float], errors: list[str]
) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        body = {"user_id": "chatter", "content": f"quick note number {n}", "role": "user"}
        started = time.monotonic()
        try:
            response = client.post("/v1/memories", json=body)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            continue
        if response.status_code == 201:
            out.append(time.monotonic() - started)
        else:
            errors.append(str(response.status_code))


def bulk_sender(
    client: httpx.Client, body: dict[str, Any], deadline: float, tally: dict[str, int]
) -> None:
    while time.monotonic() < deadline:
        try:
            response = client.post("/v1/memories:batch", json=body, timeout=600)
        except httpx.HTTPError:
            # After the window the service is stopped under a batch still in flight.
            tally["errors" if time.monotonic() < deadline else "unfinished"] += 1
            return
        if response.status_code == 429:
            tally["429"] += 1
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        tally["accepted" if response.status_code == 201 else "errors"] += 1
        return


def run_config(name: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO_ROOT / "packages" / "tessera-server" / "src"))
    from tessera_server.testing import run_service

    load_before = os.getloadavg()[0]
    rng = random.Random(7)
    batches = [bulk_batch(rng) for _ in range(args.batches)]
    with tempfile.TemporaryDirectory() as tmp, run_service(Path(tmp) / name, env=env) as svc:
        bulk_key, chat_key = svc.create_key("bulk"), svc.create_key("interactive")

        def client(key: str) -> httpx.Client:
            return httpx.Client(
                base_url=svc.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120
            )

        chat = client(chat_key)
        idle: list[float] = []
        errors: list[str] = []
        interactive_loop(chat, time.monotonic() + args.warmup, [], errors)
        interactive_loop(chat, time.monotonic() + args.idle, idle, errors)
        loaded: list[float] = []
        tally = {"accepted": 0, "429": 0, "errors": 0, "unfinished": 0}
        deadline = time.monotonic() + args.loaded
        senders = [
            threading.Thread(
                target=bulk_sender, args=(client(bulk_key), b, deadline, tally), daemon=True
            )
            for b in batches
        ]
        for sender in senders:
            sender.start()
        interactive_loop(chat, deadline, loaded, errors)
        # The window is over: what the bulk tenant still has in flight is not waited for.
        log = svc.logs()
    result = {
        "config": name,
        "env": env,
        "idle": summary(idle),
        "loaded": summary(loaded),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "bulk": tally,
        "crashes": log.count("Traceback") + log.count("unhandled "),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg()[0],
    }
    result["p95_ratio"] = result["loaded"]["p95_ms"] / result["idle"]["p95_ms"]
    return result


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return "?"


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def markdown(runs: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Tessera fairness: {meta['batches']} bulk batches of ~1.95 MB against one-line adds",
        "",
        f"{meta['when']} · {meta['cpus']} CPUs · Python {meta['python']} · commit {meta['commit']}"
        f" · idle {meta['idle']} s, loaded {meta['loaded']} s (from the first batch)"
        f" · {meta['repeat']} round(s), configurations interleaved",
        "",
        "| configuration | median p95 loaded / idle | each round |",
        "|---|---:|---|",
    ]
    for name in meta["configs"]:
        ratios = [r["p95_ratio"] for r in runs if r["config"] == name]
        lines.append(
            f"| {name} | {median(ratios):.2f}x | {', '.join(f'{x:.2f}x' for x in ratios)} |"
        )
    lines += [
        "",
        "| round | configuration | load avg (1 min) before / after | idle p50 ms | idle p95 ms | "
        "loaded p50 ms | loaded p95 ms | loaded max ms | p95 loaded / idle | "
        "interactive errors | bulk accepted | bulk 429s |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        i, lo, b = run["idle"], run["loaded"], run["bulk"]
        lines.append(
            f"| {run['round']} | {run['config']} | {run['loadavg_before']:.1f} / "
            f"{run['loadavg_after']:.1f} | {i['p50_ms']:.1f} | {i['p95_ms']:.1f} | "
            f"{lo['p50_ms']:.1f} | {lo['p95_ms']:.1f} | {lo['max_ms']:.1f} | "
            f"{run['p95_ratio']:.2f}x | {run['errors']} | {b['accepted']} | {b['429']} |"
        )
    lines += [
        "",
        "baseline: scheduler and byte budget off (`TESSERA_FAIR_WORK_SLOTS=0`, "
        "`TESSERA_WORK_BUDGET_BYTES_PER_MINUTE=0`); fair: the defaults. A 429 is the byte "
        "budget refusing a batch; the bulk client waits `Retry-After` and resends it. The load "
        f"average is the machine's ({meta['cpus']} CPUs, shared with other work).",
        "",
        f"Command: `python bench/load/fairness.py --batches {meta['batches']} --idle "
        f"{meta['idle']} --loaded {meta['loaded']} --repeat {meta['repeat']}`",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--loaded", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--configs", default="baseline,fair")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, configurations interleaved")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    configs = args.configs.split(",")
    runs = []
    for round_no in range(1, args.repeat + 1):
        for name in configs:
            run = run_config(name, CONFIGS[name], args)
            run["round"] = round_no
            runs.append(run)
            print(
                f"round {round_no} {name}: p95 {run['loaded']['p95_ms']:.0f} ms loaded / "
                f"{run['idle']['p95_ms']:.0f} ms idle = {run['p95_ratio']:.2f}x "
                f"(load avg {run['loadavg_before']:.1f} -> {run['loadavg_after']:.1f})",
                flush=True,
            )
    meta = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit(),
        "batches": args.batches,
        "idle": args.idle,
        "loaded": args.loaded,
        "repeat": args.repeat,
        "configs": configs,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "fairness.json").write_text(
        json.dumps({"meta": meta, "runs": runs}, indent=2) + "\n", encoding="utf-8"
    )
    text = markdown(runs, meta)
    (args.output_dir / "fairness.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
