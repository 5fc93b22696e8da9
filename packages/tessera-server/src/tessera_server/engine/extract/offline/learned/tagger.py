"""The relation tagger at run time: the shipped CRF model, read from package data.

`RelationTagger.tag` labels each word of a turn with a relation (or none) and gives, per
word, the model's probability that it belongs to no fact at all. Spans of one relation are
grouped into candidate facts; each candidate's subject is the nearest person named before
it in the same sentence (a name tagged as a subject, or a relative's name), unless a
first-person word ("I", "my") is nearer, and "he"/"she" stand for the last person named.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import pycrfsuite

from .features import FIRST_PERSON, THIRD_PERSON, Token, features, tokenise
from .training import OUTSIDE, SUBJECT, find_span

MODEL_FILE = "relations.crfsuite"
_UNKNOWN = "\x00"  # no "I" and no person named before the span: whose fact it is is unknown


@dataclass(frozen=True)
class Candidate:
    """A relation span the tagger found, with who it is about."""

    subject: str | None  # None: the speaker (spans about nobody found are dropped)
    relation: str
    start: int  # token indexes, end exclusive
    end: int
    object: str
    confidence: float


@dataclass(frozen=True)
class Tagging:
    text: str
    tokens: list[Token]
    labels: list[str]
    no_fact: list[float]  # per token, P(label == O)
    candidates: list[Candidate]

    def span_of(self, obj: str) -> tuple[int, int] | None:
        """Where an object phrase (as a rule clipped it) sits among the tokens, matched the
        way the training labels were."""
        return find_span(self.text, self.tokens, obj)

    def support(self, span: tuple[int, int]) -> float:
        """The model's belief that some word of the span is part of a fact."""
        return max(1.0 - self.no_fact[k] for k in range(*span))


class RelationTagger:
    """A CRFsuite tagger; one per process, calls serialised (CRFsuite keeps state)."""

    def __init__(self, model: bytes) -> None:
        self._model = model  # CRFsuite reads the buffer in place: it must outlive the tagger
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._model)
        self._lock = threading.Lock()

    def tag(self, text: str) -> Tagging:
        tokens = tokenise(text)
        if not tokens:
            return Tagging(text, tokens, [], [], [])
        with self._lock:
            self._tagger.set(features(tokens))
            labels: list[str] = list(self._tagger.tag())
            no_fact = [float(self._tagger.marginal(OUTSIDE, k)) for k in range(len(tokens))]
            marginals = [float(self._tagger.marginal(labels[k], k)) for k in range(len(tokens))]
        return Tagging(text, tokens, labels, no_fact, _candidates(text, tokens, labels, marginals))


def _spans(labels: list[str]) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    k = 0
    while k < len(labels):
        if labels[k] == OUTSIDE:
            k += 1
            continue
        name = labels[k][2:]
        end = k + 1
        while end < len(labels) and labels[end] == f"I-{name}":
            end += 1
        spans.append((name, k, end))
        k = end
    return spans


def _candidates(
    text: str, tokens: list[Token], labels: list[str], marginals: list[float]
) -> list[Candidate]:
    spans = _spans(labels)
    out: list[Candidate] = []
    for name, start, end in spans:
        if name == SUBJECT:
            continue
        subject = _subject_before(text, tokens, spans, start)
        if subject == _UNKNOWN:
            continue
        confidence = sum(marginals[start:end]) / (end - start)
        obj = text[tokens[start].start : tokens[end - 1].end]
        out.append(Candidate(subject, name, start, end, obj, confidence))
    return out


def _subject_before(
    text: str, tokens: list[Token], spans: list[tuple[str, int, int]], start: int
) -> str | None:
    """Who a span at `start` is about: None for the speaker, else a person's name."""
    named = {s: (name, e) for name, s, e in spans}
    sentence = tokens[start].sentence
    k = start - 1
    relative = False  # "my son …": the clause is about someone of mine, not me
    while k >= 0 and tokens[k].sentence == sentence:
        word = tokens[k].text.lower().replace("\u2019", "'")
        if word in ("my", "our") and k + 1 < start and _is_kin_word(tokens[k + 1].text):
            relative = True
        elif word in FIRST_PERSON:
            return _UNKNOWN if relative else None
        if word in THIRD_PERSON:
            return _last_person(text, tokens, spans, k) or _UNKNOWN
        for s, (name, e) in named.items():
            if s <= k < e and tokens[s].text[:1].isupper() and is_person(name):
                return text[tokens[s].start : tokens[e - 1].end]
        k -= 1
    return _UNKNOWN


def _last_person(
    text: str, tokens: list[Token], spans: list[tuple[str, int, int]], before: int
) -> str | None:
    best: tuple[int, int] | None = None
    for name, s, e in spans:
        if e <= before and tokens[s].text[:1].isupper() and is_person(name):
            best = (s, e)
    return text[tokens[best[0]].start : tokens[best[1] - 1].end] if best else None


_KIN = frozenset(
    [
        "partner",
        "wife",
        "husband",
        "boyfriend",
        "girlfriend",
        "fiance",
        "fiancee",
        "spouse",
        "son",
        "daughter",
        "brother",
        "sister",
        "mother",
        "father",
        "grandmother",
        "grandfather",
        "friend",
        "boss",
        "manager",
        "roommate",
        "cousin",
        "aunt",
        "uncle",
        "niece",
        "nephew",
        "child",
        "coworker",
        "colleague",
        "neighbor",
        "grandson",
        "granddaughter",
        "twin",
        "coach",
    ]
)
_KIN_WORDS = _KIN | frozenset(
    [
        "mom",
        "mum",
        "mother",
        "dad",
        "father",
        "parent",
        "kid",
        "children",
        "baby",
        "grandma",
        "grandpa",
        "family",
        "neighbor",
        "husband's",
        "wife's",
        "best",
        "ex",
        "boss's",
        "team",
        "teacher",
        "doctor",
        "neighbour",
        "flatmate",
        "fiancé",
        "fiancée",
        "cat",
        "dog",
        "puppy",
        "kitten",
        "pet",
        "hamster",
        "parrot",
    ]
)


def _is_kin_word(word: str) -> bool:
    word = word.lower()
    return word in _KIN_WORDS or (word.endswith("s") and word[:-1] in _KIN_WORDS)


def is_person(label: str) -> bool:
    """Whether a tag names a person (a subject, or a relative, friend or pet by name)."""
    return label in (SUBJECT, "best_friend") or label in _KIN or label.endswith("_in_law")


@cache
def shipped_tagger() -> RelationTagger:
    """The model in this package, loaded once."""
    return RelationTagger((files(__package__) / MODEL_FILE).read_bytes())
