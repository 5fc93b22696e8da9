"""The deterministic offline extractor: patterns over first- and third-person statements.

It needs no network and gives the same output for the same turns. It works sentence by
sentence:

1. The text is tidied (curly quotes, contractions: "I'm" → "I am", "don't" → "do not") and
   split into sentences; quoted speech, jokes ("lol"), sarcasm ("Oh great, I just love…")
   and the question part of a question are set aside.
2. Subjects are found: "I"/"we" (the speaker: their name, or "User"), a capitalised name,
   "my sister Ana" (which also says who Ana is), and "he"/"she" (the last person named in
   the same turn). A subject under "if", "wish", "imagine" or a question's auxiliary
   ("should I …") states nothing.
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

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from . import ExtractedFact, ExtractedForesight, Extraction, TurnView
from .dates import DateMention, direction, find_dates, foresight_expiry

# -- vocabulary ----------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """A vocabulary written as "a|b|two words"."""
    return [w.strip() for w in text.split("|") if w.strip()]


_KIN_CANONICAL = {
    "mom": "mother", "mum": "mother", "mommy": "mother", "mama": "mother", "mother": "mother",
    "dad": "father", "daddy": "father", "papa": "father", "father": "father",
    "grandma": "grandmother", "granny": "grandmother", "nana": "grandmother",
    "grandmother": "grandmother", "grandpa": "grandfather", "granddad": "grandfather",
    "grandfather": "grandfather", "fiancé": "fiance", "fiancee": "fiance",
    "fiancée": "fiance", "fiance": "fiance", "co-worker": "coworker", "coworker": "coworker",
    "flatmate": "roommate", "housemate": "roommate", "roommate": "roommate",
    "bestie": "best_friend", "best friend": "best_friend", "kid": "child", "child": "child",
    "neighbour": "neighbor", "neighbor": "neighbor",
}  # fmt: skip
_KIN_WORDS = _words(
    "partner|wife|husband|boyfriend|girlfriend|spouse|son|daughter|brother|sister|friend|"
    "boss|manager|cousin|aunt|uncle|niece|nephew|grandson|granddaughter|stepson|"
    "stepdaughter|stepmom|stepdad|mother-in-law|father-in-law|sister-in-law|"
    "brother-in-law|colleague|twin|ex|ex-wife|ex-husband|ex-boyfriend|ex-girlfriend"
) + list(_KIN_CANONICAL)
_FUNCTIONAL_KIN = {
    "partner", "wife", "husband", "boyfriend", "girlfriend", "fiance", "spouse", "mother",
    "father", "boss", "manager", "mother_in_law", "father_in_law",
}  # fmt: skip
_PET_WORDS = _words(
    "dog|cat|puppy|kitten|pup|rabbit|bunny|hamster|parrot|budgie|bird|fish|goldfish|"
    "turtle|tortoise|snake|lizard|gecko|horse|pony|ferret|gerbil|rat|mouse|chicken|hen|"
    "goat|pig|labrador|lab|retriever|poodle|beagle|bulldog|terrier|husky|corgi|dachshund|"
    "chihuahua|pug|shepherd|collie|spaniel|greyhound|rottweiler|doberman|pitbull|"
    "schnauzer|maltese|sheepdog|tabby|guinea pig|golden retriever|labrador retriever|"
    "french bulldog|german shepherd|border collie|pit bull|shih tzu|great dane|"
    "maine coon|siamese cat"
)
_JOBS = _words(
    "engineer|developer|programmer|coder|designer|architect|teacher|professor|lecturer|"
    "tutor|nurse|doctor|physician|surgeon|dentist|pharmacist|therapist|psychologist|"
    "psychiatrist|counselor|counsellor|paramedic|firefighter|officer|cop|detective|"
    "lawyer|attorney|paralegal|judge|accountant|bookkeeper|analyst|consultant|manager|"
    "director|executive|founder|entrepreneur|banker|economist|scientist|researcher|"
    "chemist|biologist|physicist|mathematician|statistician|writer|author|journalist|"
    "reporter|editor|translator|photographer|artist|painter|illustrator|animator|"
    "musician|singer|composer|dj|actor|actress|dancer|chef|cook|baker|barista|bartender|"
    "waiter|waitress|cashier|clerk|receptionist|secretary|librarian|pilot|driver|"
    "mechanic|electrician|plumber|carpenter|builder|contractor|farmer|gardener|vet|"
    "veterinarian|nanny|caregiver|carer|midwife|soldier|sailor|salesman|saleswoman|"
    "recruiter|realtor|agent|marketer|coach|trainer|instructor|administrator|technician|"
    "intern|freelancer|stylist|hairdresser|barber|tailor|florist|butcher|guard|janitor|"
    "cleaner|housekeeper|ranger|surveyor|geologist|pastor|priest|rabbi|imam|astronaut|"
    "copywriter|blogger|youtuber|streamer|podcaster|sysadmin|optometrist|physiotherapist|"
    "radiologist|dispatcher|courier|welder|machinist|fisherman|ceo|cto|cfo|coo|vp|"
    "social worker|police officer|flight attendant|real estate agent|personal trainer|"
    "security guard|mail carrier|delivery driver|construction worker|factory worker|"
    "warehouse worker|product manager|project manager|data scientist|software engineer|"
    "web developer"
)
_INSTRUMENTS_AND_SPORTS = _words(
    "guitar|piano|violin|viola|drums|cello|flute|saxophone|sax|trumpet|trombone|clarinet|"
    "harp|ukulele|banjo|bass|keyboard|keys|harmonica|accordion|organ|soccer|football|"
    "tennis|basketball|baseball|volleyball|hockey|rugby|cricket|golf|chess|poker|"
    "badminton|squash|handball|softball|lacrosse|pickleball|bridge|table tennis|"
    "ping pong|video games|board games|water polo"
)
_KID_AND_THINGS = _words(
    "kids|children|child|sons|son|daughters|daughter|baby|babies|twins|grandkids|"
    "grandchildren|stepson|stepdaughter|car|cars|truck|motorcycle|motorbike|bike|bikes|"
    "house|houses|apartment|flat|condo|cabin|boat|business|company|shop|store|restaurant|"
    "cafe|bakery|studio|farm|garden"
)
_BUSINESSES = _words(
    "business|company|shop|store|restaurant|cafe|bakery|studio|salon|gym|farm|firm|"
    "practice|clinic|bar|bookstore|bookshop|startup|agency|brewery|winery|boutique"
)


def _alt(words: list[str]) -> str:
    """A regex alternation, longest first, with inner spaces matching any whitespace."""
    return "|".join(w.replace(" ", r"\s+") for w in sorted(set(words), key=len, reverse=True))


_KIN = _alt(_KIN_WORDS)
_PETS = _alt(_PET_WORDS)
_JOB = _alt(_JOBS)
_PLAYS = _alt(_INSTRUMENTS_AND_SPORTS)
_THINGS = _alt(_KID_AND_THINGS)
_BUSINESS = _alt(_BUSINESSES)
_NUM = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|\d+)"
_KIN_ADJ = r"(?:little|younger|older|big|baby|twin|eldest|oldest|youngest|new|step|late)"
_UP = "A-ZÀ-ÖØ-Þ"
# A proper name: one or two capitalised words (hyphenated parts allowed).
_NAME = rf"(?-i:[{_UP}][^\W\d_]+(?:-[{_UP}][^\W\d_]+)?(?:\s[{_UP}][^\W\d_]+)?)"
_NOT_NAMES = {
    "Looks", "Sounds", "Seems", "Feels", "Bet", "Guess", "Glad", "Hope", "Love", "Nice",
    "Great", "Cool", "Awesome", "Wow", "Aww", "Congrats", "Happy", "Good", "Yay", "Same",
    "Totally", "Definitely", "Absolutely", "Exactly", "Agreed", "Speaking", "Btw", "Plus",
    "Besides", "Haha", "Lol", "Omg", "One", "Two", "Hmm", "Um", "Uh", "Ah", "Yup", "Yep", "Nope", "Let's",
    "I", "We", "He", "She", "They", "It", "You", "My", "Our", "Your", "His", "Her", "Their",
    "The", "This", "That", "These", "Those", "There", "Here", "What", "Who", "Where", "When",
    "Why", "How", "Which", "Someone", "Somebody", "Everyone", "Everybody", "Nobody", "Anyone",
    "Yesterday", "Today", "Tomorrow", "Tonight", "Honestly", "Also", "And", "But", "So",
    "Then", "Now", "Well", "Oh", "Yeah", "Yes", "No", "Ugh", "Maybe", "Just", "Currently",
    "Last", "Next", "Both", "All", "Most", "Some", "Every", "Each", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October", "November", "December",
    "Mom", "Mum", "Dad", "God", "Hi", "Hey", "Hello", "Thanks", "Sorry", "Please", "If",
    "In", "On", "At", "For", "As", "After", "Before", "Since", "Until", "Even", "Actually",
    "Imagine", "Suppose", "Sure", "Okay", "Ok", "Home", "Anyway", "Recently",
    "Still", "Ever", "Never", "Not", "Do", "Does", "Did", "Is", "Are", "Was", "Were", "Can",
    "Could", "Would", "Should", "Will", "Have", "Has", "Had", "Let", "Gonna", "Wanna", "Dear",
}  # fmt: skip

# -- text tidying ----------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), r)
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
_SPEAKER_PREFIX = re.compile(r"^\s*[A-Z][\w .'-]{0,40}:\s+")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_QUOTED = re.compile(r'"[^"]*"')
_JOKE = re.compile(
    r"\b(?:lol|lmao|rofl|haha\w*|hehe\w*|jk|just\s+kidding|kidding)\b|\bha\b|[\U0001F602\U0001F923\U0001F61C]|/s\b",
    re.IGNORECASE,
)
_SARCASM = re.compile(
    r"^\s*(?:oh\s+(?:great|joy|wonderful|fantastic|perfect|good|yay|sure|yeah)|"
    r"yeah\s*,?\s*right|just\s+(?:great|perfect|wonderful|fantastic)|great|wonderful|"
    r"fantastic|perfect|lovely)\s*[,!.]",
    re.IGNORECASE,
)
# Where the question part of a "?" sentence starts.
_QUESTION_START = re.compile(
    r"(?:^|[,;]\s*|\s-\s)(?=(?:do|does|did|are|is|am|can|could|would|will|should|shall|have|"
    r"has|any|anyone|what|where|who|whom|how|why|which|when|right|yes|no|ok|okay|isn't|"
    r"aren't|don't|didn't)\b)",
    re.IGNORECASE,
)
# "Is it weird that I love X?" presupposes "I love X".
_PRESUPPOSED = re.compile(
    r"\b(?:weird|strange|odd|bad|wrong|normal|okay|ok|crazy|silly|dumb|fine|rude)\s+that\s+"
    r"(?P<rest>.+?)\??$",
    re.IGNORECASE,
)
_IRREALIS = re.compile(
    r"\b(?:if|wish|wished|imagine|imagining|suppose|supposing|pretend|pretending|whether|"
    r"unless|in\s+another\s+life|hypothetically|dream(?:ed|t)?\s+(?:of|about|that))\b",
    re.IGNORECASE,
)
_REPORTED_ABOUT_ME = re.compile(
    r"\b(?:says|said|thinks|thought|believes|claims|claimed|asks|asked|told\s+me|tells\s+me|"
    r"telling\s+me|keeps\s+saying|assumes|assumed)\s+(?:that\s+)?$",
    re.IGNORECASE,
)
_INVERTED = re.compile(
    r"\b(?:do|does|did|should|can|could|would|will|shall|may|might|must|am|is|are|was|were|"
    r"have|has)\s+$",
    re.IGNORECASE,
)

# -- objects --------------------------------------------------------------------------------

_TIME_WORDS = (
    r"last|next|this|that|yesterday|today|tomorrow|tonight|ago|every|each|these\s+days|"
    r"nowadays|anymore|any\s+more|again|too|also|originally|lately|recently|currently|now|"
    r"right\s+now|at\s+the\s+moment|at\s+this\s+point|by\s+the\s+way|btw|forever|"
    r"on\s+weekends?|on\s+the\s+weekends?|in\s+the\s+(?:morning|evening|afternoon)s?|"
    r"at\s+night|in\s+\d{4}|on\s+\w+days?|(?:my|his|her|their|our)\s+(?:whole|entire)\s+life|"
    r"all\s+my\s+life|full[- ]time|part[- ]time|mostly|especially|lol|haha|"
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
_NEW_CLAUSE = r"and\s+(?=(?:I|we|he|she|they|it|my|our|his|her|their|then|so|also|now)\b)"
# A pronoun inside an object starts another clause ("… that you all had fun").
_PRONOUN = r"(?-i:I)|you|he|she|we|they|him|them|me|us|it"
_CUT_PHRASE = re.compile(
    rf"""[,.;:!?()"\u2026]|\s-\s|\s(?:and|{_CLAUSE_WORDS}|{_TIME_WORDS}|{_PRONOUN})(?=\W|$)""",
    re.IGNORECASE,
)
_CUT_LIST = re.compile(
    rf"""[.;:!?()"\u2026]|\s-\s|\s(?:{_NEW_CLAUSE}|{_CLAUSE_WORDS}|{_TIME_WORDS}|{_PRONOUN})"""
    r"(?=\W|$)",
    re.IGNORECASE,
)
_LEADING = re.compile(
    r"^(?:(?:a|an|the|my|our|his|her|their|some|any|fluent|basic|conversational|decent|"
    r"native|broken|rusty|passable|little|a\s+little|a\s+bit\s+of|bit\s+of|a\s+lot\s+of|"
    r"lots\s+of|really|just|also|even|especially|definitely|actually|totally)\s+)+"
)
_NOISE = re.compile(
    r"(?:it|that|this|them|him|her|you|me|us|one|ones|some|any|there|here|so|too|very|much|"
    r"doing|to|a|an|the|what|stuff|things?|everything|anything|nothing|something|lot|"
    r"myself|yourself|themselves|well|more|less|people|everyone|everybody|idea|ideas|way|"
    r"those|these|others|hard|real\s+hard|so\s+hard|a\s+lot|lots|"
    r"fact|thought|feeling|time|day|moment|plan|life|kind|sort|part|sound|look|it all)",
    re.IGNORECASE,
)
_NOISE_START = re.compile(
    r"^(?:(?i:it|that|this|them|what|how|when|why|where|who|to|is|are|was|were|has|have|had|"
    r"being\s+able|and|or|but|so|then|with|about|for|from|in|on|at|by|of|up|out|into|than|"
    r"as|you|he|she|we|they|him|her|me|us|my|your|our)|I)\b"
)
_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&|as\s+well\s+as)\s+")
_IDIOMS = re.compile(
    r"\b(?:rock\s+and\s+roll|mac\s+and\s+cheese|fish\s+and\s+chips|salt\s+and\s+pepper|"
    r"black\s+and\s+white|arts\s+and\s+crafts|dungeons\s+and\s+dragons|pb\s*&\s*j|r\s*&\s*b|"
    r"rhythm\s+and\s+blues|peanut\s+butter\s+and\s+jelly|bread\s+and\s+butter)\b",
    re.IGNORECASE,
)
_PROPER = re.compile(
    rf"(?-i:(?:[{_UP}][\w'.&-]*|\d[\w-]*))(?:\s+(?-i:(?:[{_UP}][\w'.&-]*|\d+\b|"
    r"(?:of|de|da|do|del|la|le|von|van|der|upon|am|y)\b)))*"
)


