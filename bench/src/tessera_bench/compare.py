"""Two or more quality runs side by side: the same figures of each system, run by run.

For comparing one service setting against another on the same ingest (see
``--reuse-service``), e.g. the rerank guard off and on. Reads the runs' JSON result files
and writes ``<name>.json`` and ``<name>.md``; nothing is measured here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import paths
from .report import command_line, write_result

#: LoCoMo runs: recall of the evidence turns within word budgets and at k items.
LOCOMO_FIGURES = (
    "recall@budget250",
    "recall@budget500",
    "recall@budget1000",
    "recall@5",
    "recall@10",
)
#: LongMemEval runs: session recall at k, turn recall within 500 words and at k.
FIGURES = (
    "recall_any@5",
    "recall_any@10",
    "turn_recall@budget500",
    "turn_recall@5",
    "turn_recall@10",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="LABEL=RESULT_NAME pairs (results in --out)")
    p.add_argument(
        "--group",
        default="",
        help="also show one question group: a LongMemEval question type (e.g. "
        "single-session-assistant) or a LoCoMo category (e.g. 1 for multi-hop)",
    )


def figures_of(docs: list[dict[str, Any]]) -> tuple[str, ...]:
    """The figures to put side by side: LoCoMo's when every run is LoCoMo, else LongMemEval's."""
    return LOCOMO_FIGURES if all(d.get("benchmark") == "locomo" for d in docs) else FIGURES


def _row(entry: dict[str, Any], part: str | None, figures: tuple[str, ...]) -> dict[str, Any]:
    source = entry if part is None else entry.get("by_part", {}).get(part, {})
    return {k: source.get(k) for k in (*figures, "questions")}


def run(args: argparse.Namespace) -> int:
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "compare"
    runs: dict[str, dict[str, Any]] = {}
    for pair in args.runs:
        label, _, stem = pair.partition("=")
        runs[label] = json.loads((out_dir / f"{stem}.json").read_text(encoding="utf-8"))
    figures = figures_of(list(runs.values()))
    table: list[dict[str, Any]] = []
    for label, doc in runs.items():
        for system, entry in doc["systems"].items():
            for part in (None, "tune", "report"):
                row = _row(entry, part, figures)
                if not row.get("questions"):
                    continue
                table.append({"run": label, "system": system, "part": part or "all", **row})
            if args.group:
                groups = entry.get("by_question_type") or entry.get("by_category") or {}
                group = groups.get(args.group)
                if group:
                    table.append(
                        {
                            "run": label,
                            "system": system,
                            "part": args.group,
                            **{k: group.get(k) for k in (*figures, "questions")},
                        }
                    )
    doc = {
        "benchmark": "compare",
        "name": name,
        "command": command_line(),
        "runs": {label: d["name"] for label, d in runs.items()},
        "settings": {label: d.get("settings", {}) for label, d in runs.items()},
        "figures": list(figures),
        "rows": table,
    }
    print(write_result(out_dir, doc, markdown))
    return 0


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(doc: dict[str, Any]) -> str:
    figures = tuple(doc.get("figures") or FIGURES)
    lines = [
        f"# {doc['name']}",
        "",
        f"`{doc['command']}` — runs: "
        + ", ".join(f"{label} = `{stem}`" for label, stem in doc["runs"].items()),
        "",
        "| part | system | run | questions | " + " | ".join(figures) + " |",
        "| --- | --- | --- | ---: | " + " | ".join("---:" for _ in figures) + " |",
    ]
    rows = sorted(doc["rows"], key=lambda r: (r["part"], r["system"]))
    for r in rows:
        lines.append(
            f"| {r['part']} | {r['system']} | {r['run']} | {_fmt(r['questions'])} | "
            + " | ".join(_fmt(r[k]) for k in figures)
            + " |"
        )
    lines.append("")
    return "\n".join(lines)
