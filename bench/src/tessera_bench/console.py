"""Console: how fast the memory console's pages answer on big scopes.

``python -m tessera_bench console --memories 10000,100000``

For each size, a fresh SQLite database gets one scope (one user) of N verbatim memories —
the turn and note episode `POST /v1/memories` writes with ``infer=false``, bulk-loaded through
the store exactly as ``scale`` does (real LoCoMo/LongMemEval turns embedded once with the
service's embedder and reused, with a little noise per vector) — plus N/10 facts in supersession
chains (each a subject and relation whose value changed over time: every version but the last
closed by its successor) and some foresight. A real ``tessera serve`` (worker off) is started on
it, the benchmark signs in to ``/console`` with a key, and times, over loopback HTTP:

- the scope page (first page of the timeline, and a page deep in it by cursor);
- the facts page (every fact, and as of a past instant);
- the search playground (a POST that runs an explained search and composes the agent context);

and in the same run, as the baseline, the HTTP API calls those pages wrap: ``GET /v1/memories``
(a page of 25), ``POST /v1/search`` and ``POST /v1/query`` with the same questions. Latency is
client-side over loopback (service and client share the machine); nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from . import paths
from .latency import load_pools, settle, summarise
from .scale import Population, noise_vectors, pool_vectors, sqlite_bulk_load

log = logging.getLogger("tessera_bench.console")

RELATIONS = ("lives_in", "works_as", "likes", "owns", "studies", "plays", "drives", "reads")
PAGES = ("scope", "scope_deep", "facts", "facts_as_of", "search")
# The API call(s) each page wraps, timed in the same run; the facts pages have none (the API
# has no whole-history listing of facts).
BASELINES = {"scope": "api_list", "scope_deep": "api_list", "search": "api_search_and_query"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memories", default="10000,100000", help="scope sizes, comma separated")
    p.add_argument("--repeats", type=int, default=20, help="timed requests per page and size")
    p.add_argument("--pool", type=int, default=10_000, help="distinct texts to embed and reuse")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jitter", type=float, default=0.005, help="vector noise std-dev")
    p.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="seconds of gentle searching before timing scopes past 20k memories (the SQLite "
        "backend builds their HNSW graphs in the background)",
    )
    p.add_argument("--work", type=Path, default=None, help="work directory (databases)")
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached embeddings")


def load_facts(path: Path, tenant_id: int, user_id: str, count: int, vectors: Any) -> int:
    """`count` facts in chains: each (subject, relation) changes value every few months."""
    from tessera_server.engine.ids import new_fact_id
    from tessera_server.engine.records import FactEnd, FactRecord
    from tessera_server.store.sqlite.store import SQLiteStore

    store = SQLiteStore(path, int(vectors.shape[1]))
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    chain = 6
    made = 0
    try:
        with store.transaction():
            previous: FactRecord | None = None
            for n in range(count):
                subject = f"topic{n // (chain * len(RELATIONS))}"
                relation = RELATIONS[(n // chain) % len(RELATIONS)]
                step = n % chain
                if step == 0:
                    previous = None
                when = start + timedelta(days=30 * step + (n // chain) % 700)
                record = store.insert_fact(
                    FactRecord(
                        id=new_fact_id(),
                        tenant_id=tenant_id,
                        user_id=user_id,
                        session_id=None,
                        subject=subject,
                        relation=relation,
                        object=f"value {step} of {subject}",
                        text=f"{subject} {relation.replace('_', ' ')} value {step}",
                        role="user",
                        confidence=0.8,
                        importance=0.6,
                        functional=True,
                        t_valid=when,
                        t_created=when,
                        metadata={},
                        created_at=when,
                        embedding=vectors[n % len(vectors)],
                    )
                )
                if previous is not None:
                    store.close_fact(
                        previous.id,
                        tenant_id,
                        FactEnd(t_invalid=when, superseded_by=record.id),
                    )
                previous = record
                made += 1
    finally:
        store.close()
    return made


def timed(call: Callable[[], httpx.Response], repeats: int) -> dict[str, float]:
    for _ in range(2):  # warm-up: caches, templates
        call().raise_for_status()
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = call()
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return summarise(latencies)


def measure_size(
    args: argparse.Namespace,
    memories: int,
    texts: list[str],
    vectors: Any,
    questions: list[str],
    work: Path,
) -> dict[str, Any]:
    from tessera_server.store.sqlite.store import SQLiteStore
    from tessera_server.testing import run_service

    data = work / f"console-{memories}"
    if data.exists():
        import shutil

        shutil.rmtree(data)
    env = {"TESSERA_WORKER_ENABLED": "false", "TESSERA_RATE_LIMIT_PER_MINUTE": "1000000"}
    with run_service(data, env=env, tenant="bench") as service:
        db = data / "tessera.db"
        store = SQLiteStore(db, int(vectors.shape[1]))
        tenant_id, _ = store.ensure_tenant("bench", datetime.now(timezone.utc))
        store.close()
        population = Population(memories, 1, len(texts), args.seed)
        noise = noise_vectors(args.jitter, args.seed) if args.jitter > 0 else None
        t0 = time.perf_counter()
        loaded = sqlite_bulk_load(db, tenant_id, population, texts, vectors, 20_000, noise)
        facts = load_facts(db, tenant_id, population.user_id(0), memories // 10, vectors)
        load_seconds = time.perf_counter() - t0
        user = population.user_id(0)
        api = httpx.Client(
            base_url=service.base_url,
            headers={"Authorization": f"Bearer {service.api_key}"},
            timeout=120,
        )
        rng = np.random.default_rng(args.seed)
        picked = [questions[int(i)] for i in rng.choice(len(questions), args.repeats + 2)]
        asked = iter(picked * 4)

        def api_search() -> httpx.Response:
            return api.post("/v1/search", json={"query": next(asked), "user_id": user, "top_k": 10})

        settle_s = args.settle if memories > 20_000 else 0.0
        settle(api_search, settle_s)
        browser = httpx.Client(base_url=service.base_url, timeout=120, follow_redirects=False)
        signed = browser.post("/console/login", data={"key": service.api_key})
        assert signed.status_code == 303, signed.text[:300]
        first = browser.get("/console/scope", params={"user_id": user})
        first.raise_for_status()
        search_page = browser.get("/console/search", params={"user_id": user}).text
        token = re.search(r'name="csrf" value="([^"]+)"', search_page)
        assert token is not None
        # A cursor half-way down the timeline, taken from the API's own pages.
        cursor = None
        for _ in range(5):
            page = api.get(
                "/v1/memories",
                params={"user_id": user, "limit": 200, **({"cursor": cursor} if cursor else {})},
            ).json()
            cursor = page["next_cursor"]
        as_of = "2021-06-01T00:00"
        calls: dict[str, Callable[[], httpx.Response]] = {
            "scope": lambda: browser.get("/console/scope", params={"user_id": user}),
            "scope_deep": lambda: browser.get(
                "/console/scope", params={"user_id": user, "cursor": cursor}
            ),
            "facts": lambda: browser.get("/console/facts", params={"user_id": user}),
            "facts_as_of": lambda: browser.get(
                "/console/facts", params={"user_id": user, "as_of": as_of}
            ),
            "search": lambda: browser.post(
                "/console/search",
                data={
                    "csrf": token.group(1),
                    "user_id": user,
                    "q": next(asked),
                    "top_k": "10",
                    "episodes": "1",
                    "facts": "1",
                    "rerank": "1",
                    "mode": "reasoning",
                },
            ),
            "api_list": lambda: api.get("/v1/memories", params={"user_id": user, "limit": 25}),
            "api_search_and_query": lambda: _search_and_query(api, user, next(asked)),
        }
        results = {}
        for name, call in calls.items():
            results[name] = timed(call, args.repeats)
            log.info("%s at %d memories: %s", name, memories, results[name])
        api.close()
        browser.close()
    return {
        "memories": memories,
        "episodes": loaded["memories_loaded"],
        "facts": facts,
        "load_seconds": round(load_seconds, 1),
        "settle_seconds": settle_s,
        "pages": results,
    }


def _search_and_query(api: httpx.Client, user: str, question: str) -> httpx.Response:
    """The two API calls the search playground's one page makes in the engine."""
    api.post(
        "/v1/search", json={"query": question, "user_id": user, "top_k": 10}
    ).raise_for_status()
    return api.post("/v1/query", json={"query": question, "user_id": user, "top_k": 10})


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        "# Console page times",
        "",
        f"{doc['created_at']} · commit `{doc['git_commit']}` · `{doc['command']}`",
        "",
        doc["method"],
        "",
        "| memories in the scope | page | p50 ms | p95 ms | mean ms | API baseline p50 / p95 ms |",
        "|---:|---|---:|---:|---:|---|",
    ]
    labels = {
        "scope": "scope (timeline, first page)",
        "scope_deep": "scope (timeline, page 1,000 items down)",
        "facts": "facts (newest 200, both timelines)",
        "facts_as_of": "facts as of a past instant",
        "search": "search playground (explained search + agent context)",
    }
    for size in doc["sizes"]:
        pages = size["pages"]
        for page in PAGES:
            row = pages[page]
            base = BASELINES.get(page)
            baseline = (
                f"{pages[base]['p50_ms']} / {pages[base]['p95_ms']} ({base.replace('_', ' ')})"
                if base
                else ""
            )
            lines.append(
                f"| {size['memories']:,} episodes + {size['facts']:,} facts | {labels[page]} | "
                f"{row['p50_ms']} | {row['p95_ms']} | {row['mean_ms']} | {baseline} |"
            )
    lines.append("")
    return "\n".join(lines)


