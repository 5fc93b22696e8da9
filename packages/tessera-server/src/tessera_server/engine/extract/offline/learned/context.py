"""Whether the words around a tagged span state something: the rules' own cues, reused.

The tagger learns where facts sit in statements like the ones it was trained on, but its
features reach only ten words back, so a question mark at the end, an "if" or "my kids
think" far before, a joke or a quotation can escape it. A candidate it finds is kept only
if its sentence is not a question, a joke or sarcasm, it is not inside quotation marks,
and the words before it carry none of the cues the rules use for hypotheticals, other
people's beliefs about the speaker, distancing ("not that", "feels like") or a question's
auxiliary.
"""

from __future__ import annotations

from ..text import (
    JOKE,
    QUOTED,
    REPORTED_ABOUT_ME,
    SARCASM,
    held_apart,
    hypothetical,
    tidy,
)
from .features import FIRST_PERSON_LEAD, Token

# Between the speaker and the object: a past state, a hedge, a plan or a wish states no
# present fact ("I lived in Dublin", "I'm thinking about studying law", "I might be …").
_NOT_NOW = frozenset(
    [
        "used",
        "had",
        "lived",
        "worked",
        "interviewed",
        "applied",
        "was",
        "were",
        "did",
        "i'd",
        "we'd",
        "would",
        "could",
        "should",
        "might",
        "may",
        "maybe",
        "perhaps",
        "probably",
        "thinking",
        "considering",
        "hoping",
        "hope",
        "want",
        "wanted",
        "wants",
        "planning",
        "plan",
        "going",
        "will",
        "i'll",
        "we'll",
        "someday",
        "dream",
    ]
)
# A request to write, translate or role-play is about someone made up.
_REQUEST = frozenset(
    [
        "write",
        "draft",
        "tell",
        "give",
        "translate",
        "pretend",
        "imagine",
        "roleplay",
        "role-play",
        "create",
        "generate",
        "make",
        "compose",
        "suggest",
        "describe",
        "act",
        "play",
    ]
)
_LONGEST = 5  # tokens: a longer "object" is a clause the tagger ran on into


def stated(text: str, tokens: list[Token], start: int, end: int) -> bool:
    """Whether the span of tokens `start` to `end` sits in a part that states something."""
    if end - start > _LONGEST:
        return False
    sentence = tokens[start].sentence
    first = next(k for k in range(start + 1) if tokens[k].sentence == sentence)
    last = max(k for k in range(start, len(tokens)) if tokens[k].sentence == sentence)
    whole = text[tokens[first].start : tokens[last].end]
    if whole.rstrip().endswith("?") or JOKE.search(whole) or SARCASM.search(whole):
        return False
    if tokens[first].text.lower() in _REQUEST:
        return False
    before = text[tokens[first].start : tokens[start].start]
    if before.count('"') % 2 or any(
        m.start() <= tokens[start].start - tokens[first].start < m.end()
        for m in QUOTED.finditer(whole)
    ):
        return False
    if hypothetical(tidy(before)):
        return False
    for k in range(start - 1, first - 1, -1):
        word = tokens[k].text.lower().replace("\u2019", "'")
        if word in _NOT_NOW or word in ("which", "whose"):
            return False
        if word in FIRST_PERSON_LEAD:
            lead = tidy(text[tokens[first].start : tokens[k].start])
            return not (REPORTED_ABOUT_ME.search(lead) or held_apart(lead))
    return True
