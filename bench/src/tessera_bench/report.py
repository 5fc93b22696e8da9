"""Result files: ``<name>.json``, ``<name>.md`` and PNG plots, plus the machine description."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .data import LOCOMO_TUNE_CONVERSATIONS, PARTS, Dataset, file_sha256
from .evaluate import Spec, SystemResult
from .metrics import reordered_key

#: The systems that count as raw-turn baselines when computing ratios.
BASELINES = ("bm25", "dense", "rrf")


def _round(value: float, places: int = 4) -> float | None:
    return None if math.isnan(value) else round(value, places)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def machine_info() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {
            name: _version(name)
            for name in (
                "numpy",
                "onnxruntime",
                "bm25s",
                "PyStemmer",
                "tessera-server",
                "tessera-bench",
                "mem0ai",
            )
            if _version(name)
        },
    }


def command_line() -> str:
    args = sys.argv[1:]
    return " ".join(["python -m tessera_bench", *args])


def run_header(name: str, load_at_start: Sequence[float]) -> dict[str, Any]:
    """What a result says of the run that made it: its name, the command, the machine, and
    the load average when it started and now (a shared machine slows wall times)."""
    return {
        "name": name,
        "command": command_line(),
        "machine": machine_info(),
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(
    out_dir: Path, doc: dict[str, Any], markdown: Callable[[dict[str, Any]], str]
) -> str:
    """A run's `<name>.json` and its `<name>.md` table in `out_dir`; returns the markdown."""
    name = str(doc["name"])
    text = markdown(doc)
    write_json(out_dir / f"{name}.json", doc)
    (out_dir / f"{name}.md").write_text(text, encoding="utf-8")
    return text


