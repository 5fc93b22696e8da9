"""Measure the offline extractor on the hand-labelled statements in `statements.jsonl`.

    python bench/extraction/evaluate.py                 # all splits, writes results.{json,md}
    python bench/extraction/evaluate.py --errors tuned  # also list the misses of the tuned split

Each statement is one turn, extracted on its own (no context leaks between statements).

Facts match on subject + relation + normalised object (+ the negation flag); an expected
object may list alternatives separated by `|`. Foresight matches on kind + due date (the
calendar date in the turn's own time zone, or null). Matching is one-to-one, so a duplicate
prediction is a false positive.

Every 4th line of `statements.jsonl` (ids 4, 8, 12, ...) is held out: its misses were never
looked at while tuning (`--errors` lists them only when asked for `--errors held_out`).
`statements_blind.jsonl` (split "blind") was written after the extractor was frozen and
scored once; `statements_blind_2.jsonl` ("blind_2", facts only) was written and frozen
before issue 19's changes; `statements_blind_3.jsonl` ("blind_3", facts only) was written
and frozen after blind_2 was spent, before the third round of extractor work, and is reported
only; `statements_blind_4.jsonl` ("blind_4", facts only) likewise before the fourth round
(`--skip blind_3 blind_4` leaves both out while working); `statements_dev.jsonl` ("dev", facts only) holds the examples the issue-19 changes were
tuned on. See README.md. `baseline.json`, when present, holds the
numbers of the extractor before issue 19 (commit e9d8854) and is shown beside the current
ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
try:
    import tessera_server  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(ROOT / "packages" / "tessera-server" / "src"))

from tessera_server.engine.extract import Extraction, TurnView  # noqa: E402
from tessera_server.engine.extract.offline import OfflineExtractor  # noqa: E402

# The comparison form the relation tagger was trained against: one rule for both.
from tessera_server.engine.extract.offline.learned.training import normalise  # noqa: E402

FAMILY = {
    "partner", "wife", "husband", "boyfriend", "girlfriend", "fiance", "fiancee", "spouse",
    "son", "daughter", "brother", "sister", "mother", "father", "grandmother", "grandfather",
    "best_friend", "friend", "boss", "manager", "roommate", "cousin", "aunt", "uncle",
    "mother_in_law", "father_in_law", "brother_in_law", "sister_in_law", "niece", "nephew",
    "child", "coworker", "colleague", "neighbor", "grandson", "granddaughter", "twin",
}  # fmt: skip


def group_of(relation: str) -> str:
    if relation in FAMILY:
        return "family"
    if relation.startswith("favorite_"):
        return "favorite_*"
    return relation


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def scores(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 3),
            "recall": round(r, 3),
            "f1": round(f1, 3),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.tp + self.fn,
        }


@dataclass
class SplitResult:
    statements: int = 0
    facts: Counts = field(default_factory=Counts)
    foresight: Counts = field(default_factory=Counts)
    foresight_kind_only: Counts = field(default_factory=Counts)
    per_relation: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    per_kind: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    foresight_labelled: bool = False  # blind_2 labels facts only
    negatives: int = 0  # statements expecting no fact at all
    negatives_with_facts: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "statements": self.statements,
            "foresight_labelled": self.foresight_labelled,
            "facts": self.facts.scores(),
            "foresight": self.foresight.scores(),
            "foresight_kind_only": self.foresight_kind_only.scores(),
            "fact_free_statements": self.negatives,
            "fact_free_statements_with_a_fact": self.negatives_with_facts,
            "per_relation": {k: v.scores() for k, v in sorted(self.per_relation.items())},
            "per_foresight_kind": {k: v.scores() for k, v in sorted(self.per_kind.items())},
        }


def _fact_key(subject: str, relation: str, negated: bool) -> tuple[str, str, bool]:
    return (subject.strip().lower(), relation.strip().lower(), negated)


def score_facts(
    expected: list[dict[str, Any]], extraction: Extraction, result: SplitResult, label: str
) -> None:
    predicted = [
        (_fact_key(f.subject, f.relation, f.negated), normalise(f.object), f)
        for f in extraction.facts
    ]
    used = [False] * len(predicted)
    for exp in expected:
        key = _fact_key(exp["subject"], exp["relation"], bool(exp.get("negated", False)))
        objects = {normalise(o) for o in exp["object"].split("|")}
        group = group_of(key[1])
        for i, (pkey, pobj, _) in enumerate(predicted):
            if not used[i] and pkey == key and pobj in objects:
                used[i] = True
                result.facts.tp += 1
                result.per_relation[group].tp += 1
                break
        else:
            result.facts.fn += 1
            result.per_relation[group].fn += 1
            neg = " (negated)" if key[2] else ""
            result.errors.append(f"{label} MISS fact {key[0]} {key[1]} {exp['object']}{neg}")
    for i, (pkey, _, fact) in enumerate(predicted):
        if not used[i]:
            result.facts.fp += 1
            result.per_relation[group_of(pkey[1])].fp += 1
            neg = " (negated)" if fact.negated else ""
            result.errors.append(
                f"{label} EXTRA fact {fact.subject} {fact.relation} {fact.object!r}{neg}"
            )


def score_foresight(
    expected: list[dict[str, Any]],
    extraction: Extraction,
    said_at: datetime,
    result: SplitResult,
    label: str,
) -> None:
    def day(when: datetime | None) -> str | None:
        return when.astimezone(said_at.tzinfo).date().isoformat() if when else None

    predicted = [(f.kind, day(f.due_at)) for f in extraction.foresight]
    for strict, counts in ((True, result.foresight), (False, result.foresight_kind_only)):
        used = [False] * len(predicted)
        for exp in expected:
            want = (exp["kind"], exp["due"])
            for i, got in enumerate(predicted):
                if not used[i] and got[0] == want[0] and (got[1] == want[1] or not strict):
                    used[i] = True
                    counts.tp += 1
                    if strict:
                        result.per_kind[want[0]].tp += 1
                    break
            else:
                counts.fn += 1
                if strict:
                    result.per_kind[want[0]].fn += 1
                    result.errors.append(f"{label} MISS foresight {want[0]} due {want[1]}")
        for i, got in enumerate(predicted):
            if not used[i]:
                counts.fp += 1
                if strict:
                    result.per_kind[got[0]].fp += 1
                    result.errors.append(f"{label} EXTRA foresight {got[0]} due {got[1]}")


def load(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """Rows of a labelled file; without `split`, every 4th line is held out."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            row["split"] = split or ("held_out" if number % 4 == 0 else "tuned")
            rows.append(row)
    return rows


