"""Word lists the offline extractor recognises: kin, pets, jobs, instruments, names."""

from __future__ import annotations


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
    "neighbour": "neighbor", "neighbor": "neighbor",
}  # fmt: skip
_KIN_WORDS = _words(
    "partner|wife|husband|boyfriend|girlfriend|spouse|son|daughter|brother|sister|friend|"
    "boss|manager|cousin|aunt|uncle|niece|nephew|grandson|granddaughter|stepson|"
    "stepdaughter|stepmom|stepdad|mother-in-law|father-in-law|sister-in-law|"
    "brother-in-law|colleague|twin|ex|ex-wife|ex-husband|ex-boyfriend|ex-girlfriend"
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


KIN = _alt(_KIN_WORDS)
PETS = _alt(_PET_WORDS)
JOB = _alt(_JOBS)
PLAYS = _alt(_INSTRUMENTS_AND_SPORTS)
THINGS = _alt(_KID_AND_THINGS)
BUSINESS = _alt(_BUSINESSES)
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
}  # fmt: skip
