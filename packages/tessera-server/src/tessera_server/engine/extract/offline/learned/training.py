"""Turning labelled statements into tag sequences, and training the tagger on them.

A labelled statement says which facts it states ("User lives_in Lisbon"), not where they
are; `tag_sequence` finds each object in the text and tags its words with the relation
(`B-lives_in`, `I-lives_in`), and tags a named third-person subject `B-SUBJ`. Everything
else is `O`, so fact-free statements (questions, hypotheticals, other people's beliefs…)
teach the tagger where facts are *not*. Negated facts are left `O`: the rules handle them.

Training is CRFsuite's L-BFGS, which is deterministic: the same statements and parameters
give the same model file byte for byte (`tests` check the hash).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pycrfsuite

from .features import Token, features, tokenise

OUTSIDE = "O"
SUBJECT = "SUBJ"
_MAX_SPAN = 8
_DETERMINERS = frozenset(["a", "an", "the", "my", "our", "his", "her", "their", "some"])
_ARTICLES = re.compile(r"^(?:a|an|the|my|our|his|her|their|some)\s+")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b")
_PUNCT = re.compile(r"[^\w\s'-]")
# The regularisation chosen on the choosing split (see bench/extraction/train_relation_model.py).
PARAMS: Mapping[str, Any] = {
    "c1": 0.05,
    "c2": 0.01,
    "max_iterations": 200,
    "feature.possible_transitions": True,
}


def normalise(text: str) -> str:
    """The benchmark's comparison form: lower case, no punctuation, no leading article."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = _ORDINAL.sub("", text)
    text = _PUNCT.sub(" ", text)
    text = " ".join(text.split()).strip(" '-")
    previous = None
    while previous != text:
        previous, text = text, _ARTICLES.sub("", text)
    return text


def find_span(text: str, tokens: Sequence[Token], wanted: str) -> tuple[int, int] | None:
    """The first run of tokens whose text normalises to `wanted` (one of `a|b`)."""
    for alternative in wanted.split("|"):
        target = normalise(alternative)
        if not target:
            continue
        for i in range(len(tokens)):
            if tokens[i].text.lower() in _DETERMINERS:
                continue  # the span without it matches too, and is the object proper
            for j in range(i + 1, min(len(tokens), i + _MAX_SPAN) + 1):
                if normalise(text[tokens[i].start : tokens[j - 1].end]) == target:
                    return i, j
    return None


def tag_sequence(text: str, speaker: str, facts: Iterable[Mapping[str, Any]]) -> list[str]:
    """BIO tags for one labelled statement."""
    tokens = tokenise(text)
    tags = [OUTSIDE] * len(tokens)

    def put(span: tuple[int, int] | None, label: str) -> None:
        if span is None or any(tags[k] != OUTSIDE for k in range(*span)):
            return
        tags[span[0]] = f"B-{label}"
        for k in range(span[0] + 1, span[1]):
            tags[k] = f"I-{label}"

    facts = [f for f in facts if not f.get("negated")]
    for fact in facts:
        put(find_span(text, tokens, str(fact["object"])), str(fact["relation"]))
    for fact in facts:
        subject = str(fact["subject"])
        if subject not in (speaker, "User"):
            put(find_span(text, tokens, subject), SUBJECT)
    return tags


def train(
    rows: Iterable[Mapping[str, Any]],
    model_path: Path,
    params: Mapping[str, Any] = PARAMS,
) -> None:
    """Train on labelled statements (`text`, `speaker`, `facts`) and write the model file."""
    trainer = pycrfsuite.Trainer(verbose=False)
    for row in rows:
        text = str(row["text"])
        tokens = tokenise(text)
        if tokens:
            trainer.append(features(tokens), tag_sequence(text, str(row["speaker"]), row["facts"]))
    trainer.set_params(dict(params))
    trainer.train(str(model_path))
