"""The latest benchmark tables and their plots, from `bench/results/`."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .common import BENCH_RESULTS

# --------------------------------------------------------------------------------------
# Benchmark results


# The site shows Tessera and the raw-turn baselines; rows of any other system a run measured
# (peers run for comparison) stay in bench/results/ and are left out of the site.
BASELINES = ("bm25", "dense", "rrf")
PALETTE = ("#3f51b5", "#009688", "#e65100", "#8e24aa", "#546e7a", "#c62828", "#2e7d32")


def shown_system(name: str) -> bool:
    return name in BASELINES or name.startswith("tessera")


@dataclasses.dataclass(frozen=True)
class Plot:
    """A plot for the site: a PNG of the run (`source`) or an SVG drawn here (`content`)."""

    name: str
    source: Path | None = None
    content: str | None = None


@dataclasses.dataclass(frozen=True)
class BenchResult:
    name: str
    markdown: str
    plots: tuple[Plot, ...]


def _shown_markdown(text: str) -> str:
    """The run's Markdown without table rows of systems the site does not show."""
    out: list[str] = []
    in_system_table = False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if not cells:
            in_system_table = False
        elif cells[0] == "system":
            in_system_table = True
        elif in_system_table and not set(cells[0]) <= set("-: ") and not shown_system(cells[0]):
            continue
        out.append(line)
    text = "\n".join(out)

    def systems(match: re.Match[str]) -> str:
        kept = [s for s in match.group(1).split(",") if shown_system(s)]
        return f"--systems {','.join(kept)}"

    return re.sub(r"--systems ([\w,-]+)", systems, text)


def recall_svg(doc: Mapping[str, Any]) -> str:
    """Evidence recall against the word budget, one line per shown system, as an SVG."""
    import math

    budgets: list[int] = list(doc["settings"]["budgets_words"])
    prefix = doc["settings"]["metric_prefix"]
    series = {
        name: [entry.get(f"{prefix}@budget{b}") for b in budgets]
        for name, entry in doc["systems"].items()
        if shown_system(name)
    }
    width, height, left, right, top, bottom = 640, 400, 60, 170, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    logs = [math.log(b) for b in budgets]
    span = (logs[-1] - logs[0]) or 1.0

    def x(i: int) -> float:
        return left + (logs[i] - logs[0]) / span * plot_w

    def y(v: float) -> float:
        return top + (1.0 - v) * plot_h

    title = "LoCoMo" if doc.get("benchmark") == "locomo" else "LongMemEval (oracle)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="12" role="img">',
        f"<title>{title}: evidence recall against the context budget</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14">{title}: evidence {prefix.replace("_", " ")} '
        "against the context budget</text>",
    ]
    for tick in range(6):
        v = tick / 5
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>'
        )
    for i, budget in enumerate(budgets):
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle">{budget}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle">'
        "context budget (words)</text>"
    )
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        dash = "" if name.startswith("tessera") else ' stroke-dasharray="6 4"'
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        parts += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>' for px, py in points
        ]
        ly = top + 10 + n * 20
        parts.append(
            f'<line x1="{width - right + 15}" x2="{width - right + 45}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
            f'<text x="{width - right + 52}" y="{ly + 4}">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def bench_results(results: Path = BENCH_RESULTS) -> list[BenchResult]:
    """Every `<name>.md` table in `bench/results/`, with the plots of the same run.

    A run's own PNG is used when every system in it is one the site shows; otherwise (or when
    there is no PNG) a recall plot of the shown systems is drawn from `<name>.json`.
    """
    found: list[BenchResult] = []
    if not results.is_dir():
        return found
    for table in sorted(results.glob("*.md")):
        name = table.stem
        doc: dict[str, Any] = {}
        data = results / f"{name}.json"
        if data.exists():
            try:
                doc = json.loads(data.read_text(encoding="utf-8"))
            except ValueError:
                doc = {}
        systems = doc.get("systems") if isinstance(doc.get("systems"), dict) else {}
        all_shown = all(shown_system(s) for s in systems or {})
        pngs = [
            p for p in sorted(results.glob(f"{name}*.png")) if p.stem in (name, f"{name}-recall")
        ]
        plots: list[Plot] = []
        if all_shown:
            plots = [Plot(p.name, source=p) for p in pngs]
        if not plots and systems and "budgets_words" in doc.get("settings", {}):
            plots = [Plot(f"{name}-recall.svg", content=recall_svg(doc))]
        markdown = _shown_markdown(table.read_text(encoding="utf-8"))
        found.append(BenchResult(name, markdown, tuple(plots)))
    return found


def benchmark_results(results: Path = BENCH_RESULTS, plot_dir: str = "assets/bench") -> str:
    """The tables and plots, or a note saying no run has been recorded yet."""
    found = bench_results(results)
    if not found:
        return (
            '!!! note "No results recorded yet"\n'
            "    This build found no `bench/results/*.md`. Run the benchmarks (see *Reproduce* "
            "below); the next build of the site shows their tables and plots here."
        )
    parts: list[str] = []
    for result in found:
        text = result.markdown.strip()
        if not text.startswith("#"):
            text = f"## {result.name}\n\n{text}"
        parts.append(text)
        for plot in result.plots:
            parts.append(f"![{Path(plot.name).stem}]({plot_dir}/{plot.name})")
    return "\n\n".join(parts)