def run_console(args: argparse.Namespace) -> int:
    from .report import command_line, git_commit, machine_info, write_json

    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "console"
    work: Path = args.work or paths.default_work_dir() / name
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in args.memories.split(",") if x.strip()]
    pool, questions = load_pools(data_dir)
    texts = list(dict.fromkeys(pool.take(args.pool)))
    vectors = pool_vectors(texts, None if args.no_cache else paths.default_cache_dir())
    doc: dict[str, Any] = {
        "benchmark": "console",
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "git_commit": git_commit(paths.repo_root()),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "settings": {"repeats": args.repeats, "pool_texts": len(texts), "seed": args.seed},
        "method": (
            "One scope (one user) per size on SQLite: N verbatim memories (a turn and its note "
            "episode each, bulk-loaded through the store from real LoCoMo/LongMemEval turns "
            "embedded once and reused with per-vector noise) and N/10 facts in supersession "
            "chains of six versions. The benchmark signs in to /console with a key and times "
            f"each page {args.repeats} times after two warm-up requests, client-side over "
            "loopback HTTP against `tessera serve` (worker off); the baseline is the HTTP API "
            "call(s) the page wraps, timed the same way in the same run. Search questions are "
            "LoCoMo/LongMemEval questions drawn at random."
        ),
        "sizes": [],
    }
    for memories in sizes:
        log.info("console pages at %d memories", memories)
        doc["sizes"].append(measure_size(args, memories, texts, vectors, questions, work))
        write_json(out_dir / f"{name}.json", doc)
        (out_dir / f"{name}.md").write_text(markdown(doc), encoding="utf-8")
    print((out_dir / f"{name}.md").read_text(encoding="utf-8"))
    return 0
