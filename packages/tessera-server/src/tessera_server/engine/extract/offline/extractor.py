"""The deterministic offline extractor: patterns over first- and third-person statements.

It needs no network and gives the same output for the same turns. It works sentence by
sentence:

1. The text is tidied (curly quotes, contractions: "I'm" → "I am", "don't" → "do not") and
   split into sentences; quoted speech, jokes ("lol"), sarcasm ("Oh great, I just love…")
   and the question part of a question are set aside.
2. Subjects are found: "I"/"we" (the speaker: their name, or "User"), a capitalised name,
   "my sister Ana" (which also says who Ana is), and "he"/"she" (the last person named in
   the same turn). A subject under "if" (up to a later "but"), "wish", "imagine", "not
   that", a question's auxiliary ("should I …") or someone else's belief ("my kids think
   I …") states nothing.
3. After a subject, a negation is noted and removed ("does not live in" → negated
   "lives in") and a catalogue of verb phrases is tried ("live(s) in", "work(s) at",
   "am a nurse", "visited", "am allergic to", …). Objects are clipped at clause
   boundaries and time phrases ("Boston four years ago" → "Boston"); list relations split
   "peanuts and shellfish" into two facts.
4. Foresight: plans (future tense, or a present tense with a future date), deadlines and
   temporary states, with the due date resolved against the turn's time (`dates.py`).

What it cannot do is listed in `bench/extraction/README.md`, with its measured precision
and recall; anything phrased outside the catalogue is left to the episode text and to the
LLM extractor when one is configured.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from .. import ExtractedFact, Extraction, TurnView
from .foresight import foresight
from .learned import RelationTagger, Thresholds, revise, shipped_tagger
from .objects import (
    DEFINITE_REFERENCE,
    GENERIC_PLACE,
    UNPARSED_SKILL,
    acceptable,
    clip,
    list_items,
    name_modifies_noun,
    names_organisation,
    names_place,
    proper_or_clip,
    strip_leading,
)
from .patterns import (
    AND_NAMED,
    ATTRIBUTE,
    ATTRIBUTE_RELATION,
    BARE_VERB,
    BIRTHDAY,
    CLAUSE_START,
    CONTINUATION,
    COPULA_SLOT,
    CUT_GERUND,
    DATE_OBJECT,
    DENIAL,
    EMBEDDED,
    ENDED,
    FAMILY_APPOSITION,
    FAMILY_NAMED,
    FAVORITE,
    FAVORITE_REVERSED,
    FRAGMENT,
    HAVE_NAMED,
    HERE_INTRO,
    HOBBIES,
    HOME_IS,
    IMPLICIT,
    JOINT,
    JOKE_ALLERGEN,
    KIN_IS,
    MEET,
    MODAL,
    MY_NAME,
    MY_PASSION,
    MY_THING,
    NAME_THEN_ROLE,
    NATIONALITY,
    NEVER,
    NOT_MY_THING,
    OBJECT_SLOT,
    OUR_PETS,
    PARTICIPLE,
    PET_IS,
    PET_LIST,
    PLACE_CALLED,
    PLACE_RELATIONS,
    ROLE_INTRO,
    SUBJECT,
    THEIR_NAME,
    UNNAMED_KIN,
    VOCATIVE_BEFORE,
    YUCK,
)
from .relations import RELATIONS
from .rules import FREE_TIME, FREE_TIME_RULE, LEAD_ADVERBS, NEGATION, RULES, Rule, singular
from .text import (
    IRREALIS,
    JOKE,
    QUOTED,
    REPORTED_ABOUT_ME,
    SARCASM,
    SENTENCE,
    SPEAKER_PREFIX,
    declarative_parts,
    held_apart,
    hypothetical,
    tidy,
    window,
)
from .vocabulary import (
    ACTIVITY_NOUNS,
    DEMONYMS,
    DIETS,
    FUNCTIONAL_KIN,
    JOB,
    KIN_CANONICAL,
    NAME,
    NOT_NAMES,
    NUMBER_WORDS,
    PETS,
)

_SIDEWAYS_TASTES = ((MY_THING, "likes"), (NOT_MY_THING, "dislikes"), (YUCK, "dislikes"))
# "Nurse here", "Vegan here": what the speaker is, not a name.
_A_KIND = re.compile(rf"(?:{JOB}|{DIETS})", re.IGNORECASE)
# A count that opens a verbless part: "… divorced, two kids, …".
_COUNTED = re.compile(rf"(?:{NUMBER_WORDS}|\d+)\s", re.IGNORECASE)
# Relations stated as "I'm a <noun>", after which "who …" still means the speaker.
_SELF_NOUNS = frozenset({"works_as", "diet"})
_HOME_RELATIONS = frozenset({"lives_in", "from", "grew_up_in"})
PASTIMES = frozenset(ACTIVITY_NOUNS.values())
_CLAUSE_CHARS = 400
_MAX_SUBJECTS = 64  # per sentence; real sentences have a handful
_MAX_CONTINUATIONS = 8  # "I'm divorced and have one daughter and …"


@dataclass
class _Context:
    """What one turn's extraction needs to remember between sentences."""

    turn: TurnView
    speaker: str
    first_person: bool  # may "I" and "we" state facts (not the assistant talking)
    last_person: str | None = None
    # The pet or child last mentioned without a name, for "… his name is Bruno".
    last_unnamed: tuple[str, str] | None = None


