"""Recall metrics over ranked results whose items map back to source turns.

Every system, baseline or Tessera, answers a question with a ranked list of :class:`Hit`
objects: the text it would put in a prompt and the ids of the turns that text came from. The
metrics only look at that, so a raw-turn baseline (one turn per hit) and a consolidated memory
(an episode covering many turns, a fact derived from one) are judged on the same terms.

Budget walk (``recall@budgetB``): go down the ranking, keeping hits while the words kept so far
plus the next hit's words fit in B; stop at the first hit that does not fit. The context a model
would receive therefore never exceeds B words. ``policy="reach"`` is the looser reading (keep
the hit that crosses B, then stop) and is available for comparison.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

BudgetPolicy = Literal["fit", "reach"]
BUDGET_POLICIES: tuple[BudgetPolicy, ...] = ("fit", "reach")


@dataclass(frozen=True)
class Hit:
    """One ranked result: the text a model would see and the turns it stands for."""

    text: str
    sources: tuple[str, ...]
    score: float = 0.0
    item_id: str = ""
    kind: str = "turn"


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of non-whitespace."""
    return len(text.split())


def within_budget(hits: Sequence[Hit], budget: int, policy: BudgetPolicy = "fit") -> list[Hit]:
    """The prefix of ``hits`` that a ``budget``-word context holds (see the module docstring)."""
    if budget <= 0:
        return []
    kept: list[Hit] = []
    used = 0
    for hit in hits:
        words = word_count(hit.text)
        if policy == "fit":
            if used + words > budget:
                break
            kept.append(hit)
            used += words
        else:
            kept.append(hit)
            used += words
            if used >= budget:
                break
    return kept


def covered(hits: Iterable[Hit]) -> set[str]:
    """The union of the hits' source turn ids."""
    out: set[str] = set()
    for hit in hits:
        out.update(hit.sources)
    return out


def turn_recall(evidence: frozenset[str] | set[str], hits: Iterable[Hit]) -> float:
    """The fraction of evidence turns among the hits' source turns (NaN with no evidence)."""
    if not evidence:
        return math.nan
    return len(evidence & covered(hits)) / len(evidence)


def recall_at_k(evidence: frozenset[str] | set[str], hits: Sequence[Hit], k: int) -> float:
    return turn_recall(evidence, hits[:k])


def recall_at_budget(
    evidence: frozenset[str] | set[str],
    hits: Sequence[Hit],
    budget: int,
    policy: BudgetPolicy = "fit",
) -> float:
    return turn_recall(evidence, within_budget(hits, budget, policy))


def evidence_first(
    evidence: frozenset[str] | set[str], hits: Sequence[Hit], first: int
) -> list[Hit]:
    """The first ``first`` hits as a perfect reorder would put them: those holding evidence
    first, fewest words first (then in their own order), the rest dropped.

    Recall within a budget over this list says how much of a system's shortfall is order
    (the evidence was among its first hits, ranked past the budget) rather than reach (the
    evidence was not among them at all). Fewest-words-first is the greedy fill, not an exact
    knapsack, so it is a near-ceiling, never above what the hits could reach in any order
    within the budget.
    """
    holding = [(i, h) for i, h in enumerate(hits[:first]) if evidence & set(h.sources)]
    holding.sort(key=lambda pair: (word_count(pair[1].text), pair[0]))
    return [h for _, h in holding]


def session_recall_any(
    gold_sessions: frozenset[str] | set[str],
    hits: Sequence[Hit],
    k: int,
    session_of: Mapping[str, str],
) -> float:
    """1.0 when any gold session has a turn among the top-``k`` hits' sources, else 0.0."""
    if not gold_sessions:
        return math.nan
    found = {session_of[t] for t in covered(hits[:k]) if t in session_of}
    return 1.0 if found & gold_sessions else 0.0


def question_metrics(
    evidence: frozenset[str],
    hits: Sequence[Hit],
    *,
    budgets: Sequence[int],
    ks: Sequence[int],
    policy: BudgetPolicy = "fit",
    prefix: str = "recall",
    gold_sessions: frozenset[str] = frozenset(),
    session_of: Mapping[str, str] | None = None,
    session_ks: Sequence[int] = (),
    reordered: tuple[int, int] | None = None,
) -> dict[str, float]:
    """All per-question figures under the output key names (``recall@budget500`` …).

    ``reordered=(budget, first)`` adds ``recall@budget500_first30``: recall within the budget
    had the first hits been perfectly ordered (:func:`evidence_first`)."""
    out: dict[str, float] = {}
    for budget in budgets:
        out[f"{prefix}@budget{budget}"] = recall_at_budget(evidence, hits, budget, policy)
    for k in ks:
        out[f"{prefix}@{k}"] = recall_at_k(evidence, hits, k)
    if reordered is not None:
        budget, first = reordered
        out[reordered_key(prefix, budget, first)] = recall_at_budget(
            evidence, evidence_first(evidence, hits, first), budget, policy
        )
    if session_of is not None:
        for k in session_ks:
            out[f"recall_any@{k}"] = session_recall_any(gold_sessions, hits, k, session_of)
    return out


def reordered_key(prefix: str, budget: int, first: int) -> str:
    return f"{prefix}@budget{budget}_first{first}"


def mean(values: Iterable[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def aggregate(
    rows: Sequence[tuple[str, Mapping[str, float]]],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Macro-average per-question metrics overall and per group.

    ``rows`` holds ``(group, metrics)`` per question. Returns ``(overall, by_group)``; each
    carries a ``questions`` count. Averages are over questions (each question weighs the same).
    """
    keys: list[str] = []
    for _, metrics in rows:
        for key in metrics:
            if key not in keys:
                keys.append(key)
    groups: dict[str, list[Mapping[str, float]]] = defaultdict(list)
    for group, metrics in rows:
        groups[group].append(metrics)

    def summarise(items: Sequence[Mapping[str, float]]) -> dict[str, float]:
        summary = {key: mean(m.get(key, math.nan) for m in items) for key in keys}
        summary["questions"] = float(len(items))
        return summary

    overall = summarise([m for _, m in rows])
    by_group = {g: summarise(items) for g, items in sorted(groups.items())}
    return overall, by_group
