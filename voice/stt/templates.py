"""How crews phrase questions, for the speech vocabulary: question templates with a
slot for a noun phrase of the manuals, and the everyday words and sentences of a
kitchen that no manual spells out. General phrasing only, never a particular store's
questions.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import cache

# "{x}" is a noun phrase from the knowledge base ("fryer", "walk in door seal").
QUESTIONS = """
how long do {x} cook
how long do the {x} go in
how long do i cook the {x}
how long does the {x} take
how long does {x} last
how long is {x} good for
how long is the {x} good for
how long can {x} sit out
how long can the {x} sit
how long can we hold the {x}
how long do we keep the {x}
what temperature should the {x} be
what temperature should the {x} be at
what temp should the {x} be
what temp should the {x} be at
what temp is the {x}
what temp does the {x} need to be
what temp do we cook the {x} at
what's the temp on the {x}
how hot does the {x} need to be
how hot should the {x} be
how cold should the {x} be
is the {x} too hot
is the {x} too cold
what do i do if the {x} is down
what do i do if the {x} is broken
what do i do if the {x} is not working
what do i do with the {x}
what do i do about the {x}
what do we do when the {x} breaks
the {x} is down what do i do
the {x} is not working
the {x} won't turn on
the {x} is leaking
the {x} is making a noise
the {x} says error
the {x} shows an error
the {x} is beeping
the {x} is too hot
the {x} is warm
the {x} got dropped
where is the {x}
where's the {x}
where are the {x}
where do we keep the {x}
where does the {x} go
where do i put the {x}
where do we store the {x}
how often do we clean the {x}
how often do we change the {x}
how often do we check the {x}
how often do we filter the {x}
how often do we replace the {x}
how often does the {x} get cleaned
when do we clean the {x}
when do we change the {x}
when do we turn on the {x}
when do we turn off the {x}
when can we shut off the {x}
what time do we turn on the {x}
what's the {x}
what is the {x}
what are the {x}
what's the {x} for
what does the {x} mean
what does {x} mean
can i use the {x}
can we still use the {x}
can i reuse the {x}
can i put the {x} in the walk in
do we toss the {x}
do we throw out the {x}
should i throw away the {x}
how do i clean the {x}
how do i check the {x}
how do i test the {x}
how do i fix the {x}
how do i use the {x}
how do i set up the {x}
how do i turn on the {x}
how do i turn off the {x}
how do i reset the {x}
how do i calibrate the {x}
how do i change the {x}
how do i make the {x}
how do you do a {x}
how do we do the {x}
how does the {x} work
walk me through the {x}
show me the {x}
tell me about the {x}
who do i tell about the {x}
who do i call about the {x}
how much {x} do we use
how many {x} go in
how full should the {x} be
which {x} do i use
is the {x} safe
is it okay to use the {x}
is {x} allowed
do we need {x}
do i need {x}
do i have to wear {x}
does the {x} have {x}
{x} cook time
{x} cook time and temp
{x} temp
{x} time
{x} is down
{x} error
{x} procedure
{x} steps
and {x}
and the {x}
and {x} too
what about the {x}
what about {x}
how about the {x}
and what about the {x}
and for the {x}
same for the {x}
"""

# "{c}" is an instruction of the manuals turned into what crews ask about it
# ("filter the vat first" → "how do i filter the vat first").
INSTRUCTION_QUESTIONS = """
how do i {c}
how do you {c}
how do we {c}
can i {c}
can we {c}
do we {c}
do i {c}
do i have to {c}
do we have to {c}
should i {c}
when do we {c}
when do i {c}
when should i {c}
how often do we {c}
how often do i {c}
why do we {c}
is it okay to {c}
who is supposed to {c}
walk me through how to {c}
what happens if we don't {c}
"""

# "{c}" is a condition of the manuals ("the display shows def").
CONDITION_QUESTIONS = """
what do i do if {c}
what do we do if {c}
what if {c}
what happens if {c}
{c} what do i do
{c} what do we do
{c} is that bad
{c} is that okay
{c} is that normal
{c} do we toss it
{c} can we still use it
{c} who do i tell
{c} why
"""

# Phrases on their own, as crews say them around a question.
BASE_SENTENCES = """
stop listening
start listening
and what temperature
and at what temperature
and what temp
and how long
and for how long
and how often
and how many
and how much
and when
and where
and then what
and after that
and then how long
and what about that
what about it
why not
how come
is that all
what's next
what's the next step
okay thanks
thank you
never mind
cancel that
say that again
repeat that
what
what do i do
what do we do now
what do i do now
what should i do
what happens if
is that bad
is that okay
is that normal
is that safe
is it safe
can i
can we
can you help me
i have a question
quick question
guest is asking
a guest is asking
the manager is not here
my manager is busy
we are slammed
it's really busy
it's been like that since this morning
it's been like that for an hour
since before lunch
since last night
this morning
last night
at night
tonight
today
tomorrow
next week
before close
after close
at close
at opening
before we open
in the morning
in the afternoon
during the rush
by myself
on my own
do we toss it
do we toss the food
should we throw it out
can we still use it
can we still serve it
how long
how often
how many
how much
what temp
what time
where
why
who do i call
who do i tell
i cut my finger
i burned my hand
i got burned
i feel sick
i don't feel good
i threw up
someone got hurt
someone fell
a guest got sick
a guest has an allergy
there's a spill
the floor is wet
the power went out
the water is off
there's no hot water
we ran out
we are out of
it's broken
it's leaking
it's beeping
it won't turn on
it's too hot
it's too cold
it's not cold
it's warm
the alarm is going off
there's smoke
there's a fire
call nine one one
"""

# Everyday kitchen and crew words (beyond the manuals) the model should know.
BASE_WORDS = """
okay ok yeah yes no nope hey hi hello please thanks thank sorry um uh
temp temps temperature degrees hot cold warm frozen thawed raw cooked done
fries fry fryer fryers vat vats basket baskets oil grease grill grills griddle
burger burgers patty patties bun buns cheese lettuce tomato tomatoes onion onions
pickles sauce ketchup mustard mayo chicken nuggets tenders fish fillet sandwich
sandwiches shake shakes cone cones ice cream sundae drink drinks soda coffee tea
walk-in freezer cooler fridge reach-in make-line line station stations drive-thru
counter lobby kitchen back front bathroom restroom office storage dumpster
trash gloves glove apron hat hairnet thermometer probe timer tongs spatula scoop
towel towels sanitizer bleach soap sink sinks bucket mop broom
manager managers crew shift shifts lead leads opener closer cashier cook cooks
guest guests customer customers coworker coworkers boss schedule break lunch dinner
breakfast rush order orders ticket tickets register drawer cash card receipt
clean cleaned cleaning wash washed rinse sanitize wipe scrub filter filtered
check checked change changed replace toss tossed throw thrown discard dump
turn turned open opened close closed closing opening start stop listening
broken down leaking beeping error code light flashing blinking stuck jammed
sick ill vomit vomiting diarrhea fever cough cut burn burned hurt injury
allergy allergic allergen allergens peanut peanuts gluten dairy egg eggs soy
dog dogs cat animal animals pet mouse mice rat rats roach roaches bugs flies pest
minute minutes second seconds hour hours day days week weeks time times
wifi password phone charger music uniform shoes paycheck pay raise time-off
morning afternoon evening night tonight today tomorrow yesterday weekend
much many long often full empty half quarter
"""

# Verbs that start an instruction (with the manuals' own step verbs).
_VERBS = """
    add adjust ask bag block blow boil break bring brush build call calibrate carry
    change check clean clear close count cover cook cool cut date defrost discard dispose
    drain drop dry dump empty fill filter find finish fix flip flush fold follow get give
    go hang heat hold inspect keep label lay leave let lift load lock log look lower make
    mark measure mix move mop open order pack pour prepare press probe pull push put
    read record refill remove rinse rotate run salt scrape scrub seal season separate
    serve set shake shut skim slice slide soak sort spray squeeze stack start stir stock
    stop store swap sweep switch take tell test thaw throw toss transfer turn unload
    unlock unplug use wait wash wear wipe wrap write mean need show reach become
    happen work sit stay say tell come go grow feel help