class _Opening(NamedTuple):
    """How a subject's clause opened: after "in my free time", with the subject left out
    ("Currently studying …"), or with a third-person subject."""

    free_time: bool
    implicit: bool
    third: bool


_PLAIN = _Opening(False, False, False)


class _Denial(NamedTuple):
    """A negation removed before the verb, and whether it closes nothing ("never", a bare
    "I'm not a doctor")."""

    negated: bool
    never: bool


class OfflineExtractor:
    """Pattern-based extraction; the default when no LLM is configured."""

    name = "offline"

    def __init__(
        self,
        *,
        learned: bool = False,
        tagger: RelationTagger | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        """`learned=True` lets the relation tagger add facts (`TESSERA_OFFLINE_TAGGER`); the
        default is the hand rules alone, which are more precise on the blind sets."""
        self._learned = learned
        self._tagger = tagger
        self._thresholds = thresholds or Thresholds()

    def extract(self, turns: list[TurnView]) -> Extraction:
        out = Extraction()
        for turn in turns:
            text = SPEAKER_PREFIX.sub("", turn.text, count=1)
            ctx = _Context(turn, turn.speaker, turn.role != "assistant")
            seen: set[tuple[str, str, str, bool]] = set()
            facts: list[ExtractedFact] = []
            for raw in SENTENCE.split(text):
                raw = raw.strip()
                if not raw:
                    continue
                sentence = tidy(raw)
                for fact in self._facts(ctx, sentence):
                    key = (fact.subject.lower(), fact.relation, fact.object.lower(), fact.negated)
                    if key not in seen:
                        seen.add(key)
                        facts.append(fact)
                if ctx.first_person:  # the assistant's own plans ("I'm going to…") are not memory
                    out.foresight.extend(foresight(turn, ctx.speaker, raw, sentence))
            if self._learned and ctx.first_person:
                tagger = self._tagger or shipped_tagger()
                facts = revise(
                    tagger.tag(text),
                    ctx.speaker,
                    facts,
                    functools.partial(self._learned_fact, ctx),
                    self._thresholds,
                )
            out.facts.extend(facts)
        return out

    def _learned_fact(
        self, ctx: _Context, subject: str, relation: str, obj: str, confidence: float
    ) -> ExtractedFact | None:
        """A fact the tagger found, read like the rules' facts of that relation."""
        obj = re.sub(r"^(?:a|an|the|my|our)\s+", "", obj.strip(" ,.;:!?\"'"), flags=re.IGNORECASE)
        if not obj:
            return None
        conf = min(0.7, confidence)  # below the rules' constants: learned, not catalogued
        if relation in RELATIONS:
            return self._stated(ctx, subject, relation, obj, conf)
        if relation.startswith("favorite_"):
            words = relation.removeprefix("favorite_").replace("_", " ")
            return self._fact(
                ctx, subject, relation, obj, f"{{s}}'s favorite {words} is {{o}}", True, conf
            )
        if relation == "pet":
            return self._fact(ctx, subject, "pet", obj, "{s}'s pet is {o}", False, conf)
        words = relation.replace("_", " ")
        return self._fact(
            ctx,
            subject,
            relation,
            obj,
            f"{{s}}'s {words} is {{o}}",
            relation in FUNCTIONAL_KIN,
            conf,
        )

    # -- facts ----------------------------------------------------------------------------

    def _facts(self, ctx: _Context, sentence: str) -> list[ExtractedFact]:
        if JOKE.search(sentence) or SARCASM.search(sentence):
            return []
        found: list[ExtractedFact] = []
        parts = declarative_parts(sentence)
        for part in parts:
            part = QUOTED.sub(" … ", part)
            found.extend(self._possessive_facts(ctx, part))
            found.extend(self._role_intro_facts(ctx, part))
            found.extend(self._fragment_facts(ctx, part))
            found.extend(self._subject_facts(ctx, part))
            found.extend(self._their_name_facts(ctx, part))
        if parts != [sentence]:
            found.extend(self._presupposed_kin(ctx, QUOTED.sub(" … ", sentence)))
        return found

    def _presupposed_kin(self, ctx: _Context, sentence: str) -> list[ExtractedFact]:
        """A question still says who someone is: "Where should I take my wife Lena?"."""
        facts: list[ExtractedFact] = []
        if IRREALIS.search(sentence):
            return facts
        for pattern in (FAMILY_NAMED, FAMILY_APPOSITION):
            for m in pattern.finditer(sentence):
                owner = self._owner(ctx, m)
                name = m.group("o") if pattern is FAMILY_NAMED else m.group("o1") or m.group("o2")
                if owner and name and name.split()[0] not in NOT_NAMES | DEMONYMS:
                    facts.append(self._kin_fact(ctx, owner, m.group("kin"), name))
        return facts

    def _role_intro_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        """ "As a nurse, I …": the role is the speaker's, said in passing."""
        m = ROLE_INTRO.match(part)
        if not m or not ctx.first_person:
            return []
        if m.group("a") or m.group("being"):
            clause = "am " + (m.group("a") or m.group("being"))
        else:
            who = m.group("who").strip()
            clause = who[4:] if who.lower().startswith("who ") else "am " + who
        return self._predicates(ctx, ctx.speaker, " " + clause)

    def _fragment_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        """ "Born in Tehran, raised in LA": the speaker, left out."""
        intro = HERE_INTRO.match(part)
        if intro and ctx.first_person:
            desc = intro.group("desc")
            desc = desc[0].lower() + desc[1:] if desc[1:2].islower() else desc
            article = "" if re.match(r"(?:an?|the)\s", desc, re.IGNORECASE) else "a "
            return self._predicates(ctx, ctx.speaker, f" am {article}{desc}")
        m = FRAGMENT.match(part)
        if not m or not ctx.first_person:
            return []
        verb = "was " if m.group("was") else "am "
        return self._predicates(ctx, ctx.speaker, " " + verb + part[m.start() :].strip())

    def _their_name_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        """ "We got a puppy, his name is Bruno": the name of the pet or child just mentioned."""
        if ctx.last_unnamed is None:
            return []
        facts = []
        for m in THEIR_NAME.finditer(part):
            if m.group("o").split()[0] not in NOT_NAMES:
                owner, kin = ctx.last_unnamed
                facts.append(self._kin_fact(ctx, owner, kin, m.group("o")))
                ctx.last_unnamed = None
                break
        return facts

    def _owner(self, ctx: _Context, match: re.Match[str]) -> str | None:
        """Whose: "my"/"our" → the speaker, "Ana's" → Ana, "his"/"her" → the last person."""
        if match.group("pname"):
            name = match.group("pname")
            return None if name.split()[0] in NOT_NAMES else name
        poss = match.group("poss").lower()
        if poss in ("my", "our"):
            return ctx.speaker if ctx.first_person else None
        return ctx.last_person if poss in ("his", "her") else None

    def _possessive_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        facts: list[ExtractedFact] = []
        if IRREALIS.search(part):
            return facts
        for m in FAMILY_NAMED.finditer(part):
            owner = self._owner(ctx, m)
            if owner and m.group("o").split()[0] not in NOT_NAMES:
                facts.append(self._kin_fact(ctx, owner, m.group("kin"), m.group("o")))
                ctx.last_person = m.group("o")
        for pattern in (HAVE_NAMED, PET_LIST):
            for m in pattern.finditer(part):
                owner = self._have_subject(ctx, m.group("subj"))
                if owner is None or IRREALIS.search(window(part, m.start())):
                    continue
                names = m.group("o") if pattern is HAVE_NAMED else m.group("names")
                for name in re.split(r",\s*(?:and\s+)?|\s+and\s+", names):
                    if name and name.split()[0] not in NOT_NAMES:
                        facts.append(self._kin_fact(ctx, owner, m.group("kin"), name))
                        ctx.last_person = name
                more = AND_NAMED.match(part, m.end()) if pattern is HAVE_NAMED else None
                while more and more.group("o").split()[0] not in NOT_NAMES:
                    kin = " ".join(more.group("kin").lower().split())
                    facts.append(self._kin_fact(ctx, owner, kin, more.group("o")))
                    if re.fullmatch(PETS, kin, re.IGNORECASE):
                        facts.append(self._stated(ctx, owner, "has_pet", kin, 0.75))
                    more = AND_NAMED.match(part, more.end())
        facts.extend(self._attribute_facts(ctx, part))
        for m in FAVORITE.finditer(part):
            owner = self._owner(ctx, m)
            obj = clip(m.group("o"))
            if owner and acceptable(obj):
                rel = singular("_".join(m.group("r").lower().split()))
                facts.append(
                    self._fact(
                        ctx,
                        owner,
                        f"favorite_{rel}",
                        obj,
                        f"{{s}}'s favorite {rel} is {{o}}",
                        True,
                        0.8,
                    )
                )
        for m in FAVORITE_REVERSED.finditer(part):
            obj = clip(m.group("o"))
            if ctx.first_person and acceptable(obj):
                rel = singular("_".join(m.group("r").lower().split()))
                facts.append(
                    self._fact(
                        ctx,
                        ctx.speaker,
                        f"favorite_{rel}",
                        obj,
                        f"{{s}}'s favorite {rel} is {{o}}",
                        True,
                        0.75,
                    )
                )
        for m in BIRTHDAY.finditer(part):
            owner = self._owner(ctx, m)
            date = DATE_OBJECT.search(m.group("o"))
            obj = date.group(0) if date else clip(m.group("o"))
            if owner and acceptable(obj):
                facts.append(self._stated(ctx, owner, "birthday", obj, 0.9))
        for m in HOBBIES.finditer(part):
            owner = self._owner(ctx, m)
            if owner:
                for obj in list_items(m.group("o")):
                    facts.append(self._stated(ctx, owner, "hobby", obj, 0.8))
        if ctx.first_person:
            for m in MY_NAME.finditer(part):
                name = m.group("o") or m.group("o2") or m.group("o3") or m.group("o4")
                if (
                    name
                    and name.split()[0] not in NOT_NAMES | DEMONYMS
                    and not (m.group("o4") and HERE_INTRO.match(part) and _A_KIND.fullmatch(name))
                ):
                    facts.append(self._stated(ctx, ctx.speaker, "name", name, 0.9))
            home = HOME_IS.search(part)
            if home:
                obj = proper_or_clip(home.group("o"))
                if acceptable(obj) and obj[:1].isupper():
                    facts.append(self._stated(ctx, ctx.speaker, "lives_in", obj, 0.7))
            for m in MEET.finditer(part):
                if m.group("o").split()[0] not in NOT_NAMES:
                    facts.append(self._kin_fact(ctx, ctx.speaker, m.group("kin"), m.group("o")))
            # A taste said the other way round: "Running is my thing", "Musicals aren't my
            # thing", "Olives are disgusting".
            for pattern, relation in _SIDEWAYS_TASTES:
                taste = pattern.search(part)
                if taste and taste.group("o").split()[0] not in NOT_NAMES:
                    obj = taste.group("o")
                    if pattern is YUCK:
                        obj = obj.lower()
                    elif obj[1:2].islower():
                        obj = obj[0].lower() + obj[1:]
                    if acceptable(obj):
                        facts.append(self._stated(ctx, ctx.speaker, relation, obj, 0.6))
            for m in MY_PASSION.finditer(part):
                for obj in list_items(m.group("o")):
                    facts.append(self._stated(ctx, ctx.speaker, "likes", obj, 0.65))
            for m in OUR_PETS.finditer(part):
                facts.append(self._stated(ctx, ctx.speaker, "has_pet", m.group("o"), 0.7))
        return facts

    def _attribute_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        """ "My manager is Priya", "My home is in Lisbon", "My dog is a beagle named Ollie"."""
        facts = []
        for m in KIN_IS.finditer(part):
            owner = self._owner(ctx, m)
            name = m.group("o")
            if owner and name.split()[0] not in NOT_NAMES | DEMONYMS:
                facts.append(self._kin_fact(ctx, owner, m.group("kin"), name))
                ctx.last_person = name
        for m in PET_IS.finditer(part):
            owner = self._owner(ctx, m)
            if owner:
                breed = " ".join(m.group("breed").lower().split())
                facts.append(self._fact(ctx, owner, "has_pet", breed, "{s} has a {o}", False, 0.75))
                if m.group("o") and m.group("o").split()[0] not in NOT_NAMES:
                    facts.append(self._kin_fact(ctx, owner, m.group("kin"), m.group("o")))
        for m in ATTRIBUTE.finditer(part):
            owner = self._owner(ctx, m)
            relation = ATTRIBUTE_RELATION[" ".join(m.group("noun").lower().split())]
            raw = PLACE_CALLED.sub("", strip_leading(m.group("o")))
            if relation == "works_as":
                obj = clip(raw, 4)
            else:
                raw = re.sub(r"^(?:in|based\s+in)\s+", "", raw)
                obj = proper_or_clip(raw)
                # A name, or for an employer a named kind of organisation ("the city council").
                if not obj[:1].isupper() and not (
                    relation == "works_at" and names_organisation(obj)
                ):
                    continue
            if owner and acceptable(obj):
                phrase = RELATIONS[relation][0]
                facts.append(self._fact(ctx, owner, relation, obj, phrase, True, 0.75))
        return facts

    def _have_subject(self, ctx: _Context, word: str) -> str | None:
        if word.lower() in ("i", "we"):
            return ctx.speaker if ctx.first_person else None
        if word.lower() in ("he", "she"):
            return ctx.last_person
        return None if word.split()[0] in NOT_NAMES else word

    def _kin_fact(self, ctx: _Context, owner: str, kin_word: str, name: str) -> ExtractedFact:
        kin = " ".join(kin_word.lower().split())
        if re.fullmatch(PETS, kin, re.IGNORECASE):
            return self._fact(ctx, owner, "pet", name, f"{{s}}'s {kin} is {{o}}", False, 0.85)
        relation = KIN_CANONICAL.get(kin, kin).replace("-", "_").replace(" ", "_")
        words = relation.replace("_", " ")
        return self._fact(
            ctx,
            owner,
            relation,
            name,
            f"{{s}}'s {words} is {{o}}",
            relation in FUNCTIONAL_KIN,
            0.85,
        )

    def _subjects(self, ctx: _Context, part: str) -> Iterator[tuple[int, int, str | None, bool]]:
        """(start, end, subject, third person) of each subject; subject None states nothing."""
        implicit = IMPLICIT.match(part)
        if implicit and ctx.first_person:
            yield 0, implicit.end(), ctx.speaker, False
        for m in SUBJECT.finditer(part):
            if m.group("we"):
                if ctx.first_person:
                    yield m.start(), m.end(), ctx.speaker, False
                    other = FAMILY_APPOSITION.search(m.group("we"))
                    if (
                        other
                        and other.group("o2")
                        and other.group("o2").split()[0] not in NOT_NAMES
                    ):
                        name = other.group("o2")
                        self._pending.append(
                            self._kin_fact(ctx, ctx.speaker, other.group("kin"), name)
                        )
                        ctx.last_person = name
                        yield m.start(), m.end(), name, False  # both do what follows
            elif m.group("intro"):
                owner = self._owner(ctx, m)
                name = m.group("o1") or m.group("o2")
                if name.split()[0] in NOT_NAMES:
                    continue
                if owner and not IRREALIS.search(window(part, m.start())):
                    self._pending.append(self._kin_fact(ctx, owner, m.group("kin"), name))
                ctx.last_person = name
                yield m.start(), m.end(), name, True
            elif m.group("pron"):
                word = m.group("pron").lower()
                if word in ("i", "we"):
                    yield m.start(), m.end(), ctx.speaker if ctx.first_person else None, False
                else:
                    yield m.start(), m.end(), ctx.last_person, True
            else:
                name = m.group("name")
                start = m.start()
                words = name.split()
                if words[0].endswith("ing") and len(words[0]) > 5 and not part[:start].strip():
                    continue  # "Having a buddy …": a gerund opening the sentence
                if words[0] in NOT_NAMES:
                    if len(words) == 1 or words[1] in NOT_NAMES:
                        continue
                    start = m.start() + len(words[0]) + 1  # "Bet Max loves …"
                    name = words[1]
                elif len(words) > 1 and words[1] in NOT_NAMES:
                    name = words[0]
                after = part[start + len(name) :]
                role = NAME_THEN_ROLE.match(after)
                if role:
                    if ctx.first_person and not IRREALIS.search(window(part, start)):
                        self._pending.append(
                            self._kin_fact(ctx, ctx.speaker, role.group("kin"), name)
                        )
                    ctx.last_person = name
                    yield start, start + len(name) + role.end(), name, True
                    continue
                if OBJECT_SLOT.search(window(part, start, 40)):
                    if COPULA_SLOT.search(window(part, start, 40)):
                        ctx.last_person = name  # "Mia's boyfriend is Leo and he's a dentist"
                    continue  # "… live in Berlin": an object, not a subject
                if re.match(r"\s*[,!?.]", after) and VOCATIVE_BEFORE.search(
                    window(part, start, 40)
                ):
                    continue  # "Thanks, Maria!": spoken to
                if re.match(r"\s*(?:,\s*)?(?:I|you|we)\b", after) and VOCATIVE_BEFORE.search(
                    window(part, start, 40)
                ):
                    continue  # "Yeah, Sam, I …"
                if not re.match(r"\s+(?:I|we|you|he|she|they|it)\b", after):
                    ctx.last_person = name
                yield start, start + len(name), name, True

    def _subject_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        self._pending: list[ExtractedFact] = []
        facts: list[ExtractedFact] = []
        subjects = list(itertools.islice(self._subjects(ctx, part), _MAX_SUBJECTS))
        for start, end, subject, third in subjects:
            if subject is None or start == end:
                continue
            before = window(part, start)
            if hypothetical(before) or held_apart(before) or EMBEDDED.search(before):
                continue
            if subject == ctx.speaker and REPORTED_ABOUT_ME.search(before):
                continue
            clause = part[end : end + _CLAUSE_CHARS]
            free_time = bool(FREE_TIME.search(before))
            implicit = start == 0 and end > 0 and IMPLICIT.match(part) is not None
            if MODAL.match(clause.lstrip()):
                continue
            # "Ana and I …" opens a clause; "I speak Dutch and I …" has no subject "Dutch".
            if (
                third
                and JOINT.match(clause)
                and (subject in DEMONYMS or not CLAUSE_START.search(before))
            ):
                continue
            facts.extend(
                self._predicates(ctx, subject, clause, _Opening(free_time, implicit, third))
            )
        return self._pending + facts

    def _predicates(
        self, ctx: _Context, subject: str, clause: str, opening: _Opening = _PLAIN
    ) -> list[ExtractedFact]:
        """Facts from a subject's clause, and from its coordinated verb phrases."""
        free_time, implicit, third = opening
        facts: list[ExtractedFact] = []
        nationality = None
        continuations = [(m.end(), bool(m.group("who"))) for m in CONTINUATION.finditer(clause)]
        starts = [(0, False), *continuations[:_MAX_CONTINUATIONS]]
        for n, (pos, who) in enumerate(starts):
            if who and not any(f.relation in _SELF_NOUNS for f in facts):
                continue  # "married to a guy who works at …": the "who" is someone else
            rest = clause[pos:].lstrip() if n else clause.lstrip(" ,")  # "My boss, Linda, loves"
            if n and re.match(rf"(?:I|we|he|she|they|it|you)\b|{NAME}\s+[a-z]", rest):
                break  # a new subject: its own clause
            plural = False
            if third and n == 0:
                rest = re.sub(r"^who\s+", "", rest)  # "my brother Sam, who loves fishing"
                joint = JOINT.match(clause)  # "Ana and I both speak Portuguese"
                if joint:
                    rest, plural = clause[joint.end() :], True
            if third and not plural and BARE_VERB.match(rest):
                continue  # no agreement: not this subject's verb
            # "never" states no fact to close ("I've never been married"), except a taste;
            # nor does a bare denial ("I'm not a doctor", "I'm not married yet"): only
            # "not … anymore" or "no longer" ends what was true.
            never = bool(NEVER.match(rest) or (DENIAL.match(rest) and not ENDED.search(rest)))
            negated = False
            for pattern, replacement in NEGATION:
                new = pattern.sub(replacement, rest, count=1)
                if new != rest:
                    rest, negated = new, True
                    break
            rest = rest[LEAD_ADVERBS.match(rest).end() :]  # type: ignore[union-attr]
            if implicit and not re.match(r"(?:moved|started|visited|got|went)\b", rest):
                rest = "am " + rest
            if n == 0:
                nationality = NATIONALITY.match(rest)  # "I'm Irish, from Cork"
            if n and not facts and not nationality:
                break  # "and" only carries on a subject whose first verb phrase stated a fact
            rules = RULES + ((FREE_TIME_RULE,) if free_time and n == 0 else ())
            found = self._match_rules(ctx, rules, subject, rest, _Denial(negated, never))
            if n and not found:
                # The verb left out: "I'm 45, married, …", "I'm vegan and allergic to soy",
                # "born in Tehran, raised in LA". A place must then be a name.
                verb = "was " if PARTICIPLE.match(rest) else "is " if third else "am "
                found = [
                    f
                    for f in self._match_rules(
                        ctx, RULES, subject, verb + rest, _Denial(negated, never)
                    )
                    if f.relation not in PLACE_RELATIONS or f.object[:1].isupper()
                ]
                if not found and _COUNTED.match(rest):
                    found = self._match_rules(
                        ctx, RULES, subject, "have " + rest, _Denial(negated, never)
                    )
            facts.extend(found)
        return facts

    def _match_rules(
        self, ctx: _Context, rules: tuple[Rule, ...], subject: str, rest: str, denial: _Denial
    ) -> list[ExtractedFact]:
        facts: list[ExtractedFact] = []
        for rule in rules:
            m = rule.pattern.match(rest)
            if m:
                facts.extend(self._apply(ctx, rule, subject, m.group("o"), *denial))
        return facts

    def _apply(
        self, ctx: _Context, rule: Rule, subject: str, raw: str, negated: bool, never: bool
    ) -> list[ExtractedFact]:
        relation = rule.relation
        if rule.on_negation == "keep":
            if not negated:
                return []  # "I care for my mother" states no taste
            negated = False
        if negated and (rule.on_negation == "drop" or (never and rule.on_negation != "flip")):
            return []
        if negated and rule.on_negation == "flip":
            relation, negated = "dislikes", False
        negated = negated or rule.negated
        if relation in ("likes", "dislikes") and (
            DEFINITE_REFERENCE.match(raw)
            or re.match(r"\s*(?:my|our|his|her|their|your|its)\s", raw, re.I)
        ):
            return []  # "I love the lesson it teaches": about one thing, not a taste
        if relation == "studies" and UNPARSED_SKILL.match(raw):
            return []
        if relation in ("works_at", "studies_at") and GENERIC_PLACE.match(raw):
            return []  # "a shooting guard for the team": no organisation named
        if rule.cut is not None:
            end = rule.cut.search(raw)
            raw = raw[: end.start()] if end else raw
        if rule.mode == "raw":
            objects = [strip_leading(raw)]
        elif rule.mode == "place":
            objects = [proper_or_clip(raw)]
        elif rule.mode in ("list", "proper_list"):
            objects = list_items(raw, proper=rule.mode == "proper_list")
        else:
            objects = [clip(raw)]
        facts = []
        for obj in objects:
            if rule.transform is not None:
                obj = rule.transform(obj) or ""
            obj = obj.strip()
            if not acceptable(obj):
                continue
            if negated and relation in ("lives_in", "from", "grew_up_in") and obj.islower():
                continue  # "I don't live in the city" closes no named place
            if relation in _HOME_RELATIONS and (not names_place(obj) or name_modifies_noun(raw)):
                continue  # "I live in hope", "I'm from a big family": no place
            if relation in ("works_at", "studies_at") and not names_organisation(obj):
                continue  # "I work for peanuts", "I work at the front desk": no organisation
            if relation == "allergic_to" and JOKE_ALLERGEN.fullmatch(obj):
                continue  # "allergic to Mondays"
            if (
                CUT_GERUND.match(raw)
                and obj.lower() == raw.split()[0].lower()
                and obj.lower() not in PASTIMES
            ):
                continue  # "caring for my pups" → "caring" says nothing on its own
            if relation in ("likes", "prefers") and re.search(
                r"\bones?$|\b(?:my|our|his|her|their|your)\b", obj, re.IGNORECASE
            ):
                continue  # "the blue one", "sharing my journey": one thing, not a taste
            phrase = "{s} dislikes {o}" if relation != rule.relation else rule.phrase
            confidence = rule.confidence * (0.9 if subject == ctx.last_person else 1.0)
            facts.append(
                self._fact(
                    ctx, subject, relation, obj, phrase, rule.functional, confidence, negated
                )
            )
            if relation in ("has", "has_pet") and not negated:
                self._remember_unnamed(ctx, subject, raw, obj)
        return facts

    @staticmethod
    def _remember_unnamed(ctx: _Context, owner: str, raw: str, obj: str) -> None:
        """One pet or child just mentioned ("a puppy"), so that "his name is …" can name it."""
        if not re.match(r"\s*(?:a|an|one)\s", raw, re.IGNORECASE):
            return
        head = obj.lower().split()[-1]
        kin = UNNAMED_KIN.get(head, head)
        if kin in UNNAMED_KIN.values() or re.fullmatch(PETS, kin, re.IGNORECASE):
            ctx.last_unnamed = (owner, kin)

    def _stated(
        self, ctx: _Context, subject: str, relation: str, obj: str, confidence: float
    ) -> ExtractedFact:
        """A fact of a catalogued relation, read and weighed as `RELATIONS` says."""
        phrase, functional = RELATIONS[relation]
        return self._fact(ctx, subject, relation, obj, phrase, functional, confidence)

    def _fact(
        self,
        ctx: _Context,
        subject: str,
        relation: str,
        obj: str,
        phrase: str,
        functional: bool,
        confidence: float,
        negated: bool = False,
    ) -> ExtractedFact:
        return ExtractedFact(
            subject=subject,
            relation=relation,
            object=obj,
            text=phrase.format(s=subject, o=obj),
            confidence=round(confidence, 3),
            functional=functional,
            turn_index=ctx.turn.index,
            t_valid=ctx.turn.event_time,
            negated=negated,
        )
