"""Word lists the offline extractor recognises: kin, pets, jobs, instruments, names."""

from __future__ import annotations

import re


def anycase(pattern: str) -> re.Pattern[str]:
    """A pattern that ignores case; an inner `(?-i:[A-Z])` still asks for a capital."""
    return re.compile(pattern, re.IGNORECASE)


def _words(text: str) -> list[str]:
    """A vocabulary written as "a|b|two words"."""
    return [w.strip() for w in text.split("|") if w.strip()]


KIN_CANONICAL = {
    "mom": "mother", "mum": "mother", "mommy": "mother", "mama": "mother", "mother": "mother",
    "dad": "father", "daddy": "father", "papa": "father", "father": "father",
    "grandma": "grandmother", "granny": "grandmother", "nana": "grandmother",
    "grandmother": "grandmother", "grandpa": "grandfather", "granddad": "grandfather",
    "grandfather": "grandfather", "fiancé": "fiance", "fiancee": "fiance",
    "fiancée": "fiance", "fiance": "fiance", "co-worker": "coworker", "coworker": "coworker",
    "flatmate": "roommate", "housemate": "roommate", "roommate": "roommate",
    "bestie": "best_friend", "best friend": "best_friend", "kid": "child", "child": "child",
    "neighbour": "neighbor", "neighbor": "neighbor", "team lead": "manager",
    "team leader": "manager", "line manager": "manager", "closest friend": "best_friend",
    "little boy": "son", "baby boy": "son", "little girl": "daughter", "baby girl": "daughter",
    "hubby": "husband",
}  # fmt: skip
_KIN_WORDS = _words(
    "partner|wife|husband|boyfriend|girlfriend|spouse|son|daughter|brother|sister|friend|"
    "boss|manager|cousin|aunt|uncle|niece|nephew|grandson|granddaughter|stepson|"
    "stepdaughter|stepmom|stepdad|mother-in-law|father-in-law|sister-in-law|"
    "brother-in-law|colleague|twin|ex|ex-wife|ex-husband|ex-boyfriend|ex-girlfriend|coach|"
    "mentor"
) + list(KIN_CANONICAL)
FUNCTIONAL_KIN = {
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
    "web developer|sommelier|dog walker|zookeeper|jeweler|jeweller|lifeguard|stockbroker|broker|"
    "optician|dietitian|dietician|nutritionist|locksmith|organizer|organiser|"
    "personal assistant|teaching assistant|executive assistant|dental assistant|"
    "medical assistant|research assistant|legal assistant|assistant manager|store manager|"
    "tour guide|caretaker|concierge|bouncer|doula|emt|interpreter|chauffeur|porter|steward|"
    "stewardess|roofer|decorator|seamstress|cobbler|potter|sculptor|ceramicist|brewer|"
    "winemaker|dishwasher|hostess|pastry chef|sous chef|line cook|fishmonger|grocer|"
    "radiographer|sonographer|phlebotomist|hygienist|orthodontist|pediatrician|"
    "dermatologist|cardiologist|oncologist|anesthesiologist|neurologist|obstetrician|"
    "audiologist|chiropractor|massage therapist|acupuncturist|nurse practitioner|"
    "air traffic controller|inspector|auditor|actuary|underwriter|trader|teller|notary|"
    "solicitor|barrister|archivist|curator|historian|archaeologist|anthropologist|"
    "sociologist|linguist|chaplain|minister|missionary|sergeant|lieutenant|diplomat|"
    "politician|senator|mayor|councillor|lobbyist|activist|fundraiser|tester|scrum master|"
    "game developer|game designer|videographer|filmmaker|producer|screenwriter|playwright|"
    "poet|novelist|publisher|principal|headteacher|referee|umpire|athlete|footballer|jockey|"
    "groomer|rancher|forester|landscaper|beekeeper|zoologist|ecologist|botanist|"
    "meteorologist|astronomer|planner|draftsman|mason|bricklayer|plasterer|handyman|"
    "custodian|maid|babysitter|au pair|supervisor|foreman|coordinator|specialist|advisor|"
    "adviser|strategist|salesperson|sales rep|estate agent|comedian|magician|bartender|"
    "mixologist|trucker|cab driver|taxi driver|bus driver|truck driver|paramedic|nanny|"
    "vet tech|lab tech|pharmacy tech|nail tech|tech"
)
_INSTRUMENTS_AND_SPORTS = _words(
    "guitar|piano|violin|viola|drums|cello|flute|saxophone|sax|trumpet|trombone|clarinet|"
    "harp|ukulele|banjo|bass|keyboard|keys|harmonica|accordion|organ|soccer|football|"
    "tennis|basketball|baseball|volleyball|hockey|rugby|cricket|golf|chess|poker|"
    "badminton|squash|handball|softball|lacrosse|pickleball|bridge|table tennis|"
    "ping pong|video games|board games|water polo|oboe|bassoon|tuba|mandolin|synth|"
    "synthesizer|darts|bowling|pool|snooker|curling|frisbee|ultimate frisbee|padel|"
    "netball|dodgeball|polo|cards|mahjong|sudoku"
)
_KID_AND_THINGS = _words(
    "kids|children|child|sons|son|daughters|daughter|baby|babies|twins|grandkids|"
    "grandchildren|stepson|stepdaughter|car|cars|truck|motorcycle|motorbike|bike|bikes|"
    "house|houses|apartment|flat|condo|cabin|boat|business|company|shop|store|restaurant|"
    "cafe|bakery|studio|farm|garden|piano|van|scooter|motorhome|tractor|"
    "brother|brothers|sister|sisters|siblings|stepbrother|stepsister|half-brother|half-sister"
)
# Words that make a lower-case phrase an organisation: "at a hotel", "the city council".
_ORGANISATIONS = _words(
    "hospital|clinic|school|university|college|hotel|bank|library|restaurant|cafe|bakery|"
    "firm|company|startup|start-up|agency|factory|warehouse|store|shop|supermarket|bar|gym|"
    "studio|nonprofit|non-profit|charity|museum|lab|laboratory|airline|airport|newspaper|"
    "magazine|church|council|prison|zoo|farm|ranch|garage|salon|office|center|centre|"
    "shelter|hospice|pharmacy|bookstore|brewery|winery|boutique|daycare|nursery|kindergarten|"
    "consultancy|practice|ministry|department|embassy|army|navy|police|station|plant|mine|"
    "mill|shipyard|theater|theatre|cinema|publisher|network|channel|radio|club|team|"
    "coffee shop|law firm|call center|call centre|nursing home|care home|high school|"
    "middle school|elementary school|fire department|police department|city|government|"
    "county|state|federal government|military|air force|marines|coast guard|government agency|"
    "steakhouse|diner|pub|pizzeria|bistro|deli|food truck|grocery store|hardware store|"
    "bookshop|garden centre|garden center|dealership|hostel|resort|casino|spa|vineyard|"
    "distillery|cafeteria|canteen|fast food place|pizza place|burger joint|taqueria"
)
# Words that make a lower-case phrase a place to live or come from: "the suburbs", "a small
# town in Ohio" (but not "hope", "fear of spiders", "a big family").
_PLACE_KINDS = _words(
    "suburbs|suburb|burbs|city|town|village|hamlet|countryside|country|state|area|"
    "neighborhood|neighbourhood|region|island|coast|mountains|desert|valley|outskirts|"
    "downtown|uptown|capital|farm|ranch|north|south|east|west|midwest|hills|province|"
    "county|district|borough|seaside|boondocks|sticks|middle of nowhere|city centre|"
    "city center|town centre|metro area|bay area|states|commune|kibbutz|reservation|"
    "base|compound|highlands|lowlands|countryside|coastline|fjords|tropics|"
    "suburbia|heartland|bush|outback|prairie|prairies|delta|peninsula|archipelago"
)
_BUSINESSES = _words(
    "business|company|shop|store|restaurant|cafe|bakery|studio|salon|gym|farm|firm|"
    "practice|clinic|bar|bookstore|bookshop|startup|agency|brewery|winery|boutique"
)