def _strip_leading(text: str) -> str:
    text = text.strip().strip("'\"").strip()
    # Lower-case determiners only: "the city" → "city", but "The Godfather" stays.
    previous = None
    while previous != text:
        previous = text
        match = _LEADING.match(text)
        if match and match.group(0)[:1].islower():
            text = text[match.end() :]
    return text.strip().strip("'\"").strip()


_GENERIC_PLACE = re.compile(
    r"\s*(?:(?:a|an|the|my|our|his|her|their)\s+)?(?:team|company|firm|business|place|job|"
    r"work|home|them|it|this|that|there|myself|people|folks)\b(?!\s+(?:of|in|at|called|named)\b)",
    re.IGNORECASE,
)
_UNPARSED_SKILL = re.compile(
    r"\s*(?:how\s+)?to\s+(?!(?:play|speak|make|cook|ride|use|draw|paint|sing|dance|swim|code|"
    r"program|knit|sew|bake|surf|ski|drive|sail|skate)\b)",
    re.IGNORECASE,
)
_DEFINITE_REFERENCE = re.compile(
    r"\s*the\s+(?:[\w',-]+\s+){0,5}?(?:of|it|that|which|you|they|he|she|we)\b", re.IGNORECASE
)
_DANGLING = re.compile(r"\s(?:it|them|him|her|me|us|this|these|those)$", re.IGNORECASE)


