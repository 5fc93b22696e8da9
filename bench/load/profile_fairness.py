#!/usr/bin/env python
"""Where does an interactive add's time go while another tenant imports? A sampling profile.

Runs one configuration of `fairness.py` (the same scenario) and, during its loaded window,
samples the service with `py-spy` (`pip install py-spy`; it needs permission to read another
process, e.g. root in a container). The samples of request threads inside the one-line add
(`add_memory`) are put in classes by the frame they were in: waiting for the embedding model,
running it, SQLite's write lock, the fairness gate, anything else. Writes
`results/fairness-profile-<config>.md` (and `.json`).

    python bench/load/profile_fairness.py --config fair
    python bench/load/profile_fairness.py --config baseline --label before

To profile other code (an older commit), put its `src` first on `PYTHONPATH` (the service
inherits the environment) and say which in `--code-note`:

    git archive da093b4 packages/tessera-server/src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/packages/tessera-server/src python bench/load/profile_fairness.py \
        --label before --code-note "commit da093b4"
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]

# (class, frame names that put a sample in it, looked for from the innermost frame out)
CLASSES = [
    ("running the model", ("InferRequest.infer", "InferenceSession.run")),
    ("waiting for the model", ("OpenVinoGraph.run", "_Combiner.embed")),
    ("SQLite write lock or commit", ("ConnectionPool._write",)),
    ("fairness gate", ("FairGate.",)),
]


def classify(frames: list[str]) -> str:
    leaf = frames[-1].split(" (")[0]
    for name, marks in CLASSES:
        if any(leaf.startswith(mark) for mark in marks):
            return name
    return "other (parsing, Python, SQL reads)"


def service_pid(parent: int, timeout: float = 120) -> int:
    """The `tessera serve` process that fairness.py started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
        for pid in out.stdout.split():
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in args:
                return int(pid)
        time.sleep(0.5)
    raise SystemExit("the service did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="fair", choices=["baseline", "fair"])
    parser.add_argument("--label", default="", help="added to the output name")
    parser.add_argument("--code-note", default="", help="which service code ran, when not HEAD")
    parser.add_argument("--idle", type=float, default=8.0)
    parser.add_argument("--loaded", type=float, default=40.0)
    parser.add_argument("--sample", type=float, default=25.0, help="seconds sampled")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    warmup = 2.0
    with tempfile.TemporaryDirectory() as tmp:
        bench = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "fairness.py"),
                "--configs",
                args.config,
                "--idle",
                str(args.idle),
                "--loaded",
                str(args.loaded),
                "--warmup",
                str(warmup),
                "--output-dir",
                tmp,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        pid = service_pid(bench.pid)
        # The service loads its model, then the interactive client warms up and runs idle;
        # start a few seconds into the loaded window.
        time.sleep(warmup + args.idle + 10)
        raw = Path(tmp) / "samples.txt"
        subprocess.run(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--threads",
                "--idle",
                "--nonblocking",
                "-d",
                str(int(args.sample)),
                "-r",
                "50",
                "--format",
                "raw",
                "-o",
                str(raw),
            ],
            capture_output=True,
            check=True,
        )
        bench.communicate()
        result = json.loads((Path(tmp) / "fairness.json").read_text(encoding="utf-8"))
        classes: Counter[str] = Counter()
        for line in raw.read_text(encoding="utf-8").splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if any(f.startswith("add_memory ") for f in frames):
                classes[classify(frames)] += int(count)
    total = sum(classes.values())
    run = result["runs"][0]
    name = f"fairness-profile-{args.config}{'-' + args.label if args.label else ''}"
    lines = [
        f"# Where a one-line add's time goes under a bulk import ({args.config}"
        f"{', ' + args.label if args.label else ''})",
        "",
        f"{result['meta']['when']} · {os.cpu_count()} CPUs · commit {result['meta']['commit']}"
        f" · load avg {run['loadavg_before']:.1f} -> {run['loadavg_after']:.1f}"
        f" · {total} samples of request threads in `add_memory`, {args.sample:.0f} s at 50 Hz",
        "",
        *([f"Service code: {args.code_note}", ""] if args.code_note else []),
        "| where | share of samples |",
        "|---|---:|",
        *(f"| {k} | {v / total:.0%} |" for k, v in classes.most_common()),
        "",
        f"In the same run: idle p95 {run['idle']['p95_ms']:.0f} ms, loaded p95 "
        f"{run['loaded']['p95_ms']:.0f} ms ({run['p95_ratio']:.2f}x).",
        "",
        f"Command: `python bench/load/profile_fairness.py --config {args.config}"
        f"{' --label ' + args.label if args.label else ''}`",
        "",
    ]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{name}.json").write_text(
        json.dumps({"classes": dict(classes), "run": run, "meta": result["meta"]}, indent=2) + "\n",
        encoding="utf-8",
    )
    (args.output_dir / f"{name}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
