"""The deterministic offline extractor: patterns over first- and third-person statements.

It needs no network and gives the same output for the same turns. It recognises a fixed
catalogue of statement shapes ("I live in Berlin", "my partner's name is Sam", "Caroline
moved to Boston", "I'm going to Paris next week"); anything phrased otherwise is left to
the episode text and to the LLM extractor when one is configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from . import ExtractedFact, ExtractedForesight, Extraction, TurnView
from .dates import find_dates, later

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
# Where an object phrase ends: punctuation or a clause boundary.
_OBJECT_END = re.compile(
    r"[,.;:!?()\"]|\s(?:and|but|because|since|so|which|who|when|while|where|though|although|"
    r"if|as|after|before|until|or|with|for|now|these days|nowadays|anymore|any more|last|next|"
    r"this|yesterday|today|tomorrow|tonight|ago|right now|at the moment|in \d{4}|on \w+day)(?=\W|$)",
    re.IGNORECASE,
)
_NAME = r"(?-i:[A-Z][\w'-]+(?:\s[A-Z][\w'-]+)?)"
_FAMILY = (
    r"partner|wife|husband|boyfriend|girlfriend|fiance|fiancee|spouse|son|daughter|brother|"
    r"sister|mother|father|mom|mum|dad|grandma|grandmother|grandpa|grandfather|best friend|"
    r"friend|boss|manager|roommate|dog|cat|puppy|kitten|pet|baby|kid|child|cousin|aunt|uncle"
)


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    relation: str
    phrase: str  # how the fact reads: "{s} lives in {o}"
    functional: bool
    confidence: float = 0.8
    negated: bool = False


def _rule(
    regex: str,
    relation: str,
    phrase: str,
    functional: bool,
    confidence: float = 0.8,
    negated: bool = False,
) -> Rule:
    return Rule(re.compile(regex, re.IGNORECASE), relation, phrase, functional, confidence, negated)


_I = r"\b(?:I|i)(?:'m|\s+am)"
# First-person rules; `(?P<o>...)` is the object, cut at the first clause boundary.
FIRST_PERSON: tuple[Rule, ...] = (
    _rule(
        r"\bI\s+(?:no\s+longer|don't|do\s+not)\s+live\s+in\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        negated=True,
    ),
    _rule(
        r"\bI\s+(?:now\s+|currently\s+)?(?:live|reside|am\s+living|'m\s+living)\s+in\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
    ),
    _rule(
        r"\bI(?:'ve|\s+have)?\s+(?:just\s+)?(?:moved|relocated)\s+to\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
    ),
    _rule(rf"{_I}\s+(?:originally\s+)?from\s+(?P<o>.+)", "from", "{s} is from {o}", True),
    _rule(r"\bI\s+grew\s+up\s+in\s+(?P<o>.+)", "grew_up_in", "{s} grew up in {o}", True),
    _rule(r"\bI\s+(?:now\s+)?work\s+(?:at|for)\s+(?P<o>.+)", "works_at", "{s} works at {o}", True),
    _rule(r"\bI\s+work\s+as\s+(?:an?\s+)?(?P<o>.+)", "works_as", "{s} works as {o}", True),
    _rule(
        rf"{_I}\s+(?:an?\s+)(?P<o>(?:\w+\s)?(?:engineer|developer|teacher|nurse|doctor|designer|writer|artist|student|lawyer|manager|scientist|chef|musician|counselor|counsellor|painter|photographer|consultant|accountant|programmer|researcher|architect|therapist|social worker))\b",
        "works_as",
        "{s} works as {o}",
        True,
        0.7,
    ),
    _rule(r"\bmy\s+name\s+is\s+(?P<o>" + _NAME + ")", "name", "{s}'s name is {o}", True, 0.9),
    _rule(rf"{_I}\s+(?P<o>\d{{1,3}})\s+years?\s+old", "age", "{s} is {o} years old", True, 0.9),
    _rule(
        r"\bmy\s+birthday\s+is\s+(?:on\s+)?(?P<o>.+)",
        "birthday",
        "{s}'s birthday is {o}",
        True,
        0.9,
    ),
    _rule(
        rf"\bmy\s+(?P<r>{_FAMILY})(?:'s|\s+is)?\s+(?:name\s+is\s+|called\s+|named\s+)(?P<o>{_NAME})",
        "{r}",
        "{s}'s {r} is {o}",
        True,
        0.85,
    ),
    _rule(
        r"\bmy\s+fav(?:ou?rite)?\s+(?P<r>[a-z]+(?:\s[a-z]+)?)\s+(?:is|are)\s+(?P<o>.+)",
        "favorite_{r}",
        "{s}'s favorite {r} is {o}",
        True,
    ),
    _rule(r"\bI\s+(?:really\s+)?prefer\s+(?P<o>.+)", "prefers", "{s} prefers {o}", False),
    _rule(
        r"\bI\s+(?:really\s+|absolutely\s+)?(?:love|adore|enjoy)\s+(?P<o>.+)",
        "likes",
        "{s} loves {o}",
        False,
        0.7,
    ),
    _rule(r"\bI\s+(?:really\s+)?like\s+(?P<o>.+)", "likes", "{s} likes {o}", False, 0.6),
    _rule(
        r"\bI\s+(?:really\s+)?(?:hate|dislike|can't\s+stand)\s+(?P<o>.+)",
        "dislikes",
        "{s} dislikes {o}",
        False,
        0.7,
    ),
    _rule(
        rf"{_I}\s+allergic\s+to\s+(?P<o>.+)", "allergic_to", "{s} is allergic to {o}", False, 0.9
    ),
    _rule(
        rf"{_I}\s+(?:a\s+)?(?P<o>vegan|vegetarian|pescatarian)\b", "diet", "{s} is {o}", True, 0.85
    ),
    _rule(
        rf"{_I}\s+(?P<o>married|single|engaged|divorced|widowed)\b",
        "relationship_status",
        "{s} is {o}",
        True,
        0.85,
    ),
    _rule(r"\bI\s+speak\s+(?P<o>.+)", "speaks", "{s} speaks {o}", False),
    _rule(
        rf"(?:{_I}|\bI've\s+been)\s+(?:studying|learning)\s+(?P<o>.+)",
        "studies",
        "{s} is learning {o}",
        False,
        0.7,
    ),
    _rule(
        r"\bI\s+(?:have|own)\s+(?P<o>(?:a|an|two|three|four|\d+)\s+(?:dogs?|cats?|kids|children|sons?|daughters?|cars?|bikes?|horses?|pets?)\b.*)",
        "has",
        "{s} has {o}",
        False,
        0.75,
    ),
    _rule(
        r"\bI\s+(?:play|played)\s+(?:the\s+)?(?P<o>(?:guitar|piano|violin|drums|cello|flute|saxophone|soccer|football|tennis|basketball|chess|golf)\b)",
        "plays",
        "{s} plays {o}",
        False,
        0.75,
    ),
)

# Third-person rules over "<Name> <verb> ...".
THIRD_PERSON: tuple[Rule, ...] = (
    _rule(
        rf"\b(?P<s>{_NAME})\s+(?:now\s+)?lives\s+in\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        0.7,
    ),
    _rule(
        rf"\b(?P<s>{_NAME})\s+(?:has\s+)?(?:moved|relocated)\s+to\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        0.7,
    ),
    _rule(
        rf"\b(?P<s>{_NAME})\s+works\s+(?:at|for)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        0.7,
    ),
    _rule(
        rf"\b(?P<s>{_NAME})\s+works\s+as\s+(?:an?\s+)?(?P<o>.+)",
        "works_as",
        "{s} works as {o}",
        True,
        0.7,
    ),
    _rule(rf"\b(?P<s>{_NAME})\s+is\s+from\s+(?P<o>.+)", "from", "{s} is from {o}", True, 0.7),
)

_PLAN = re.compile(
    r"\b(?:I|we)(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'re\s+going\s+to|\s+are\s+going\s+to|"
    r"\s+plan\s+to|'m\s+planning\s+(?:to|on)|\s+am\s+planning\s+(?:to|on)|\s+intend\s+to|"
    r"'m\s+hoping\s+to|\s+hope\s+to|\s+want\s+to|'d\s+like\s+to|\s+would\s+like\s+to|"
    r"\s+have\s+to|\s+need\s+to)\s+(?P<what>.+)",
    re.IGNORECASE,
)
_DEADLINE = re.compile(
    r"\b(?:deadline|due\s+(?:on|by|date)|submit\s+.*\bby|finish\s+.*\bby|by\s+the\s+end\s+of)\b",
    re.IGNORECASE,
)
_TEMPORARY = re.compile(
    r"\b(?:I|i)(?:'m|\s+am)\s+(?:currently\s+|temporarily\s+|still\s+)?(?P<state>(?:sick|ill|"
    r"travel(?:l)?ing|away|on\s+(?:vacation|holiday|leave|a\s+trip)|out\s+of\s+(?:town|office)|"
    r"recovering|injured|staying\s+(?:at|with|in)|visiting|busy\s+with|pregnant|fasting|"
    r"on\s+a\s+diet)\b.*)",
    re.IGNORECASE,
)
_NOISE_OBJECT = re.compile(r"^(?:it|that|this|them|to|you|a|the|so|too|very|much|doing)$", re.I)


def _clip(text: str, max_words: int = 8) -> str:
    end = _OBJECT_END.search(text)
    if end:
        text = text[: end.start()]
    words = text.strip().split()
    return " ".join(words[:max_words]).strip(" '\"")


def _fill(template: str, **parts: str) -> str:
    return template.format(**parts)


class OfflineExtractor:
    """Pattern-based extraction; the default when no LLM is configured."""

    name = "offline"

    def extract(self, turns: list[TurnView]) -> Extraction:
        out = Extraction()
        for turn in turns:
            for sentence in _SENTENCE.split(turn.text):
                sentence = sentence.strip()
                if sentence:
                    out.facts.extend(self._facts(turn, sentence))
                    out.foresight.extend(self._foresight(turn, sentence))
        return out

    def _facts(self, turn: TurnView, sentence: str) -> list[ExtractedFact]:
        found: list[ExtractedFact] = []
        seen: set[str] = set()
        # A question ("do you live in Berlin?") states nothing.
        if sentence.rstrip().endswith("?"):
            return found
        for rule in FIRST_PERSON + THIRD_PERSON:
            for match in rule.pattern.finditer(sentence):
                groups = match.groupdict()
                subject = groups.get("s") or turn.speaker
                if groups.get("s") and subject.split()[0] in {
                    "I",
                    "We",
                    "You",
                    "They",
                    "He",
                    "She",
                    "It",
                    "My",
                    "The",
                    "This",
                    "That",
                }:
                    continue
                obj = _clip(groups["o"])
                if not obj or _NOISE_OBJECT.match(obj):
                    continue
                rel_word = (groups.get("r") or "").lower()
                relation = rule.relation.format(r=rel_word.replace(" ", "_"))
                if relation in seen:
                    continue
                seen.add(relation)
                text = _fill(rule.phrase, s=subject, o=obj, r=rel_word)
                found.append(
                    ExtractedFact(
                        subject=subject,
                        relation=relation,
                        object=obj,
                        text=text,
                        confidence=rule.confidence,
                        functional=rule.functional,
                        turn_index=turn.index,
                        t_valid=turn.event_time,
                        negated=rule.negated,
                    )
                )
        return found

    def _foresight(self, turn: TurnView, sentence: str) -> list[ExtractedForesight]:
        dates = [d for d in find_dates(sentence, turn.event_time) if d.when > turn.event_time]
        due = dates[0].when if dates else None
        content = f"{turn.speaker}: {sentence}"
        # `later` saturates, so a date near the end of the calendar never overflows.
        if _DEADLINE.search(sentence):
            expires = later(due or later(turn.event_time, 14), 1)
            return [ExtractedForesight("deadline", content, turn.index, due, expires)]
        if _PLAN.search(sentence) and not sentence.rstrip().endswith("?"):
            expires = later(due, 1) if due else later(turn.event_time, 30)
            return [ExtractedForesight("plan", content, turn.index, due, expires)]
        if _TEMPORARY.search(sentence):
            expires = later(due or later(turn.event_time, 7), 1)
            return [ExtractedForesight("temporary_state", content, turn.index, due, expires)]
        if due is not None and any(d.relative for d in dates):
            # A dated future event mentioned in passing ("the concert is next Friday").
            return [ExtractedForesight("plan", content, turn.index, due, later(due, 1))]
        return []


def foresight_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
