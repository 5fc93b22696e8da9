"""The verb-phrase catalogue, as data: each rule is a pattern tried right after a subject, the
relation it states and how its object is read."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .objects import names_organisation
from .relations import RELATIONS
from .vocabulary import (
    ACTIVITY_NOUNS,
    BUSINESS,
    DIETS,
    JOB,
    KIN,
    NUM,
    NUMBER_WORDS,
    PETS,
    PLAYS,
    THINGS,
    number_value,
)

ADVERBS = (
    r"(?:(?:just|now|currently|also|still|really|actually|recently|originally|basically|"
    r"honestly|totally|absolutely|finally|officially|mostly|only|always|already|both|all|"
    r"happily|pretty|so|very|even|definitely|seriously|together|that|kind\s+of|sort\s+of)\s+)*"
)
# A stretch of time, never a place of work: "a barber for twenty years".
_DURATION = (
    r"(?:(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"fifteen|twenty|thirty|forty|several|many|a\s+few|a\s+couple\s+of|the\s+(?:last|past)"
    r"(?:\s+\w+)?|over|almost|nearly|about|around|more\s+than)\s+(?:\w+\s+)?(?:years?|months?|"
    r"weeks?|days?|decades?|hours?)|ages|a\s+while|a\s+long\s+time|life|now|good|heart)\b"
)
_BE = rf"(?:am|is|are|'s|have\s+been|has\s+been)\s+{ADVERBS}"
_WORK = (
    r"(?:work|works|have\s+worked|has\s+worked|(?:have|has)\s+been\s+working|"
    r"(?:am|is|are)\s+" + ADVERBS + r"working|started\s+working|began\s+working)"
)
_MOD = r"(?!(?:of|a|an|the|and|or|to|in|at|for|with|my|his|her|from|who|that|fan)\b)[\w-]+"
_JOBP = rf"(?:{_MOD}\s+){{0,3}}?(?:{JOB})s?"
# "work as", "work from home as", "am freelancing as": the job follows "as".
_WORK_AS = (
    r"(?:" + _WORK + r"|(?:am|is|are)\s+(?:freelancing|moonlighting)|freelance|freelances)"
    r"\s+(?:(?!as\b)[\w'-]+\s+){0,6}?as"
)
# A job begun, then the job: "got a new job as", "landed a position as", "was promoted to".
_NEW_JOB = (
    r"(?:(?:started|began|got|landed|took|found|accepted)\s+(?:a\s+|my\s+|the\s+|his\s+|"
    r"her\s+)?(?:new\s+)?(?:full-time\s+|part-time\s+)?(?:job|position|role|internship|gig)"
    r"\s+as|(?:got|was|were|have\s+been|has\s+been|just\s+got)\s+(?:hired|taken\s+on)\s+as|"
    r"(?:got\s+|was\s+|have\s+been\s+|has\s+been\s+)?promoted\s+to)"
)
_DEGREE = (
    r"(?:phd|ph\.d\.?|doctorate|masters?|master's|mba|msc|ma|ba|bsc|bachelor's|bachelors|"
    r"degree|diploma|certificate|course|apprenticeship)"
)
_LEVELS = {
    "first-year", "second-year", "third-year", "fourth-year", "final-year", "grad", "graduate",
    "undergrad", "undergraduate", "phd", "college", "university", "high", "school",
    "exchange", "international", "mature", "part-time", "full-time", "year", "first",
    "second", "third", "fourth", "final", "postgrad", "postgraduate", "masters", "doctoral",
}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """A verb phrase tried right after a subject; `(?P<o>…)` is the object."""

    pattern: re.Pattern[str]
    relation: str
    phrase: str  # how the fact reads: "{s} lives in {o}"
    functional: bool
    confidence: float = 0.8
    mode: str = "phrase"  # phrase | place | list | proper_list | raw
    # negate | drop | flip (likes → dislikes) | keep (only negated: "don't care for" dislikes)
    on_negation: str = "negate"
    negated: bool = False  # the phrase itself closes a fact ("I quit my job at X")
    transform: Callable[[str], str | None] | None = None
    cut: re.Pattern[str] | None = None  # extra clause words for this object


_NOT_A_SUBJECT_TAUGHT = re.compile(
    r"\b(?:to|how|my|me|him|her|them|us|others|people|kids|children|students|class|classes|"
    r"myself|everyone|lessons?)\b",
    re.IGNORECASE,
)


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if re.search(r"(?:sh|ch|x|ss)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _teacher(obj: str) -> str | None:
    words = obj.split()
    if not words or len(words) > 4 or _NOT_A_SUBJECT_TAUGHT.search(obj):
        return None
    return f"{obj} teacher"


def _learning(obj: str) -> str | None:
    obj = re.sub(
        r"^(?:how\s+)?to\s+(?:play|speak|make|do|ride|cook|use)\s+(?:the\s+|a\s+)?", "", obj
    )
    skill = re.fullmatch(r"(?:how\s+)?to\s+(\w+)", obj)
    if skill and skill.group(1).lower() in ACTIVITY_NOUNS:
        return ACTIVITY_NOUNS[skill.group(1).lower()]  # "how to surf" → "surfing"
    return None if re.match(r"^(?:to|how)\b", obj) else obj


def _school_subject(obj: str) -> str | None:
    """ "in med school" → "medicine"."""
    return {"med": "medicine", "medical": "medicine", "dental": "dentistry"}.get(obj.lower(), obj)


def _subject_taught(obj: str) -> str | None:
    """ "a pottery class" → "pottery"; "a new class", "an extra class" name no subject."""
    if re.match(
        r"(?:new|extra|free|great|good|fun|quick|short|long|first|second|last|few|online|evening|"
        r"night|weekly|daily|weekend|summer|intro|introductory|beginners?|local|private)\b",
        obj,
    ):
        return None
    return obj


def _field_of_study(mods: str) -> str | None:
    words = [w for w in mods.split() if w.lower() not in _LEVELS]
    if not words or "former" in mods.lower():
        return None
    return " ".join(words)


_ACTIVITIES = (
    "travel|cook|read|dance|swim|hike|paint|write|draw|sing|run|bake|garden|fish|surf|ski|"
    "skate|knit|sew|camp|climb|sail|ride|shop|golf|bike|cycle|jog|party|explore|learn"
)


def _to_noun(obj: str) -> str | None:
    """ "to travel" → "travel"; "to play with her toys" is no taste, so nothing."""
    if not obj.lower().startswith("to "):
        return obj
    rest = obj[3:]
    return rest if re.fullmatch(_ACTIVITIES, rest, re.IGNORECASE) else None


def _activity(obj: str) -> str | None:
    """ "swim" → "swimming": the pastime a habitual verb names."""
    return ACTIVITY_NOUNS.get(obj.lower())


def _not_new(obj: str) -> str | None:
    """ "new puppy" → "puppy": being new is no property of the pet."""
    return re.sub(r"^new\s+", "", obj, flags=re.IGNORECASE) or None


def _job(obj: str) -> str | None:
    """ "33-year-old lawyer" → "lawyer": an age is no part of a job; a former one is none."""
    if re.match(r"(?:retired|former|ex-|aspiring|future|wannabe|would-be|trainee\s+)", obj, re.I):
        return None
    return re.sub(r"^\d{1,3}-years?-old\s+", "", obj) or None


_DWELLING = (
    r"flat|apartment|house|place|room|condo|studio|loft|cottage|cabin|bungalow|townhouse|"
    r"dorm|houseboat|duplex|semi|terrace|penthouse"
)
_HOME_IN = re.compile(
    rf"(?:[\w-]+\s+){{0,2}}?(?:{_DWELLING})\s+(?:in|on)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).*)",
    re.IGNORECASE,
)


def _home_place(obj: str) -> str | None:
    """ "a tiny flat in Bristol" → "Bristol": the home is in the place named."""
    home = _HOME_IN.fullmatch(obj)
    return home.group("o") if home else obj


def _a_teacher(_: str) -> str:
    """ "I teach at a school": the job is teaching."""
    return "teacher"


def _org(obj: str) -> str | None:
    """A lower-case place of work counts only when it names an organisation."""
    return obj if names_organisation(obj) else None


_TRANSFORMS: dict[str, Callable[[str], str | None]] = {
    "teacher": _teacher, "learning": _learning, "school_subject": _school_subject,
    "subject_taught": _subject_taught, "field_of_study": _field_of_study, "to_noun": _to_noun,
    "activity": _activity, "not_new": _not_new, "job": _job, "a_teacher": _a_teacher,
    "org": _org, "number_value": number_value, "home_place": _home_place,
}  # fmt: skip
_MODES = frozenset({"phrase", "place", "list", "proper_list", "raw"})
_ON_NEGATION = frozenset({"negate", "drop", "flip", "keep"})


def _rule(relation: str, how: str, regex: str) -> Rule:
    """One row of the catalogue. `how` is a few words, each optional: how the object is read
    (a mode; "phrase" when none), what a negation does ("negate" when none), "closes" when the
    phrase itself ends the fact, a confidence (0.8 when none), "@name" for a transform and
    "cut=a|b" for extra clause words. The relation gives the phrase and whether it is
    functional (`RELATIONS`)."""
    phrase, functional = RELATIONS[relation]
    mode, on_negation, negated, confidence = "phrase", "negate", False, 0.8
    transform: Callable[[str], str | None] | None = None
    cut: re.Pattern[str] | None = None
    for word in how.split():
        if word in _MODES:
            mode = word
        elif word in _ON_NEGATION:
            on_negation = word
        elif word == "closes":
            negated = True
        elif word.startswith("@"):
            transform = _TRANSFORMS[word[1:]]
        elif word.startswith("cut="):
            cut = re.compile(rf"\s(?:{word[4:]})(?=\W|$)", re.IGNORECASE)
        else:
            confidence = float(word)
    return Rule(
        re.compile(regex, re.IGNORECASE),
        relation,
        phrase,
        functional,
        confidence,
        mode,
        on_negation,
        negated,
        transform,
        cut,
    )


# How often or why: what makes "I swim" a pastime rather than a single event.
_HABIT = (
    r"(?:a\s+lot|regularly|often|daily|weekly|religiously|every\s+\w+|most\s+\w+|"
    r"on\s+(?:the\s+)?weekends|at\s+weekends|twice\s+a\s+\w+|once\s+a\s+\w+|"
    r"(?:\w+\s+)?times\s+a\s+\w+|to\s+relax|to\s+unwind|to\s+de-?stress|for\s+fun|"
    r"in\s+(?:my|his|her|our|their)\s+(?:free|spare)\s+time|whenever\s+\w+|since\s+\w+|"
    r"for\s+(?:years|ages|a\s+decade|(?:\w+\s+)?(?:years|decades)))\b"
)
_DETERMINER = r"(?:a|an|the|my|our|his|her|their|your|this|that|these|those|some|it|them)"
_NOT_A_PASTIME = (
    r"(?:a|an|the|my|our|his|her|their|it|that|this|some|any|what|well|great|fine|ok|okay|"
    r"good|better|homework|laundry|dishes|chores|taxes|work|research|nothing|everything|"
    r"something|anything|stuff|things|errands|overtime|shifts?|business|math|the|"
    # an emphatic "do": "I do miss nature"
    r"miss|love|like|hope|think|want|need|know|feel|believe|enjoy|appreciate|remember|wish|"
    r"agree|understand|see|get|try|have|care|worry|wonder|mean)\b"
)
_NUM_OR_DET = r"(?:" + NUM + r"|my|our)"


# An age that is no age: "I'm 100 years old on the inside", "twelve at heart".
_FIGURATIVE_AGE = (
    r"(?!(?:\s+years?\s+old|\s*(?:yo|y/o|yrs?\s+old))?\s+(?:on\s+the\s+inside|inside|at\s+heart|"
    r"in\s+spirit|mentally|emotionally|in\s+\w+\s+years))"
)
# A time, not a place: "born in March", "born in 1990".
_WHEN = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|the\s+\d|\d|the\s+(?:spring|summer|fall|autumn|winter|sixties|seventies|"
    r"eighties|nineties)|(?:spring|summer|fall|autumn|winter)\b)"
)
_VISIT = (
    r"(?:visited|have\s+visited|has\s+visited|have\s+been\s+to|has\s+been\s+to|"
    r"went\s+(?:back\s+)?to|(?:traveled|travelled|backpacked|toured|roamed|wandered)\s+"
    r"(?:to|through|around|across|in)|flew\s+to|drove\s+to|toured|"
    r"(?:honeymooned|vacationed|holidayed|vacationing|holidaying)\s+(?:in|at|on)|"
    r"took\s+(?:[\w']+\s+){1,3}?to(?=\s+(?-i:[A-ZÀ-ÖØ-Þ]))|"
    r"(?:got|came|just\s+got)\s+back\s+from\s+(?:a|an|my|our|the)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:trip|vacation|holiday|visit|week|weekend|tour|stay)\s+(?:to|in|at)|"
    r"(?:was|were)\s+in(?=\s+(?-i:[A-ZÀ-ÖØ-Þ])(?!" + _WHEN + r"))|"
    r"got\s+back\s+from|came\s+back\s+from|"
    r"returned\s+from|(?:am|is|are)\s+" + ADVERBS + r"(?:traveling|travelling|backpacking)\s+"
    r"(?:through|around|across|in)|(?:spent|stayed)\s+(?:[\w'-]+\s+){0,5}?"
    r"(?:in|at|near|outside|by)|(?:go|goes|went)\s+\w+ing\s+in)"
)

# The catalogue, one row per verb phrase: `_rule(relation, how, regex)`. Laid out by hand
# (not by the formatter) so that a row reads as relation, settings, then its pattern.
# fmt: off
RULES: tuple[Rule, ...] = (
    # -- where someone lives, comes from, has been
    _rule("lives_in", "place @home_place",
          r"(?:live|lives|reside|resides|have\s+lived|has\s+lived|(?:have|has)\s+been\s+living|"
          r"(?:am|is|are)\s+living)\s+" + ADVERBS + r"(?:with\s+(?:(?:my|our|his|her|their)\s+"
          r"[\w-]+(?:\s+and\s+(?:my\s+)?[\w-]+)?|us|me|him|her|them)\s+)?(?:in|(?:right\s+|just\s+)?outside(?:\s+of)?"
          r"(?=\s+(?-i:[A-ZÀ-ÖØ-Þ])))\s+(?P<o>.+)"),
    _rule("lives_in", "place drop",
          r"(?:have\s+|has\s+)?" + ADVERBS + r"(?:(?:moved|relocated)\s+(?:back\s+|over\s+)?"
          r"(?:here\s+)?to|settled(?:\s+down)?\s+in)\s+(?P<o>.+)"),
    _rule("lives_in", "place drop 0.7",
          r"(?:have|has)\s+been\s+" + ADVERBS + r"in\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ])[\w' .-]+?)\s+"
          r"(?=(?:for|since)\s+(?:\d|a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
          r"twenty|several|many|the\s+(?:last|past)|years|ages|\w+\s+years))"),
    _rule("lives_in", "place drop 0.75",
          r"(?:call|calls)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ])[\w' .-]+?)\s+home\b"),
    _rule("lives_in", "place drop 0.75",
          r"(?:rent|rents|share|shares)\s+(?:a|an|my|our|the)\s+(?:[\w-]+\s+)?(?:flat|apartment|"
          r"house|place|room|condo|studio|loft)\s+in\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("lives_in", "place 0.75",
          _BE + r"(?:based|settled)\s+(?:out\s+)?in\s+(?P<o>.+)"),
    _rule("lives_in", "place drop closes",
          r"(?:have\s+|has\s+)?" + ADVERBS + r"moved\s+(?:away\s+from|out\s+of)\s+(?P<o>.+)"),
    _rule("from", "place",
          r"(?:(?:am|is|are|'s|have\s+been|has\s+been)\s+" + ADVERBS + r"(?:originally\s+)?from|"
          r"(?:hail|hails)\s+(?:originally\s+)?from)\s+(?P<o>.+)"),
    _rule("from", "place drop 0.7",
          r"(?:(?:moved|came|relocated)\s+(?:here|over)|immigrated|emigrated)\s+"
          r"from\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("from", "place 0.75",
          r"was\s+born\s+(?:and\s+raised\s+)?in\s+(?!" + _WHEN + r")(?P<o>.+)"),
    _rule("grew_up_in", "place 0.75",
          r"was\s+born\s+and\s+(?:raised|bred)\s+in\s+(?P<o>.+)"),
    _rule("grew_up_in", "place",
          r"(?:grew\s+up|was\s+raised|were\s+raised|spent\s+(?:my|his|her|our|their)\s+"
          r"(?:childhood|early\s+years))\s+in\s+(?P<o>.+)"),
    _rule("birthday", "raw drop 0.85",
          r"was\s+born\s+on\s+(?:the\s+)?(?P<o>(?:January|February|March|April|May|June|July|"
          r"August|September|October|November|December)\s+\d{1,2}(?:st|nd|rd|th)?|"
          r"\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:January|February|March|April|May|June|July|"
          r"August|September|October|November|December))\b"),
    _rule("visited", "proper_list drop 0.75",
          _VISIT + r"\s+(?P<o>(?:the\s+)?(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    # -- work
    _rule("works_at", "place",
          _WORK + r"\s+" + ADVERBS + r"(?:(?:full[- ]time|part[- ]time|remotely|nights|days|weekends|"
          r"freelance|there)\s+)?(?:(?:in|with)\s+(?!(?-i:[A-ZÀ-ÖØ-Þ]))(?:the\s+)?[\w-]+"
          r"(?:\s+[\w-]+)?\s+|the\s+[\w-]+(?:\s+(?:desk|shift|counter|register|floor|line|bar))?\s+)?"
          r"(?:at|for)\s+(?!" + _DURATION + r")(?P<o>.+)"),
    _rule("works_at", "place 0.75 @org",
          _WORK_AS + r"\s+(?:an?\s+)?(?:[\w'-]+\s+){1,4}?(?:at|for|with)\s+(?P<o>.+)"),
    _rule("works_as", "drop 0.75 @job cut=at|for|in|with|since|and",
          _NEW_JOB + r"\s+(?:an?\s+)?(?P<o>.+)"),
    _rule("works_at", "place drop 0.75 @org",
          _NEW_JOB + r"\s+(?:an?\s+)?(?:[\w'-]+\s+){1,4}?(?:at|for|with)\s+(?P<o>.+)"),
    _rule("works_at", "place drop 0.75",
          r"(?:started|began|got|landed|took)\s+(?:a\s+|my\s+|the\s+|his\s+|her\s+)?(?:new\s+)?"
          r"(?:job|position|role|internship|gig)\s+(?:at|with)\s+(?P<o>.+)"),
    _rule("works_at", "place drop 0.7",
          r"(?:have|has)\s+been\s+"
          + ADVERBS
          + r"(?:at|with)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ])[\w'&. -]+?)\s+"
          r"(?=(?:for|since)\s+(?:\d|a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
          r"twenty|several|many|the\s+(?:last|past)|years|ages|\w+\s+years))"),
    _rule("works_at", "place",
          _BE + r"(?:employed|hired)\s+(?:at|by)\s+(?P<o>.+)"),
    # "a nanny for two kids" names no employer
    _rule("works_at", "place 0.75 @org",
          _BE + r"(?:an?\s+)?" + _JOBP + r"\s+(?:at|for|with)\s+(?!" + _DURATION + r")(?P<o>.+)"),
    _rule("works_at", "place drop closes",
          r"(?:quit|left|lost)\s+(?:my|his|her|their|the)\s+(?:job|position|role)\s+"
          r"(?:at|with)\s+(?P<o>.+)"),
    _rule("works_at", "place drop closes",
          r"(?:got|was|were|have\s+been|has\s+been)\s+(?:laid\s+off|fired|let\s+go|"
          r"made\s+redundant)\s+(?:from|by|at)\s+(?P<o>.+)"),
    _rule("works_at", "place drop closes 0.7",
          r"(?:quit|resigned\s+from)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("works_as", "cut=at|for|in|with|since|and",
          _WORK_AS + r"\s+(?:an?\s+)?(?P<o>.+)"),
    _rule("works_as", "raw 0.75 @job",
          _BE + r"(?:an?\s+)(?P<o>" + _JOBP + r")\b(?!\s+(?:of|fan|at\s+heart)\b)"),
    _rule("works_as", "0.75 @job cut=at|for|in|with|since|and",
          r"(?:love|loves|like|likes|enjoy|enjoys|hate|hates)\s+(?:my|his|her)\s+(?:job|work|career)"
          r"\s+as\s+(?:an?\s+)?(?P<o>.+)"),
    _rule("works_as", "0.7 @teacher cut=at|in|to|for",
          r"(?:teach|teaches)\s+(?P<o>.+)"),
    _rule("works_at", "place 0.7 @org",
          r"(?:teach|teaches)\s+(?:[\w-]+\s+){0,2}?at\s+(?P<o>.+)"),
    _rule("works_as", "raw 0.7 @a_teacher",
          r"(?:teach|teaches)(?P<o>)\s+at\b"),
    _rule("works_at", "place 0.7 @org",
          _BE + r"(?:part\s+of|on|in)\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,2}?(?:team|staff|faculty|crew|"
          r"board|department)\s+(?:at|of|for)\s+(?P<o>.+)"),
    _rule("works_as", "raw drop 0.7",
          r"(?:do|does)\s+(?P<o>[\w-]+(?:\s+[\w-]+)?)\s+for\s+a\s+living\b"),
    # -- study
    _rule("studies_at", "place",
          r"(?:study|studies|(?:am|is|are)\s+studying)\s+(?:(?!at\b)[\w'-]+\s+){0,4}?at\s+(?P<o>.+)"),
    _rule("studies_at", "place",
          _BE + r"(?:an?\s+)?(?:" + _MOD + r"\s+){0,3}?(?:student|undergrad|undergraduate|"
          r"postgrad|freshman|sophomore|senior|junior|phd\s+candidate)\s+(?:at|in)\s+"
          r"(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("studies_at", "place",
          r"(?:am|is|are)\s+"
          + ADVERBS
          + r"(?:doing|pursuing|working\s+on|finishing|completing|getting|earning|"
          r"studying\s+for|working\s+towards?)\s+"
          r"(?:a|an|my|his|her)\s+" + _DEGREE + r"\s+(?:in\s+[\w' -]+?\s+)?at\s+(?P<o>.+)"),
    _rule("studies_at", "place",
          r"(?:(?:go|goes)\s+to|attend|attends)\s+(?P<o>(?:the\s+)?(?-i:[A-ZÀ-ÖØ-Þ])[^,.;!?]*?(?:University|College|"
          r"School|Academy|Institute|Polytechnic|Tech|State(?=\s*(?:[,.!?;]|$|now\b|and\b)))\b(?:\s+of\s+(?-i:[A-ZÀ-ÖØ-Þ])\w+)*)"),
    _rule("studies_at", "place",
          r"(?:(?:am|is|are)\s+" + ADVERBS + r"enrolled\s+(?:at|in)|"
          r"(?:am|is|are)\s+in\s+(?:grad|graduate|law|med|medical|business|nursing|dental|art|"
          r"film|drama|music|divinity)\s+school\s+at)\s+(?P<o>(?:the\s+)?(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("graduated_from", "place drop 0.75",
          r"(?:have|has|hold|holds|got|earned)\s+(?:an?|my|his|her)\s+"
          + _DEGREE
          + r"\s+(?:in\s+[\w' -]+?\s+)?from\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("studies", "raw 0.75 cut=at|in|and|but",
          _BE + r"(?:an?\s+)?(?:" + _MOD + r"\s+){0,2}?(?:student|major|candidate)\s+(?:in|of)\s+"
          r"(?P<o>(?-i:[a-z])[\w-]+(?:\s+(?-i:[a-z])[\w-]+)?)"),
    _rule("graduated_from", "place drop 0.75",
          r"(?:finished|completed|got|earned|did)\s+(?:my|his|her|their|a|an)\s+"
          + _DEGREE
          + r"\s+(?:in\s+[\w' -]+?\s+)?(?:at|from)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("graduated_from", "raw 0.75",
          _BE + r"an?\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ])[\w&.'-]*(?:\s+(?-i:[A-ZÀ-ÖØ-Þ])[\w&.'-]*){0,3})\s+"
          r"(?:alum|alumna|alumnus|grad|graduate)\b"),
    _rule("graduated_from", "place",
          r"(?:have\s+|has\s+|just\s+)?graduated\s+from\s+(?P<o>.+)"),
    # "a course on Coursera" names no subject
    _rule("studies", "list drop 0.75 @learning cut=at|on|via|through|with|from|in",
          r"(?:am|is|are|have\s+been|has\s+been)\s+" + ADVERBS + r"(?:studying|learning|"
          r"taking\s+(?:classes|lessons)\s+(?:in|on)|taking\s+an?\s+(?:[\w-]+\s+)?course\s+"
          r"(?:in|on)(?=\s+(?-i:[a-z])))\s+(?P<o>.+)"),
    _rule("studies", "list drop 0.75 cut=at|on|via|through|with|from|in",
          r"(?:study|studies)\s+(?!(?:at|part-time|full-time|hard|abroad|online|remotely|for|"
          r"with|late|together)\b)(?P<o>.+)"),
    _rule("studies", "cut=at|on|via|through|with|from|in",
          r"(?:am|is|are)\s+"
          + ADVERBS
          + r"(?:doing|pursuing|working\s+on|finishing|completing|getting|earning|"
          r"studying\s+for|working\s+towards?)\s+"
          r"(?:a|an|my|his|her)\s+" + _DEGREE + r"\s+in\s+(?P<o>.+)"),
    _rule("studies", "raw drop 0.7 @subject_taught",
          r"(?:am|is|are)\s+"
          + ADVERBS
          + r"(?:taking|doing)\s+an?\s+(?:online\s+|evening\s+|night\s+)?"
          r"(?P<o>(?-i:[a-zA-Z])[\w-]+(?:\s+[\w-]+)?)\s+(?:class|classes|course|workshop|lessons)\b"),
    _rule("studies", "raw drop 0.7 cut=at|and|but|with|online|this|next|at",
          r"(?:am|is|are)\s+" + ADVERBS + r"(?:taking|doing)\s+an?\s+(?:[\w-]+\s+)?(?:class|course|"
          r"workshop|degree|diploma)\s+(?:in|on)\s+(?P<o>(?-i:[a-zA-Z])[\w-]+(?:\s+[\w-]+)?)"),
    _rule("studies_at", "place",
          r"(?:am|is|are)\s+in\s+(?:my|his|her|their)\s+(?:first|second|third|fourth|fifth|final|"
          r"last|senior|junior|freshman|sophomore)\s+year\s+(?:at|of)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("studies", "raw 0.75 @school_subject",
          r"(?:am|is|are)\s+" + ADVERBS + r"in\s+(?P<o>law|nursing|med|medical|dental|business|art|"
          r"film|drama|music|divinity|culinary|architecture|engineering)\s+school\b"),
    _rule("studies_at", "place",
          _BE
          + r"an?\s+(?:first|second|third|fourth|final|last)[- ]year\s+(?:student\s+)?(?:at|in)\s+"
          r"(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)"),
    _rule("studies", "0.75 cut=at|on|via|through|with|from|in",
          r"(?:major|majors)\s+in\s+(?P<o>.+)"),
    _rule("studies", "cut=at|on|via|through|with|from|in",
          r"(?:am|is|are)\s+" + ADVERBS + r"majoring\s+in\s+(?P<o>.+)"),
    _rule("studies", "raw 0.7 @field_of_study",
          _BE + r"(?:an?\s+)?(?P<o>(?:" + _MOD + r"\s+){1,3}?)(?:student|major)\b"),
    # -- who they are
    _rule("age", "raw 0.85",
          r"(?:am|is|'s|(?:have|has)\s+just\s+turned|turned)\s+" + ADVERBS + r"(?P<o>\d{1,3})"
          + _FIGURATIVE_AGE + r"(?:\s+years?\s+old|\s*(?:yo|y/o|yrs?\s+old))?"
          r"(?=\s*(?:[,.!;?]|$|and\b|but\b|now\b|today\b|this\b|last\b|so\b|years\b))"),
    _rule("age", "raw @number_value",
          r"(?:am|is|'s|(?:have|has)\s+just\s+turned|turned)\s+"
          + ADVERBS
          + r"(?P<o>"
          + NUMBER_WORDS
          + r")" + _FIGURATIVE_AGE + r"(?:\s+years?\s+old)?(?=\s*(?:[,.!;?]|$|and\b|but\b|now\b|today\b|this\b|"
          r"last\b|so\b))"),
    _rule("age", "raw 0.85",
          _BE + r"an?\s+(?P<o>\d{1,3})[- ]years?[- ]old\b"),
    _rule("relationship_status", "raw 0.85",
          _BE + r"(?P<o>married|single|engaged|divorced|widowed|separated)\b"
          r"(?!\s+to\s+(?:my|the|his|her|their|this)\s+(?!(?:" + KIN + r")\b))"),
    _rule("relationship_status", "raw",
          _BE + r"(?P<o>in\s+a\s+relationship)\b"),
    _rule("relationship_status", "raw",
          _BE + r"(?:an?\s+)?(?P<o>single)\s+(?:dad|mom|mum|mother|father|parent)\b"),
    _rule("relationship_status", "raw drop 0.85",
          r"(?:got|have\s+got|has\s+got)\s+(?P<o>married|engaged|divorced)\b"),
    _rule("diet", "raw 0.85",
          _BE + r"(?:an?\s+)?(?:strict\s+)?(?P<o>vegan|vegetarian|pescatarian|pescetarian|keto|"
          r"paleo|plant-based|gluten-free|dairy-free)\b"),
    _rule("diet", "raw drop 0.85",
          r"(?:went|have\s+gone|has\s+gone|became|have\s+become|has\s+become|turned)\s+"
          r"(?P<o>vegan|vegetarian|pescatarian|plant-based)\b"),
    _rule("diet", "raw drop",
          r"(?:follow|follows|eat|eats|keep|keeps|(?:am|is|are)\s+on|stick\s+to|sticks\s+to)\s+"
          r"(?:an?\s+|the\s+)?(?:strict\s+|mostly\s+)?(?P<o>" + DIETS + r")\s+diet\b"),
    _rule("allergic_to", "raw",
          _BE + r"(?:severely\s+|very\s+|mildly\s+)?(?P<o>lactose|gluten|fructose|histamine|"
          r"dairy|wheat|soy)[- ]intolerant\b"),
    _rule("allergic_to", "list 0.9",
          _BE + r"(?:severely\s+|very\s+|deathly\s+|super\s+|highly\s+)?allergic\s+to\s+(?P<o>.+)"),
    _rule("speaks", "proper_list",
          r"(?:speak|speaks|can\s+speak)\s+(?:\w+\s+languages?\s*[:,-]?\s*)?(?P<o>.+)"),
    _rule("speaks", "proper_list",
          _BE + r"(?:fluent|conversational|bilingual|native)\s+in\s+(?P<o>.+)"),
    _rule("plays", "raw drop 0.75",
          r"(?:play|plays|have\s+been\s+playing|has\s+been\s+playing)\s+(?:the\s+|a\s+lot\s+of\s+|"
          r"some\s+)?(?P<o>(?:" + PLAYS + r"))\b"),
    # -- family, pets, possessions
    _rule("has_pet", "raw drop 0.75 @not_new",
          r"(?:have|has|have\s+got|has\s+got|adopted|rescued|got(?=\s+(?:a|an|one|two|three)\s+"
          r"(?:new\s+)?(?:dog|cat|puppy|kitten|pup|rabbit|bunny|hamster|parrot)))\s+"
          r"(?:" + NUM + r"\s+(?:[\w-]+\s+)?(?:kids|children|sons|daughters|son|daughter|"
          r"husband|wife|partner|car|house)\s+and\s+)?(?P<o>" + NUM + r"\s+"
          r"(?:[\w-]+\s+){0,2}?(?:" + PETS + r")(?:s|es)?)\b"
          r"(?!\s+(?:walker|sitter|bed|food|park|show|groomer|allergy))"),
    # "a son, Felix": the son is named, not counted
    _rule("has", "raw drop 0.75",
          r"(?:have|has|have\s+got|has\s+got|got)\s+(?:an?\s+(?:husband|wife|partner|boyfriend|"
          r"girlfriend|dog|cat)\s+and\s+)?(?P<o>" + NUM + r"\s+(?:[\w-]+\s+){0,2}?"
          r"(?:" + THINGS + r")|twin\s+(?:boys|girls|sons|daughters|brothers|sisters)|twins)\b"
          r"(?!\s*,\s*(?-i:[A-ZÀ-ÖØ-Þ])|\s+(?:girl|boy|named|called)\b)"),
    _rule("has", "raw drop 0.75",
          r"(?:own|owns|run|runs)\s+(?P<o>(?:a|an|my|his|her|our|their)\s+(?:own\s+)?"
          r"(?:[\w-]+\s+){0,2}?(?:" + BUSINESS + r"))\b"),
    _rule("has", "drop 0.7",
          _BE
          + r"(?:an?\s+|the\s+)?(?:proud\s+|happy\s+|new\s+)?owner\s+of\s+(?P<o>(?:a|an|two|three)\s+.+)"),
    _rule("has", "drop 0.7",
          r"(?:drive|drives)\s+(?P<o>(?:a|an)\s+.+)"),
    _rule("has_pet", "raw drop 0.75",
          r"(?:own|owns)\s+(?P<o>" + _NUM_OR_DET + r"\s+(?:[\w'-]+\s+){0,2}?(?:" + PETS + r")"
          r"(?:s|es)?)\b"),
    _rule("has", "drop 0.7 cut=in|near|on|by|outside|with",
          r"(?:own|owns)\s+(?P<o>" + NUM + r"\s+(?!(?:lot|bit|few|couple|pair|copy)\b).+)"),
    # -- tastes and pastimes
    _rule("prefers", "drop cut=to|over|than|rather|instead",
          r"(?:prefer|prefers|would\s+rather\s+have)\s+(?P<o>.+)"),
    _rule("prefers", "raw drop @activity",
          r"would\s+(?:much\s+)?rather\s+(?P<o>[a-z]+)\s+(?=than\b)"),
    _rule("prefers", "raw drop 0.7",
          _BE + r"(?:much\s+)?more\s+of\s+an?\s+(?P<o>[\w-]+)\s+person\b"),
    _rule("prefers", "raw drop 0.7",
          _BE + r"(?:an?\s+)?(?:total\s+|big\s+|huge\s+|definite\s+|definitely\s+a\s+)?"
          r"(?P<o>cats?|dogs?|tea|coffee|beach|mountains?|city|country|book|movie|indoors?|"
          r"outdoors?)\s+person\b"),
    _rule("likes", "list flip 0.7 @to_noun",
          r"(?:love|loves|adore|adores|enjoy|enjoys|like|likes)\s+(?!.*\b(?:better|more)\s+than\b)"
          r"(?P<o>.+)"),
    _rule("likes", "list flip 0.7",
          _BE + r"(?:into|obsessed\s+with|passionate\s+about|crazy\s+about|addicted\s+to|"
          r"hooked\s+on|keen\s+on|fond\s+of|(?:a\s+|such\s+a\s+)?sucker\s+for|big\s+on)\s+"
          r"(?P<o>.+)"),
    _rule("likes", "list flip 0.7",
          _BE + r"(?:an?\s+)?(?:big|huge|massive|great|die-hard|diehard|lifelong|longtime|"
          r"long-time|avid)?\s*fan\s+of\s+(?P<o>.+)"),
    _rule("likes", "raw flip 0.7",
          _BE + r"(?:an?\s+)?(?:big|huge|massive|die-hard|diehard|lifelong|longtime|long-time|"
          r"avid)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ])[\w'-]*(?:\s+(?-i:[A-ZÀ-ÖØ-Þ0-9])[\w'-]*){0,2}|"
          r"(?!(?:big|huge|massive|fan|sports?|ceiling|number|one|true|real|total)\b)"
          r"(?-i:[a-z])[\w-]+)\s+fan\b"),
    _rule("likes", "raw drop 0.65",
          _BE + r"(?:an?\s+)?(?:huge|big|total|real|massive|complete|serious|bit\s+of\s+a)?\s*"
          r"(?P<o>(?!(?:" + PETS + r")\b)[\w-]+)\s+(?:snob|buff|nut|junkie|addict|lover|enthusiast|"
          r"fanatic|geek|nerd|aficionado|connoisseur)\b"),
    _rule("likes", "list flip 0.7 @to_noun",
          r"(?:(?:have|has)\s+" + ADVERBS + r"(?:loved|liked|enjoyed|adored)|(?:have|has)\s+grown\s+"
          r"to\s+(?:love|like|enjoy|appreciate))\s+(?P<o>.+)"),
    _rule("dislikes", "list drop 0.7",
          r"(?:have|has)\s+" + ADVERBS + r"(?:hated|disliked|detested|loathed)\s+(?P<o>.+)"),
    _rule("prefers", "drop 0.7",
          r"would\s+(?:always\s+)?(?:pick|choose|take|go\s+with|go\s+for)\s+(?P<o>.+?)\s+"
          r"(?=over|instead\s+of|rather\s+than|any\s+day)"),
    _rule("likes", "list drop 0.65",
          r"(?:have|has)\s+" + ADVERBS + r"fallen\s+in\s+love\s+with\s+(?P<o>.+)"),
    _rule("prefers", "raw drop 0.7",
          r"(?:like|likes|love|loves|enjoy|enjoys)\s+(?P<o>[\w' -]+?)\s+(?:a\s+lot\s+|much\s+|way\s+|"
          r"far\s+)?(?:better|more)\s+than\b"),
    _rule("prefers", "raw drop 0.7",
          _BE + r"(?:much\s+|way\s+|far\s+)?more\s+into\s+(?P<o>[\w' -]+?)\s+than\b"),
    _rule("likes", "list drop 0.7",
          r"can\s+not\s+get\s+enough\s+of\s+(?P<o>.+)"),
    # only "I don't care for seafood" is a taste
    _rule("dislikes", "list keep 0.65",
          r"care\s+(?:much\s+)?for\s+(?P<o>.+)"),
    _rule("dislikes", "list drop 0.7",
          r"(?:hate|hates|dislike|dislikes|detest|detests|loathe|loathes|despise|despises|"
          r"can\s+not\s+stand|can\s+not\s+bear)\s+(?P<o>.+)"),
    _rule("hobby", "list drop 0.7",
          r"(?:took\s+up|have\s+taken\s+up|has\s+taken\s+up|got\s+into|have\s+gotten\s+into|"
          r"has\s+gotten\s+into|picked\s+up(?=\s+\w+ing\b))\s+"
          r"(?!(?:a|an|the|my|his|her|their|our|trouble|it|too|so|all|space|room|time)\b)"
          r"(?P<o>.+)"),
    _rule("hobby", "raw drop 0.7",
          r"(?:go|goes)\s+(?P<o>(?!to\b)\w+ing)\b(?=(?:\s+[\w'-]+){0,6}?\s+(?:every|most|on\s+"
          r"weekends|on\s+the\s+weekends|regularly|a\s+lot|often|whenever|each|twice|once|"
          r"(?:\w+\s+)?times\s+a)\b)"),
    # "I write emails every day for work" is no pastime
    _rule("hobby", "raw drop 0.65 @activity",
          r"(?!.*\b(?:for|at)\s+work\b)"  # "I write emails every day for work" is no pastime
          r"(?P<o>"
          + "|".join(ACTIVITY_NOUNS)
          + r")s?(?:\s+(?!"
          + _DETERMINER
          + r"\b|late\b|out\b|into\b|away\b|errands\b|the\b)[\w'-]+){0,3}?"
          r"\s+" + _HABIT),
    _rule("hobby", "raw drop 0.65",
          r"(?:do|does|(?:have|has)\s+been\s+doing|practi[cs]e|practi[cs]es)\s+(?P<o>(?!"
          + _NOT_A_PASTIME
          + r")[\w-]+(?:\s+(?!"
          + _NOT_A_PASTIME
          + r")[\w-]+)?)\s+"
          + _HABIT),
    _rule("hobby", "raw drop 0.7",
          r"(?:run|runs|do|does|compete\s+in|competes\s+in|race|races)\s+(?P<o>(?:half[- ])?"
          r"marathons|ultramarathons|ultras|triathlons|ironmans|5ks|10ks|obstacle\s+races|"
          r"road\s+races)\b"),
    _rule("hobby", "drop 0.7",
          r"(?:collect|collects)\s+(?P<o>.+)"),
    _rule("hobby", "raw 0.65",
          _BE + r"(?:a\s+)?member\s+of\s+(?:a|an|the|my)\s+(?:local\s+)?(?P<o>[\w-]+(?:\s[\w-]+)?)"
          r"\s+(?:club|team|league|group|choir|society|band)\b"),
)
# fmt: on

# Tried after "in my free time" or "for fun": "In my free time I do a lot of pottery".
FREE_TIME = re.compile(
    r"\b(?:(?:in|during)\s+(?:my|our|his|her|their)\s+(?:free|spare|down)\s+time|for\s+fun)\b",
    re.IGNORECASE,
)
FREE_TIME_RULE = _rule(
    "hobby",
    "list 0.7",
    r"(?:(?:usually|mostly|often|really|like\s+to|love\s+to|enjoy|do|play)\s+)+"
    r"(?:a\s+lot\s+of\s+|some\s+)?(?P<o>.+)",
)

# Negation between a subject and its verb: removed, and the fact is marked negated.
NEGATION = (
    (re.compile(r"^(?:do|does|did)\s+not\s+(?:really\s+|even\s+)?", re.I), ""),
    (re.compile(r"^(?:no\s+longer|never)\s+", re.I), ""),
    (re.compile(r"^(?:stopped|quit|gave\s+up)\s+being\s+", re.I), "am "),
    (re.compile(r"^(am|is|are|'s|was|were)\s+(?:not|no\s+longer|never)\s+", re.I), r"\1 "),
    (re.compile(r"^(have|has)\s+(?:not|never)\s+", re.I), r"\1 "),
)
LEAD_ADVERBS = re.compile(ADVERBS)