def _alt(words: list[str]) -> str:
    """A regex alternation, longest first, with inner spaces matching any whitespace."""
    return "|".join(w.replace(" ", r"\s+") for w in sorted(set(words), key=len, reverse=True))


KIN = _alt(_KIN_WORDS)
PETS = _alt(_PET_WORDS)
JOB = _alt(_JOBS)
PLAYS = _alt(_INSTRUMENTS_AND_SPORTS)
THINGS = _alt(_KID_AND_THINGS)
BUSINESS = _alt(_BUSINESSES)
ORGANISATION = _alt(_ORGANISATIONS)
PLACE_KIND = _alt(_PLACE_KINDS)
DIETS = (
    r"vegan|vegetarian|pescatarian|pescetarian|keto|paleo|plant-based|gluten-free|"
    r"dairy-free|low-carb|halal|kosher|raw"
)
# Verbs of pastimes and the noun each names: "I swim twice a week" → "swimming".
ACTIVITY_NOUNS = {
    "run": "running", "swim": "swimming", "cycle": "cycling", "bike": "biking",
    "hike": "hiking", "jog": "jogging", "garden": "gardening", "knit": "knitting",
    "paint": "painting", "bake": "baking", "surf": "surfing", "ski": "skiing",
    "climb": "climbing", "dance": "dancing", "sing": "singing", "sew": "sewing",
    "fish": "fishing", "skate": "skating", "row": "rowing", "box": "boxing",
    "draw": "drawing", "write": "writing", "read": "reading", "crochet": "crocheting",
    "sketch": "sketching", "travel": "traveling", "meditate": "meditating",
    "snowboard": "snowboarding", "kayak": "kayaking", "sail": "sailing",
}  # fmt: skip
_UNITS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen"
)
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
# A number written in words, one to ninety-nine: "six", "thirty-eight".
NUMBER_WORDS = rf"(?:(?:{_TENS})(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|{_UNITS})"


