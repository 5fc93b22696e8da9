"""The latency runner's plumbing against a fake service. No timing is asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from tessera_bench.latency import (
    Profile,
    Runner,
    TextPool,
    _labelled_env,
    compare_configurations,
    configurations_markdown,
    latency_markdown,
    latency_plot,
    measure,
    percentile,
    process_tree_cpu_s,
    process_tree_rss_mb,
    summarise,
)


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile([10.0], 95) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert math.isnan(percentile([], 50))


def test_summarise_in_milliseconds() -> None:
    s = summarise([0.001, 0.002, 0.003], wall_s=0.5)
    assert s["p50_ms"] == 2.0
    assert s["n"] == 3
    assert s["per_second"] == 6.0


def test_text_pool_cycles_with_distinct_texts() -> None:
    pool = TextPool(["a", "b"])
    assert pool.take(5) == ["a", "b", "a (#1)", "b (#1)", "a (#2)"]
    with pytest.raises(ValueError):
        TextPool([])


def test_cpu_of_this_process_tree() -> None:
    import os

    if not Path("/proc").is_dir():
        pytest.skip("needs /proc")
    before = process_tree_cpu_s(os.getpid())
    sum(i * i for i in range(2_000_000))  # some CPU work
    after = process_tree_cpu_s(os.getpid())
    assert before is not None and after is not None and after > before


def test_rss_of_this_process_tree() -> None:
    import os

    rss = process_tree_rss_mb(os.getpid())
    if Path("/proc").is_dir():
        assert rss is not None and rss > 0


class FakeService:
    def __init__(self) -> None:
        self.memories: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.pins: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] = self.calls.get(path, 0) + 1
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        if path == "/v1/memories:batch":
            self.memories[body["user_id"]] = self.memories.get(body["user_id"], 0) + len(
                body["messages"]
            )
            assert body["infer"] is False
            return httpx.Response(201, json={"results": []})
        if path == "/v1/memories" and request.method == "GET":
            return httpx.Response(200, json={"items": [{"id": "ep_1"}], "has_more": True})
        if path == "/v1/memories/ep_1/pin":
            self.pins.append(request.method)
            return httpx.Response(200, json={"id": "ep_1", "pinned": True, "changed": True})
        if path == "/v1/memories":
            self.memories[body["user_id"]] = self.memories.get(body["user_id"], 0) + 1
            if body["mode"] == "sync":
                return httpx.Response(200, json={"turn_id": "t", "consolidation": {}})
            job = {"id": "job_1"} if body["infer"] else None
            return httpx.Response(
                201,
                json={
                    "turn_id": "t",
                    "created": True,
                    "consolidation_queued": bool(job),
                    "job": job,
                },
            )
        if path == "/v1/search":
            return httpx.Response(200, json={"results": []})
        if path == "/v1/query":
            return httpx.Response(200, json={"context": ""})
        if path.startswith("/v1/jobs/"):
            return httpx.Response(200, json={"id": "job_1", "status": "succeeded"})
        return httpx.Response(404)


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_measure_grows_one_scope_and_reports_every_cell(tmp_path: Path) -> None:
    fake = FakeService()
    runner = Runner("http://t", "k", user_id="lat", top_k=10, transport=httpx.MockTransport(fake))
    profile = Profile(sizes=(20, 60), searches=4, queries=2, adds=2, ingest_sample=10)
    cells = dict(
        measure(
            runner,
            # Texts lengthen along the pool, as the real one does (chat turns, then answers).
            TextPool([" ".join(["turn"] * (i + 1)) for i in range(70)]),
            ["q1", "q2", "q3"],
            sizes=profile.sizes,
            concurrency=(1, 3),
            profile=profile,
            batch_size=7,
            service_pid=None,
        )
    )
    runner.close()
    assert list(cells) == [20, 60]
    # Each size counts the single adds made before it; the last size's adds come on top.
    assert fake.memories["lat"] == 60 + 2 * 3
    cell = cells[60]
    solo, crowd = cell["ingest"]["c1"], cell["ingest"]["c3"]
    assert solo["turns"] + crowd["turns"] == 60 - 26
    # The concurrent sample is spread over the slice, so both see texts of the same lengths.
    assert solo["tokens"] > solo["turns"] and solo["tokens_per_second"] > 0
    assert abs(crowd["tokens_per_turn"] - solo["tokens_per_turn"]) < 0.2 * solo["tokens_per_turn"]
    assert set(cell["search"]) == {"rerank_off", "rerank_on", "after_pin"}
    assert cell["search"]["after_pin"]["n"] == profile.pins
    assert fake.pins[:4] == ["POST", "DELETE", "POST", "DELETE"]
    assert set(cell["search"]["rerank_on"]) == {"c1", "c3"}
    assert cell["search"]["rerank_off"]["c3"]["n"] == 4
    assert set(cell["query"]) == {"reasoning", "chat"}
    assert set(cell["add"]) == {"infer_false", "async", "sync"}
    assert cell["jobs_left_running"] == 0

    doc = {
        "name": "t",
        "created_at": "now",
        "command": "python -m tessera_bench latency",
        "machine": {"cpu": "cpu", "cores": 2},
        "settings": {"profile": "quick", "concurrency": [1, 3]},
        "sizes": {str(k): v for k, v in cells.items()},
    }
    md = latency_markdown(doc)
    assert md.count("\n| 20 |") + md.count("\n| 60 |") == 2
    assert f"| {solo['tokens_per_turn']} | {solo['tokens_per_second']} |" in md
    latency_plot(doc, tmp_path / "lat.png")
    assert (tmp_path / "lat.png").stat().st_size > 1000


def test_configurations_are_compared_on_the_same_questions_in_turns() -> None:
    seen: dict[str, list[str]] = {"a": [], "b": []}
    order: list[str] = []

    def service(label: str) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            seen[label].append(json.loads(request.content)["query"])
            order.append(label)
            return httpx.Response(200, json={"results": []})

        return httpx.MockTransport(answer)

    runners = {
        label: Runner("http://t", "k", user_id="u", top_k=5, transport=service(label))
        for label in ("a", "b")
    }
    questions = [f"q{i}" for i in range(50)]
    out = compare_configurations(
        runners, questions, concurrency=(1, 2), searches=16, rounds=2, offset=3
    )
    for runner in runners.values():
        runner.close()
    assert seen["a"] == seen["b"]  # warm-up and every round: the same questions
    warm = 8 * 2
    assert out["a"]["c1"]["n"] == 16 and out["b"]["c2"]["n"] == 16
    assert out["a"]["c2"]["per_second"] > 0
    # The clients' own CPU and the machine's load are reported beside every cell; the
    # service's CPU only where its process is known.
    assert out["a"]["c2"]["client_cpu_ms_per_request"] >= 0
    assert "load_average" in out["b"]["c1"]
    assert "service_cpu_ms_per_request" not in out["a"]["c1"]
    # The first round starts with `a` at c1, the second with `b`.
    assert order[2 * warm] == "a" and order[2 * warm + 8 * 2 + 8 * 2] == "b"
    doc = {
        "settings": {"concurrency": [1, 2], "processes": 2, "comparison_rounds": 2},
        "sizes": {
            "10": {"configurations": out, "service_rss_mb": 10.0},
        },
    }
    lines = configurations_markdown(doc)
    assert sum(line.startswith("| 10 |") for line in lines) == 2


def test_each_also_configuration_is_labelled_with_its_environment() -> None:
    assert _labelled_env("lanes1:TESSERA_EMBEDDER_CROWDED_LANES=1,TESSERA_X=a=b") == (
        "lanes1",
        {"TESSERA_EMBEDDER_CROWDED_LANES": "1", "TESSERA_X": "a=b"},
    )
    for bad in ("lanes1", "lanes1:", ":A=1", "reference:A=1", "one_process:A=1"):
        with pytest.raises(SystemExit):
            _labelled_env(bad)
    cell = {"n": 1.0, "p50_ms": 1.0, "p95_ms": 2.0, "per_second": 3.0}
    doc = {
        "settings": {
            "concurrency": [1, 8],
            "processes": 0,
            "comparison_rounds": 2,
            "also_env": {"lanes1": [("TESSERA_EMBEDDER_CROWDED_LANES", "1")]},
        },
        "sizes": {
            "10": {
                "configurations": {
                    "one_process": {"c1": cell, "c8": cell},
                    "lanes1": {"c1": cell, "c8": cell},
                },
                "lanes1_service_rss_mb": 12.5,
            }
        },
    }
    text = "\n".join(configurations_markdown(doc))
    assert "lanes1 = TESSERA_EMBEDDER_CROWDED_LANES=1" in text
    assert "| 10 | lanes1 |" in text and "| 12.5 |" in text
