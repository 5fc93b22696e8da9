"""A feature-based reranker that needs no model weights beyond the embedder's."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from ...engine.extract.dates import find_dates
from ..embedder import Vectors
from . import Candidate

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "after",
        "before",
        "did",
        "ever",
    ]
)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix-stripper, enough to let 'painting' meet 'paint' and 'dogs' meet 'dog'."""
    for suffix in ("ingly", "edly", "ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP}


@dataclass(frozen=True)
class RerankWeights:
    """What each feature of `LocalReranker.contributions` adds to a score per unit. Named, so
    no feature can take another's weight by its place in a list."""

    w_cosine: float = 0.15
    w_part: float = 0.45
    w_coverage: float = 0.4
    w_fused: float = 0.15
    w_date: float = 0.1
    w_day: float = 0.2
    w_pin: float = 0.02
    w_long: float = 0.5
    w_when: float = 0.1
    w_speaker: float = 0.06
    w_own: float = 0.2


class LocalReranker:
    name = "local"

    def __init__(self, weights: RerankWeights | None = None, long_words: int = 80) -> None:
        self.weights = weights if weights is not None else RerankWeights()
        self.long_words = long_words

    def score(self, query: str, query_vector: Vectors, candidates: list[Candidate]) -> list[float]:
        # The sum in the features' order: the same float as writing the terms out in one sum.
        return [
            sum(parts.values()) for parts in self.contributions(query, query_vector, candidates)
        ]

    def contributions(
        self, query: str, query_vector: Vectors, candidates: list[Candidate]
    ) -> list[dict[str, float]]:
        """Each candidate's score as its features' weighted parts (they add up to it)."""
        weights = self.weights
        q_stems = content_stems(query)
        q_words = {w.lower() for w in _WORD.findall(query)}
        asks_when = bool(_ASKS_WHEN.search(query))
        asks_what_you_said = bool(_ASKS_WHAT_YOU_SAID.search(query))
        # "What did you recommend…?": the answer is the assistant's own reply, often long, so
        # length is no reason to doubt it.
        w_long = 0.0 if asks_what_you_said else weights.w_long
        # "How many tanks do I have?": the user asks about their own life, which they told in
        # their own lines; the assistant's replies echo the topic in many more words.
        about_self = bool(_FIRST_PERSON.search(query)) and not asks_what_you_said
        q_dates = [d for d in find_dates(query, _anchor(candidates)) if not d.relative]
        scores: list[dict[str, float]] = []
        # Query words weigh by how rare they are among the candidates: a name that every
        # candidate mentions tells them apart less than a word only two of them share.
        stems = [content_stems(c.text) for c in candidates]
        n = len(candidates)
        idf = {s: math.log(1.0 + n / (1.0 + sum(s in st for st in stems))) for s in q_stems}
        total_idf = sum(idf.values())
        for index, cand in enumerate(candidates):
            cos = float(cand.vector @ query_vector) if cand.vector is not None else 0.0
            # The best-matching part (turn) of a composite item, or the item itself: one
            # relevant line is what makes a longer episode worth reading.
            part_scores = [float(p @ query_vector) for p in cand.part_vectors]
            part = max(part_scores, default=cos)
            # Who said the best-matching line: a question that names a speaker ("What did
            # Caroline decide…") is answered by that speaker's lines more often than by
            # lines addressed to them.
            best = part_scores.index(part) if part_scores else 0
            speaker = _speaker_of_line(cand.text, best)
            named = 1.0 if speaker and speaker in q_words else 0.0
            # A "when" question is answered by a line that says when something happened.
            dated = 1.0 if asks_when and _SAYS_WHEN.search(_DATE_PREFIX.sub("", cand.text)) else 0.0
            matched = q_stems & stems[index]
            coverage = sum(idf[s] for s in matched) / total_idf if total_idf else 0.0
            fused = 1.0 / (1.0 + cand.fused_rank / 10.0)
            date = day = 0.0
            if q_dates and cand.event_time is not None:
                # A month named in the question favours what was said that month; a full date
                # ("on 7 July 2023") favours what was said that very day.
                when = (cand.event_time.year, cand.event_time.month)
                date = max(1.0 if (d.when.year, d.when.month) == when else 0.0 for d in q_dates)
                on = cand.event_time.date()
                day = max(
                    1.0 if d.granularity == "day" and d.when.date() == on else 0.0 for d in q_dates
                )
            scores.append(
                {
                    "cosine": weights.w_cosine * cos,
                    "best part": weights.w_part * part,
                    "word coverage": weights.w_coverage * coverage,
                    "fused rank": weights.w_fused * fused,
                    "same month": weights.w_date * date,
                    "same day": weights.w_day * day,
                    "pinned": weights.w_pin * cand.pinned,
                    "length": -(w_long * _excess_length(cand.text, self.long_words)),
                    "says when": weights.w_when * dated,
                    "speaker named": weights.w_speaker * named,
                    "own words": weights.w_own * (about_self and cand.role == "user"),
                }
            )
        return scores


_ASKS_WHEN = re.compile(r"^\W*(when|what (year|month|date|day|time))\b|\bhow long ago\b", re.I)
_SAYS_WHEN = re.compile(
    r"\[[^\]]*\d{4}\]|\b(19|20)\d\d\b|\b(January|February|March|April|May|June|July|August"
    r"|September|October|November|December)\b|\b(yesterday|tomorrow|ago)\b"
    r"|\b(last|next) (week|weekend|month|year|night|summer|winter|spring|fall|autumn)\b"
)
_ASKS_WHAT_YOU_SAID = re.compile(
    r"\byou\b[^.?!]*\b(said|say|mention|recommend|suggest|told|tell|gave|give|provid|list"
    r"|explain|describ|shar|wrote|write)|\b(previous|last|earlier) (chat|conversation)",
    re.I,
)
# A question in the first person singular ("I", "my", "I've"…), as the user asks about
# themselves.
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself)\b", re.I)
_DATE_PREFIX = re.compile(r"^\[[^\]]*\]\s*")
_LINE_SPEAKER = re.compile(r"^(?:\[[^\]]*\]\s*)?([A-Z][\w .'-]{0,40}):\s")


def _speaker_of_line(text: str, index: int) -> str:
    """The first name of whoever speaks line `index` of an episode's text, lower-cased."""
    lines = text.split("\n")
    if index >= len(lines):
        return ""
    match = _LINE_SPEAKER.match(lines[index])
    return match.group(1).split()[0].lower() if match else ""


def _excess_length(text: str, words: int) -> float:
    """How far past a paragraph an item runs, on a log scale (0 up to `words` words).

    A long item matches more query words by chance and spends more of a reader's budget;
    between two items that match alike, the one that says it in fewer words should lead.
    """
    return max(0.0, math.log(max(1, len(text.split())) / words))


def _anchor(candidates: list[Candidate]) -> datetime:
    times = [c.event_time for c in candidates if c.event_time is not None]
    return max(times) if times else datetime.now(timezone.utc)