def _clip(text: str, max_words: int = 6, cut: re.Pattern[str] = _CUT_PHRASE) -> str:
    """The object phrase up to the first clause boundary; "" when still longer than
    `max_words` (a cut-off fragment is worse than no fact)."""
    text = _strip_leading(text)
    end = cut.search(text)
    if end:
        if _DANGLING.match(end.group(0)):
            return ""  # "seeing others enjoy it": the verb's object was a pronoun
        text = text[: end.start()]
    words = text.split()
    if len(words) > max_words:
        return ""
    return " ".join(words).strip(" '\"-")


def _proper_or_clip(text: str, max_words: int = 6) -> str:
    """A place or an organisation: the capitalised phrase when there is one."""
    text = _strip_leading(text)
    match = _PROPER.match(text)
    if match:
        name = match.group(0).rstrip(".'")
        # A name cut short by a clause word is still the name ("Boston four years ago").
        if name:
            return name
    return _clip(text, max_words)


_PARTICLE_END = re.compile(
    r"\s(?:up|out|off|on|in|into|over|about|with|to|for|of|at|from|by|the|a|an|and|or|what|"
    r"which|who|how|when|where|why)$",
    re.IGNORECASE,
)
_HAS_VERB = re.compile(r"\s(?:is|are|was|were|am|has|have|had|do|does|did)\b", re.IGNORECASE)


def _ok(obj: str) -> bool:
    return (
        bool(obj)
        and not _HAS_VERB.search(obj)
        and not _PARTICLE_END.search(obj)
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


def _list_items(text: str, proper: bool = False) -> list[str]:
    text = _strip_leading(text)
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
        part = _strip_leading(part)
        item = _proper_or_clip(part) if proper else _clip(part, 4, _CUT_LIST)
        if proper and not item[:1].isupper():
            continue
        if item:
            items.append(item)
        if not proper and len(items) >= 4:
            break
    return items


# -- rules ----------------------------------------------------------------------------------

_A = (
    r"(?:(?:just|now|currently|also|still|really|actually|recently|originally|basically|"
    r"honestly|totally|absolutely|finally|officially|mostly|only|always|already|both|all|"
    r"happily|pretty|so|very|even|definitely|seriously|kind\s+of|sort\s+of)\s+)*"
)
_BE = rf"(?:am|is|are|'s|have\s+been|has\s+been)\s+{_A}"
_WORK = (
    r"(?:work|works|have\s+worked|has\s+worked|(?:have|has)\s+been\s+working|"
    r"(?:am|is|are)\s+working|started\s+working|began\s+working)"
)
_MOD = r"(?!(?:of|a|an|the|and|or|to|in|at|for|with|my|his|her|from|who|that|fan)\b)[\w-]+"
_JOBP = rf"(?:{_MOD}\s+){{0,3}}?(?:{_JOB})s?"
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
    on_negation: str = "negate"  # negate | drop | flip (likes → dislikes)
    negated: bool = False  # the phrase itself closes a fact ("I quit my job at X")
    transform: Callable[[str], str | None] | None = None
    cut: re.Pattern[str] | None = None  # extra clause words for this object


def _r(
    regex: str,
    relation: str,
    phrase: str,
    functional: bool,
    confidence: float = 0.8,
    *,
    mode: str = "phrase",
    on_negation: str = "negate",
    negated: bool = False,
    transform: Callable[[str], str | None] | None = None,
    cut: str | None = None,
) -> Rule:
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
        re.compile(rf"\s(?:{cut})(?=\W|$)", re.IGNORECASE) if cut else None,
    )


_NOT_A_SUBJECT_TAUGHT = re.compile(
    r"\b(?:to|how|my|me|him|her|them|us|others|people|kids|children|students|class|classes|"
    r"myself|everyone|lessons?)\b",
    re.IGNORECASE,
)


def _singular(word: str) -> str:
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
    return None if re.match(r"^(?:to|how)\b", obj) else obj


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


_VISIT = (
    r"(?:visited|have\s+visited|has\s+visited|have\s+been\s+to|has\s+been\s+to|"
    r"went\s+(?:back\s+)?to|traveled\s+to|travelled\s+to|flew\s+to|drove\s+to|toured|"
    r"backpacked\s+(?:through|around|across)|got\s+back\s+from|came\s+back\s+from|"
    r"returned\s+from|(?:am|is|are)\s+" + _A + r"(?:traveling|travelling|backpacking)\s+"
    r"(?:through|around|across|in)|(?:spent|stayed)\s+(?:[\w'-]+\s+){0,5}?"
    r"(?:in|at|near|outside|by)|(?:go|goes|went)\s+\w+ing\s+in)"
)

