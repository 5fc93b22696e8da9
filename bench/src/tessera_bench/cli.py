"""``tessera-bench`` / ``python -m tessera_bench``: run a benchmark and write its results."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .data import PARTS, Dataset, load_locomo, load_longmemeval, only_part, only_types, subset
from .embedder import CachedEmbedder, Embedder, load_embedder
from .evaluate import LOCOMO_SPEC, LONGMEMEVAL_SPEC, Spec, evaluate
from .metrics import BUDGET_POLICIES
from .report import write_json, write_quality
from .systems import System

log = logging.getLogger("tessera_bench")

RAW_SYSTEMS = ("bm25", "dense", "rrf")
TESSERA_SYSTEMS = {"tessera": True, "tessera-norerank": False}
ALL_SYSTEMS = (*RAW_SYSTEMS, *TESSERA_SYSTEMS, "mem0")
DEFAULT_SYSTEMS = "bm25,dense,rrf,tessera,tessera-norerank"


def _csv_ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _systems(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in ALL_SYSTEMS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown system(s) {', '.join(unknown)}; known: {', '.join(ALL_SYSTEMS)}"
        )
    return names


def _env_pairs(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise SystemExit(f"--service-env expects KEY=VALUE, got {value!r}")
        out[key] = val
    return out


def _add_service_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("service")
    g.add_argument(
        "--base-url",
        default=os.environ.get("TESSERA_BENCH_BASE_URL"),
        help="use a running service instead of starting one",
    )
    g.add_argument(
        "--api-key",
        default=os.environ.get("TESSERA_API_KEY"),
        help="key for --base-url (default: $TESSERA_API_KEY)",
    )
    g.add_argument(
        "--service-dir",
        type=Path,
        default=None,
        help="data directory of a started service (default: bench/.work/service-<name>)",
    )
    g.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for a started service (repeatable), e.g. LLM settings",
    )
    g.add_argument(
        "--reuse-service",
        action="store_true",
        help="start the service on the data already in --service-dir (a previous run's) and "
        "only search: compare service settings (--service-env) without ingesting again",
    )
    g.add_argument(
        "--ingest-only",
        action="store_true",
        help="ingest and consolidate into --service-dir, then stop without searching: a report "
        "part's data is loaded early and its figures read once, later, with --reuse-service",
    )
    g.add_argument(
        "--resume-ingest",
        action="store_true",
        help="keep the data already in --service-dir and send every turn again (a turn id the "
        "service holds is not stored twice), then consolidate: finishes an ingest that was stopped",
    )


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", type=Path, default=None, help="data directory (default ../shared/bench)"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="results directory (default bench/results)"
    )
    p.add_argument("--name", default=None, help="result file stem (default: the benchmark name)")
    p.add_argument("-v", "--verbose", action="store_true")


def _add_quality(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument(
        "--systems",
        type=_systems,
        default=_systems(DEFAULT_SYSTEMS),
        help=f"comma list from {', '.join(ALL_SYSTEMS)} (default {DEFAULT_SYSTEMS})",
    )
    p.add_argument(
        "--part",
        choices=("all", *PARTS),
        default="all",
        help="only the questions of one half: tune (where features are chosen) or report "
        "(the headline); default all, with both halves reported side by side",
    )
    p.add_argument("--limit-scopes", type=int, default=None, help="only the first N scopes")
    p.add_argument("--limit-questions", type=int, default=None, help="only N questions per scope")
    p.add_argument(
        "--budgets", type=_csv_ints, default=None, help="word budgets, e.g. 250,500,1000"
    )
    p.add_argument("--budget-policy", choices=BUDGET_POLICIES, default="fit")
    p.add_argument("--depth", type=int, default=200, help="ranked items kept per raw-turn search")
    p.add_argument("--top-k", type=int, default=100, help="Tessera search top_k")
    p.add_argument(
        "--ingest-workers",
        type=int,
        default=2,
        help="scopes ingested into Tessera concurrently, before searching (turns stay in order)",
    )
    p.add_argument("--embedder", choices=("auto", "service", "local"), default="service")
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (bench/.cache)")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument(
        "--details",
        action="store_true",
        help="also write per-question figures to bench/.work/<name>.questions.json",
    )
    _add_service_args(p)


@dataclass(frozen=True)
class Benchmark:
    """A benchmark with arguments of its own: its subcommand, and the two functions of its
    module that declare its arguments and run it. One row here adds a benchmark."""

    command: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    starts_service: bool = False  # takes the service options (--base-url, --service-env, ...)


def _benchmarks() -> tuple[Benchmark, ...]:
    from . import (
        compare,
        console,
        embedcpu,
        history,
        history_profile,
        ingest,
        latency,
        longturns,
        ocr,
        scale,
    )

    return (
        Benchmark(
            "latency",
            "search/query/add latency and ingest throughput",
            latency.add_arguments,
            latency.run_latency,
            starts_service=True,
        ),
        Benchmark(
            "scale",
            "many memories across many users: search, ingest with workers, sizes",
            scale.add_arguments,
            scale.run_scale,
        ),
        Benchmark(
            "console",
            "server time of the memory console's pages on 10k and 100k scopes",
            console.add_arguments,
            console.run_console,
        ),
        Benchmark(
            "compare",
            "quality runs side by side (e.g. a setting off/on)",
            compare.add_arguments,
            compare.run,
        ),
        Benchmark(
            "long-turns",
            "ingest of long turns (documents, logs): speed, parts, needle found",
            longturns.add_arguments,
            longturns.run,
            starts_service=True,
        ),
        Benchmark(
            "ingest",
            "API add and consolidation turns/s, variant against variant, same run",
            ingest.add_arguments,
            ingest.run_ingest,
        ),
        Benchmark(
            "embedder-cpu",
            "the embedding model's runtimes and arithmetic on this CPU: speed, vectors' drift",
            embedcpu.add_arguments,
            embedcpu.run,
        ),
        Benchmark(
            "history",
            "history import (chat and long-reply sessions): add and consolidation turns/s, "
            "CPU ms per turn, stored items compared, variant against variant",
            history.add_arguments,
            history.run_history,
        ),
        Benchmark(
            "history-profile",
            "where a history import's CPU goes: model, extraction, rebuilds, the rest",
            history_profile.add_arguments,
            history_profile.run,
        ),
        Benchmark(
            "ocr", "OCR of uploaded images: ms per image, words read", ocr.add_arguments, ocr.run
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera-bench",
        description="Retrieval quality and latency benchmark for the Tessera memory service.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_quality(sub.add_parser("locomo", help="LoCoMo turn-level evidence recall"))
    lme = sub.add_parser("longmemeval", help="LongMemEval oracle turn/session recall")
    _add_quality(lme)
    lme.add_argument(
        "--haystack",
        choices=("oracle", "long"),
        default="oracle",
        help="oracle: each question's evidence sessions only; long: those among "
        "--distractors sessions of other questions (results named longmemeval-long)",
    )
    lme.add_argument(
        "--types",
        default="",
        help="only questions of these types (comma list), e.g. single-session-assistant",
    )
    lme.add_argument(
        "--distractors",
        type=int,
        default=40,
        help="distractor sessions per question with --haystack long (default 40)",
    )
    for bench in _benchmarks():
        p = sub.add_parser(bench.command, help=bench.help)
        _add_common(p)
        bench.add_arguments(p)
        if bench.starts_service:
            _add_service_args(p)
        p.set_defaults(run=bench.run)
    return parser


def _load(args: argparse.Namespace, data_dir: Path) -> tuple[Dataset, Spec]:
    if args.command == "locomo":
        return load_locomo(data_dir), LOCOMO_SPEC
    haystack = getattr(args, "haystack", "oracle")
    return load_longmemeval(
        data_dir, haystack=haystack, distractors=getattr(args, "distractors", 40)
    ), LONGMEMEVAL_SPEC


def run_quality(args: argparse.Namespace) -> int:
    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    dataset, spec = _load(args, data_dir)
    name: str = args.name or dataset.name
    dataset = only_part(dataset, args.part)
    types = [t for t in getattr(args, "types", "").split(",") if t]
    if types:
        dataset = only_types(dataset, types)
        settings_types: list[str] | None = types
    else:
        settings_types = None
    dataset = subset(dataset, scopes=args.limit_scopes, questions=args.limit_questions)
    spec = Spec(
        prefix=spec.prefix,
        budgets=args.budgets or spec.budgets,
        ks=spec.ks,
        session_ks=spec.session_ks,
        policy=args.budget_policy,
        depth=args.depth,
        reordered=spec.reordered,
    )
    wanted: list[str] = args.systems
    if getattr(args, "ingest_only", False) and (
        args.reuse_service or args.base_url or not any(n in TESSERA_SYSTEMS for n in wanted)
    ):
        raise SystemExit(
            "--ingest-only loads a started service: name a tessera system, no "
            "--reuse-service or --base-url"
        )
    log.info(
        "%s: %d scopes, %d questions, systems %s",
        dataset.name,
        len(dataset.scopes),
        len(dataset.questions),
        ",".join(wanted),
    )
    settings: dict[str, Any] = {"part": args.part}
    if settings_types:
        settings["question_types"] = settings_types
    if dataset.name == "longmemeval-long":
        settings["haystack"] = "long"
        settings["distractors"] = args.distractors
    extra: dict[str, Any] = {}
    embedder: Embedder | None = None
    cached: CachedEmbedder | None = None
    if any(n in ("dense", "rrf", "mem0") for n in wanted):
        base = load_embedder(args.embedder)
        cache_dir = None if args.no_cache else (args.cache_dir or paths.default_cache_dir())
        cached = CachedEmbedder(base, cache_dir)
        embedder = cached
        settings["embedder"] = base.model_id
        settings["embedder_source"] = type(base).__name__
    systems: list[System] = []
    with ExitStack() as stack:
        raw = [n for n in wanted if n in RAW_SYSTEMS]
        if raw:
            from .baselines import RAW_SYSTEM_NOTE, RawTurnBaselines

            shared = RawTurnBaselines(embedder)
            systems.extend(shared.systems(raw))
            settings["rrf_k"] = shared.rrf_k
            settings["raw_turn_document"] = RAW_SYSTEM_NOTE
        session = None
        if any(n in TESSERA_SYSTEMS for n in wanted):
            from .tessera import TesseraClient, TesseraSession, TesseraSystem, service

            service_dir = args.service_dir or paths.default_work_dir() / f"service-{name}"
            keep = args.reuse_service or getattr(args, "resume_ingest", False)
            if not args.base_url and service_dir.exists() and not keep:
                shutil.rmtree(service_dir)
            target = stack.enter_context(
                service(
                    base_url=args.base_url,
                    api_key=args.api_key,
                    data_dir=service_dir,
                    env=_env_pairs(args.service_env),
                )
            )
            client = TesseraClient(target.base_url, target.api_key)
            stack.callback(client.close)
            # A started service is fresh; a shared one gets a run-specific scope prefix.
            prefix = "" if not args.base_url else f"bench-{name}-{os.getpid()}-"
            session = TesseraSession(
                client,
                top_k=args.top_k,
                scope_prefix=prefix,
                max_words=max(spec.budgets),
                # Enough hits for every k and for the reordered figure's first hits.
                min_items=max((*spec.ks, spec.reordered[1] if spec.reordered else 0)),
                ingest=not args.reuse_service,
            )
            for n in wanted:
                if n in TESSERA_SYSTEMS:
                    systems.append(TesseraSystem(session, n, rerank=TESSERA_SYSTEMS[n]))
            settings["service_env"] = sorted(_env_pairs(args.service_env))
            settings["service_env_values"] = {
                k: v for k, v in _env_pairs(args.service_env).items() if "KEY" not in k
            }
            settings["reused_ingest"] = bool(args.reuse_service)
        if "mem0" in wanted:
            from .mem0_peer import Mem0System

            assert embedder is not None
            systems.append(Mem0System(embedder, paths.default_work_dir() / f"mem0-{name}"))
        if session is not None:
            session.ingest_all([s for s in dataset.scopes if s.questions], args.ingest_workers)
            if getattr(args, "ingest_only", False):
                log.info("ingest only: %s holds the data; no question searched", service_dir)
                return 0
        order = {n: i for i, n in enumerate(wanted)}
        systems.sort(key=lambda s: order[s.name])
        results = evaluate(dataset, systems, spec, keep_per_question=args.details)
        if session is not None:
            extra["tessera_ingest"] = session.describe_ingest()
        for system in systems:
            system.close()
    if cached is not None:
        cached.save()

    from .report import quality_result

    doc = quality_result(dataset, spec, results, name=name, settings=settings, extra=extra)
    written = write_quality(out_dir, doc, plot=not args.no_plot)
    if args.details:
        # Megabytes of per-question rows: kept next to the scratch data, not in results/.
        detail = paths.default_work_dir() / f"{name}.questions.json"
        write_json(detail, {r.name: r.per_question for r in results})
        written.append(detail)
    print((out_dir / f"{name}.md").read_text(encoding="utf-8"))
    for path in written:
        log.info("wrote %s", path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("bm25s", "httpx", "httpcore", "matplotlib", "PIL", "mem0", "qdrant_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command in ("locomo", "longmemeval"):
        return run_quality(args)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
