from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tessera_bench import cli
from tessera_bench.report import quality_markdown


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch, hash_embedder: object) -> None:
    monkeypatch.setattr(cli, "load_embedder", lambda kind: hash_embedder)


def test_locomo_baseline_run_writes_json_markdown_and_plot(
    data_dir: Path, tmp_path: Path, fake_embedder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.paths, "default_work_dir", lambda: tmp_path / "work")
    out = tmp_path / "results"
    code = cli.main(
        [
            "locomo",
            "--data",
            str(data_dir),
            "--out",
            str(out),
            "--systems",
            "bm25,dense,rrf",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--details",
        ]
    )
    assert code == 0
    doc = json.loads((out / "locomo.json").read_text())
    assert doc["benchmark"] == "locomo"
    assert list(doc["systems"]) == ["bm25", "dense", "rrf"]
    for entry in doc["systems"].values():
        for key in (
            "recall@budget250",
            "recall@budget500",
            "recall@budget1000",
            "recall@5",
            "recall@10",
        ):
            assert 0.0 <= entry[key] <= 1.0
        assert entry["unresolved_evidence"] == 2
        assert entry["questions"] == 5
        # Perfectly ordering the first hits can only raise recall within the budget.
        assert entry["recall@budget500"] <= entry["recall@budget500_first30"] <= 1.0
        assert set(entry["by_category"]) == {"1", "2", "3", "4"}
    assert doc["data"]["unresolved_ids"] == ["conv-a:D9:9", "conv-a:D"]
    assert doc["settings"]["budget_policy"] == "fit"
    assert doc["settings"]["embedder"] == "test-hash"
    assert doc["ratios_vs_best_baseline"] == {}
    md = (out / "locomo.md").read_text()
    assert "| rrf |" in md and "recall@budget500" in md
    assert "**Order or reach: recall@budget500 as ranked / with the first 30 hits" in md
    assert (out / "locomo-recall.png").stat().st_size > 1000
    details = json.loads((tmp_path / "work" / "locomo.questions.json").read_text())
    assert len(details["bm25"]) == 5
    assert (tmp_path / "cache").is_dir()


def test_longmemeval_run_keys(data_dir: Path, tmp_path: Path, fake_embedder: None) -> None:
    out = tmp_path / "results"
    code = cli.main(
        [
            "longmemeval",
            "--data",
            str(data_dir),
            "--out",
            str(out),
            "--name",
            "lme-test",
            "--systems",
            "bm25,rrf",
            "--no-cache",
            "--no-plot",
        ]
    )
    assert code == 0
    doc = json.loads((out / "lme-test.json").read_text())
    for entry in doc["systems"].values():
        for key in ("turn_recall@10", "turn_recall@budget500", "recall_any@5", "recall_any@10"):
            assert key in entry
        per_type = entry["by_question_type"]
        assert set(per_type) == {"single-session-user", "temporal-reasoning"}
        assert "turn_recall@10" in per_type["temporal-reasoning"]
        assert "turn_recall@budget500" in per_type["temporal-reasoning"]
        assert "unresolved_evidence" not in entry
    assert doc["data"]["abstention_skipped"] == 1
    assert not (out / "lme-test-recall.png").exists()