RULES: tuple[Rule, ...] = (
    # -- where someone lives, comes from, has been
    _r(
        r"(?:live|lives|reside|resides|have\s+lived|has\s+lived|(?:have|has)\s+been\s+living|"
        r"(?:am|is|are)\s+living)\s+" + _A + r"in\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        mode="place",
    ),
    _r(
        r"(?:have\s+|has\s+)?" + _A + r"(?:moved|relocated)\s+(?:back\s+|over\s+)?(?:here\s+)?"
        r"to\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        mode="place",
        on_negation="drop",
    ),
    _r(
        _BE + r"(?:based|settled)\s+(?:out\s+)?in\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        0.75,
        mode="place",
    ),
    _r(
        r"(?:have\s+|has\s+)?" + _A + r"moved\s+(?:away\s+from|out\s+of)\s+(?P<o>.+)",
        "lives_in",
        "{s} lives in {o}",
        True,
        mode="place",
        on_negation="drop",
        negated=True,
    ),
    _r(
        _BE + r"(?:originally\s+)?from\s+(?P<o>.+)",
        "from",
        "{s} is from {o}",
        True,
        mode="place",
    ),
    _r(
        r"was\s+born\s+(?:and\s+raised\s+)?in\s+(?P<o>.+)",
        "from",
        "{s} is from {o}",
        True,
        0.75,
        mode="place",
    ),
    _r(r"grew\s+up\s+in\s+(?P<o>.+)", "grew_up_in", "{s} grew up in {o}", True, mode="place"),
    _r(
        _VISIT + r"\s+(?P<o>(?:the\s+)?(?-i:[A-ZÀ-ÖØ-Þ]).+)",
        "visited",
        "{s} has been to {o}",
        False,
        0.75,
        mode="proper_list",
        on_negation="drop",
    ),
    # -- work
    _r(
        _WORK + r"\s+" + _A + r"(?:(?:full[- ]time|part[- ]time|remotely|nights|days|weekends|"
        r"freelance|there)\s+)?(?:at|for)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        mode="place",
    ),
    _r(
        _WORK + r"\s+(?:(?!as\b)[\w'-]+\s+){0,6}?as\s+(?:an?\s+)?(?:[\w'-]+\s+){1,4}?"
        r"(?:at|for|with)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)",
        "works_at",
        "{s} works at {o}",
        True,
        0.75,
        mode="place",
    ),
    _r(
        r"(?:started|began|got|landed|took)\s+(?:a\s+|my\s+|the\s+|his\s+|her\s+)?(?:new\s+)?"
        r"(?:job|position|role|internship|gig)\s+(?:at|with)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        0.75,
        mode="place",
        on_negation="drop",
    ),
    _r(
        _BE + r"(?:employed|hired)\s+(?:at|by)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        mode="place",
    ),
    _r(
        _BE + r"(?:an?\s+)?" + _JOBP + r"\s+(?:at|for|with)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        0.75,
        mode="place",
    ),
    _r(
        r"(?:quit|left|lost)\s+(?:my|his|her|their|the)\s+(?:job|position|role)\s+"
        r"(?:at|with)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        mode="place",
        on_negation="drop",
        negated=True,
    ),
    _r(
        r"(?:got|was|were|have\s+been|has\s+been)\s+(?:laid\s+off|fired|let\s+go|"
        r"made\s+redundant)\s+(?:from|by|at)\s+(?P<o>.+)",
        "works_at",
        "{s} works at {o}",
        True,
        mode="place",
        on_negation="drop",
        negated=True,
    ),
    _r(
        r"(?:quit|resigned\s+from)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)",
        "works_at",
        "{s} works at {o}",
        True,
        0.7,
        mode="place",
        on_negation="drop",
        negated=True,
    ),
    _r(
        _WORK + r"\s+(?:(?!as\b)[\w'-]+\s+){0,6}?as\s+(?:an?\s+)?(?P<o>.+)",
        "works_as",
        "{s} works as {o}",
        True,
        cut="at|for|in|with|since|and",
    ),
    _r(
        _BE + r"(?:an?\s+)(?P<o>" + _JOBP + r")\b(?!\s+(?:of|fan)\b)",
        "works_as",
        "{s} works as {o}",
        True,
        0.75,
        mode="raw",
    ),
    _r(
        r"(?:teach|teaches)\s+(?P<o>.+)",
        "works_as",
        "{s} works as {o}",
        True,
        0.7,
        transform=_teacher,
        cut="at|in|to|for",
    ),
    # -- study
    _r(
        r"(?:study|studies|(?:am|is|are)\s+studying)\s+(?:(?!at\b)[\w'-]+\s+){0,4}?at\s+(?P<o>.+)",
        "studies_at",
        "{s} studies at {o}",
        True,
        mode="place",
    ),
    _r(
        _BE + r"(?:an?\s+)?(?:" + _MOD + r"\s+){0,3}?(?:student|undergrad|undergraduate|"
        r"postgrad|freshman|sophomore|senior|junior|phd\s+candidate)\s+(?:at|in)\s+"
        r"(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)",
        "studies_at",
        "{s} studies at {o}",
        True,
        mode="place",
    ),
    _r(
        r"(?:am|is|are)\s+" + _A + r"(?:doing|pursuing|working\s+on|finishing|completing)\s+"
        r"(?:a|an|my|his|her)\s+" + _DEGREE + r"\s+(?:in\s+[\w' -]+?\s+)?at\s+(?P<o>.+)",
        "studies_at",
        "{s} studies at {o}",
        True,
        mode="place",
    ),
    _r(
        r"(?:go|goes)\s+to\s+(?P<o>(?:the\s+)?(?-i:[A-ZÀ-ÖØ-Þ])[^,.;!?]*?(?:University|College|"
        r"School|Academy|Institute|Polytechnic|Tech)\b(?:\s+of\s+(?-i:[A-ZÀ-ÖØ-Þ])\w+)*)",
        "studies_at",
        "{s} studies at {o}",
        True,
        mode="place",
    ),
    _r(
        _BE + r"enrolled\s+(?:at|in)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ]).+)",
        "studies_at",
        "{s} studies at {o}",
        True,
        mode="place",
    ),
    _r(
        r"(?:have\s+|has\s+|just\s+)?graduated\s+from\s+(?P<o>.+)",
        "graduated_from",
        "{s} graduated from {o}",
        False,
        mode="place",
    ),
    _r(
        r"(?:am|is|are|have\s+been|has\s+been)\s+" + _A + r"(?:studying|learning|"
        r"taking\s+(?:classes|lessons|a\s+course)\s+(?:in|on))\s+(?P<o>.+)",
        "studies",
        "{s} studies {o}",
        False,
        0.75,
        mode="list",
        on_negation="drop",
        transform=_learning,
        cut="at",
    ),
    _r(
        r"(?:study|studies)\s+(?!at\b)(?P<o>.+)",
        "studies",
        "{s} studies {o}",
        False,
        0.75,
        mode="list",
        on_negation="drop",
        cut="at",
    ),
    _r(
        r"(?:am|is|are)\s+" + _A + r"(?:doing|pursuing|working\s+on|finishing|completing)\s+"
        r"(?:a|an|my|his|her)\s+" + _DEGREE + r"\s+in\s+(?P<o>.+)",
        "studies",
        "{s} studies {o}",
        False,
        0.8,
        cut="at",
    ),
    _r(
        r"(?:am|is|are)\s+" + _A + r"majoring\s+in\s+(?P<o>.+)",
        "studies",
        "{s} studies {o}",
        False,
        0.8,
        cut="at",
    ),
    _r(
        _BE + r"(?:an?\s+)?(?P<o>(?:" + _MOD + r"\s+){1,3}?)(?:student|major)\b",
        "studies",
        "{s} studies {o}",
        False,
        0.7,
        mode="raw",
        transform=_field_of_study,
    ),
    # -- who they are
    _r(
        r"(?:am|is|'s|(?:have|has)\s+just\s+turned|turned)\s+" + _A + r"(?P<o>\d{1,3})"
        r"(?:\s+years?\s+old|\s*(?:yo|y/o|yrs?\s+old))?"
        r"(?=\s*(?:[,.!;?]|$|and\b|but\b|now\b|today\b|this\b|last\b|so\b|years\b))",
        "age",
        "{s} is {o} years old",
        True,
        0.85,
        mode="raw",
    ),
    _r(
        _BE + r"(?P<o>married|single|engaged|divorced|widowed|separated)\b"
        r"(?!\s+to\s+(?:my|the|his|her|their)\s+(?:job|work|career|phone|desk|office|laptop))",
        "relationship_status",
        "{s} is {o}",
        True,
        0.85,
        mode="raw",
    ),
    _r(
        r"(?:got|have\s+got|has\s+got)\s+(?P<o>married|engaged|divorced)\b",
        "relationship_status",
        "{s} is {o}",
        True,
        0.85,
        mode="raw",
        on_negation="drop",
    ),
    _r(
        _BE + r"(?:an?\s+)?(?:strict\s+)?(?P<o>vegan|vegetarian|pescatarian|pescetarian|keto|"
        r"paleo|plant-based|gluten-free|dairy-free)\b",
        "diet",
        "{s} is {o}",
        True,
        0.85,
        mode="raw",
    ),
    _r(
        r"(?:went|have\s+gone|has\s+gone|became|have\s+become|has\s+become|turned)\s+"
        r"(?P<o>vegan|vegetarian|pescatarian|plant-based)\b",
        "diet",
        "{s} is {o}",
        True,
        0.85,
        mode="raw",
        on_negation="drop",
    ),
    _r(
        _BE + r"(?:severely\s+|very\s+|deathly\s+|super\s+|highly\s+)?allergic\s+to\s+(?P<o>.+)",
        "allergic_to",
        "{s} is allergic to {o}",
        False,
        0.9,
        mode="list",
    ),
    _r(
        r"(?:speak|speaks|can\s+speak)\s+(?:\w+\s+languages?\s*[:,-]?\s*)?(?P<o>.+)",
        "speaks",
        "{s} speaks {o}",
        False,
        mode="proper_list",
    ),
    _r(
        _BE + r"(?:fluent|conversational|bilingual|native)\s+in\s+(?P<o>.+)",
        "speaks",
        "{s} speaks {o}",
        False,
        mode="proper_list",
    ),
    _r(
        r"(?:play|plays|have\s+been\s+playing|has\s+been\s+playing)\s+(?:the\s+|a\s+lot\s+of\s+|"
        r"some\s+)?(?P<o>(?:" + _PLAYS + r"))\b",
        "plays",
        "{s} plays {o}",
        False,
        0.75,
        mode="raw",
        on_negation="drop",
    ),
    # -- family, pets, possessions
    _r(
        r"(?:have|has|have\s+got|has\s+got|adopted|rescued|got(?=\s+(?:a|an|one|two|three)\s+"
        r"(?:new\s+)?(?:dog|cat|puppy|kitten|pup|rabbit|bunny|hamster|parrot)))\s+(?P<o>"
        + _NUM
        + r"\s+"
        r"(?:[\w-]+\s+){0,2}?(?:" + _PETS + r")(?:s|es)?)\b"
        r"(?!\s+(?:walker|sitter|bed|food|park|show|groomer|allergy))",
        "has_pet",
        "{s} has {o}",
        False,
        0.75,
        mode="raw",
        on_negation="drop",
    ),
    _r(
        r"(?:have|has|have\s+got|has\s+got|got)\s+(?P<o>" + _NUM + r"\s+(?:[\w-]+\s+){0,2}?"
        r"(?:" + _THINGS + r"))\b",
        "has",
        "{s} has {o}",
        False,
        0.75,
        mode="raw",
    ),
    _r(
        r"(?:own|owns|run|runs)\s+(?P<o>(?:a|an|my|his|her|our|their)\s+(?:own\s+)?"
        r"(?:[\w-]+\s+){0,2}?(?:" + _BUSINESS + r"))\b",
        "has",
        "{s} has {o}",
        False,
        0.75,
        mode="raw",
        on_negation="drop",
    ),
    _r(r"(?:drive|drives)\s+(?P<o>(?:a|an)\s+.+)", "has", "{s} has {o}", False, 0.7),
    # -- tastes and pastimes
    _r(
        r"(?:prefer|prefers|would\s+rather\s+have)\s+(?P<o>.+)",
        "prefers",
        "{s} prefers {o}",
        False,
        on_negation="drop",
        cut="to|over|than|rather|instead",
    ),
    _r(
        r"(?:love|loves|adore|adores|enjoy|enjoys|like|likes)\s+(?P<o>.+)",
        "likes",
        "{s} likes {o}",
        False,
        0.7,
        mode="list",
        on_negation="flip",
        transform=_to_noun,
    ),
    _r(
        _BE + r"(?:into|obsessed\s+with|passionate\s+about|crazy\s+about|addicted\s+to|"
        r"hooked\s+on|keen\s+on|fond\s+of)\s+(?P<o>.+)",
        "likes",
        "{s} likes {o}",
        False,
        0.7,
        mode="list",
        on_negation="flip",
    ),
    _r(
        _BE + r"(?:an?\s+)?(?:big|huge|massive|great|die-hard|diehard|lifelong|longtime|"
        r"long-time|avid)?\s*fan\s+of\s+(?P<o>.+)",
        "likes",
        "{s} likes {o}",
        False,
        0.7,
        mode="list",
        on_negation="flip",
    ),
    _r(
        _BE + r"(?:an?\s+)?(?:big|huge|massive|die-hard|diehard|lifelong|longtime|long-time|"
        r"avid)\s+(?P<o>(?-i:[A-ZÀ-ÖØ-Þ])[\w'-]*(?:\s+(?-i:[A-ZÀ-ÖØ-Þ0-9])[\w'-]*){0,2})\s+fan\b",
        "likes",
        "{s} likes {o}",
        False,
        0.7,
        mode="raw",
        on_negation="flip",
    ),
    _r(
        r"(?:hate|hates|dislike|dislikes|detest|detests|loathe|loathes|despise|despises|"
        r"can\s+not\s+stand|can\s+not\s+bear)\s+(?P<o>.+)",
        "dislikes",
        "{s} dislikes {o}",
        False,
        0.7,
        mode="list",
        on_negation="drop",
    ),
    _r(
        r"(?:took\s+up|have\s+taken\s+up|has\s+taken\s+up|got\s+into|have\s+gotten\s+into|"
        r"has\s+gotten\s+into|picked\s+up(?=\s+\w+ing\b))\s+"
        r"(?!(?:a|an|the|my|his|her|their|our|trouble|it|too|so|all|space|room|time)\b)"
        r"(?P<o>.+)",
        "hobby",
        "{s}'s hobbies include {o}",
        False,
        0.7,
        mode="list",
        on_negation="drop",
    ),
    _r(
        r"(?:go|goes)\s+(?P<o>(?!to\b)\w+ing)\b(?=(?:\s+[\w'-]+){0,6}?\s+(?:every|most|on\s+"
        r"weekends|on\s+the\s+weekends|regularly|a\s+lot|often|whenever|each|twice|once|"
        r"(?:\w+\s+)?times\s+a)\b)",
        "hobby",
        "{s}'s hobbies include {o}",
        False,
        0.7,
        mode="raw",
        on_negation="drop",
    ),
    _r(
        r"(?:collect|collects)\s+(?P<o>.+)",
        "hobby",
        "{s}'s hobbies include {o}",
        False,
        0.7,
        on_negation="drop",
    ),
    _r(
        _BE + r"(?:a\s+)?member\s+of\s+(?:a|an|the|my)\s+(?:local\s+)?(?P<o>[\w-]+(?:\s[\w-]+)?)"
        r"\s+(?:club|team|league|group|choir|society|band)\b",
        "hobby",
        "{s}'s hobbies include {o}",
        False,
        0.65,
        mode="raw",
    ),
)

