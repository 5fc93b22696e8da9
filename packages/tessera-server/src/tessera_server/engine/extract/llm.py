"""The LLM extractor: one structured-output call per batch, offline extractor as fallback.

A malformed answer is retried once; if the second answer is still unusable the batch is
extracted offline instead, so no turn is lost or left unconsolidated because a model
misbehaved. Every call the model answered is counted in `llm_calls` (an unreachable
endpoint counts none).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ...providers.llm import ChatModel, ChatModelError
from . import ExtractedFact, ExtractedForesight, Extraction, Extractor, TurnView
from .dates import find_dates, foresight_expiry

log = logging.getLogger("tessera.extract")

SYSTEM = (
    "You extract long-term memory from a conversation. Return JSON only. For each durable "
    "statement about a person (where they live, work, relationships, preferences, "
    "possessions, traits) give a fact: subject (the person's name as given; a turn's speaker "
    "for 'I'; 'User' when an unnamed user speaks), a snake_case relation, the object, a "
    "one-sentence text, confidence 0..1, functional (true when a person has one value at a "
    "time, e.g. lives_in), negated (true when the statement says it is no longer true) and "
    "the index of the turn it came from. Prefer these relations: lives_in, from, grew_up_in, "
    "visited, works_at, works_as, studies_at, studies, graduated_from, name, age, birthday, "
    "relationship_status, diet, allergic_to, speaks, plays, hobby, likes, dislikes, prefers, "
    "has, has_pet, pet (a pet's name), favorite_<thing>, and family roles such as partner, "
    "wife, husband, sister, son, best_friend (object: the person's name). Skip questions, "
    "hypotheticals, jokes, sarcasm and what others merely suggest. For plans, deadlines and "
    "temporary states give foresight with kind plan|deadline|temporary_state, content, turn "
    "index and due date (ISO 8601 date resolved against the turn's date, or null); for a "
    "temporary state the due date is when it ends."
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["facts", "foresight"],
    "properties": {
        "facts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "subject",
                    "relation",
                    "object",
                    "text",
                    "confidence",
                    "functional",
                    "negated",
                    "turn",
                ],
                "properties": {
                    "subject": {"type": "string"},
                    "relation": {"type": "string"},
                    "object": {"type": "string"},
                    "text": {"type": "string"},
                    "confidence": {"type": "number"},
                    "functional": {"type": "boolean"},
                    "negated": {"type": "boolean"},
                    "turn": {"type": "integer"},
                },
            },
        },
        "foresight": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "content", "turn", "due"],
                "properties": {
                    "kind": {"type": "string", "enum": ["plan", "deadline", "temporary_state"]},
                    "content": {"type": "string"},
                    "turn": {"type": "integer"},
                    "due": {"type": ["string", "null"]},
                },
            },
        },
    },
}


class MalformedAnswer(Exception):
    """An answer that does not fit the schema. Its message is a fixed phrase, never a value
    from the answer: the model's text is steerable by the turns it reads, so quoting it would
    put memory content (or an attacker's text) into the log."""


def _prompt(turns: list[TurnView]) -> str:
    lines = [
        f"[{t.index}] ({t.event_time.strftime('%Y-%m-%d %H:%M')}) {t.speaker}: {t.text}"
        for t in turns
    ]
    return "Conversation turns:\n" + "\n".join(lines)


def _due(value: Any, turn: TurnView) -> datetime | None:
    """An ISO date or datetime; a phrase ("next Friday") is read against the turn's time."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        due = datetime.fromisoformat(text)
    except ValueError:
        mentions = find_dates(text, turn.event_time, prefer="future")
        return mentions[0].when if mentions else None
    if due.tzinfo is None:
        due = due.replace(tzinfo=turn.event_time.tzinfo)
    return due


def _parse(answer: dict[str, Any], turns: list[TurnView]) -> Extraction:
    by_index = {t.index: t for t in turns}
    out = Extraction()
    try:
        for f in answer["facts"]:
            turn = by_index[int(f["turn"])]
            if not str(f["object"]).strip() or not str(f["relation"]).strip():
                continue  # an empty fact says nothing; it does not spoil the rest
            out.facts.append(
                ExtractedFact(
                    subject=str(f["subject"]).strip()[:80] or turn.speaker,
                    relation=str(f["relation"]).strip().lower().replace(" ", "_")[:60],
                    object=str(f["object"]).strip()[:200],
                    text=str(f["text"]).strip()[:500],
                    confidence=min(1.0, max(0.0, float(f["confidence"]))),
                    functional=bool(f["functional"]),
                    turn_index=turn.index,
                    t_valid=turn.event_time,
                    negated=bool(f["negated"]),
                )
            )
        for s in answer["foresight"]:
            turn = by_index[int(s["turn"])]
            due = _due(s.get("due"), turn)
            kind = str(s["kind"])
            if kind not in ("plan", "deadline", "temporary_state"):
                raise MalformedAnswer("a foresight item has an unknown kind")
            expires = foresight_expiry(kind, turn.event_time, due)
            out.foresight.append(
                ExtractedForesight(kind, str(s["content"])[:500], turn.index, due, expires)
            )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise MalformedAnswer(f"a field is missing or mistyped ({type(exc).__name__})") from exc
    return out


class LLMExtractor:
    name = "llm"

    def __init__(self, model: ChatModel, fallback: Extractor) -> None:
        self.model = model
        self.fallback = fallback

    def extract(self, turns: list[TurnView]) -> Extraction:
        calls = 0
        for attempt in range(1, 3):
            try:
                answer = self.model.complete_json(
                    SYSTEM, _prompt(turns), "memory_extraction", SCHEMA
                )
                calls += 1
                result = _parse(answer, turns)
            except (ChatModelError, MalformedAnswer) as exc:
                if isinstance(exc, ChatModelError):
                    # Only a call the model answered counts: an unreachable endpoint must not
                    # read as LLM extraction that worked (the offline extractor did the work).
                    calls += int(exc.answered)
                # Classes and counts only: see MalformedAnswer.
                log.warning(
                    "LLM extraction attempt %d of %d turn(s) failed: %s",
                    attempt,
                    len(turns),
                    type(exc).__name__,
                )
                continue
            result.llm_calls = calls
            return result
        result = self.fallback.extract(turns)
        result.llm_calls = calls
        return result