def evaluate(rows: list[dict[str, Any]], learned: bool = False) -> dict[str, SplitResult]:
    extractor = OfflineExtractor(learned=learned)
    results = {name: SplitResult() for name in SPLITS}
    for row in rows:
        said_at = datetime.fromisoformat(row["event_time"])
        view = TurnView(0, row["speaker"], row.get("role", "user"), row["text"], said_at)
        extraction = extractor.extract([view])
        label = f"[{row['id']}] {row['text']!r}:"
        for split in (
            (row["split"], "all") if row["split"] in ("tuned", "held_out") else (row["split"],)
        ):
            res = results[split]
            res.statements += 1
            if not row["facts"]:
                res.negatives += 1
                res.negatives_with_facts += bool(extraction.facts)
            score_facts(row["facts"], extraction, res, label)
            if row["foresight"] is not None:  # None: this file labels facts only
                res.foresight_labelled = True
                score_foresight(row["foresight"], extraction, said_at, res, label)
    return results


SPLITS = ("tuned", "held_out", "all", "dev", "blind", "blind_2", "blind_3", "blind_4")
BLIND = ("blind_3", "blind_4")  # reporting splits nobody may tune on: loaded only when asked


def _fmt(scores: dict[str, Any]) -> str:
    return f"{scores['precision']:.3f} | {scores['recall']:.3f} | {scores['f1']:.3f}"