# Tried after "in my free time" or "for fun": "In my free time I do a lot of pottery".
FREE_TIME = re.compile(
    r"\b(?:(?:in|during)\s+(?:my|our|his|her|their)\s+(?:free|spare|down)\s+time|for\s+fun)\b",
    re.IGNORECASE,
)
FREE_TIME_RULE = _r(
    r"(?:(?:usually|mostly|often|really|like\s+to|love\s+to|enjoy|do|play)\s+)+"
    r"(?:a\s+lot\s+of\s+|some\s+)?(?P<o>.+)",
    "hobby", "{s}'s hobbies include {o}", False, 0.7, mode="list",
)  # fmt: skip

# Negation between a subject and its verb: removed, and the fact is marked negated.
_NEGATION = (
    (re.compile(r"^(?:do|does|did)\s+not\s+(?:really\s+|even\s+)?", re.I), ""),
    (re.compile(r"^(?:no\s+longer|never)\s+", re.I), ""),
    (re.compile(r"^(am|is|are|'s|was|were)\s+(?:not|no\s+longer|never)\s+", re.I), r"\1 "),
    (re.compile(r"^(have|has)\s+(?:not|never)\s+", re.I), r"\1 "),
)
_LEAD_ADVERBS = re.compile(_A)

_POSS = rf"(?P<poss>\b(?:[Mm]y|[Oo]ur|[Hh]is|[Hh]er|[Tt]heir)|(?P<pname>{_NAME})'s)"
_FAMILY_NAMED = re.compile(
    _POSS + rf"\s+(?:{_KIN_ADJ}\s+)?(?P<kin>{_KIN}|{_PETS})(?:'s\s+name\s+is|\s+is\s+(?:called|"
    rf"named)|\s+(?:called|named)|\s+goes\s+by)\s+(?P<o>{_NAME})",
    re.IGNORECASE,
)
_FAMILY_APPOSITION = re.compile(
    _POSS + rf"\s+(?:{_KIN_ADJ}\s+)?(?P<kin>{_KIN}|{_PETS})"
    rf"(?:,\s*(?P<o1>{_NAME})(?=\s*,|\s+(?!and\b|or\b)[a-z])|\s+(?P<o2>{_NAME})\b)",
    re.IGNORECASE,
)
_HAVE_SUBJECT = rf"(?P<subj>\b(?:I|[Ww]e|[Hh]e|[Ss]he)\b|{_NAME})\s+(?:(?:also|just|now|still)\s+)?"
_HAVE_NAMED = re.compile(
    _HAVE_SUBJECT
    + r"(?:have|has|have\s+got|has\s+got|got|adopted)\s+(?:a|an|one)\s+(?:[\w-]+\s+){0,2}?"
    rf"(?P<kin>{_KIN}|{_PETS})\s+(?:named|called)\s+(?P<o>{_NAME})",
    re.IGNORECASE,
)
_PET_LIST = re.compile(
    _HAVE_SUBJECT + rf"(?:have|has|got|adopted)\s+{_NUM}\s+(?:[\w-]+\s+)?(?P<kin>{_PETS})(?:s|es)?"
    rf"(?:,\s*|\s+(?:named|called)\s+)(?P<names>{_NAME}(?:(?:,\s*|,?\s+and\s+){_NAME})+)",
    re.IGNORECASE,
)
_OUR_PETS = re.compile(
    rf"\b(?:[Mm]y|[Oo]ur)\s+(?P<o>(?:two|three|four|five|\d+)\s+(?:{_PETS})(?:s|es)?)\b",
    re.IGNORECASE,
)
_MY_NAME = re.compile(
    rf"\b(?:[Mm]y\s+name\s+is|[Cc]all\s+me|I\s+go\s+by)\s+(?P<o>{_NAME})|"
    rf"(?:^|\b(?:[Hh]i|[Hh]ello|[Hh]ey)[,!]?\s+)I\s+am\s+(?P<o2>{_NAME})"
    rf"(?=\s*(?:[,.!]|$))|\bI\s+am\s+(?P<o3>{_NAME}),?\s+(?:by\s+the\s+way|btw|"
    r"nice\s+to\s+meet|pleased\s+to\s+meet)",
)
_FAVORITE = re.compile(
    _POSS + r"\s+(?:all[- ]time\s+|absolute\s+)?fav(?:ou?rite|e)\s+"
    r"(?P<r>(?!is\b|are\b)[a-z]+(?:\s+(?!is\b|are\b|has\b|would\b|of\b|ever\b|was\b|will\b)[a-z]+)?)"
    r"\s+(?:of\s+all\s+time\s+|ever\s+)?(?:is|are|has\s+to\s+be|would\s+be|was\s+always|'s|"
    r"will\s+always\s+be)\s+(?P<o>.+)",
    re.IGNORECASE,
)
_FAVORITE_REVERSED = re.compile(
    r"(?:^|,\s*)(?P<o>[^,.;!?]{1,40}?)\s+(?:is|are)\s+(?:definitely\s+|probably\s+|still\s+)?"
    r"(?:[Mm]y)\s+(?:all[- ]time\s+)?fav(?:ou?rite|e)\s+(?P<r>[a-z]+(?:\s+[a-z]+)?)\b",
)
_BIRTHDAY = re.compile(_POSS + r"\s+birthday\s+is\s+(?:on\s+)?(?P<o>.+)", re.IGNORECASE)
_HOBBIES = re.compile(
    _POSS + r"\s+(?:main\s+|favou?rite\s+|biggest\s+)?hobb(?:y|ies)\s+(?:is|are|includes?)\s+"
    r"(?P<o>.+)",
    re.IGNORECASE,
)
_HOME_IS = re.compile(
    r"(?:^|\b[Mm]y\s+)[Hh]ome\s+(?:for\s+(?:me|us)\s+)?is\s+(?:now\s+)?(?P<o>.+)",
)
_YUCK = re.compile(
    r"^(?P<o>(?-i:[A-Z])[a-z]+(?:\s+[a-z]+)?)\s+(?:is|are)\s+(?:so\s+|absolutely\s+|just\s+|"
    r"really\s+)?(?:disgusting|gross|revolting|nasty|vile|the\s+worst)\b",
)
_DATE_OBJECT = re.compile(
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?\s+\d{1,2}(?:st|nd|rd|th)?|"
    r"\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:January|February|March|April|May|June|July|"
    r"August|September|October|November|December)",
)
_SUBJECT = re.compile(
    rf"(?P<intro>{_FAMILY_APPOSITION.pattern})|(?P<pron>\b(?:I|i|[Ww]e|[Hh]e|[Ss]he)\b)|"
    rf"(?P<name>\b{_NAME})",
    re.IGNORECASE,
)
_IMPLICIT = re.compile(
    r"^(?:currently|still|just|recently|now)\s+(?=\w+ing\b|moved|started|visited|got|went)",
    re.IGNORECASE,
)
_OBJECT_SLOT = re.compile(
    r"\b(?:in|at|to|from|for|near|of|about|by|on|into|with|visited|visit|like|love|likes|"
    r"loves|than|the|a|an|my|our|his|her|their|called|named|is|are|was|were)\s+$",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"(?:,\s*|\s)(?:and|but)\s+(?:also\s+|then\s+)?")
