"""Text tidying before matching: quotes, contractions, sentences, and the parts that state nothing
(questions, jokes, sarcasm, quotations, hypotheticals)."""

from __future__ import annotations

import re

from .vocabulary import anycase

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (anycase(p), r)
    for p, r in (
        (r"\b(I)'m\b", r"\1 am"),
        (r"\bcan't\b", "can not"),
        (r"\bcannot\b", "can not"),
        (r"\bwon't\b", "will not"),
        (r"\bain't\b", "is not"),
        (r"n't\b", " not"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"'d\b", " would"),
        (r"\bgonna\b", "going to"),
        (r"\bwanna\b", "want to"),
        (r"\bgotta\b", "have to"),
        (r"\bim\b(?=\s+(?:a|an|from|in|at|not|so|really|going|allergic|married)\b)", "I am"),
    )
)
SPEAKER_PREFIX = re.compile(r"^\s*[A-Z][\w .'-]{0,40}:\s+")
# A sentence ends at . ! ? ; — but not after a title or "St." ("a nurse at St. Mary's").
_NOT_AN_END = "".join(
    rf"(?<!\b{a}\.)" for a in ("St", "Mr", "Ms", "Mrs", "Dr", "Jr", "Sr", "Mt", "Ft", "Prof", "vs")
)
SENTENCE = re.compile(rf"(?<=[.!?;]){_NOT_AN_END}\s+|\n+")
QUOTED = re.compile(r'"[^"]*"')
JOKE = anycase(
    r"\b(?:lol|lmao|rofl|haha\w*|hehe\w*|jk|just\s+kidding|kidding)\b|\bha\b|[\U0001F602\U0001F923\U0001F61C]|/s\b"
)
SARCASM = anycase(
    r"^\s*(?:oh\s+(?:great|joy|wonderful|fantastic|perfect|good|yay|sure|yeah)|"
    r"yeah\s*,?\s*right|just\s+(?:great|perfect|wonderful|fantastic)|great|wonderful|"
    r"fantastic|perfect|lovely)\s*[,!.]"
)
# Where the question part of a "?" sentence starts.
_QUESTION_START = anycase(
    r"(?:^|[,;]\s*(?:so\s+|but\s+|and\s+)?|\s-\s)(?=(?:do|does|did|are|is|am|can|could|would|will|should|shall|have|"
    r"has|any|anyone|what|where|who|whom|how|why|which|when|right|yes|no|ok|okay|isn't|"
    r"you\s+know|y'know|eh|huh|innit|yeah|"
    r"aren't|don't|didn't)\b)"
)
# "Is it weird that I love X?" presupposes "I love X".
_PRESUPPOSED = anycase(
    r"\b(?:weird|strange|odd|bad|wrong|normal|okay|ok|crazy|silly|dumb|fine|rude)\s+that\s+"
    r"(?P<rest>.+?)\??$"
)
IRREALIS = anycase(
    r"\b(?:if(?!\s+(?:you\s+ask\s+me|I\s+am\s+(?:being\s+)?(?:honest|real|serious)|"
    r"you\s+must\s+know|I\s+(?:remember|recall)|(?:that|this)\s+makes\s+sense|anything)\b)|"
    r"wish|wished|imagine|imagining|suppose|supposing|pretend|pretending|whether|"
    r"unless|in\s+another\s+life|hypothetically|dream(?:ed|t)?\s+(?:of|about|that)|"
    r"let's\s+say|let\s+us\s+say|assume|assuming|what\s+if|in\s+(?:my|your)\s+dreams?|"
    r"in\s+(?:a|an|some)\s+(?:parallel|alternate|alternative|ideal|perfect|other)\s+"
    r"(?:universe|world|life|timeline)|^\s*(?:so\s+)?(?:say|picture|pretend)\b(?!\s+(?:hi|hello|bye)\b))\b"
)
# "My kids think I work at a zoo", "Grandma is convinced I live in New York": someone else's
# belief about the speaker ("I think I'm …" is the speaker's own hedge, and is not here).
REPORTED_ABOUT_ME = anycase(
    r"\b(?:says|said|thinks|thought|believes|believed|claims|claimed|asks|asked|"
    r"told\s+me|tells\s+me|telling\s+me|keeps\s+saying|assumes|assumed|swears|swore|"
    r"insists|insisted|figures|figured|guesses|guessed|reckons|reckoned|jokes|joked|"
    r"pretends|pretended|imagines|imagined|suspects|suspected|heard|hears|rumou?r\s+(?:is|was)|"
    r"(?:is|are|was|were|seems?|seemed)\s+(?:convinced|sure|certain)|"
    r"saying|stating|claiming|announcing|(?:that\s+)?(?:says|reads|goes)|"
    r"(?<!\bI\s)(?:think|believe|assume|say|claim|swear|insist|figure|guess|reckon|joke|"
    r"pretend|imagine|suspect|expect|doubt)|"
    # "My mom tells everyone I'm a doctor", "My kid told her class I'm an astronaut"
    r"(?<!\bI\s)(?:tells?|told|telling)\s+(?:[\w']+\s+){0,3}?)\s*(?:that\s+|if\s+|whether\s+)?$"
)
# "Not that I live in Paris", "It's not like I'm a chef", "It feels like I work at a circus".
DISTANCED = anycase(
    r"\b(?:not\s+(?:that|like|as\s+if|as\s+though)|(?:feels?|felt|feeling)\s+like|"
    r"as\s+though)\s+$"
)
INVERTED = anycase(
    r"\b(?:do|does|did|should|can|could|would|will|shall|may|might|must|am|is|are|was|were|"
    r"have|has)\s+$"
)


_BUT = anycase(r"\bbut\b")


def after_but(text: str) -> str:
    """What follows the last "but": "Not sure if it matters, but I'm …" asserts again."""
    ends = [m.end() for m in _BUT.finditer(text)]
    return text[ends[-1] :] if ends else text


def hypothetical(before: str) -> bool:
    """Whether the words before a subject make what follows a supposition ("if", "I wish"),
    unless a later "but" asserts again."""
    return IRREALIS.search(after_but(before)) is not None


def held_apart(before: str) -> bool:
    """Whether the words just before a subject hold its statement at a distance: a question's
    auxiliary ("do I …") or "not that", "feels like". Rules and tagger both ask this."""
    return INVERTED.search(before) is not None or DISTANCED.search(before) is not None


# How far back a subject looks for "if", "wish" or a question's auxiliary, and how far
# forward its verb phrase may run: bounded, so a 30,000-character turn stays linear.
_LOOK_BACK_CHARS = 200


def window(text: str, end: int, size: int = _LOOK_BACK_CHARS) -> str:
    """The `size` characters before `end`."""
    return text[max(0, end - size) : end]


def tidy(text: str) -> str:
    text = text.translate(_QUOTES)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def declarative_parts(sentence: str) -> list[str]:
    """The parts of a sentence that state something (a question states nothing)."""
    s = sentence.strip()
    if not s.endswith("?"):
        return [s]
    parts = []
    start = _QUESTION_START.search(s)
    if start and start.start() > 0:
        parts.append(s[: start.start()])
    presupposed = _PRESUPPOSED.search(s)
    if presupposed:
        parts.append(presupposed.group("rest"))
    return parts
