"""Train the offline extractor's relation tagger on the labelled statements, reproducibly.

    python bench/extraction/train_relation_model.py            # re-train the shipped model
    python bench/extraction/train_relation_model.py --choose   # the threshold/parameter choice

Training data: `statements.jsonl` (its tuned lines only: every 4th line stays held out),
`statements_dev.jsonl`, `statements_blind.jsonl` and `statements_blind_2.jsonl`: the splits
already read while tuning the rules, or spent.
`statements_blind_3.jsonl` and `statements_blind_4.jsonl` are never read here: they stay
blind and are scored only by `evaluate.py`.

`--choose` holds one part out at a time (blind_2; then dev's third-pass ids 630-1286),
trains on the rest, and scores the rules + tagger on the held-out part for a grid of
thresholds, so `revise.VETO_BELOW` / `ADD_FROM` are picked without a reporting split.
CRFsuite's L-BFGS training is deterministic: the same data give the same model file, whose
sha256 is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import evaluate  # noqa: E402  (the benchmark's own scoring)
from tessera_server.engine.extract import TurnView  # noqa: E402
from tessera_server.engine.extract.offline import OfflineExtractor  # noqa: E402
from tessera_server.engine.extract.offline.learned import RelationTagger, Thresholds  # noqa: E402
from tessera_server.engine.extract.offline.learned import tagger as tagger_module  # noqa: E402
from tessera_server.engine.extract.offline.learned.training import train  # noqa: E402

TRAINING_FILES = (
    "statements.jsonl",
    "statements_dev.jsonl",
    "statements_blind.jsonl",
    "statements_blind_2.jsonl",
)
MODEL_PATH = Path(tagger_module.__file__).with_name(tagger_module.MODEL_FILE)
VETO_GRID = (0.0, 0.02, 0.05, 0.1)
ADD_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)  # 1.01: nothing added


def load_training() -> dict[str, list[dict[str, Any]]]:
    """The training statements per file; `statements.jsonl` without its held-out lines."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for name in TRAINING_FILES:
        lines = (HERE / name).read_text(encoding="utf-8").splitlines()
        rows[name] = [
            json.loads(line)
            for number, line in enumerate(lines, start=1)
            if line.strip() and not (name == "statements.jsonl" and number % 4 == 0)
        ]
    return rows


def score(extractor: OfflineExtractor, rows: list[dict[str, Any]]) -> evaluate.SplitResult:
    result = evaluate.SplitResult()
    for row in rows:
        said_at = datetime.fromisoformat(row["event_time"])
        view = TurnView(0, row["speaker"], row.get("role", "user"), row["text"], said_at)
        extraction = extractor.extract([view])
        result.statements += 1
        if not row["facts"]:
            result.negatives += 1
            result.negatives_with_facts += bool(extraction.facts)
        evaluate.score_facts(row["facts"], extraction, result, "")
    return result


def choose(rows: dict[str, list[dict[str, Any]]]) -> None:
    everything = [r for name in TRAINING_FILES for r in rows[name]]
    folds = {
        "blind_2": rows["statements_blind_2.jsonl"],
        "dev_630+": [r for r in rows["statements_dev.jsonl"] if int(r["id"]) >= 630],
    }
    totals: dict[tuple[float, float] | str, evaluate.SplitResult] = {}
    for fold, held in folds.items():
        held_ids = {id(r) for r in held}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "fold.crfsuite"
            train([r for r in everything if id(r) not in held_ids], path)
            tagger = RelationTagger(path.read_bytes())
        rules = score(OfflineExtractor(learned=False), held)
        print(f"{fold}: rules alone {evaluate._fmt(rules.facts.scores())}", end="")
        print(f"  fact-free with a fact {rules.negatives_with_facts}/{rules.negatives}")
        totals.setdefault("rules", evaluate.SplitResult())
        _accumulate(totals["rules"], rules)
        for veto in VETO_GRID:
            for add in ADD_GRID:
                both = OfflineExtractor(
                    learned=True, tagger=tagger, thresholds=Thresholds(veto, add)
                )
                res = score(both, held)
                _accumulate(totals.setdefault((veto, add), evaluate.SplitResult()), res)
                print(
                    f"  veto<{veto:<4} add>={add:<4} {evaluate._fmt(res.facts.scores())}"
                    f"  fact-free with a fact {res.negatives_with_facts}/{res.negatives}"
                )
    print("both folds:")
    for key, res in totals.items():
        print(
            f"  {key!s:14} {evaluate._fmt(res.facts.scores())}"
            f"  fact-free with a fact {res.negatives_with_facts}/{res.negatives}"
        )


def _accumulate(into: evaluate.SplitResult, res: evaluate.SplitResult) -> None:
    into.facts.add(res.facts)
    into.negatives += res.negatives
    into.negatives_with_facts += res.negatives_with_facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose", action="store_true", help="cross-check thresholds")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="where the model goes")
    args = parser.parse_args(argv)
    rows = load_training()
    if args.choose:
        choose(rows)
        return 0
    train([r for name in TRAINING_FILES for r in rows[name]], args.out)
    data = args.out.read_bytes()
    print(f"{args.out}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