# A third-person subject takes "lives", not "live": "Sounds like a plan" has no subject.
_BARE_VERB = re.compile(
    r"(?:live|work|love|like|enjoy|adore|hate|dislike|detest|loathe|despise|speak|play|study|"
    r"go|collect|teach|prefer|own|run|drive|have|reside|am|are|were)\b",
    re.IGNORECASE,
)
# Words that open a clause a subject does not assert: "what I like", "where I got married".
_EMBEDDED = re.compile(
    r"\b(?:what|which|whatever|where|when|how|why|whom|whose|as)\s+$", re.IGNORECASE
)
# A clause led by a modal or an intention states no fact yet ("we'll teach others").
_MODAL = re.compile(
    r"(?:will|would|could|should|might|may|must|shall|can(?!\s+speak)|"
    r"(?:am|is|are)\s+going\s+to|wants?\s+to|needs?\s+to|ha(?:ve|s)\s+to|hopes?\s+to|"
    r"plans?\s+to|(?:am|is|are)\s+(?:planning|hoping|about)\s+to)\b",
    re.IGNORECASE,
)
# A name spoken to, not about: "Thanks, Maria!", "Yeah, Sam, …".
_VOCATIVE_BEFORE = re.compile(
    r"(?:^\s*|(?:^|[,.!?]\s*)(?:thanks|thank\s+you|hey|hi|hello|yeah|yes|no|wow|oh|sorry|"
    r"congrats|congratulations|great|nice|awesome|dear|ok|okay|sure|cool|well|aww|haha|lol)"
    r"[,!]?\s*)$",
    re.IGNORECASE,
)

# -- foresight ------------------------------------------------------------------------------

# An intention of the speaker's own: "I"/"we" (or no subject, "Gonna try …"), then an
# intention marker. A bare "will" counts only with a date (`_dated_event`): undated, in
# chat it is mostly a courtesy ("I'll keep you posted") or a prediction.
_PLAN = re.compile(
    r"(?:\b(?:I|we)\s+|^\s*(?=(?:going|planning|hoping|need|have|want)\s+to\s+"
    r"(?!(?:the|a|an|my|our|your|his|her|their|this|that|some|community|church|school|work|"
    r"events?|meetings?|classes|concerts?)\b)))"
    r"(?:(?:definitely|really|probably|also|just|still|totally|finally|actually|soon)\s+)*"
    r"(?:(?:am|are)\s+going\s+to|going\s+to|"
    r"(?:am|are)?\s*plan(?:s|ning)?\s+(?:to|on)|intend(?:s|ing)?\s+to|"
    r"(?:am|are)?\s*hop(?:e|ing)\s+to|want\s+to|would\s+(?:like|love)\s+to|"
    r"have\s+to|need\s+to|(?:am|are)\s+about\s+to|"
    r"(?:am|are)\s+(?:thinking\s+(?:of|about)|looking\s+forward\s+to|"
    r"excited\s+(?:for|about)|scheduled|booked|signed\s+up)|have\s+(?:booked|"
    r"scheduled|signed\s+up))\b"
    r"(?P<rest>.*)",
    re.IGNORECASE,
)
# What an undated "I'll …" usually is in chat: a courtesy or a prediction, not a plan.
_NOT_AN_ACTION = re.compile(
    r"\s*(?:(?:definitely|really|probably|also|just|still|totally|always|never|sure|"
    r"certainly|surely)\s+)*(?:keep|let|make\s+sure|make\s+it|be|never|always|try|see|say|"
    r"think|bet|miss|remember|tell|update|check|look|figure|do\s+my\s+best|love|hope|need|"
    r"consider|stay|continue|get\s+back|send|share|show|talk|chat|catch\s+up|ask|admit|"
    r"agree|give\s+it|forget|find\s+out|work\s+on\s+it|pay\s+off|help|take\s+care|enjoy|"
    r"appreciate|treasure|cherish|hear|read\s+more|know|learn\s+more|have\s+(?:a|so|fun)|"
    r"go(?!\s+(?:to|on|for|back|see|visit|and|get|pick))|what|it|this|that|you|the\s+future)\b",
    re.IGNORECASE,
)
_NOT_A_PLAN = re.compile(
    r"\b(?:not\s+going\s+to|will\s+not|(?:am|is|are)\s+not\s+\w+ing|cancel(?:l)?ed|"
    r"called\s+off|postponed|no\s+longer|not\s+anymore|maybe|might|perhaps|possibly|"
    r"who\s+knows|not\s+sure|if|unless|in\s+case|would\s+have|could\s+have|should\s+have|"
    r"would\s+be|used\s+to|wanted\s+to)\b",
    re.IGNORECASE,
)
_DEADLINE = re.compile(
    r"\b(?:due(?!\s+to\b)|deadline|clos(?:es|ing)|expires?|hand\s+in|turn\s+in|submit|"
    r"no\s+later\s+than|(?:finish|complete|send|file|pay|return|deliver)\b[^.?!]*\bby)\b",
    re.IGNORECASE,
)
_STATE = (
    r"(?:sick|ill|unwell|down\s+with|home\s+sick|in\s+(?:the\s+)?hospital|in\s+a\s+cast|"
    r"on\s+crutches|recovering|injured|pregnant|on\s+(?:vacation|holiday|leave|a\s+trip|"
    r"sabbatical|a\s+break|maternity\s+leave|paternity\s+leave|sick\s+leave|medical\s+leave|"
    r"a\s+diet|a\s+cleanse|antibiotics|call|jury\s+duty|the\s+road)|out\s+of\s+(?:town|"
    r"office|the\s+office|the\s+country)|off\s+work|away|travel(?:l)?ing|staying\s+(?:at|with|"
    r"in)|visiting|busy|swamped|slammed|stressed|exhausted|burn(?:ed|t)\s+out|fasting|"
    r"working\s+from\s+home|working\s+remotely|quarantining|isolating|self-isolating|"
    r"between\s+jobs|house-?sitting|dog-?sitting|snowed\s+in|stuck\s+(?:in|at))\b"
)
_TEMPORARY = re.compile(
    rf"(?:(?<!\byou\s)\b(?:am|is|are|'s)\s+|^\s*(?:currently|still|temporarily)\s+){_A}{_STATE}",
    re.IGNORECASE,
)
_UNTIL = re.compile(
    r"(?:until|till|til|through|thru|to|back\s+on|back\s+by|back|ends?\s+on|ending)\s*$",
    re.IGNORECASE,
)
_PROGRESSIVE = re.compile(r"\b(?:am|is|are|'s)\s+\w+ing\b", re.IGNORECASE)
_RECURRING = re.compile(r"\b(?:birthday|anniversary|name\s+day)\b", re.IGNORECASE)
_EXPLICIT_FUTURE = re.compile(
    r"^(?:tomorrow|the\s+day\s+after|next|coming|in\s|within|.*\bfrom\s+now)",
    re.IGNORECASE,
)