def number_value(words: str) -> str | None:
    """ "thirty-eight" → "38"; None when it is not a number in words."""
    units = _UNITS.split("|")
    tens = _TENS.split("|")
    parts = words.lower().replace("-", " ").split()
    if len(parts) == 1 and parts[0] in units:
        return str(units.index(parts[0]) + 1)
    if parts and parts[0] in tens and len(parts) <= 2:
        value = (tens.index(parts[0]) + 2) * 10
        if len(parts) == 2:
            if parts[1] not in units[:9]:
                return None
            value += units.index(parts[1]) + 1
        return str(value)
    return None


# Nationalities, religions and the like: capitalised, but never a person's name
# ("my wife is Italian").
DEMONYMS = {
    "American", "British", "English", "Scottish", "Welsh", "Irish", "Canadian", "Mexican",
    "Brazilian", "Argentinian", "Chilean", "Peruvian", "Colombian", "Cuban", "French",
    "German", "Italian", "Spanish", "Portuguese", "Dutch", "Belgian", "Swiss", "Austrian",
    "Swedish", "Norwegian", "Danish", "Finnish", "Icelandic", "Polish", "Czech", "Slovak",
    "Hungarian", "Romanian", "Bulgarian", "Greek", "Turkish", "Russian", "Ukrainian",
    "Chinese", "Japanese", "Korean", "Vietnamese", "Thai", "Filipino", "Indonesian",
    "Malaysian", "Indian", "Pakistani", "Bangladeshi", "Iranian", "Iraqi", "Israeli",
    "Egyptian", "Moroccan", "Nigerian", "Kenyan", "Ethiopian", "Ghanaian", "African",
    "Australian", "Kiwi", "European", "Asian", "Latina", "Latino", "Hispanic", "Arab",
    "Catholic", "Protestant", "Christian", "Jewish", "Muslim", "Hindu", "Buddhist",
    "Sikh", "Mormon", "Atheist", "Republican", "Democrat",
}  # fmt: skip
NUM = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|\d+)"
KIN_ADJ = r"(?:little|younger|older|big|baby|twin|eldest|oldest|youngest|new|step|late)"
UPPER = "A-ZÀ-ÖØ-Þ"
# A proper name: one or two capitalised words (hyphenated parts allowed).
NAME = rf"(?-i:[{UPPER}][^\W\d_]+(?:-[{UPPER}][^\W\d_]+)?(?:\s[{UPPER}][^\W\d_]+)?)"
NOT_NAMES = {
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
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Miss", "Prof", "Sir", "Madam", "Me", "Name", "Call",
    "Look", "Looky", "Lookie", "Come", "Over", "Right", "Out", "Stop", "Get", "Been",
}  # fmt: skip
