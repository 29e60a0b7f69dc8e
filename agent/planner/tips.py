"""Concrete tips, with a shot for each, for a handful of topics people often ask about."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Tip:
    line: str  # imperative, lower-case, no final stop: "switch to LED bulbs"
    details: tuple[str, ...]
    shot: str
    subject: str  # what the clip shows


@dataclass(frozen=True)
class TipSet:
    keywords: tuple[str, ...]
    fact: str  # a line the hook can add
    scene: tuple[str, str]  # (shot, subject) for opening and closing clips
    tips: tuple[Tip, ...]


# Best tips first: a short video takes the first few.
TIP_SETS: tuple[TipSet, ...] = (
    TipSet(
        ("energy", "electricity", "power bill", "electric bill", "utility bill", "heating bill"),
        "Small changes at home can take a real bite out of your energy bill.",
        ("aerial", "a quiet suburban street at dusk, windows glowing warmly"),
        (
            Tip(
                "turn your thermostat down a degree or two",
                (
                    "Every degree makes a difference to your heating bill.",
                    "A smart thermostat can learn your schedule and do it for you.",
                ),
                "close-up",
                "a hand turning down a smart thermostat on a white living-room wall",
            ),
            Tip(
                "switch to LED bulbs",
                (
                    "LEDs use at least seventy-five percent less energy.",
                    "They last for years, too.",
                ),
                "macro",
                "a glowing LED filament bulb being screwed into a pendant lamp",
            ),
            Tip(
                "seal drafts around doors and windows",
                (
                    "Weatherstripping is cheap and takes minutes to fit.",
                    "Warm air stays in, so your heating works less.",
                ),
                "tracking",
                "a person pressing weatherstrip tape along a window frame",
            ),
            Tip(
                "unplug chargers and devices you're not using",
                (
                    "Electronics on standby quietly draw power all day.",
                    "A switchable power strip turns them all off at once.",
                ),
                "overhead",
                "a hand switching off a power strip full of phone chargers on a wooden desk",
            ),
            Tip(
                "wash your clothes in cold water",
                (
                    "Most of a washing machine's energy goes into heating the water.",
                    "Air-dry when you can for an extra saving.",
                ),
                "close-up",
                "clothes tumbling in a front-loading washing machine on a cold wash",
            ),
            Tip(
                "let the sun do some of the work",
                (
                    "Open the curtains on sunny winter days.",
                    "Close them on hot summer afternoons.",
                ),
                "wide",
                "sunlight streaming through opening curtains into a bright living room",
            ),
            Tip(
                "look into rooftop solar panels",
                (
                    "They turn sunshine into power for your home.",
                    "Many places offer incentives that cut the upfront cost.",
                ),
                "aerial",
                "rooftop solar panels on a row of suburban houses",
            ),
            Tip(
                "run the dishwasher only when it's full",
                (
                    "Full loads mean fewer cycles, less water and less power.",
                    "Skip the heated dry setting, too.",
                ),
                "medium",
                "a person closing a fully loaded dishwasher in a modern kitchen",
            ),
        ),
    ),
    TipSet(
        ("productiv*", "focus", "procrastinat*", "time management", "get more done", "deep work"),
        "You don't need more hours, just better ones.",
        ("wide", "a bright, tidy home office at sunrise with a laptop and a cup of coffee"),
        (
            Tip(
                "pick your top three tasks the night before",
                (
                    "You'll start the day knowing exactly what matters.",
                    "Everything else can wait until those are done.",
                ),
                "overhead",
                "a hand writing three tasks on a paper notepad beside a laptop",
            ),
            Tip(
                "work in focused blocks of twenty-five minutes",
                (
                    "Take a five-minute break after each one.",
                    "It's called the Pomodoro technique.",
                ),
                "close-up",
                "a tomato-shaped kitchen timer ticking on a desk",
            ),
            Tip(
                "silence notifications while you work",
                (
                    "Every ping pulls you out of deep focus.",
                    "Put your phone in another room if you have to.",
                ),
                "macro",
                "a phone screen switching to do-not-disturb mode",
            ),
            Tip(
                "do the hardest task first",
                ("Your focus is sharpest early in the day.", "Everything after it feels easier."),
                "medium",
                "a person at a desk crossing the first item off a to-do list",
            ),
            Tip(
                "batch small tasks together",
                (
                    "Answer emails and messages in two or three set slots a day.",
                    "Switching less means getting more done.",
                ),
                "tracking",
                "a tidy desk with labelled folders and sticky notes",
            ),
            Tip(
                "take real breaks away from your screen",
                ("A short walk resets your attention.", "You'll come back sharper."),
                "wide",
                "a person walking through a sunny park on a lunch break",
            ),
        ),
    ),
    TipSet(
        ("cook", "kitchen", "meal prep", "meals", "dinner"),
        "Great home cooking is mostly a few good habits.",
        ("wide", "a warm, sunlit home kitchen with fresh vegetables on the counter"),
        (
            Tip(
                "prep all your ingredients before you turn on the heat",
                (
                    "Chefs call it mise en place.",
                    "Cooking gets calmer, and nothing burns while you chop.",
                ),
                "overhead",
                "small bowls of chopped vegetables and spices laid out on a wooden counter",
            ),
            Tip(
                "season as you go, not just at the end",
                ("Taste at every step.", "A pinch of salt early builds deeper flavour."),
                "macro",
                "a pinch of sea salt falling onto sizzling vegetables in a pan",
            ),
            Tip(
                "keep your knives sharp",
                (
                    "A sharp knife is faster, and actually safer.",
                    "A quick hone before each use does the trick.",
                ),
                "close-up",
                "a chef's knife slicing cleanly through a ripe tomato on a cutting board",
            ),
            Tip(
                "let the pan get hot before you add the food",
                (
                    "That's how you get a golden sear instead of a soggy one.",
                    "Don't crowd the pan, either.",
                ),
                "close-up",
                "a steak hitting a hot cast-iron pan with a burst of steam",
            ),
            Tip(
                "finish with something fresh",
                (
                    "A squeeze of lemon or a handful of herbs wakes up any dish.",
                    "It's the easiest upgrade in the kitchen.",
                ),
                "macro",
                "fresh herbs sprinkled over a steaming bowl of pasta",
            ),
            Tip(
                "cook once, eat twice",
                (
                    "Make a double batch and save half for a busy night.",
                    "Your future self will thank you.",
                ),
                "tracking",
                "labelled meal-prep containers lined up in a fridge",
            ),
        ),
    ),
    TipSet(
        (
            "fitness",
            "workout",
            "exercise",
            "gym",
            "get fit",
            "getting fit",
            "strength",
            "muscle",
            "stay active",
            "staying active",
            "cardio",
        ),
        "Getting fitter is about consistency, not perfection.",
        ("wide", "a sunlit park in the morning with people jogging along a path"),
        (
            Tip(
                "start with just ten minutes a day",
                (
                    "Short workouts are easier to stick with.",
                    "You can build up once the habit is there.",
                ),
                "medium",
                "a person doing bodyweight squats in a bright living room",
            ),
            Tip(
                "warm up before every workout",
                (
                    "A few minutes of light movement gets your muscles ready.",
                    "It helps prevent injuries, too.",
                ),
                "tracking",
                "a runner doing dynamic stretches on a park path",
            ),
            Tip(
                "mix strength training with cardio",
                (
                    "Strength keeps your muscles and bones healthy.",
                    "Cardio keeps your heart in shape.",
                ),
                "low-angle",
                "a person lifting dumbbells in a sunlit gym",
            ),
            Tip(
                "focus on good form over heavy weight",
                (
                    "Slow, controlled reps do more than rushed ones.",
                    "Film yourself to check your technique.",
                ),
                "close-up",
                "hands gripping a kettlebell during a slow, controlled lift",
            ),
            Tip(
                "walk more during the day",
                ("Take the stairs, and walk while you're on calls.", "It all adds up."),
                "aerial",
                "a person walking up a long outdoor staircase in a city park",
            ),
            Tip(
                "rest and sleep well",
                (
                    "Muscles grow when you recover, not while you train.",
                    "Aim for seven to nine hours of sleep.",
                ),
                "wide",
                "a calm bedroom at night with soft moonlight on the bed",
            ),
        ),
    ),
    TipSet(
        ("travel", "trip", "vacation", "holiday", "packing", "flight", "backpack"),
        "A little planning turns a good trip into a great one.",
        ("aerial", "a winding coastal road beside turquoise water at sunrise"),
        (
            Tip(
                "pack light and roll your clothes",
                (
                    "Rolled clothes take less space and wrinkle less.",
                    "One carry-on means no waiting at baggage claim.",
                ),
                "overhead",
                "rolled clothes neatly packed into an open carry-on suitcase",
            ),
            Tip(
                "book flights midweek when you can",
                (
                    "Midweek flights are often cheaper.",
                    "Set a price alert and let the deals come to you.",
                ),
                "close-up",
                "a phone showing a flight price alert beside a passport",
            ),
            Tip(
                "keep digital copies of your documents",
                (
                    "Save your passport and bookings to your phone and the cloud.",
                    "If anything goes missing, you're covered.",
                ),
                "macro",
                "a passport page being photographed by a phone camera",
            ),
            Tip(
                "eat where the locals eat",
                (
                    "Step a few streets away from the main sights.",
                    "The food is better and the prices are fairer.",
                ),
                "tracking",
                "a traveller walking through a lively local food market",
            ),
            Tip(
                "leave room in your plans",
                (
                    "The best moments are often the unplanned ones.",
                    "Schedule less and explore more.",
                ),
                "wide",
                "a traveller pausing to look over a quiet old town square",
            ),
            Tip(
                "carry a small first-aid kit and a power bank",
                ("Tiny items, big peace of mind.", "You'll be glad you packed them."),
                "overhead",
                "a compact first-aid kit and a power bank on a hotel bed",
            ),
        ),
    ),
    TipSet(
        ("sleep", "insomnia", "bedtime"),
        "Better sleep starts long before you get into bed.",
        ("wide", "a calm bedroom at dusk with soft lamplight and crisp white sheets"),
        (
            Tip(
                "go to bed and wake up at the same time every day",
                ("Keep it up on weekends, too.", "Your body clock loves a routine."),
                "close-up",
                "an alarm clock on a bedside table at dawn",
            ),
            Tip(
                "put screens away an hour before bed",
                (
                    "Bright screens tell your brain it's still daytime.",
                    "Read a book or stretch instead.",
                ),
                "medium",
                "a person putting a phone in a drawer and opening a book in bed",
            ),
            Tip(
                "keep your bedroom cool, dark and quiet",
                (
                    "Around eighteen degrees Celsius suits most people.",
                    "Blackout curtains help, too.",
                ),
                "wide",
                "blackout curtains closing in a dim, cool bedroom",
            ),
            Tip(
                "cut caffeine after lunch",
                (
                    "Caffeine can stay in your system for hours.",
                    "Switch to herbal tea in the afternoon.",
                ),
                "macro",
                "steam rising from a cup of chamomile tea",
            ),
            Tip(
                "wind down with a simple routine",
                (
                    "A warm shower, dim lights and a few slow breaths.",
                    "Do it every night, and your body learns the cue.",
                ),
                "tracking",
                "a dimly lit bathroom with a candle and folded towels",
            ),
            Tip(
                "get daylight early in the morning",
                (
                    "Morning light helps set your body clock.",
                    "Even ten minutes outside makes a difference.",
                ),
                "low-angle",
                "a person stepping outside into bright morning sunlight",
            ),
        ),
    ),
    TipSet(
        ("money", "budget", "personal finance", "spending", "debt", "frugal", "finances"),
        "Saving money is easier when it happens on autopilot.",
        ("wide", "a bright kitchen table with a notebook, a calculator and a cup of coffee"),
        (
            Tip(
                "pay yourself first",
                (
                    "Move money into savings the day you get paid.",
                    "Automate it, so you never have to think about it.",
                ),
                "close-up",
                "a banking app on a phone showing an automatic transfer to savings",
            ),
            Tip(
                "track every expense for one month",
                (
                    "You'll see where the money really goes.",
                    "Most people find at least one surprise.",
                ),
                "overhead",
                "a hand writing expenses in a notebook next to a pile of receipts",
            ),
            Tip(
                "cancel the subscriptions you don't use",
                (
                    "Small monthly charges add up fast.",
                    "Check your statements for the ones you forgot about.",
                ),
                "macro",
                "a finger tapping cancel on a subscription screen",
            ),
            Tip(
                "wait a day before buying anything you don't need",
                ("If you still want it tomorrow, fine.", "Most of the time, the urge passes."),
                "medium",
                "a person closing a laptop with a full online shopping cart",
            ),
            Tip(
                "cook at home more often",
                (
                    "Eating out a little less each week adds up to real savings.",
                    "Cooking in batches makes it easy.",
                ),
                "tracking",
                "home-cooked meals in glass containers on a kitchen counter",
            ),
            Tip(
                "build an emergency fund",
                (
                    "Aim for three months of expenses over time.",
                    "It turns surprises into inconveniences instead of crises.",
                ),
                "close-up",
                "coins dropping into a glass jar labelled emergency fund",
            ),
        ),
    ),
    TipSet(
        ("study", "studying", "exam", "homework", "revision", "memori*", "learn faster"),
        "How you study matters more than how long you study.",
        ("wide", "a quiet library table with open notebooks in warm afternoon light"),
        (
            Tip(
                "test yourself instead of rereading",
                (
                    "Recalling an answer makes it stick far better.",
                    "Flashcards and practice questions are perfect for this.",
                ),
                "close-up",
                "a hand flipping a handwritten flashcard",
            ),
            Tip(
                "space out your study sessions",
                (
                    "Review a topic over several days, not all in one night.",
                    "Your memory holds on to it much longer.",
                ),
                "overhead",
                "a study calendar with colour-coded review sessions",
            ),
            Tip(
                "explain it in your own words",
                (
                    "If you can teach it, you understand it.",
                    "Try explaining it to a friend, or even to your pet.",
                ),
                "medium",
                "a student explaining notes on a whiteboard to a friend",
            ),
            Tip(
                "study without your phone nearby",
                (
                    "Even a silent phone on the desk pulls at your attention.",
                    "Put it in another room.",
                ),
                "macro",
                "a phone placed face-down in a drawer as it slides shut",
            ),
            Tip(
                "take short breaks",
                (
                    "Five minutes every half hour keeps your focus fresh.",
                    "Stand up, stretch and drink some water.",
                ),
                "tracking",
                "a student stretching by a window between study sessions",
            ),
            Tip(
                "sleep on it",
                (
                    "Your brain sorts and stores memories while you sleep.",
                    "An all-nighter usually does more harm than good.",
                ),
                "wide",
                "a calm dorm room at night as a desk lamp switches off",
            ),
        ),
    ),
)


def _keyword_pattern(keyword: str) -> str:
    # "productiv*" is a stem; plain words take common endings but not "exam" → "example".
    if keyword.endswith("*"):
        return rf"\b{re.escape(keyword[:-1])}\w*"
    return rf"\b{re.escape(keyword)}(?:s|es|ing|ed|er|ers)?\b"


_MATCHERS = tuple(
    re.compile("|".join(_keyword_pattern(k) for k in tip_set.keywords), re.I)
    for tip_set in TIP_SETS
)


def find_tips(topic: str) -> TipSet | None:
    """The tip set whose keywords the topic mentions, if any."""
    for tip_set, matcher in zip(TIP_SETS, _MATCHERS, strict=True):
        if matcher.search(topic):
            return tip_set
    return None