# How far back a subject looks for "if", "wish" or a question's auxiliary, and how far
# forward its verb phrase may run: bounded, so a 30,000-character turn stays linear.
_LOOK_BACK_CHARS = 200
_CLAUSE_CHARS = 400
_MAX_SUBJECTS = 64  # per sentence; real sentences have a handful
_MAX_CONTINUATIONS = 8  # "I'm divorced and have one daughter and …"


def _window(text: str, end: int, size: int = _LOOK_BACK_CHARS) -> str:
    """The `size` characters before `end`."""
    return text[max(0, end - size) : end]


def _tidy(text: str) -> str:
    text = text.translate(_QUOTES)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _declarative_parts(sentence: str) -> list[str]:
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


@dataclass
class _Context:
    """What one turn's extraction needs to remember between sentences."""

    turn: TurnView
    speaker: str
    first_person: bool  # may "I" and "we" state facts (not the assistant talking)
    last_person: str | None = None


class OfflineExtractor:
    """Pattern-based extraction; the default when no LLM is configured."""

    name = "offline"

    def extract(self, turns: list[TurnView]) -> Extraction:
        out = Extraction()
        for turn in turns:
            text = _SPEAKER_PREFIX.sub("", turn.text, count=1)
            ctx = _Context(turn, turn.speaker, turn.role != "assistant")
            seen: set[tuple[str, str, str, bool]] = set()
            for raw in _SENTENCE.split(text):
                raw = raw.strip()
                if not raw:
                    continue
                sentence = _tidy(raw)
                for fact in self._facts(ctx, sentence):
                    key = (fact.subject.lower(), fact.relation, fact.object.lower(), fact.negated)
                    if key not in seen:
                        seen.add(key)
                        out.facts.append(fact)
                out.foresight.extend(self._foresight(ctx, raw, sentence))
        return out

    # -- facts ----------------------------------------------------------------------------

    def _facts(self, ctx: _Context, sentence: str) -> list[ExtractedFact]:
        if _JOKE.search(sentence) or _SARCASM.search(sentence):
            return []
        found: list[ExtractedFact] = []
        for part in _declarative_parts(sentence):
            part = _QUOTED.sub(" … ", part)
            found.extend(self._possessive_facts(ctx, part))
            found.extend(self._subject_facts(ctx, part))
        return found

    def _owner(self, ctx: _Context, match: re.Match[str]) -> str | None:
        """Whose: "my"/"our" → the speaker, "Ana's" → Ana, "his"/"her" → the last person."""
        if match.group("pname"):
            name = match.group("pname")
            return None if name.split()[0] in _NOT_NAMES else name
        poss = match.group("poss").lower()
        if poss in ("my", "our"):
            return ctx.speaker if ctx.first_person else None
        return ctx.last_person if poss in ("his", "her") else None

    def _possessive_facts(self, ctx: _Context, part: str) -> list[ExtractedFact]:
        facts: list[ExtractedFact] = []
        if _IRREALIS.search(part):
            return facts
        for m in _FAMILY_NAMED.finditer(part):
            owner = self._owner(ctx, m)
            if owner and m.group("o").split()[0] not in _NOT_NAMES:
                facts.append(self._kin_fact(ctx, owner, m.group("kin"), m.group("o")))
                ctx.last_person = m.group("o")
        for pattern in (_HAVE_NAMED, _PET_LIST):
            for m in pattern.finditer(part):
                owner = self._have_subject(ctx, m.group("subj"))
                if owner is None or _IRREALIS.search(_window(part, m.start())):
                    continue
                names = m.group("o") if pattern is _HAVE_NAMED else m.group("names")
                for name in re.split(r",\s*(?:and\s+)?|\s+and\s+", names):
                    if name and name.split()[0] not in _NOT_NAMES:
                        facts.append(self._kin_fact(ctx, owner, m.group("kin"), name))
                        ctx.last_person = name
        for m in _FAVORITE.finditer(part):
            owner = self._owner(ctx, m)
            obj = _clip(m.group("o"))
            if owner and _ok(obj):
                rel = _singular("_".join(m.group("r").lower().split()))
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
        for m in _FAVORITE_REVERSED.finditer(part):
            obj = _clip(m.group("o"))
            if ctx.first_person and _ok(obj):
                rel = _singular("_".join(m.group("r").lower().split()))
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
        for m in _BIRTHDAY.finditer(part):
            owner = self._owner(ctx, m)
            date = _DATE_OBJECT.search(m.group("o"))
            obj = date.group(0) if date else _clip(m.group("o"))
            if owner and _ok(obj):
                facts.append(
                    self._fact(ctx, owner, "birthday", obj, "{s}'s birthday is {o}", True, 0.9)
                )
        for m in _HOBBIES.finditer(part):
            owner = self._owner(ctx, m)
            if owner:
                for obj in _list_items(m.group("o")):
                    facts.append(
                        self._fact(
                            ctx, owner, "hobby", obj, "{s}'s hobbies include {o}", False, 0.8
                        )
                    )
        if ctx.first_person:
            for m in _MY_NAME.finditer(part):
                name = m.group("o") or m.group("o2") or m.group("o3")
                if name and name.split()[0] not in _NOT_NAMES:
                    facts.append(
                        self._fact(ctx, ctx.speaker, "name", name, "{s}'s name is {o}", True, 0.9)
                    )
            home = _HOME_IS.search(part)
            if home:
                obj = _proper_or_clip(home.group("o"))
                if _ok(obj):
                    facts.append(
                        self._fact(ctx, ctx.speaker, "lives_in", obj, "{s} lives in {o}", True, 0.7)
                    )
            yuck = _YUCK.search(part)
            if yuck and yuck.group("o").split()[0] not in _NOT_NAMES:
                facts.append(
                    self._fact(
                        ctx,
                        ctx.speaker,
                        "dislikes",
                        yuck.group("o").lower(),
                        "{s} dislikes {o}",
                        False,
                        0.6,
                    )
                )
            for m in _OUR_PETS.finditer(part):
                facts.append(
                    self._fact(ctx, ctx.speaker, "has_pet", m.group("o"), "{s} has {o}", False, 0.7)
                )
        return facts

    def _have_subject(self, ctx: _Context, word: str) -> str | None:
        if word.lower() in ("i", "we"):
            return ctx.speaker if ctx.first_person else None
        if word.lower() in ("he", "she"):
            return ctx.last_person
        return None if word.split()[0] in _NOT_NAMES else word

    def _kin_fact(self, ctx: _Context, owner: str, kin_word: str, name: str) -> ExtractedFact:
        kin = " ".join(kin_word.lower().split())
        if re.fullmatch(_PETS, kin, re.IGNORECASE):
            return self._fact(ctx, owner, "pet", name, f"{{s}}'s {kin} is {{o}}", False, 0.85)
        relation = _KIN_CANONICAL.get(kin, kin).replace("-", "_").replace(" ", "_")
        words = relation.replace("_", " ")
        return self._fact(
            ctx,
            owner,
            relation,
            name,
            f"{{s}}'s {words} is {{o}}",
            relation in _FUNCTIONAL_KIN,
            0.85,
        )

    def _subjects(self, ctx: _Context, part: str) -> Iterator[tuple[int, int, str | None, bool]]:
        """(start, end, subject, third person) of each subject; subject None states nothing."""
        implicit = _IMPLICIT.match(part)
        if implicit and ctx.first_person:
            yield 0, implicit.end(), ctx.speaker, False
        for m in _SUBJECT.finditer(part):
            if m.group("intro"):
                owner = self._owner(ctx, m)
                name = m.group("o1") or m.group("o2")
                if name.split()[0] in _NOT_NAMES:
                    continue
                if owner and not _IRREALIS.search(_window(part, m.start())):
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
                if words[0] in _NOT_NAMES:
                    if len(words) == 1 or words[1] in _NOT_NAMES:
                        continue
                    start = m.start() + len(words[0]) + 1  # "Bet Max loves …"
                    name = words[1]
                elif len(words) > 1 and words[1] in _NOT_NAMES:
                    name = words[0]
                after = part[start + len(name) :]
                if _OBJECT_SLOT.search(_window(part, start, 40)):
                    continue  # "… live in Berlin": an object, not a subject
                if re.match(r"\s*[,!?.]", after) and _VOCATIVE_BEFORE.search(
                    _window(part, start, 40)
                ):
                    continue  # "Thanks, Maria!": spoken to
                if re.match(r"\s*(?:,\s*)?(?:I|you|we)\b", after) and _VOCATIVE_BEFORE.search(
                    _window(part, start, 40)
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
            before = _window(part, start)
            if _IRREALIS.search(before) or _INVERTED.search(before) or _EMBEDDED.search(before):
                continue
            if subject == ctx.speaker and _REPORTED_ABOUT_ME.search(before):
                continue
            clause = part[end : end + _CLAUSE_CHARS]
            free_time = bool(FREE_TIME.search(before))
            implicit = start == 0 and end > 0 and _IMPLICIT.match(part) is not None
            if _MODAL.match(clause.lstrip()):
                continue
            facts.extend(self._predicates(ctx, subject, clause, free_time, implicit, third))
        return self._pending + facts

    def _predicates(
        self,
        ctx: _Context,
        subject: str,
        clause: str,
        free_time: bool,
        implicit: bool,
        third: bool,
    ) -> list[ExtractedFact]:
        """Facts from a subject's clause, and from its coordinated verb phrases."""
        facts: list[ExtractedFact] = []
        continuations = [m.end() for m in _CONTINUATION.finditer(clause)]
        starts = [0, *continuations[:_MAX_CONTINUATIONS]]
        for n, pos in enumerate(starts):
            rest = clause[pos:].lstrip() if n else clause.lstrip(" ,")  # "My boss, Linda, loves"
            if n and re.match(rf"(?:I|we|he|she|they|it|you|{_NAME})\b", rest):
                break  # a new subject: its own clause
            if third and _BARE_VERB.match(rest):
                continue  # no agreement: not this subject's verb
            negated = False
            for pattern, replacement in _NEGATION:
                new = pattern.sub(replacement, rest, count=1)
                if new != rest:
                    rest, negated = new, True
                    break
            rest = rest[_LEAD_ADVERBS.match(rest).end() :]  # type: ignore[union-attr]
            if implicit and re.match(r"\w+ing\b", rest):
                rest = "am " + rest
            if n and not facts:
                break  # "and" only carries on a subject whose first verb phrase stated a fact
            rules = RULES + ((FREE_TIME_RULE,) if free_time and n == 0 else ())
            for rule in rules:
                m = rule.pattern.match(rest)
                if m:
                    facts.extend(self._apply(ctx, rule, subject, m.group("o"), negated))
        return facts

    def _apply(
        self, ctx: _Context, rule: Rule, subject: str, raw: str, negated: bool
    ) -> list[ExtractedFact]:
        relation = rule.relation
        if negated and rule.on_negation == "drop":
            return []
        if negated and rule.on_negation == "flip":
            relation, negated = "dislikes", False
        negated = negated or rule.negated
        if relation in ("likes", "dislikes") and (
            _DEFINITE_REFERENCE.match(raw)
            or re.match(r"\s*(?:his|her|their|your|its)\s", raw, re.I)
        ):
            return []  # "I love the lesson it teaches": about one thing, not a taste
        if relation == "studies" and _UNPARSED_SKILL.match(raw):
            return []
        if relation in ("works_at", "studies_at") and _GENERIC_PLACE.match(raw):
            return []  # "a shooting guard for the team": no organisation named
        if rule.cut is not None:
            end = rule.cut.search(raw)
            raw = raw[: end.start()] if end else raw
        if rule.mode == "raw":
            objects = [_strip_leading(raw)]
        elif rule.mode == "place":
            objects = [_proper_or_clip(raw)]
        elif rule.mode in ("list", "proper_list"):
            objects = _list_items(raw, proper=rule.mode == "proper_list")
        else:
            objects = [_clip(raw)]
        facts = []
        for obj in objects:
            if rule.transform is not None:
                obj = rule.transform(obj) or ""
            obj = obj.strip()
            if not _ok(obj):
                continue
            phrase = "{s} dislikes {o}" if relation != rule.relation else rule.phrase
            confidence = rule.confidence * (0.9 if subject == ctx.last_person else 1.0)
            facts.append(
                self._fact(
                    ctx, subject, relation, obj, phrase, rule.functional, confidence, negated
                )
            )
        return facts

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

    # -- foresight ------------------------------------------------------------------------

    def _foresight(self, ctx: _Context, raw: str, sentence: str) -> list[ExtractedForesight]:
        if not ctx.first_person:
            return []  # the assistant's own plans ("I'm going to summarise…") are not memory
        text = " ".join(_declarative_parts(sentence))
        if not text or _NOT_A_PLAN.search(text):
            return []
        said = ctx.turn.event_time
        if _DEADLINE.search(text):
            kind = "deadline"
        elif _TEMPORARY.search(text):
            kind = "temporary_state"
        elif self._dated_event(text, said) or self._intention(text):
            kind = "plan"
        else:
            return []
        mentions = self._future(find_dates(text, said, prefer="future"), said)
        ends = [m for m in mentions if _UNTIL.search(_window(text, m.start, 30))]
        durations = [m for m in mentions if m.granularity == "duration"]
        points = [m for m in mentions if m not in ends and m not in durations]
        due: datetime | None = None
        last_day: datetime | None = None
        starts_later = (
            points
            and not ends
            and not durations
            and not any(m.until for m in points)
            and points[0].when.date() > said.date()
        )
        if kind == "temporary_state" and starts_later:
            kind = "plan"  # "my sister is visiting on Friday": it starts later
        if kind == "temporary_state":
            # It lasts until the stated end, for the stated time, or to the end of a period.
            if ends:
                due = ends[-1].when
            elif durations:
                due = durations[0].when
            elif points:
                due = points[0].last_day
            last_day = due
        elif points or ends:
            first = (points or ends)[0]
            due = first.when if first.when.date() >= said.date() else said
            last_day = first.last_day
        expires = foresight_expiry(kind, said, last_day)
        content = f"{ctx.speaker}: {raw}"
        return [ExtractedForesight(kind, content, ctx.turn.index, due, expires)]

    @staticmethod
    def _intention(text: str) -> bool:
        """An undated plan: "I want to learn the cello", not "I'll keep you posted"."""
        return any(not _NOT_AN_ACTION.match(m.group("rest")) for m in _PLAN.finditer(text))

    def _dated_event(self, text: str, said: datetime) -> bool:
        """A future event mentioned in passing: "my flight leaves next Tuesday"."""
        mentions = [
            m
            for m in self._future(find_dates(text, said, prefer="auto"), said)
            if m.granularity != "duration"
            # "parks are lovely in spring" is habitual; "this spring" is a time
            and not (
                m.granularity == "season" and re.match(r"(?:in|over|during)\b", m.phrase, re.I)
            )
        ]
        if not mentions:
            return False
        explicit = bool(_EXPLICIT_FUTURE.match(mentions[0].phrase))
        if _RECURRING.search(text) and not explicit:
            return False  # "Caroline's birthday is July 12" is a fact, not a plan
        same_day = mentions[0].when.date() == said.date()
        if same_day and not (_PROGRESSIVE.search(text) or _PLAN.search(text)):
            return False  # "here's my example for today"
        return explicit or direction(text) >= 0

    @staticmethod
    def _future(mentions: list[DateMention], said: datetime) -> list[DateMention]:
        today = said.date()
        return [m for m in mentions if m.last_day.astimezone(said.tzinfo).date() >= today]


def foresight_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
