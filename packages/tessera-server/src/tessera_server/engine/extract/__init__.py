"""Extractors read a batch of turns and propose facts and foresight.

Two implementations sit behind `Extractor`: the deterministic offline one (the default,
no network) and one that asks an OpenAI-compatible chat model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TurnView:
    """What an extractor sees of a turn."""

    index: int
    speaker: str
    role: str
    text: str
    event_time: datetime


@dataclass(frozen=True)
class ExtractedFact:
    subject: str
    relation: str
    object: str
    text: str
    confidence: float
    functional: bool
    turn_index: int
    t_valid: datetime
    negated: bool = False


@dataclass(frozen=True)
class ExtractedForesight:
    kind: str  # plan | deadline | temporary_state
    content: str
    turn_index: int
    due_at: datetime | None
    expires_at: datetime | None


@dataclass
class Extraction:
    facts: list[ExtractedFact] = field(default_factory=list)
    foresight: list[ExtractedForesight] = field(default_factory=list)
    llm_calls: int = 0


class Extractor(Protocol):
    name: str

    def extract(self, turns: list[TurnView]) -> Extraction: ...
