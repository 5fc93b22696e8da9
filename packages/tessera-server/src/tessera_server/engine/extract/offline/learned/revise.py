"""Where the tagger meets the rules: it vetoes rule facts it sees no fact in, and adds the
facts it is sure of that the rules missed.

Why both: the rules are precise on the shapes they were written for and blind to others;
the tagger, trained on the labelled statements, generalises a little to new phrasings and
to the contexts that state nothing (questions, hypotheticals, other people's beliefs). A
rule fact survives unless the tagger gives every word of its object a probability of being
part of a fact below `veto`; a tagger fact is added only when its words' mean probability
is at least `add` and no rule fact already covers those words or that functional slot.
Negated rule facts ("I don't live in Berlin anymore") are never vetoed: the tagger is not
trained on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ... import ExtractedFact
from .context import stated
from .tagger import Tagging

# Chosen on the choosing split, never on a reporting split (bench/extraction/README.md).
VETO_BELOW = 0.0  # off: on both choosing folds every veto level cut more right facts than wrong
ADD_FROM = 0.9  # the best F1 over both folds (0.943, tied with 0.8), the higher precision


@dataclass(frozen=True)
class Thresholds:
    veto: float = VETO_BELOW
    add: float = ADD_FROM


MakeFact = Callable[[str, str, str, float], "ExtractedFact | None"]


def revise(
    tagging: Tagging,
    speaker: str,
    facts: list[ExtractedFact],
    make: MakeFact,
    thresholds: Thresholds,
) -> list[ExtractedFact]:
    """The rule facts the tagger does not veto, plus the tagger's own confident facts."""
    kept: list[ExtractedFact] = []
    covered: list[tuple[int, int]] = []  # token spans a fact already stands on
    for fact in facts:
        span = tagging.span_of(fact.object)
        if span is not None and not fact.negated:
            if tagging.support(span) < thresholds.veto:
                continue
            covered.append(span)
        kept.append(fact)
    slots = {(f.subject.lower(), f.relation) for f in kept if f.functional}
    for cand in tagging.candidates:
        if cand.confidence < thresholds.add or not stated(
            tagging.text, tagging.tokens, cand.start, cand.end
        ):
            continue
        subject = cand.subject or speaker
        key = subject.lower()
        if any(cand.start < e and b < cand.end for b, e in covered):
            continue
        added = make(subject, cand.relation, cand.object, cand.confidence)
        if added is None or (key, added.relation) in slots:
            continue
        kept.append(added)
        covered.append((cand.start, cand.end))
        if added.functional:
            slots.add((key, added.relation))
    return kept
