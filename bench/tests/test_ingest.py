"""The ingest comparison end to end at a tiny size: real services on SQLite files, a real
`tessera worker`, the bundled embedder. Checks what the run counts, never its timings."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from tessera_bench.cli import main
from tessera_bench.ingest import Variant, add_requests, parse_variant, turn_bodies


def test_a_variant_names_a_source_tree_and_settings() -> None:
    assert parse_variant("current") == Variant("current")
    v = parse_variant("old:tree=/src/old,TESSERA_TURN_PART_CHARS=5000")
    assert v == Variant("old", "/src/old", {"TESSERA_TURN_PART_CHARS": "5000"})
    pg = parse_variant("pg:backend=postgres,workers=2")
    assert (pg.backend, pg.workers) == ("postgres", 2)
    many = parse_variant("many:clients=8,adds=single,processes=2")
    assert (many.clients, many.single, many.processes) == (8, True, 2)
    bad_items = ("x:clients=0", "x:adds=some", "x:processes=")
    for bad in (":tree=/x", "x:tree", "x:PATH=/y", "x:backend=mysql", "x:workers=0", *bad_items):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_variant(bad)


def test_every_variant_of_a_round_gets_the_same_turns() -> None:
    texts = [f"text {i}" for i in range(50)]
    assert turn_bodies(texts, 3, 4, 9) == turn_bodies(texts, 3, 4, 9)
    bodies = turn_bodies(texts, 3, 4, 9)
    assert [b["user_id"] for b in bodies] == ["ingest-0000", "ingest-0001", "ingest-0002"]
    assert [m["role"] for m in bodies[0]["messages"]] == ["user", "assistant"] * 2


def test_single_adds_send_each_users_turns_in_order() -> None:
    bodies = turn_bodies([f"text {i}" for i in range(50)], 2, 3, 9)
    assert add_requests(bodies, single=False) == [[("/v1/memories:batch", b)] for b in bodies]
    users = add_requests(bodies, single=True)
    assert [[body["turn_id"] for _, body in user] for user in users] == [
        ["t000", "t001", "t002"]
    ] * 2
    path, body = users[1][2]
    message = bodies[1]["messages"][2]
    assert path == "/v1/memories"
    assert body == {"user_id": "ingest-0001", "infer": True, "mode": "async", **message}


@pytest.mark.slow  # two services and two workers: left out of the fast lane (CI runs it)
def test_ingest_counts_what_each_variant_embedded(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "results"
    code = main(
        [
            "ingest",
            "--rounds",
            "1",
            "--users",
            "2",
            "--turns",
            "8",  # the cadence: a job is queued once eight turns wait
            "--variant",
            "base",
            "--variant",
            "whole:TESSERA_TURN_PART_CHARS=200000",
            "--data",
            str(data_dir),
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
            "--name",
            "ingest-test",
        ]
    )
    assert code == 0
    doc: dict[str, Any] = json.loads((out / "ingest-test.json").read_text())
    runs = {r["variant"]: r for r in doc["runs"]}
    assert set(runs) == {"base", "whole"}
    for run in runs.values():
        assert run["turns"] == run["turns_consolidated"] == 16
        assert run["jobs"] == 2
        assert run["embedded"]["turns"]["texts"] == 16
        assert run["embedded"]["episodes"]["texts"] >= 4  # an episode holds at most 4 turns
        assert run["consolidation_tokens_per_turn"] > 0
    # The same turns were sent to both: the same text embedded at add.
    assert runs["base"]["add_tokens_per_turn"] == runs["whole"]["add_tokens_per_turn"]
    md = (out / "ingest-test.md").read_text()
    assert "| base |" in md and "TESSERA_TURN_PART_CHARS=200000" in md


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("pgserver") is None or importlib.util.find_spec("psycopg") is None,
    reason="needs tessera-server[postgres,test]",
)
def test_ingest_on_postgres_counts_the_database_cpu(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "results"
    args = ["ingest", "--rounds", "1", "--users", "2", "--turns", "8", "--name", "pg"]
    args += ["--variant", "pg:backend=postgres,workers=2", "--data", str(data_dir)]
    assert main([*args, "--out", str(out), "--work", str(tmp_path / "work")]) == 0
    run = json.loads((out / "pg.json").read_text())["runs"][0]
    assert (run["backend"], run["workers"]) == ("postgres", 2)
    assert run["turns"] == run["turns_consolidated"] == 16
    assert run["embedded"]["turns"]["texts"] == 16
    # The server's own processes were found and read (16 inserts may take under one clock
    # tick of CPU, so the figure itself may be 0).
    assert run["db_cpu_ms_per_turn_added"] is not None and run["db_cpu_ms_per_turn_added"] >= 0
    assert run["db_cpu_ms_per_turn_consolidated"] is not None