"""
VERBS = set(_VERBS.split())

BASE_THINGS = """
fryer fries grill burgers patties chicken nuggets walk-in freezer cooler ice machine
shake machine dish machine sink sanitizer thermometer gloves oil timer drive-thru
register drawer cash order lettuce tomatoes cheese buns bacon eggs floor trash
manager schedule break uniform
"""

# Words that end a noun phrase or cannot start one.
_FUNCTION_WORDS = """
    a an the and or but nor if then than so as at by for from in into of off on onto out
    over to up with within without about above after before below between during under
    until upon is are was were be been being am do does did done have has had having
    will would shall should can could may might must not no yes it its it's this that
    these those there here what which who whom whose when where why how all any both
    each every few more most other some such only own same too very just also again
    i me my we us our you your he him his she her they them their one two three four
    five six seven eight nine ten zero point percent degrees minutes seconds hours
    let let's see use used using make made keep kept set get got put take taken
    never always once twice per least at while because through still even
"""
FUNCTION_WORDS = set(_FUNCTION_WORDS.split())


def base_words() -> list[str]:
    words = set()
    for word in BASE_WORDS.split():
        words.update(word.replace("-", " ").split())
    for sentence in BASE_SENTENCES.strip().splitlines():
        words.update(sentence.split())
    for template in QUESTIONS.strip().splitlines():
        words.update(w for w in template.split() if w != "{x}")
    return sorted(words)


@cache
def _lines(block: str) -> list[str]:
    return [line for line in block.strip().splitlines() if line.strip()]


def ask(clauses: list[str], kind: str, per_clause: int = 4) -> list[str]:
    """Questions about manual instructions (kind "instruction") or conditions
    ("condition"), a few templates per clause (the same every time)."""
    block = INSTRUCTION_QUESTIONS if kind == "instruction" else CONDITION_QUESTIONS
    templates = _lines(block)
    rng = random.Random(11)
    out = []
    for clause in clauses:
        for template in rng.sample(templates, min(per_clause, len(templates))):
            out.append(template.replace("{c}", clause))
    return out


def fill(phrases: Counter, limit: int) -> list[str]:
    """Question sentences: each template with the most used phrases, then with others
    drawn by frequency, at most ``limit`` in all (the same every time)."""
    templates = [t for t in QUESTIONS.strip().splitlines() if t.strip()]
    ranked = [p for p, _ in phrases.most_common()]
    # Everyday kitchen things too, so that a small knowledge base still gives the
    # templates enough to say.
    ranked += [w.replace("-", " ") for w in BASE_THINGS.split() if w not in phrases]
    rng = random.Random(7)
    per_template = max(1, limit // len(templates))
    top = ranked[: per_template // 2]
    rest = ranked[len(top) :]
    out = []
    for template in templates:
        chosen = list(top)
        if rest:
            chosen += rng.sample(rest, min(len(rest), per_template - len(top)))
        for phrase in chosen:
            second = rng.choice(ranked)
            out.append(template.replace("{x}", phrase, 1).replace("{x}", second))
    return out