def test_bm25_only_needs_no_embedder(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(kind: str) -> object:
        raise AssertionError("no embedder should be loaded for bm25 alone")

    monkeypatch.setattr(cli, "load_embedder", refuse)
    code = cli.main(
        [
            "locomo",
            "--data",
            str(data_dir),
            "--out",
            str(tmp_path),
            "--systems",
            "bm25",
            "--no-plot",
        ]
    )
    assert code == 0


def test_unknown_system_is_a_usage_error(data_dir: Path) -> None:
    with pytest.raises(SystemExit):
        cli.main(["locomo", "--data", str(data_dir), "--systems", "bm25,splade"])


def test_markdown_shows_ratios_against_the_best_baseline() -> None:
    systems = {
        "bm25": {"recall@budget500": 0.6, "recall@10": 0.5, "questions": 3, "by_category": {}},
        "rrf": {"recall@budget500": 0.7, "recall@10": 0.55, "questions": 3, "by_category": {}},
        "tessera": {"recall@budget500": 0.84, "recall@10": 0.6, "questions": 3, "by_category": {}},
    }
    from tessera_bench.evaluate import Spec
    from tessera_bench.report import ratios

    spec = Spec(prefix="recall", budgets=(500,), ks=(10,))
    r = ratios(systems, spec)
    assert r["tessera"]["recall@budget500"] == {"best_baseline": "rrf", "ratio": 1.2}
    doc = {
        "benchmark": "locomo",
        "name": "x",
        "created_at": "now",
        "command": "python -m tessera_bench locomo",
        "machine": {"cpu": "cpu", "cores": 2},
        "data": {"questions_evaluated": 3, "unresolved_evidence": 0, "unresolved_ids": []},
        "settings": {
            "metric_prefix": "recall",
            "budgets_words": [500],
            "ks": [10],
            "session_ks": [],
            "budget_policy": "fit",
            "groups": {"1": "multi-hop"},
        },
        "systems": systems,
        "ratios_vs_best_baseline": r,
    }
    md = quality_markdown(doc)
    assert "| tessera | 1.200 (rrf) |" in md


def test_quality_run_reports_each_half_beside_the_whole(
    data_dir: Path, tmp_path: Path, fake_embedder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.paths, "default_work_dir", lambda: tmp_path / "work")
    out = tmp_path / "results"
    args = ["longmemeval", "--data", str(data_dir), "--out", str(out), "--systems", "bm25,rrf"]
    assert cli.main([*args, "--cache-dir", str(tmp_path / "cache"), "--no-plot"]) == 0
    doc = json.loads((out / "longmemeval.json").read_text())
    counts = doc["parts"]["questions"]
    assert sum(counts.values()) == doc["data"]["questions_evaluated"]
    for entry in doc["systems"].values():
        halves = entry["by_part"]
        assert sum(h["questions"] for h in halves.values()) == entry["questions"]
        for part, figures in halves.items():
            assert figures["questions"] == counts[part]
            assert 0.0 <= figures["turn_recall@10"] <= 1.0
    assert "**By part**" in (out / "longmemeval.md").read_text()


def test_compare_shows_locomo_runs_by_their_own_figures_and_category(
    data_dir: Path, tmp_path: Path, fake_embedder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LoCoMo runs are compared on LoCoMo's figures (recall within budgets and at k), and
    ``--group`` picks a LoCoMo category as it picks a LongMemEval question type."""
    monkeypatch.setattr(cli.paths, "default_work_dir", lambda: tmp_path / "work")
    out = tmp_path / "results"
    for name, systems in (("one", "bm25"), ("two", "bm25,rrf")):
        argv = ["locomo", "--data", str(data_dir), "--out", str(out), "--name", name]
        argv += ["--systems", systems, "--cache-dir", str(tmp_path / "cache"), "--no-plot"]
        assert cli.main(argv) == 0
    argv = ["compare", "--out", str(out), "--name", "side", "--group", "1", "a=one", "b=two"]
    assert cli.main(argv) == 0
    doc = json.loads((out / "side.json").read_text())
    assert doc["figures"][1] == "recall@budget500"
    one = json.loads((out / "one.json").read_text())["systems"]["bm25"]
    rows = {(r["run"], r["system"], r["part"]): r for r in doc["rows"]}
    assert rows[("a", "bm25", "all")]["recall@budget500"] == one["recall@budget500"]
    assert (
        rows[("a", "bm25", "1")]["recall@budget500"] == one["by_category"]["1"]["recall@budget500"]
    )
    assert ("b", "rrf", "all") in rows
    md = (out / "side.md").read_text()
    assert "| recall@budget500 |" in md and "recall_any@5" not in md


@pytest.fixture
def service_run(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A LongMemEval run of the tessera system on a service in `tmp_path/svc`, results in
    `tmp_path/results` under the name `lme`; a test adds the flags it is about."""
    monkeypatch.setattr(cli.paths, "default_work_dir", lambda: tmp_path / "work")
    run = ["longmemeval", "--data", str(data_dir), "--out", str(tmp_path / "results")]
    run += ["--no-plot", "--systems", "tessera", "--name", "lme"]
    return [*run, "--service-dir", str(tmp_path / "svc")]


def test_ingest_only_loads_a_service_that_a_later_run_only_searches(
    service_run: list[str], tmp_path: Path
) -> None:
    # A real service on loopback: the report part's data is loaded first, its figures read
    # once later on the code of that moment, without ingesting again.
    out, service_dir = tmp_path / "results", tmp_path / "svc"
    assert cli.main([*service_run, "--ingest-only"]) == 0
    assert not out.exists() and (service_dir / "tessera.db").is_file()
    assert cli.main([*service_run, "--reuse-service"]) == 0
    doc = json.loads((out / "lme.json").read_text())
    assert doc["settings"]["reused_ingest"] is True and doc["tessera_ingest"]["turns"] == 0
    assert doc["systems"]["tessera"]["turn_recall@10"] > 0.0
    with pytest.raises(SystemExit):
        cli.main([*service_run, "--ingest-only", "--reuse-service"])


def test_resume_ingest_keeps_the_stored_turns_and_stores_none_twice(
    service_run: list[str], tmp_path: Path
) -> None:
    # A stopped ingest is finished by sending every turn again into the same service folder:
    # the turns already there are kept (not wiped as a fresh run would) and not stored twice.
    assert cli.main([*service_run, "--ingest-only"]) == 0

    def turns() -> int:
        with sqlite3.connect(tmp_path / "svc" / "tessera.db") as conn:
            count: int = conn.execute("SELECT count(*) FROM turns").fetchone()[0]
        return count

    stored = turns()
    assert stored > 0
    assert cli.main([*service_run, "--ingest-only", "--resume-ingest"]) == 0
    assert turns() == stored
    assert cli.main([*service_run, "--resume-ingest"]) == 0
    doc = json.loads((tmp_path / "results" / "lme.json").read_text())
    assert doc["tessera_ingest"]["turns"] > 0 and doc["tessera_ingest"]["turns_created"] == 0
    assert turns() == stored