def quality_result(
    dataset: Dataset,
    spec: Spec,
    results: Sequence[SystemResult],
    *,
    name: str,
    settings: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of a LoCoMo or LongMemEval run."""
    group_key = "by_category" if dataset.name == "locomo" else "by_question_type"
    systems: dict[str, Any] = {}
    for r in results:
        entry = _figures(r.overall, r.by_group, group_key)
        if dataset.name == "locomo":
            entry["unresolved_evidence"] = dataset.stats.get("unresolved_evidence", 0)
        entry["by_part"] = {
            part: _figures(overall, by_group, group_key)
            for part, (overall, by_group) in r.by_part.items()
        }
        entry["seconds"] = round(r.seconds, 2)
        entry["hits"] = {
            k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.extra.items()
        }
        entry["system"] = r.description
        systems[r.name] = entry
    data: dict[str, Any] = {
        "file": dataset.path.name,
        "sha256": file_sha256(dataset.path) if dataset.path.is_file() else None,
        "scopes": len(dataset.scopes),
        "scopes_with_questions": sum(1 for s in dataset.scopes if s.questions),
        "turns_in_evaluated_scopes": sum(len(s.turns) for s in dataset.scopes if s.questions),
        "questions_evaluated": sum(len(s.questions) for s in dataset.scopes),
        **dataset.stats,
    }
    if dataset.name == "locomo":
        data["unresolved_ids"] = dataset.unresolved_ids
    doc: dict[str, Any] = {
        "benchmark": dataset.name,
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "data": data,
        "settings": {
            "metric_prefix": spec.prefix,
            "budgets_words": list(spec.budgets),
            "ks": list(spec.ks),
            "session_ks": list(spec.session_ks),
            "budget_policy": spec.policy,
            "ranking_depth": spec.depth,
            "reordered_budget_first": list(spec.reordered) if spec.reordered else None,
            "groups": dataset.category_names,
            **settings,
        },
        "parts": {
            "rule": PART_RULES.get(dataset.name, ""),
            "questions": {
                part: sum(1 for q in dataset.questions if q.part == part) for part in PARTS
            },
        },
        "systems": systems,
        "ratios_vs_best_baseline": ratios(systems, spec),
        "ratios_by_part": {
            part: ratios(
                {n: e["by_part"][part] for n, e in systems.items() if part in e["by_part"]}, spec
            )
            for part in PARTS
        },
    }
    if extra:
        doc.update(extra)
    return doc


#: How each data set is halved (data.py applies it; the results record it).
PART_RULES = {
    "locomo": f"conversations 1-{LOCOMO_TUNE_CONVERSATIONS} in file order tune, the rest report",
    "longmemeval": "question id's SHA-256, first byte even: tune; odd: report",
    "longmemeval-long": "question id's SHA-256, first byte even: tune; odd: report",
}


def _figures(
    overall: Mapping[str, float], by_group: Mapping[str, Mapping[str, float]], group_key: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        key: int(value) if key == "questions" else _round(value) for key, value in overall.items()
    }
    entry[group_key] = {
        group: {k: (int(v) if k == "questions" else _round(v)) for k, v in metrics.items()}
        for group, metrics in by_group.items()
    }
    return entry


def ratios(systems: Mapping[str, Mapping[str, Any]], spec: Spec) -> dict[str, Any]:
    """For every non-baseline system: its figure over the best raw-turn baseline's, per key."""
    keys = [f"{spec.prefix}@budget{b}" for b in spec.budgets] + [
        f"{spec.prefix}@{k}" for k in spec.ks
    ]
    present = [b for b in BASELINES if b in systems]
    if not present:
        return {}
    out: dict[str, Any] = {}
    for name, entry in systems.items():
        if name in BASELINES:
            continue
        row: dict[str, Any] = {}
        for key in keys:
            best_name = max(present, key=lambda b: systems[b].get(key) or 0.0)
            best = systems[best_name].get(key) or 0.0
            mine = entry.get(key)
            row[key] = {
                "best_baseline": best_name,
                "ratio": round(mine / best, 3) if mine is not None and best else None,
            }
        out[name] = row
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def quality_markdown(doc: Mapping[str, Any]) -> str:
    settings = doc["settings"]
    prefix = settings["metric_prefix"]
    systems: Mapping[str, Mapping[str, Any]] = doc["systems"]
    budget_keys = [f"{prefix}@budget{b}" for b in settings["budgets_words"]]
    k_keys = [f"{prefix}@{k}" for k in settings["ks"]]
    session_keys = [f"recall_any@{k}" for k in settings["session_ks"]]
    columns = budget_keys + k_keys + session_keys
    title = "LoCoMo" if doc["benchmark"] == "locomo" else "LongMemEval (oracle)"
    machine = doc["machine"]
    lines = [
        f"## {title} — `{doc['name']}`",
        "",
        f"{doc['created_at']} · {machine['cpu']} · {machine['cores']} cores · "
        f"{doc['data']['questions_evaluated']} questions · budget policy "
        f"`{settings['budget_policy']}` · embedder `{settings.get('embedder', 'none')}`",
        "",
        f"`{doc['command']}`",
        "",
        "| system | " + " | ".join(columns) + " | questions |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for name, entry in systems.items():
        cells = [_fmt(entry.get(c)) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {entry.get('questions')} |")
    group_key = "by_category" if doc["benchmark"] == "locomo" else "by_question_type"
    groups: Mapping[str, str] = settings.get("groups", {})
    lines += _parts_markdown(doc, columns, group_key, groups)
    focus = [f"{prefix}@budget500", f"{prefix}@10"]
    for key in focus:
        lines += [
            "",
            f"**{key} by {'category' if group_key == 'by_category' else 'question type'}**",
            "",
            "| system | "
            + " | ".join(f"{g} {label}" if label != g else g for g, label in sorted(groups.items()))
            + " |",
            "|---|" + "---:|" * len(groups),
        ]
        for name, entry in systems.items():
            per = entry.get(group_key, {})
            cells = [_fmt(per.get(g, {}).get(key)) for g in sorted(groups)]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += _reordered_markdown(doc, group_key, groups)
    unresolved = doc["data"].get("unresolved_evidence")
    if unresolved is not None:
        lines += [
            "",
            f"Unresolved evidence ids: {unresolved} "
            f"({', '.join(doc['data'].get('unresolved_ids', []))}); questions without any "
            f"resolvable evidence: {doc['data'].get('questions_without_evidence', 0)}.",
        ]
    ratio_rows = doc.get("ratios_vs_best_baseline") or {}
    if ratio_rows:
        lines += ["", "**Ratio to the best raw-turn baseline**", ""]
        lines.append("| system | " + " | ".join(budget_keys + k_keys) + " |")
        lines.append("|---|" + "---:|" * len(budget_keys + k_keys))
        for name, row in ratio_rows.items():
            cells = [
                f"{_fmt(row[k]['ratio'])} ({row[k]['best_baseline']})" for k in budget_keys + k_keys
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _reordered_markdown(
    doc: Mapping[str, Any], group_key: str, groups: Mapping[str, str]
) -> list[str]:
    """Recall within the budget had each system's first hits been perfectly ordered, beside
    its own: the gap between the two is order, the rest is reach (metrics.evidence_first)."""
    settings = doc["settings"]
    reordered = settings.get("reordered_budget_first")
    if not reordered:
        return []
    budget, first = reordered
    prefix = settings["metric_prefix"]
    own, best = f"{prefix}@budget{budget}", reordered_key(prefix, budget, first)
    systems: Mapping[str, Mapping[str, Any]] = doc["systems"]
    if not any(best in e for e in systems.values()):
        return []
    names = sorted(groups)
    lines = [
        "",
        f"**Order or reach: {own} as ranked / with the first {first} hits perfectly ordered** "
        "(the hits holding evidence first, fewest words first; the gap is order, what stays "
        "missing was not among the first hits)",
        "",
        "| system | all | " + " | ".join(f"{g} {groups[g]}" for g in names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for name, entry in systems.items():
        per = entry.get(group_key, {})
        cells = [f"{_fmt(entry.get(own))} / {_fmt(entry.get(best))}"] + [
            f"{_fmt(per.get(g, {}).get(own))} / {_fmt(per.get(g, {}).get(best))}" for g in names
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _parts_markdown(
    doc: Mapping[str, Any], columns: Sequence[str], group_key: str, groups: Mapping[str, str]
) -> list[str]:
    """The report part (the headline) and the tuning part side by side, with their ratios."""
    parts = doc.get("parts")
    systems: Mapping[str, Mapping[str, Any]] = doc["systems"]
    if not parts or not any(e.get("by_part") for e in systems.values()):
        return []
    prefix = doc["settings"]["metric_prefix"]
    lines = [
        "",
        f"**By part** ({parts['rule']}). Features are chosen on the tuning part only; the "
        "report part is the headline figure.",
        "",
        "| system | part | " + " | ".join(columns) + " | questions |",
        "|---|---|" + "---:|" * (len(columns) + 1),
    ]
    for part in ("report", "tune"):
        for name, entry in systems.items():
            figures = entry.get("by_part", {}).get(part)
            if figures:
                cells = [_fmt(figures.get(c)) for c in columns]
                lines.append(
                    f"| {name} | {part} | " + " | ".join(cells) + f" | {figures.get('questions')} |"
                )
    key = f"{prefix}@budget500"
    lines += [
        "",
        f"**{key} by {'category' if group_key == 'by_category' else 'question type'}, "
        "report part**",
        "",
        "| system | "
        + " | ".join(f"{g} {label}" if label != g else g for g, label in sorted(groups.items()))
        + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for name, entry in systems.items():
        per = entry.get("by_part", {}).get("report", {}).get(group_key, {})
        lines.append(
            f"| {name} | "
            + " | ".join(_fmt(per.get(g, {}).get(key)) for g in sorted(groups))
            + " |"
        )
    by_part = doc.get("ratios_by_part") or {}
    ratio_keys = [c for c in columns if c.startswith(prefix)]
    if any(by_part.values()):
        lines += ["", "**Ratio to the best raw-turn baseline, by part**", ""]
        lines.append("| system | part | " + " | ".join(ratio_keys) + " |")
        lines.append("|---|---|" + "---:|" * len(ratio_keys))
        for part in ("report", "tune"):
            for name, row in (by_part.get(part) or {}).items():
                cells = [
                    f"{_fmt(row[k]['ratio'])} ({row[k]['best_baseline']})" if k in row else "-"
                    for k in ratio_keys
                ]
                lines.append(f"| {name} | {part} | " + " | ".join(cells) + " |")
    return lines


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def recall_plot(doc: Mapping[str, Any], path: Path) -> None:
    """Recall against the word budget, one line per system."""
    plt = _pyplot()
    settings = doc["settings"]
    budgets = list(settings["budgets_words"])
    prefix = settings["metric_prefix"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for name, entry in doc["systems"].items():
        ys = [entry.get(f"{prefix}@budget{b}") for b in budgets]
        # Tessera solid, raw-turn baselines dashed, peers dotted (mem0 offline overlaps dense).
        if name.startswith("tessera"):
            style, marker = "-", "o"
        elif name in BASELINES:
            style, marker = "--", "o"
        else:
            style, marker = ":", "x"
        ax.plot(
            budgets,
            [y if y is not None else math.nan for y in ys],
            style,
            marker=marker,
            label=name,
        )
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(budgets)
    ax.set_xticklabels([str(b) for b in budgets])
    ax.set_xlabel("context budget (words)")
    ax.set_ylabel(f"evidence {prefix.replace('_', ' ')}")
    title = "LoCoMo" if doc["benchmark"] == "locomo" else "LongMemEval oracle"
    ax.set_title(f"{title}: evidence recall vs budget")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_quality(out_dir: Path, doc: Mapping[str, Any], *, plot: bool = True) -> list[Path]:
    name = str(doc["name"])
    written = [out_dir / f"{name}.json", out_dir / f"{name}.md"]
    write_json(written[0], doc)
    written[1].write_text(quality_markdown(doc), encoding="utf-8")
    if plot:
        png = out_dir / f"{name}-recall.png"
        recall_plot(doc, png)
        written.append(png)
    return written
