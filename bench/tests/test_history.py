"""The history-import benchmark: what it sends, and end to end at a tiny size (real services on
SQLite files, a real `tessera worker`, the bundled embedder). Checks what the run counts and
compares, never its timings."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tessera_bench.cli import main
from tessera_bench.data import Scope, Turn
from tessera_bench.history import BATCH_LIMIT, history_requests
from tessera_bench.tessera import opaque

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def turn(session: str, n: int) -> Turn:
    return Turn(
        turn_id=f"{session}:{n}",
        ref=f"{session}:{n}",
        session_id=session,
        speaker="user" if n % 2 == 0 else "assistant",
        role="user" if n % 2 == 0 else "assistant",
        text=f"line {n} of {session}",
        event_time=T0 + timedelta(minutes=n),
    )


def test_each_session_is_a_batch_in_order_then_one_consolidation() -> None:
    long_session = [turn("a", n) for n in range(BATCH_LIMIT + 3)]
    scope = Scope("q", [*long_session, turn("b", 0), turn("b", 1)], [])
    (user,) = history_requests([scope])
    paths = [path for path, _ in user]
    assert paths == ["/v1/memories:batch"] * 3 + ["/v1/consolidate"]
    first, rest, second = (body for _, body in user[:3])
    assert [len(b["messages"]) for b in (first, rest, second)] == [BATCH_LIMIT, 3, 2]
    assert first["session_id"] == rest["session_id"] == opaque("a") != second["session_id"]
    assert {b["user_id"] for _, b in user} == {"history-0000"}
    assert first["infer"] is True and first["mode"] == "async"
    sent = [m for b in (first, rest, second) for m in b["messages"]]
    # Ids hashed, as the quality benchmark sends them; each turn at its own time.
    assert [m["turn_id"] for m in sent] == [opaque(t.turn_id) for t in scope.turns]
    assert sent[1]["event_time"] == "2024-01-01T00:01:00Z"


@pytest.mark.slow  # two services and two workers: left out of the fast lane (CI runs it)
def test_two_runs_of_the_same_code_store_the_same(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "results"
    args = ["history", "--rounds", "1", "--variant", "one", "--variant", "two"]
    args += ["--chat-users", "1", "--long-users", "1", "--distractors", "1", "--name", "h"]
    args += ["--data", str(data_dir), "--out", str(out), "--work", str(tmp_path / "work")]
    assert main(args) == 0
    doc: dict[str, Any] = json.loads((out / "h.json").read_text())
    assert {(r["kind"], r["variant"]) for r in doc["runs"]} == {
        (k, v) for k in ("chat", "long-reply") for v in ("one", "two")
    }
    for run in doc["runs"]:
        assert run["turns"] == run["turns_consolidated"] > 0
        assert run["stored"]["episodes"]["rows"] > 0 and run["stored"]["turns"]["rows"] > 0
    for per in doc["summary"].values():
        for figures in per.values():
            assert figures["same_items_as_first"] and figures["same_vectors_as_first"]
    md = (out / "h.md").read_text()
    assert "| chat | two |" in md and "yes / yes" in md


@pytest.mark.slow  # loads the model in this process
def test_the_profile_splits_the_cpu_of_both_ways(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "results"
    args = ["history-profile", "--chat-users", "1", "--long-users", "1", "--distractors", "1"]
    args += ["--name", "p", "--data", str(data_dir), "--out", str(out)]
    assert main([*args, "--work", str(tmp_path / "work")]) == 0
    doc: dict[str, Any] = json.loads((out / "p.json").read_text())
    assert [(r["kind"], r["way"]) for r in doc["runs"]] == [
        (k, w) for k in ("chat", "long-reply") for w in ("import", "live")
    ]
    for run in doc["runs"]:
        parts = run["cpu_ms_per_turn_by_part"]
        assert parts["embedding at add"] > 0 and "everything else" in parts
        assert abs(sum(parts.values()) - run["cpu_ms_per_turn"]) < 0.5
        assert run["texts_embedded_per_turn"] >= 1  # each turn at least once, at add


@pytest.mark.slow  # loads the model in this process
def test_the_profile_compares_settings_on_the_same_histories(
    tmp_path: Path, data_dir: Path
) -> None:
    """Variants are settings on top of the defaults, each run on every history and way; with
    a long turn's parts embedded once, a verbatim import of long replies embeds fewer tokens."""
    data = data_dir / "longmemeval_oracle.json.gz"
    with gzip.open(data, "rt", encoding="utf-8") as fh:
        entries = json.load(fh)
    for entry in entries:  # long replies, searched in parts
        for session in entry["haystack_sessions"]:
            for said in session:
                if said["role"] == "assistant":
                    said["content"] = " ".join(f"{said['content']} (note {i})" for i in range(60))
    with gzip.open(data, "wt", encoding="utf-8") as fh:
        json.dump(entries, fh)
    out = tmp_path / "results"
    args = ["history-profile", "--kinds", "long-reply", "--long-users", "1", "--distractors", "1"]
    args += ["--ways", "verbatim,import", "--variant", "once:turn_parts_embedded_once=true"]
    args += ["--variant", "twice:turn_parts_embedded_once=false"]
    args += ["--name", "v", "--data", str(data_dir), "--out", str(out)]
    assert main([*args, "--work", str(tmp_path / "work")]) == 0
    doc: dict[str, Any] = json.loads((out / "v.json").read_text())
    runs = {(r["way"], r["variant"]): r for r in doc["runs"]}
    assert sorted(runs) == [(w, v) for w in ("import", "verbatim") for v in ("once", "twice")]
    assert "embedding at consolidation" not in runs["verbatim", "once"]["cpu_ms_per_turn_by_part"]
    for way in ("import", "verbatim"):
        once, twice = runs[way, "once"], runs[way, "twice"]
        assert once["turns"] == twice["turns"]
        assert once["tokens_embedded_per_turn"] < twice["tokens_embedded_per_turn"]
    md = (out / "v.md").read_text()
    assert "| long-reply | verbatim | once |" in md and "`turn_parts_embedded_once=false`" in md


def test_a_profile_variant_names_real_settings() -> None:
    with pytest.raises(SystemExit):
        main(["history-profile", "--variant", "x:no_such_setting=1"])
