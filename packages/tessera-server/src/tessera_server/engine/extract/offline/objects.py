"""Object phrases: clipped at clause and time words, split into list items, and rejected when
they are fragments (a wrong fact is worse than a missing one)."""

from __future__ import annotations

import re

from .vocabulary import ORGANISATION, PLACE_KIND, UPPER, anycase

_TIME_WORDS = (
    r"last|next|this|that|yesterday|today|tomorrow|tonight|ago|every|each|these\s+days|"
    r"nowadays|anymore|any\s+more|again|too|also|originally|lately|recently|currently|now|"
    r"right\s+now|at\s+the\s+moment|at\s+this\s+point|by\s+the\s+way|btw|forever|at\s+all|"
    r"on\s+weekends?|on\s+the\s+weekends?|in\s+the\s+(?:morning|evening|afternoon)s?|"
    r"at\s+night|in\s+\d{4}|on\s+\w+days?|(?:my|his|her|their|our)\s+(?:whole|entire)\s+life|"
    r"all\s+my\s+life|full[- ]time|part[- ]time|mostly|especially|lol|haha|"
    # asides: "allergic to dogs, ironically"
    r"honestly|ironically|basically|obviously|apparently|literally|seriously|frankly|"
    r"personally|luckily|unfortunately|fortunately|sadly|weirdly|oddly|admittedly|thankfully|"
    r"though|anyway|anyways|tbh|imo|lmao|according\s+to|"
    r"a\s+lot|so\s+much|very\s+much|more\s+than|the\s+most|of\s+all\s+time|twice|once|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|a\s+few|"
    r"a\s+couple\s+of|several|many)\s+(?:times|days?|weeks?|months?|years?|decades?)|"
    r"(?:about|almost|nearly|over|around)\s+(?:\d+|a|an|one|two|three|four|five|six|seven|"
    r"eight|nine|ten)\s"
)
_CLAUSE_WORDS = (
    r"but|because|since|so|which|who|whom|whose|when|while|where|though|although|if|as|"
    r"after|before|until|till|or|with|for|from|than|over|rather|about|back"
)
# "and" before a new subject ends a list: "opera and I hate rap" → "opera".
_NEW_CLAUSE = r"and(?=\s+(?:I|we|he|she|they|it|my|our|his|her|their|then|so|also|now)\b)"
# A pronoun inside an object starts another clause ("… that you all had fun").
_PRONOUN = r"(?-i:I)|you|he|she|we|they|him|them|me|us|it"
_CUT_PHRASE = anycase(
    rf"""[,.;:!?()"\u2026]|\s-\s|\s(?:and|{_CLAUSE_WORDS}|{_TIME_WORDS}|{_PRONOUN})(?=\W|$)"""
)
_CUT_LIST = anycase(
    rf"""[.;:!?()"\u2026]|\s-\s|\s(?:{_NEW_CLAUSE}|{_CLAUSE_WORDS}|{_TIME_WORDS}|{_PRONOUN})"""
    r"(?=\W|$)"
)
_LEADING = re.compile(
    r"^(?:(?:a|an|the|my|our|his|her|their|some|any|fluent|basic|conversational|decent|"
    r"native|broken|rusty|passable|little|a\s+little|a\s+bit\s+of|bit\s+of|a\s+lot\s+of|"
    r"lots\s+of|really|just|also|even|especially|definitely|actually|totally|both|either)\s+)+"
)
_NOISE = anycase(
    r"(?:it|that|this|them|him|her|you|me|us|one|ones|some|any|there|here|so|too|very|much|"
    r"doing|to|a|an|the|what|stuff|things?|everything|anything|nothing|something|lot|"
    r"myself|yourself|themselves|well|more|less|people|everyone|everybody|idea|ideas|way|"
    r"those|these|others|hard|real\s+hard|so\s+hard|a\s+lot|lots|"
    r"fact|thought|feeling|time|day|moment|plan|life|kind|sort|part|sound|look|it all)"
)
_NOISE_START = re.compile(
    r"^(?![A-Z]{2,}\b)(?:(?i:it|that|this|them|what|how|when|why|where|who|to|is|are|was|were|has|have|had|"
    r"being\s+able|and|or|but|so|then|with|about|for|from|in|on|at|by|of|up|out|into|than|"
    r"as|you|he|she|we|they|him|her|me|us|my|your|our|whatever|whoever|wherever|whichever|"
    r"however|whenever)|I)\b"
)
_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&|as\s+well\s+as)\s+")
_IDIOMS = anycase(
    r"\b(?:rock\s+and\s+roll|mac\s+and\s+cheese|fish\s+and\s+chips|salt\s+and\s+pepper|"
    r"black\s+and\s+white|arts\s+and\s+crafts|dungeons\s+and\s+dragons|pb\s*&\s*j|r\s*&\s*b|"
    r"rhythm\s+and\s+blues|peanut\s+butter\s+and\s+jelly|bread\s+and\s+butter)\b"
)
_PROPER = re.compile(
    rf"(?-i:(?:[{UPPER}][\w'.&-]*|\d[\w-]*))(?:\s+(?-i:(?:[{UPPER}][\w'.&-]*|\d+\b|"
    r"(?:of|de|da|do|del|la|le|von|van|der|upon|am|y)\b)))*"
)


