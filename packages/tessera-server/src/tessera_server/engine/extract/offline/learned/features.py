"""Tokens and the features the relation tagger reads: one function, shared by training and use.

The features are the word, its shape and its neighbours, plus what came earlier in the
sentence (so "if", "would", "my friend thinks" or a question can switch a fact off), the
nearest pronoun before the word (who the clause is about), and whether the sentence is a
question. Nothing here knows a relation: the tagger learns which words carry which.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")
_SENTENCE_END = frozenset(".!?;")
# Who a clause is about. The speaker's own words ("I", "my", "we"), then the rest of the first
# person, the third person singular, and every pronoun the features mark.
FIRST_PERSON_LEAD = frozenset(
    ["i", "i'm", "i've", "i'd", "i'll", "im", "me", "my", "we", "we're", "we've", "our"]
)
FIRST_PERSON = FIRST_PERSON_LEAD | {"mine", "myself", "us"}
THIRD_PERSON = frozenset(["he", "he's", "his", "him", "she", "she's", "her", "hers"])
PRONOUNS = FIRST_PERSON | THIRD_PERSON | {"ours", "they", "they're", "their"}
_LOOK_BACK = 10


class Token(NamedTuple):
    text: str
    start: int
    end: int
    sentence: int


def tokenise(text: str) -> list[Token]:
    """Words and punctuation with their character offsets and sentence number."""
    tokens: list[Token] = []
    sentence = 0
    for match in _TOKEN.finditer(text):
        word = match.group()
        tokens.append(Token(word, match.start(), match.end(), sentence))
        if word in _SENTENCE_END:
            sentence += 1
    return tokens


def _shape(word: str) -> str:
    shape = re.sub(r"[A-Z]", "X", word)
    shape = re.sub(r"[a-z]", "x", shape)
    shape = re.sub(r"[0-9]", "d", shape)
    return re.sub(r"(.)\1+", r"\1\1", shape)


def _norm(word: str) -> str:
    return word.lower().replace("\u2019", "'")


def features(tokens: list[Token]) -> list[list[str]]:
    """One list of string features per token (CRFsuite's item format)."""
    words = [_norm(t.text) for t in tokens]
    n = len(tokens)
    firsts: dict[int, str] = {}
    questions: set[int] = set()
    for i, tok in enumerate(tokens):
        firsts.setdefault(tok.sentence, words[i])
        if tok.text == "?":
            questions.add(tok.sentence)
    out: list[list[str]] = []
    for i, tok in enumerate(tokens):
        w = words[i]
        feats = [
            "bias",
            f"w={w}",
            f"shape={_shape(tok.text)}",
            f"suf3={w[-3:]}",
            f"suf2={w[-2:]}",
            f"pre3={w[:3]}",
            f"first={firsts[tok.sentence]}",
        ]
        if tok.text[:1].isupper():
            feats.append("title")
        if tok.text.isdigit():
            feats.append("digit")
        if tok.sentence in questions:
            feats.append("question")
        for off in (-3, -2, -1, 1, 2, 3):
            j = i + off
            if 0 <= j < n and tokens[j].sentence == tok.sentence:
                feats.append(f"w{off:+d}={words[j]}")
                if abs(off) == 1:
                    feats.append(f"t{off:+d}={'title' if tokens[j].text[:1].isupper() else 'low'}")
            elif abs(off) == 1:
                feats.append(f"w{off:+d}=<edge>")
        if i > 0 and tokens[i - 1].sentence == tok.sentence:
            feats.append(f"bi-={words[i - 1]}|{w}")
        if i + 1 < n and tokens[i + 1].sentence == tok.sentence:
            feats.append(f"bi+={w}|{words[i + 1]}")
        pronoun = "none"
        for j in range(i - 1, max(-1, i - 1 - _LOOK_BACK), -1):
            if tokens[j].sentence != tok.sentence:
                break
            feats.append(f"before={words[j]}")
            if pronoun == "none" and words[j] in PRONOUNS:
                pronoun = words[j]
        feats.append(f"pronoun={pronoun}")
        out.append(feats)
    return out