def markdown(current: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    out = ["# Offline extractor on the labelled statements", ""]
    out.append(
        "Produced by `python bench/extraction/evaluate.py`; *before* is `baseline.json` (the "
        "extractor at e9d8854, before issue 19). Tuning splits: **tuned** "
        f"({current['tuned']['statements']} statements, every line of `statements.jsonl` but "
        f"every 4th) and **dev** ({current['dev']['statements']}, `statements_dev.jsonl`). "
        f"Reporting splits, never tuned on: **held_out** ({current['held_out']['statements']}, "
        f"every 4th line), **blind** ({current['blind']['statements']}, "
        f"`statements_blind.jsonl`), **blind_2** ({current['blind_2']['statements']}, "
        "`statements_blind_2.jsonl`, frozen before the extractor was touched; facts only) and "
        f"**blind_3** ({current['blind_3']['statements']}, `statements_blind_3.jsonl`, frozen "
        "before the third round of extractor work; facts only) and "
        f"**blind_4** ({current['blind_4']['statements']}, `statements_blind_4.jsonl`, frozen "
        "before the fourth round; facts only). See README.md."
    )
    out += ["", "## Summary (precision | recall | F1)", ""]
    head = "| split | what | " + ("before: P | R | F1 | " if baseline else "") + "P | R | F1 |"
    out += [head, "|" + "---|" * (head.count("|") - 1)]
    for split in SPLITS:
        if not current[split]["statements"]:
            continue
        labelled = current[split].get("foresight_labelled", True)
        for what in ("facts", "foresight", "foresight_kind_only") if labelled else ("facts",):
            row = f"| {split} | {what} | "
            if baseline:
                row += (
                    _fmt(baseline[split][what]) if split in baseline else "n/a | n/a | n/a"
                ) + " | "
            out.append(row + _fmt(current[split][what]) + " |")
    out += ["", "Statements that state no fact but got one (hard negatives):", ""]
    for split in SPLITS:
        cur = current[split]
        if not cur["statements"] or not cur["fact_free_statements"]:
            continue
        line = (
            f"- {split}: {cur['fact_free_statements_with_a_fact']} of {cur['fact_free_statements']}"
        )
        if baseline and split in baseline:
            line += f" (before: {baseline[split]['fact_free_statements_with_a_fact']})"
        out.append(line)
    for split in ("tuned", "held_out", "dev", "blind", "blind_2", *BLIND):
        if not current[split]["statements"]:
            continue
        out += ["", f"## Facts per relation ({split})", ""]
        before = (baseline or {}).get(split, {}).get("per_relation", {})
        out += [
            "| relation | support | before: P | R | F1 | P | R | F1 | tp | fp | fn |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for rel, s in current[split]["per_relation"].items():
            old = _fmt(before[rel]) if rel in before else "n/a | n/a | n/a"
            out.append(
                f"| {rel} | {s['support']} | {old} | {_fmt(s)} | {s['tp']} | {s['fp']} "
                f"| {s['fn']} |"
            )
        if not current[split].get("foresight_labelled", True):
            continue
        out += ["", f"## Foresight per kind, kind + due date ({split})", ""]
        out += ["| kind | support | P | R | F1 |", "|---|---|---|---|---|"]
        for kind, s in current[split]["per_foresight_kind"].items():
            out.append(f"| {kind} | {s['support']} | {_fmt(s)} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "statements.jsonl")
    parser.add_argument("--blind", type=Path, default=HERE / "statements_blind.jsonl")
    parser.add_argument("--dev", type=Path, default=HERE / "statements_dev.jsonl")
    parser.add_argument("--blind-2", type=Path, default=HERE / "statements_blind_2.jsonl")
    parser.add_argument("--blind-3", type=Path, default=HERE / "statements_blind_3.jsonl")
    parser.add_argument("--blind-4", type=Path, default=HERE / "statements_blind_4.jsonl")
    parser.add_argument(
        "--skip",
        nargs="*",
        choices=BLIND,
        default=[],
        help="leave these reporting splits out (while working, so they stay unseen)",
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where results.* are written")
    parser.add_argument(
        "--errors",
        choices=("none", *SPLITS),
        default="none",
        help="list the misses and extras of a split",
    )
    parser.add_argument(
        "--tagger",
        action="store_true",
        help="with the relation tagger (TESSERA_OFFLINE_TAGGER); writes results_tagger.*",
    )
    parser.add_argument(
        "--save-baseline", action="store_true", help="also write these numbers as baseline.json"
    )
    args = parser.parse_args(argv)

    rows = load(args.data)
    if args.dev.exists():
        rows += load(args.dev, "dev")
    if args.blind.exists():
        rows += load(args.blind, "blind")
    if args.blind_2.exists():
        rows += load(args.blind_2, "blind_2")
    for split, path in (("blind_3", args.blind_3), ("blind_4", args.blind_4)):
        if split not in args.skip and path.exists():
            rows += load(path, split)
    results = evaluate(rows, learned=args.tagger)
    stem = "results_tagger" if args.tagger else "results"
    current = {name: res.as_dict() for name, res in results.items()}
    baseline_path = HERE / "baseline.json"
    if args.save_baseline:
        baseline_path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    baseline = (
        json.loads(baseline_path.read_text(encoding="utf-8")) if baseline_path.exists() else None
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{stem}.md").write_text(markdown(current, baseline), encoding="utf-8")

    for split in SPLITS:
        cur = current[split]
        if not cur["statements"]:
            continue
        line = f"{split:9s} facts P/R/F1 {_fmt(cur['facts'])}"
        if cur["foresight_labelled"]:
            line += (
                f"   foresight P/R/F1 {_fmt(cur['foresight'])}   "
                f"(kind only {_fmt(cur['foresight_kind_only'])})"
            )
        print(line)
    if args.errors != "none":
        for line in results[args.errors].errors:
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