def strip_leading(text: str) -> str:
    text = text.strip().strip("'\"").strip()
    # Lower-case determiners only: "the city" → "city", but "The Godfather" stays.
    previous = None
    while previous != text:
        previous = text
        match = _LEADING.match(text)
        if match and match.group(0)[:1].islower():
            text = text[match.end() :]
    return text.strip().strip("'\"").strip()


GENERIC_PLACE = anycase(
    r"\s*(?:(?:a|an|the|my|our|his|her|their)\s+)?(?:team|company|firm|business|place|job|"
    r"work|home|them|it|this|that|there|myself|people|folks)\b(?!\s+(?:of|in|at|called|named)\b)"
)
UNPARSED_SKILL = anycase(
    r"\s*(?:how\s+)?to\s+(?!(?:play|speak|make|cook|ride|use|draw|paint|sing|dance|swim|code|"
    r"program|knit|sew|bake|surf|ski|drive|sail|skate)\b)"
)
DEFINITE_REFERENCE = anycase(
    r"\s*the\s+(?:[\w',-]+\s+){0,5}?(?:of|it|that|which|you|they|he|she|we)\b"
)
_DANGLING = anycase(r"\s(?:it|them|him|her|me|us|this|these|those)$")


def clip(text: str, max_words: int = 6, cut: re.Pattern[str] = _CUT_PHRASE) -> str:
    """The object phrase up to the first clause boundary; "" when still longer than
    `max_words` (a cut-off fragment is worse than no fact)."""
    text = strip_leading(text)
    end = cut.search(text)
    if end:
        if _DANGLING.match(end.group(0)):
            return ""  # "seeing others enjoy it": the verb's object was a pronoun
        text = text[: end.start()]
    words = text.split()
    if len(words) > max_words:
        return ""
    return " ".join(words).strip(" '\"-")


def proper_or_clip(text: str, max_words: int = 6) -> str:
    """A place or an organisation: the capitalised phrase when there is one."""
    text = strip_leading(text)
    match = _PROPER.match(text)
    if match:
        name = match.group(0).rstrip(".'-")
        # A name cut short by a clause word is still the name ("Boston four years ago").
        if name:
            return name
    return clip(text, max_words)


_PARTICLE_END = anycase(
    r"\s(?:up|out|off|on|in|into|over|about|with|to|for|of|at|from|by|the|a|an|and|or|what|"
    r"which|who|how|when|where|why)$"
)
_HAS_VERB = anycase(r"\s(?:is|are|was|were|am|has|have|had|do|does|did)\b")


def acceptable(obj: str) -> bool:
    return (
        bool(obj)
        and not _HAS_VERB.search(obj)
        and not (_PARTICLE_END.search(obj) and obj.split()[-1].islower())  # "Hoi An" is a name
        and not _NOISE.fullmatch(obj)
        and not _NOISE_START.match(obj)
        and "\u2026" not in obj
        and len(obj) <= 120
    )


def _adjectives_joined(parts: list[str]) -> bool:
    """ "making new | powerful models": "and" joined adjectives inside one gerund phrase."""
    if len(parts) < 2:
        return False
    first, second = parts[0].split(), parts[1].split()
    return (
        len(first) > 1
        and first[0].endswith("ing")
        and bool(second)
        and not second[0].endswith("ing")
    )


def list_items(text: str, proper: bool = False) -> list[str]:
    text = strip_leading(text)
    end = _CUT_LIST.search(text)
    dangling = False
    if end:
        dangling = not proper and bool(_DANGLING.match(end.group(0)))
        text = text[: end.start()]
    parts = [text] if _IDIOMS.search(text) else _LIST_SPLIT.split(text)
    if dangling:
        parts = parts[:-1]  # "… and making it better": the last item lost its object
    if not proper and (any(len(p.split()) > 4 for p in parts) or _adjectives_joined(parts)):
        # "and" inside one longer phrase, not a list of short items: keep it whole or drop it.
        if dangling or len(text.split()) > 4:
            return []
        parts = [text]
    items = []
    for part in parts:
        part = strip_leading(part)
        item = proper_or_clip(part) if proper else clip(part, 4, _CUT_LIST)
        if proper and not item[:1].isupper():
            continue
        if item:
            items.append(item)
        if not proper and len(items) >= 4:
            break
    return items


_NAME_BEFORE_NOUN = re.compile(rf"\s*the\s+{_PROPER.pattern}\s+(?=[a-z])")


def name_modifies_noun(raw: str) -> bool:
    """ "the Internet generation", "the Apple store": a name used to describe a noun, which
    is then what the phrase is about (unless the noun is a kind of place: "the Boston area")."""
    m = _NAME_BEFORE_NOUN.match(raw)
    if not m:
        return False
    rest = raw[m.end() :]
    return not _CUT_PHRASE.match(" " + rest) and not re.match(
        rf"(?:{PLACE_KIND})\b", rest, re.IGNORECASE
    )


def names_place(obj: str) -> bool:
    """A phrase with a name in it ("rural Ohio"), or naming a kind of place ("the suburbs")."""
    return bool(re.search(rf"(?:^|\s)[{UPPER}]", obj)) or bool(
        re.search(rf"\b(?:{PLACE_KIND})\b", obj, re.IGNORECASE)
    )


def names_organisation(obj: str) -> bool:
    """A capitalised name, or a lower-case phrase naming a kind of organisation ("a hotel")."""
    return obj[:1].isupper() or bool(re.search(rf"\b(?:{ORGANISATION})\b", obj, re.IGNORECASE))
