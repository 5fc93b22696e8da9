"""How turns read as memory: an episode's text is its date, then who said what; a turn too
long to search whole reads as parts, each dated and attributed the same way.

Kept apart from consolidation because a turn's own vector is made from this text too, when
it is added (`own_vector_text`), before consolidation runs.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .extract.dates import annotate
from .parts import split_parts
from .records import TurnRecord

_SPEAKER_PREFIX = re.compile(r"^\s*([A-Z][\w .'-]{0,40}):\s")
ROLE_NAMES = {"user": "User", "assistant": "Assistant", "system": "System"}


def speaker_of(turn: TurnRecord) -> str:
    """Who said a turn: metadata `speaker`, a `Name:` prefix, else the role."""
    named = turn.metadata.get("speaker")
    if isinstance(named, str) and named.strip():
        return named.strip()[:60]
    match = _SPEAKER_PREFIX.match(turn.content)
    if match:
        return match.group(1).strip()
    return ROLE_NAMES.get(turn.role, turn.role.title())


def turn_line(turn: TurnRecord) -> str:
    """One line of narrative: the speaker, then what they said with dates resolved."""
    text = annotate(turn.content.strip(), turn.event_time)
    speaker = speaker_of(turn)
    if _SPEAKER_PREFIX.match(text) or text.lower().startswith(f"{speaker.lower()}:"):
        return text  # already says who speaks ("user: …" stays one prefix, not two)
    return f"{speaker}: {text}"


def narrate(turns: list[TurnRecord]) -> str:
    """The episode's text: its date, then who said what.

    The date is ISO (one word): it is on every episode a reader's context holds, so its
    length is paid many times over.
    """
    when = turns[0].event_time.date().isoformat()
    return f"[{when}] " + "\n".join(turn_line(t) for t in turns)


def narrate_parts(turns: list[TurnRecord], part_chars: int) -> list[str]:
    """An episode's text, or for a lone turn too long to search whole, one text per part
    (each dated and attributed like a whole episode)."""
    if len(turns) == 1:
        pieces = split_parts(turns[0].content, part_chars)
        if len(pieces) > 1:
            return [narrate([replace(turns[0], content=piece)]) for piece in pieces]
    return [narrate(turns)]


def own_vector_text(turn: TurnRecord, part_chars: int, embedded_once: bool) -> str:
    """What a turn's own vector is made from: the turn itself (the model reads its first 256
    tokens); or, when a long turn's parts are embedded once, its first part's text as it will
    be stored, so that the part shares the vector: narrated for a turn to be consolidated
    (its first part's episode), as written for a verbatim turn (its first note)."""
    if not embedded_once:
        return turn.content
    pieces = split_parts(turn.content, part_chars)
    if len(pieces) == 1:
        return turn.content
    return narrate([replace(turn, content=pieces[0])]) if turn.infer else pieces[0]
