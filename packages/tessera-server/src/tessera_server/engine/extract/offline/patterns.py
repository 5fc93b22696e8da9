"""Patterns that find subjects and possessive statements ("my sister Ana", "my favorite band is …",
"my name is …")."""

from __future__ import annotations

import re

from .vocabulary import DIETS, KIN, KIN_ADJ, NAME, NUM, PETS, anycase

_POSS = rf"(?P<poss>\b(?:[Mm]y|[Oo]ur|[Hh]is|[Hh]er|[Tt]heir)|(?P<pname>{NAME})'s)"
FAMILY_NAMED = anycase(
    _POSS + rf"\s+(?:{KIN_ADJ}\s+)?(?P<kin>{KIN}|{PETS})(?:'s\s+name\s+is|\s+is\s+(?:called|"
    rf"named)|\s+(?:called|named)|\s+goes\s+by)\s+(?P<o>{NAME})"
)
FAMILY_APPOSITION = anycase(
    _POSS + rf"\s+(?:{KIN_ADJ}\s+)?(?P<kin>{KIN}|{PETS})"
    rf"(?:,\s*(?P<o1>{NAME})(?=\s*,|\s+(?!and\b|or\b)[a-z])|\s+(?P<o2>{NAME})\b)"
)
_HAVE_SUBJECT = rf"(?P<subj>\b(?:I|[Ww]e|[Hh]e|[Ss]he)\b|{NAME})\s+(?:(?:also|just|now|still)\s+)?"
HAVE_NAMED = anycase(
    _HAVE_SUBJECT
    + r"(?:have|has|have\s+got|has\s+got|got|adopted)\s+(?:a|an|one)\s+(?:[\w-]+\s+){0,2}?"
    rf"(?P<kin>{KIN}|{PETS})(?:\s+(?:named|called)\s+|,\s*)(?P<o>{NAME})"
    r"(?=\s*(?:[,.!?;:]|$|(?:and|who|but)\b)|\s+(?!and\b|who\b|but\b)[a-z])"
)
# "… and a dog named Taco": one more pet or child named after the first.
AND_NAMED = anycase(
    rf"\s*(?:,\s*)?(?:and\s+)?(?:a|an|one)\s+(?:[\w-]+\s+){{0,2}}?(?P<kin>{KIN}|{PETS})"
    rf"\s+(?:named|called)\s+(?P<o>{NAME})"
)
PET_LIST = anycase(
    _HAVE_SUBJECT + rf"(?:have|has|got|adopted)\s+{NUM}\s+(?:[\w-]+\s+)?(?P<kin>{PETS})(?:s|es)?"
    rf"(?:,\s*|\s+(?:named|called)\s+)(?P<names>{NAME}(?:(?:,\s*|,?\s+and\s+){NAME})+)"
)
OUR_PETS = anycase(
    rf"\b(?:[Mm]y|[Oo]ur)\s+(?P<o>(?:two|three|four|five|\d+)\s+(?:{PETS})(?:s|es)?)\b"
)
MY_NAME = re.compile(
    rf"\b(?:[Mm]y\s+name\s+is|[Cc]all\s+me|I\s+go\s+by|^\s*[Nn]ame's)\s+(?P<o>{NAME})|"
    rf"(?:^|\b(?:[Hh]i|[Hh]ello|[Hh]ey|[Bb]y\s+the\s+way|[Bb]tw|[Oo]h|[Aa]nyway)(?:\s+there)?[,!]?\s+)"
    rf"I\s+am\s+(?P<o2>{NAME})(?=\s*(?:[,.!]|$|and\b))|"
    rf"\bI\s+am\s+(?P<o3>{NAME}),?\s+(?:by\s+the\s+way|btw|nice\s+to\s+meet|"
    rf"pleased\s+to\s+meet)|^\s*(?:(?:[Hh]i|[Hh]ello|[Hh]ey)[,!]?\s+)?(?P<o4>{NAME})\s+here"
    r"(?=\s*(?:[,.!]|$))",
)
# "My manager is Priya": a role, then the person's name.
KIN_IS = anycase(
    _POSS + rf"\s+(?:{KIN_ADJ}\s+)?(?P<kin>{KIN})(?:\s+is|'s)\s+(?:now\s+|still\s+|actually\s+)?"
    rf"(?P<o>{NAME})(?=\s*(?:[,.!?;:]|$|\s-\s|(?:and|but|who|from)\b))"
)
# "My dog is a beagle named Ollie": the kind of pet, and maybe its name.
PET_IS = anycase(
    _POSS + rf"\s+(?P<kin>{PETS})(?:\s+is|'s)\s+an?\s+(?P<breed>(?:[\w-]+\s+){{0,2}}?(?:{PETS}))\b"
    rf"(?:,?\s+(?:named|called)\s+(?P<o>{NAME}))?"
)
# "My home is in Lisbon now", "My employer is Siemens": an attribute named by its noun.
_ATTRIBUTES = {
    "lives_in": "current home|current city|home|place|apartment|flat|house|base",
    "from": "hometown|home town|birthplace|home country",
    "speaks": "native language|first language|mother tongue|native tongue",
    "works_at": "employer|company|workplace",
    "works_as": "job title|profession|occupation",
}
ATTRIBUTE_RELATION = {
    noun: relation for relation, nouns in _ATTRIBUTES.items() for noun in nouns.split("|")
}
ATTRIBUTE = anycase(
    _POSS
    + r"\s+(?P<noun>"
    + "|".join(n.replace(" ", r"\s+") for n in ATTRIBUTE_RELATION)
    + r")(?:\s+is|'s)\s+(?:now\s+|still\s+|currently\s+)?(?P<o>.+)"
)
# A place given a name after a description: "a little place called Hoi An" → "Hoi An".
PLACE_CALLED = anycase(r"^(?:in\s+)?(?:(?:an?|the)\s+)?(?:[\w-]+\s+){0,3}?(?:called|named)\s+")
# "… a puppy, his name is Bruno": the name of the pet or child just mentioned.
THEIR_NAME = re.compile(rf"\b(?:[Hh]is|[Hh]er|[Ii]ts|[Tt]heir)\s+name\s+is\s+(?P<o>{NAME})")
# A copula denied ("I'm not a doctor") and the words that make it an ending ("… anymore").
DENIAL = anycase(r"(?:am|is|are|'s|was|were)\s+not\b")
ENDED = anycase(r"\b(?:anymore|any\s+more|no\s+longer|now)\b")
# "never" before the verb: "I've never been married" closes nothing.
NEVER = anycase(r"(?:(?:am|is|are|'s|was|were|have|has)\s+)?never\b")
# A child or pet counted, then named: "We have a baby, her name is Ava".
UNNAMED_KIN = {
    "son": "son", "daughter": "daughter", "boy": "son", "girl": "daughter", "baby": "child",
    "child": "child", "kid": "child",
}  # fmt: skip
# "As a nurse, I …", "As someone who lives in Chicago, …": the speaker's role, stated in passing.
ROLE_INTRO = anycase(
    r"^\s*(?:(?:speaking|talking)\s+)?as\s+(?:(?P<a>an?\s+[^,]{1,60})|(?:someone|somebody|a\s+person)\s+"
    r"(?P<who>[^,]{1,60}))(?=,|$)|^\s*being\s+(?P<being>(?:an?\s+|from\s+)[^,]{1,60})(?=,)"
)
FAVORITE = anycase(
    _POSS + r"\s+(?:all[- ]time\s+|absolute\s+)?fav(?:ou?rite|e)\s+"
    r"(?:(?:kind|type|sort|genre|style)\s+of\s+)?"
    r"(?P<r>(?!is\b|are\b)[a-z]+(?:\s+(?!is\b|are\b|has\b|would\b|of\b|ever\b|was\b|will\b)[a-z]+)?)"
    r"\s+(?:of\s+all\s+time\s+|ever\s+|in\s+the\s+(?:world|universe)\s+)?(?:is|are|has\s+to\s+be|would\s+be|was\s+always|'s|"
    r"will\s+always\s+be)\s+(?P<o>.+)"
)
FAVORITE_REVERSED = re.compile(
    r"(?:^|,\s*)(?P<o>[^,.;!?]{1,40}?)\s+(?:is|are)\s+(?:definitely\s+|probably\s+|still\s+)?"
    r"(?:[Mm]y)\s+(?:all[- ]time\s+)?fav(?:ou?rite|e)\s+(?:(?:kind|type|sort|genre|style)\s+of\s+)?"
    r"(?P<r>[a-z]+(?:\s+(?!of\b)[a-z]+)?)\b",
)
# "My real passion is baking": a taste named after its noun.
MY_PASSION = anycase(
    r"\b(?:my|our)\s+(?:real\s+|true\s+|biggest\s+|greatest\s+|main\s+|one\s+true\s+)?"
    r"(?:passion|obsession|guilty\s+pleasure)\s+(?:is|are|has\s+always\s+been|'s)\s+(?P<o>.+)"
)
# "Musicals aren't my thing": a dislike said sideways.
NOT_MY_THING = anycase(
    r"^(?:(?:honestly|tbh|yeah|well|ok|okay|so|but|and)[,\s]+)*(?P<o>[A-Za-z][\w'-]*(?:\s+[\w'-]+){0,3}?)"
    r"\s+(?:is|are)\s+not\s+(?:really\s+|exactly\s+|quite\s+)?(?:my|our)\s+(?:thing|cup\s+of\s+tea|"
    r"jam|scene)\b"
)
BIRTHDAY = anycase(
    _POSS + r"\s+(?:birthday|b-?day)(?:\s+is|'s|\s+falls|\s+is\s+coming\s+up)\s+"
    r"(?:on\s+|in\s+(?:early\s+|mid-?\s*|late\s+)?)?(?:the\s+)?(?P<o>.+)"
)
# What nobody is allergic to but in jest: "allergic to Mondays", "allergic to exercise".
JOKE_ALLERGEN = anycase(
    r"(?:mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|mornings?|"
    r"work|working|exercise|effort|drama|commitment|people|humans|stupidity|math|maths|cardio|"
    r"adulting|small\s+talk|nonsense|responsibility|responsibilities|meetings?|homework|"
    r"chores|running|the\s+gym|gyms?|emails?|deadlines?|mondays?\s+mornings?|early\s+mornings?|"
    r"bad\s+vibes|negativity|bs|bullshit|effort|taxes|paperwork|alarm\s+clocks?|winter|rain)"
)
# "Running is my thing", "Baking is my passion": a taste said the other way round.
MY_THING = anycase(
    r"^(?P<o>[A-Za-z][\w'-]*(?:\s+[\w'-]+){0,2}?)\s+(?:is|are)\s+(?:really\s+|totally\s+)?"
    r"(?:my|our)\s+(?:thing|passion|life|jam|obsession|happy\s+place|therapy|"
    r"(?:absolute\s+|all-time\s+)?fav(?:ou?rite|e)(?=\s*(?:[.!]|$)))\b"
)
# "I'm Irish, …": a nationality, after which a place may follow with the verb left out.
NATIONALITY = anycase(r"(?:am|is|are)\s+(?-i:[A-Z])[a-z]+(?:\s*,|\s+and\b)")
# Past participles that take "was" when the verb is left out: "…, raised in LA".
PARTICIPLE = anycase(r"(?:born|raised|brought\s+up)\b")
PLACE_RELATIONS = frozenset({"lives_in", "from", "grew_up_in", "works_at", "studies_at", "visited"})
# "Meet Toby, my golden retriever!"
MEET = re.compile(
    rf"^\s*(?:[Mm]eet|[Tt]his\s+is)\s+(?P<o>{NAME}),\s+(?P<poss>[Mm]y|[Oo]ur)\s+"
    rf"(?:{KIN_ADJ}\s+)?(?:[\w-]+\s+)?(?P<kin>{KIN}|{PETS})\b",
)
# A fragment with the speaker left out: "Born in Tehran, raised in LA", "Not a big fan of …".
FRAGMENT = anycase(
    r"^\s*(?:(?P<was>born|raised|brought\s+up)|(?P<am>originally\s+from|not\s+(?:a\s+|really\s+a\s+)?"
    r"(?:big\s+|huge\s+)?fan\s+of))\b"
)
# "Huge Celtics fan here", "Nurse here, …": the speaker introduced by what they are.
HERE_INTRO = anycase(
    r"^\s*(?P<desc>(?!(?:same|over|me|you|him|her|it|we|they|out|in|right|just|back|up|down|"
    r"not|still|anyone|someone|everyone|nobody|nothing|everything|anything|all|from|new)\b)"
    r"(?-i:[A-Za-z])[\w'-]*(?:\s+[\w'-]+){0,3}?)\s+here\s*(?:[,.!:;]|\s-\s|$)"
)
HOBBIES = anycase(
    _POSS + r"\s+(?:main\s+|favou?rite\s+|biggest\s+)?hobb(?:y|ies)\s+(?:is|are|includes?)\s+"
    r"(?P<o>.+)"
)
HOME_IS = re.compile(
    r"(?:^|\b[Mm]y\s+)[Hh]ome\s+(?:for\s+(?:me|us)\s+)?is\s+(?:now\s+)?(?P<o>.+)",
)
YUCK = re.compile(
    r"^(?P<o>(?-i:[A-Z])[a-z]+(?:\s+[a-z]+)?)\s+(?:is|are)\s+(?:so\s+|absolutely\s+|just\s+|"
    r"really\s+)?(?:disgusting|gross|revolting|nasty|vile|the\s+worst)\b",
)
DATE_OBJECT = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?=\W|$)|"
    r"\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:January|February|March|April|May|June|July|"
    r"August|September|October|November|December)",
)
SUBJECT = anycase(
    rf"(?P<we>^\s*[Mm]e\s+and\s+(?:my\s+[\w-]+(?:\s+{NAME})?|{NAME}))|"
    rf"(?P<intro>{FAMILY_APPOSITION.pattern})|(?P<pron>\b(?:I|i|[Ww]e|[Hh]e|[Ss]he)\b)|"
    rf"(?P<name>\b{NAME})"
)
IMPLICIT = anycase(
    r"^(?:currently|still|just|recently|now|been)\s+(?=\w+ing\b|moved|started|visited|got|went|"
    rf"based\b|(?:{DIETS}|married|single|engaged|divorced)\b)"
)
OBJECT_SLOT = anycase(
    r"\b(?:in|at|to|from|for|near|of|about|by|on|into|with|visited|visit|like|love|likes|"
    r"loves|than|the|a|an|my|our|his|her|their|called|named|is|are|was|were)\s+$"
)
# A gerund whose object the clipping cut off: "caring for my pups", "working from home".
CUT_GERUND = re.compile(r"\s*\w+ing\s+(?:for|from|with|about|to|on|at|in|of|into|over)\b", re.I)
# "Jake, my coworker, plays the drums": the person's role put after their name.
NAME_THEN_ROLE = anycase(
    rf"^\s*,\s*(?P<poss>my|our)\s+(?:{KIN_ADJ}\s+)?(?P<kin>{KIN}|{PETS})\s*,(?=\s+(?-i:[a-z]))"
)
# "Ana and I …": a subject shared with the speaker.
JOINT = re.compile(r"\s*and\s+(?-i:I)\s+")
# What may stand before a subject that opens a clause.
CLAUSE_START = anycase(r"(?:^|[,;:.!?]|\b(?:and|but|so|because|when|while|then|also))\s*$")
# A name after "is", "called" or "named" is someone the next "he"/"she" may mean.
COPULA_SLOT = anycase(r"\b(?:is|are|was|were|called|named)\s+$")
# Where a subject's next verb phrase starts: "I'm 45, married, and live in Perth".
# After "I'm a nurse", "who" carries the speaker on ("… who works nights at St Mary's").
CONTINUATION = re.compile(
    r"(?:(?P<who>,?\s+who\s+)|,\s*(?:and\s+|but\s+)?|\s(?:and|but)\s+)(?:also\s+|then\s+)?"
)
# A third-person subject takes "lives", not "live": "Sounds like a plan" has no subject.
BARE_VERB = anycase(
    r"(?:live|work|love|like|enjoy|adore|hate|dislike|detest|loathe|despise|speak|play|study|"
    r"go|collect|teach|prefer|own|run|drive|have|reside|am|are|were)\b"
)
# Words that open a clause a subject does not assert: "what I like", "where I got married".
EMBEDDED = anycase(r"\b(?:what|which|whatever|where|when|how|why|whom|whose|as)\s+$")
# A clause led by a modal or an intention states no fact yet ("we'll teach others").
MODAL = anycase(
    r"(?:will|would(?!\s+(?:much\s+)?rather)"
    # "I'd pick the beach over the mountains": a preference, not a hypothetical
    r"(?!\s+(?:always\s+)?(?:pick|choose|take|go\s+with|go\s+for)\s+[^,.;!?]+?\s+"
    r"(?:over|instead\s+of|rather\s+than|any\s+day)\b)|could|should|might|may|must|shall|"
    r"can(?!\s+(?:speak|not\s+(?:stand|bear|get\s+enough)))|"
    r"(?:am|is|are)\s+going\s+to|wants?\s+to|needs?\s+to|ha(?:ve|s)\s+to|hopes?\s+to|"
    r"plans?\s+to|(?:am|is|are)\s+(?:planning|hoping|about)\s+to)\b"
)
# A name spoken to, not about: "Thanks, Maria!", "Yeah, Sam, …".
VOCATIVE_BEFORE = anycase(
    r"(?:^\s*|(?:^|[,.!?]\s*)(?:thanks|thank\s+you|hey|hi|hello|yeah|yes|no|wow|oh|sorry|"
    r"congrats|congratulations|great|nice|awesome|dear|ok|okay|sure|cool|well|aww|haha|lol)"
    r"[,!]?\s*)$"
)
