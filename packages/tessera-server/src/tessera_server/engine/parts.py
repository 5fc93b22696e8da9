"""Long turns in parts: a turn too long for the embedder's window is searched part by part.

The turn itself is stored whole (it reads back as it was written); what search indexes is
its parts, each an episode (or, for a verbatim turn, a note) of its own that names the turn
it came from and which part of how many it is (`attrs["part"]`). A part is cut at the
coarsest boundary that keeps it within `part_chars`: paragraphs, then sentences, then
words, and only a single word longer than a part is cut mid-word. Cutting keeps every
character of the turn in exactly one part, whitespace at a cut aside.

Each part is embedded once (`turn_parts_embedded_once`): the turn's own vector (which the
turn-level search arms and a waiting turn's read-after-write rank by) is made from its first
part's text as that part is stored (a dated, attributed episode; a verbatim turn's note as
written: `narration.own_vector_text`), so the first part takes that vector instead of
embedding the same text again. The model reads only a turn's first 256 tokens, so the turn's
vector was already one of its first passage.

Why not embed the whole turn: the bundled embedder reads its first 256 tokens (about 1,000
characters of English) and ignores the rest, so a passage deep inside a pasted log or
document would never be found by meaning, and a reader's context budget would be spent on
the whole turn when one passage answers.
"""

from __future__ import annotations

import re
from typing import Any

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n")
_WORDS = re.compile(r"\s+")
PART_KEY = "part"


def _pieces(text: str, limit: int) -> list[str]:
    """`text` as pieces of at most `limit` characters, cut at the coarsest boundary."""
    if len(text) <= limit:
        return [text]
    for boundary in (_PARAGRAPHS, _SENTENCES, _WORDS):
        units = [u for u in boundary.split(text) if u.strip()]
        if len(units) > 1:
            glue = "\n\n" if boundary is _PARAGRAPHS else " " if boundary is _WORDS else "\n"
            return _pack(units, limit, glue if boundary is not _SENTENCES else " ")
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _pack(units: list[str], limit: int, glue: str) -> list[str]:
    """Consecutive units joined while they fit; a unit too long alone is cut finer."""
    out: list[str] = []
    current = ""
    for unit in units:
        unit = unit.strip()
        joined = f"{current}{glue}{unit}" if current else unit
        if len(joined) <= limit:
            current = joined
            continue
        if current:
            out.append(current)
        if len(unit) <= limit:
            current = unit
        else:
            finer = _pieces(unit, limit)
            out.extend(finer[:-1])
            current = finer[-1]
    if current:
        out.append(current)
    return out


def split_parts(text: str, part_chars: int) -> list[str]:
    """The parts search indexes for a turn: `[text]` when it fits in one, else pieces of at
    most `part_chars` characters, balanced so that the last is not a scrap."""
    stripped = text.strip()
    if len(stripped) <= part_chars:
        return [text]
    count = -(-len(stripped) // part_chars)
    # Aim a little above the even share, so that packing whole units rarely needs one
    # part more than the even split would.
    target = min(part_chars, int(len(stripped) / count * 1.15) + 1)
    parts = _pieces(stripped, target)
    return [p for p in parts if p.strip()]


def part_attrs(index: int, count: int) -> dict[str, Any]:
    """What a part episode records about its place in the turn (1-based index)."""
    return {PART_KEY: {"index": index, "count": count}}


def part_of(attrs: dict[str, Any]) -> tuple[int, int] | None:
    """`(index, count)` of a part episode, or None for an episode that is not a part."""
    value = attrs.get(PART_KEY)
    if not isinstance(value, dict):
        return None
    index, count = value.get("index"), value.get("count")
    if isinstance(index, int) and isinstance(count, int):
        return index, count
    return None
