"""The local reranker's features and weights, read from its source."""

from __future__ import annotations

import ast
from pathlib import Path

from .common import ROOT

# --------------------------------------------------------------------------------------
# The local reranker's features (read from its source, so nothing heavy is imported)

RERANKER = ROOT / "packages/tessera-server/src/tessera_server/providers/reranker/local.py"
RERANK_FEATURES = {
    "w_cosine": ("cosine similarity of the item to the query", "meaning"),
    "w_part": (
        "the best cosine similarity of any one of an episode's turns (a fact's own otherwise)",
        "one relevant line inside a longer episode",
    ),
    "w_coverage": (
        "the query's content words (lightly stemmed) found in the item, each weighted by how "
        "rare it is among the candidates",
        "saying what was asked about",
    ),
    "w_fused": ("the item's rank after fusion", "agreement between the arms"),
    "w_date": (
        "a date named in the query falls in the item's month",
        '"what did I do in May 2023?"',
    ),
    "w_day": (
        "a full date named in the query is the day the item was said",
        '"what did we discuss on 7 July 2023?"',
    ),
    "w_pin": ("the item is pinned", "what you pinned"),
    "w_long": (
        "a penalty: how far past 80 words the item runs (log of its length over 80); none when "
        'the question asks what the assistant said ("what did you recommend?")',
        "saying it in fewer words; long texts match query words by chance",
    ),
    "w_when": (
        'a "when …?" question and an item that names a date or a time ("yesterday [7 May '
        '2023]", "last week")',
        "answers that say when",
    ),
    "w_speaker": (
        "the query names whoever said the item's best-matching line",
        '"what did Caroline decide?" answered by Caroline\'s own lines',
    ),
    "w_own": (
        'the item was said by the user and the question is in the first person ("I", "my") '
        "without asking what the assistant said",
        '"how many tanks do I have?" answered by the user\'s own lines, not the replies that '
        "echo them at length",
    ),
}


def reranker_weights(source: Path = RERANKER) -> dict[str, float]:
    """The default weights of the local reranker (`RerankWeights`' fields), read from its
    source."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "RerankWeights":
            return {
                item.target.id: float(ast.literal_eval(item.value))
                for item in node.body
                if isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and item.value is not None
            }
    raise LookupError(f"no class RerankWeights in {source}")


def rerank_features() -> str:
    """One row per feature of the local reranker, with its weight; unknown features fail."""
    weights = {k: v for k, v in reranker_weights().items() if k.startswith("w_")}
    unknown = sorted(set(weights) - set(RERANK_FEATURES))
    if unknown:
        raise LookupError(f"describe the reranker features {unknown} in RERANK_FEATURES")
    rows = ["| Feature | Weight | What it rewards |", "|---|---|---|"]
    for name, weight in sorted(weights.items(), key=lambda item: -item[1]):
        feature, rewards = RERANK_FEATURES[name]
        rows.append(f"| {feature} | {weight:g} | {rewards} |")
    return "\n".join(rows)
