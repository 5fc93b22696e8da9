"""Smoke test of the load generator (`bench/load/loadgen.py`): a tiny run, end to end.

It checks that the generator runs, drives every operation, counts 429s apart from errors, and
writes its JSON, markdown and plot. It never asserts a timing: the figures of a two-second run
on a shared machine mean nothing. The real runs are `python bench/load/loadgen.py` (60 s) and
`--soak 600`, on demand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tessera_server.testing import ServiceHandle

REPO_ROOT = Path(__file__).resolve().parents[3]
LOADGEN = REPO_ROOT / "bench" / "load" / "loadgen.py"
pytestmark = [
    pytest.mark.skipif(not LOADGEN.is_file(), reason="bench/load is not in this tree"),
    pytest.mark.slow,  # load runs take minutes: left out of the fast lane (it runs in CI)
]


def run_loadgen(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, str(LOADGEN), "--output-dir", str(out), "--name", "smoke", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO_ROOT,
    )
    report = out / "smoke.json"
    assert report.is_file(), f"no report; exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads(report.read_text())


def test_against_its_own_service(tmp_path: Path) -> None:
    """The default path: the generator starts `tessera serve`, loads it, samples its RSS."""
    proc, doc = run_loadgen(
        tmp_path, "--clients", "3", "--duration", "2", "--warmup", "0.5", "--prefill", "3"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = doc["results"]
    assert set(results["operations"]) == {"add", "search", "query"}
    overall = results["overall"]
    assert overall["requests"] > 0
    assert overall["errors"] == 0, results["operations"]
    assert doc["service_log_crashes"] == 0
    assert results["rss"]["samples"], "the started service's RSS was not sampled"
    assert doc["config"]["rate_limit_per_minute"] >= 1_000_000
    markdown = (tmp_path / "smoke.md").read_text()
    assert "| **all** |" in markdown and "p99 ms" in markdown
    pytest.importorskip("matplotlib")
    assert (tmp_path / "smoke-rss.png").stat().st_size > 0


def test_against_a_running_service(tmp_path: Path, service: ServiceHandle) -> None:
    """`--base-url`/`--api-key`/`--service-pid`: load a service someone else started."""
    proc, doc = run_loadgen(
        tmp_path,
        "--base-url",
        service.base_url,
        "--api-key",
        service.create_key("load-smoke"),
        "--service-pid",
        str(service.process.pid),
        "--clients",
        "2",
        "--duration",
        "1.5",
        "--warmup",
        "0",
        "--prefill",
        "2",
        "--mix",
        "add=1,search=1",
        "--no-plot",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ops = doc["results"]["operations"]
    assert set(ops) == {"add", "search"}
    assert all(op["errors"] == 0 for op in ops.values()), ops
    assert doc["results"]["rss"]["samples"]
    assert doc["config"]["rate_limit_per_minute"] is None  # not the generator's to set
    assert not (tmp_path / "smoke-rss.png").exists()


def test_deliberate_429s_are_counted_apart_from_errors(tmp_path: Path) -> None:
    """With a tiny rate limit (5 a minute) the service answers 429 after five requests:
    those are counted as 429s, honoured (Retry-After), and are not errors."""
    proc, doc = run_loadgen(
        tmp_path,
        "--rate-limit",
        "5",
        "--prefill",
        "0",
        "--clients",
        "3",
        "--duration",
        "2",
        "--warmup",
        "0",
        "--no-plot",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    overall = doc["results"]["overall"]
    assert overall["rate_limited_429"] > 0
    assert overall["errors"] == 0
    assert overall["ok"] <= 5
