"""Run systems over a data set and turn their rankings into the result figures."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import Dataset
from .metrics import BudgetPolicy, Hit, aggregate, question_metrics, word_count
from .systems import System

log = logging.getLogger("tessera_bench")


@dataclass(frozen=True)
class Spec:
    """The measurement settings of one benchmark (recorded in the results)."""

    prefix: str
    budgets: tuple[int, ...]
    ks: tuple[int, ...]
    session_ks: tuple[int, ...] = ()
    policy: BudgetPolicy = "fit"
    depth: int = 200
    #: (budget, first): also report recall within the budget had the first hits been put in
    #: the best order (metrics.evidence_first): how much of a shortfall is order, not reach.
    reordered: tuple[int, int] | None = None


LOCOMO_SPEC = Spec(prefix="recall", budgets=(250, 500, 1000), ks=(5, 10), reordered=(500, 30))
LONGMEMEVAL_SPEC = Spec(
    prefix="turn_recall", budgets=(250, 500, 1000), ks=(5, 10), session_ks=(5, 10)
)


@dataclass
class SystemResult:
    name: str
    overall: dict[str, float]
    by_group: dict[str, dict[str, float]]
    seconds: float
    description: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    per_question: list[dict[str, Any]] = field(default_factory=list)
    #: The same figures for each half of the data set (``"tune"``, ``"report"``).
    by_part: dict[str, tuple[dict[str, float], dict[str, dict[str, float]]]] = field(
        default_factory=dict
    )


def evaluate(
    dataset: Dataset,
    systems: Sequence[System],
    spec: Spec,
    *,
    keep_per_question: bool = False,
) -> list[SystemResult]:
    """Rank every question of every scope with every system and average the metrics."""
    rows: dict[str, list[tuple[str, dict[str, float]]]] = {s.name: [] for s in systems}
    part_rows: dict[str, dict[str, list[tuple[str, dict[str, float]]]]] = {
        s.name: {} for s in systems
    }
    seconds: dict[str, float] = {s.name: 0.0 for s in systems}
    details: dict[str, list[dict[str, Any]]] = {s.name: [] for s in systems}
    hit_stats: dict[str, dict[str, float]] = {
        s.name: {"hits": 0.0, "hits_without_sources": 0.0, "words": 0.0} for s in systems
    }
    total = len(dataset.scopes)
    for n, scope in enumerate(dataset.scopes, start=1):
        if not scope.questions:
            continue
        session_of = scope.session_of() if spec.session_ks else None
        for system in systems:
            started = time.perf_counter()
            ranked = system.rank(scope, spec.depth)
            seconds[system.name] += time.perf_counter() - started
            for q in scope.questions:
                hits: list[Hit] = ranked.get(q.qid, [])
                metrics = question_metrics(
                    q.evidence,
                    hits,
                    budgets=spec.budgets,
                    ks=spec.ks,
                    policy=spec.policy,
                    prefix=spec.prefix,
                    gold_sessions=q.evidence_sessions,
                    session_of=session_of,
                    session_ks=spec.session_ks,
                    reordered=spec.reordered,
                )
                rows[system.name].append((q.category, metrics))
                part_rows[system.name].setdefault(q.part, []).append((q.category, metrics))
                stats = hit_stats[system.name]
                stats["hits"] += len(hits)
                stats["hits_without_sources"] += sum(1 for h in hits if not h.sources)
                stats["words"] += sum(word_count(h.text) for h in hits)
                if keep_per_question:
                    details[system.name].append(
                        {
                            "qid": q.qid,
                            "category": q.category,
                            "part": q.part,
                            **metrics,
                            "top": [h.item_id for h in hits[:10]],
                        }
                    )
        if n % 50 == 0 or n == total:
            log.info("%s: %d/%d scopes done", dataset.name, n, total)

    results: list[SystemResult] = []
    for system in systems:
        overall, by_group = aggregate(rows[system.name])
        stats = hit_stats[system.name]
        hits_n = max(stats["hits"], 1.0)
        results.append(
            SystemResult(
                name=system.name,
                overall=overall,
                by_group=by_group,
                seconds=seconds[system.name],
                description=system.describe(),
                extra={
                    "mean_hits": stats["hits"] / max(len(rows[system.name]), 1),
                    "mean_words_per_hit": stats["words"] / hits_n,
                    "hits_without_sources": int(stats["hits_without_sources"]),
                },
                per_question=details[system.name],
                by_part={
                    part: aggregate(part_rows[system.name][part])
                    for part in sorted(part_rows[system.name])
                },
            )
        )
    return results
