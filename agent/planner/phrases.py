"""The phrasebook type, and the English sentence templates the planner fills.

Placeholders: {n}/{N} the item count in words (capitalised), {noun}/{noun_one} what the items
are called, {prep} "for"/"about", {things} the whole list ("ways to save energy"), {topic}/{Topic},
{action} (a verb phrase), {dur} ", in thirty seconds" or "". Keys name the kind of topic: "verb"
(how to do something), "gerund" (doing something), "subject" (a thing), "named" (the topic names
the items: "5 easy dinner recipes"), "promo" (an ad); the writer asks for the most specific key
first and falls back ("list_verb", "list_gerund", "list").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.planner.lexicon import number_words, word_list

_ENGLISH_NUMBERS = tuple(number_words(value) for value in range(21))
_ENGLISH_ORDINALS = "First Second Third Fourth Fifth Sixth Seventh Eighth Ninth Tenth"


@dataclass(frozen=True)
class Phrasebook:
    code: str
    numbers: tuple[str, ...]  # 0–10 in words
    greetings: Mapping[str, tuple[str, ...]]  # by tone; "" for any
    hooks: Mapping[str, tuple[str, ...]]
    short_hooks: Mapping[str, tuple[str, ...]]  # when the opening has only a few seconds
    intro_more: Mapping[str, tuple[str, ...]]
    ordinals: tuple[str, ...]  # "First," … for lists of at most ten
    numbered: str  # "Number {i}:" for longer lists and countdowns
    last_countdown: str
    connectors: Mapping[str, tuple[str, ...]]  # for points of a video without a list
    item_lines: Mapping[str, tuple[str, ...]]
    point_lines: Mapping[str, tuple[str, ...]]
    details: Mapping[str, tuple[str, ...]]
    outros: Mapping[str, tuple[str, ...]]
    calls: Mapping[str, tuple[str, ...]]  # by video format
    outro_more: Mapping[str, tuple[str, ...]]
    bridges: tuple[str, ...]  # short lines for long clips: "Take a closer look."

    def lines(self, table: Mapping[str, tuple[str, ...]], *keys: str) -> tuple[str, ...]:
        """The templates under the first of `keys` the table has, else under ""."""
        for key in (*keys, ""):
            if table.get(key):
                return table[key]
        return ()

    def count(self, value: int) -> str:
        return self.numbers[value] if 0 <= value < len(self.numbers) else str(value)


ENGLISH = Phrasebook(
    code="en",
    numbers=_ENGLISH_NUMBERS,
    greetings={
        "friendly": ("Hi there!", "Hey, friends!", "Hi, everyone!"),
        "energetic": ("Let's go!", "Okay, listen up!"),
        "professional": ("Hello.", "Welcome."),
        "calm": ("Hello, and welcome.", "Take a breath."),
        "playful": ("Hey, you!", "Okay, buckle up!"),
        "inspiring": ("Hi there.", "Here's something worth hearing."),
        "dramatic": ("Listen closely.", "Picture this."),
        "informative": ("Hello.", "Welcome back."),
    },
    hooks={
        "list_verb": (
            "Want to {action}? Here are {n} {noun} that actually work.",
            "{N} simple {noun} to {action}{dur}.",
            "Trying to {action}? Start with these {n} {noun}.",
        ),
        "list_gerund": (
            "Here are {n} {noun} for {topic}{dur}.",
            "Want to get better at {topic}? Here are {n} {noun} that help.",
        ),
        "list_subject": (
            "Here are {n} {noun} {prep} {topic} worth knowing.",
            "{N} {noun} {prep} {topic}{dur}.",
        ),
        "list_named": (
            "Here are {n} {topic} worth knowing about.",
            "{N} {topic} you'll want to try{dur}.",
        ),
        "countdown": (
            "Here are the top {n} {things}, counting down.",
            "Counting down the top {n} {things}{dur}.",
        ),
        "one_verb": ("Want to {action}? Here's one {noun_one} that actually works.",),
        "one_gerund": ("Here's one {noun_one} for {topic} that makes a real difference.",),
        "one": ("Here's one {noun_one} about {topic} worth knowing.",),
        "general_verb": ("Want to {action}? Here's how to start.", "Here's how to {action}{dur}."),
        "general_gerund": (
            "Want to get better at {topic}? Here's what actually works.",
            "Here's everything you need to start {topic}{dur}.",
        ),
        "general_promo": ("Meet {topic}.", "Say hello to {topic}."),
        "general_subject": (
            "Ever wondered about {topic}? Here's the short version.",
            "{Topic}, explained{dur}.",
            "Here's what you need to know about {topic}.",
        ),
    },
    short_hooks={
        "list_verb": ("{N} {noun} to {action}.",),
        "list": ("{N} {things}.",),
        "countdown": ("The top {n} {things}.",),
        "one_verb": ("One {noun_one} to {action}.",),
        "one_named": ("One of the best {topic}.",),
        "one": ("One {noun_one} {prep} {topic}.",),
        "general_verb": ("How to {action}.",),
        "general": ("{Topic}, explained.",),
    },
    intro_more={
        "list": (
            "Stick around, because the last one is the easiest.",
            "You can start on all of them today.",
            "Save this so you don't forget them.",
        ),
        "general": ("It's simpler than it sounds.", "No jargon, just the good stuff."),
        "": ("Let's get into it.",),
    },
    ordinals=tuple(f"{word}," for word in word_list(_ENGLISH_ORDINALS)),
    numbered="Number {i}:",
    last_countdown="And number one:",
    connectors={
        "promo": ("",),
        "subject": ("First up:", "Next:", "Then:", "Plus:", "And finally:"),
        "": ("To start,", "Next,", "Then,", "Also,", "And finally,"),
    },
    item_lines={
        "gerund": (
            "start small, and give {topic} ten focused minutes a day.",
            "learn from people who are already good at it, and copy one habit at a time.",
            "set up your space so that {topic} becomes the easy choice.",
            "track your progress, because what gets measured gets better.",
            "ask for feedback early, before small mistakes become habits.",
            "team up with a friend, since {topic} is easier together.",
            "plan ahead, because five minutes of planning saves an hour of guessing.",
            "keep it simple, and build one step at a time.",
            "remove the one obstacle that keeps getting in your way.",
            "celebrate small wins, so you keep coming back.",
        ),
        "subject": (
            "the basics of {topic}, in plain words.",
            "the story behind {topic}.",
            "a surprising fact about {topic} that most people miss.",
            "a common myth about {topic}, and the truth behind it.",
            "the numbers behind {topic}.",
            "what experts still debate about {topic}.",
            "one simple way to see {topic} for yourself.",
            "a small detail about {topic} that changes the big picture.",
            "the everyday side of {topic}.",
            "what the future may hold for {topic}.",
        ),
        "named": (
            "a crowd favourite that never disappoints.",
            "an underrated pick that most people overlook.",
            "a classic, and for good reason.",
            "a newer favourite that's catching on fast.",
            "a hidden gem worth seeking out.",
            "a budget-friendly choice that punches above its weight.",
            "a bold pick for the adventurous.",
            "a reliable choice you can't go wrong with.",
            "a surprise entry that earns its spot.",
            "an expert favourite that keeps coming up.",
        ),
        "top": ("our top pick, and it's easy to see why.",),
        "steps": (
            "gather everything you need before you begin.",
            "get the basics right, slowly and carefully.",
            "take your time with the middle part; this is where it all comes together.",
            "check how it's going, and adjust if you need to.",
            "finish with care, then step back and enjoy the result.",
            "clean up and note what you'd do differently next time.",
        ),
        "mistakes": (
            "rushing the basics.",
            "skipping the preparation.",
            "doing too much at once.",
            "ignoring the small details.",
            "copying someone else's approach without adapting it.",
            "not asking for help when you're stuck.",
            "giving up too early.",
            "never checking the results.",
        ),
        "myths": (
            "the myth that you need expensive gear to start.",
            "the myth that it takes years to get right.",
            "the myth that more is always better.",
            "the myth that it's only for experts.",
            "the myth that there's one right way to do it.",
            "the myth that it's too late to begin.",
        ),
        "reasons": (
            "it's easier than you think.",
            "it saves you time in the long run.",
            "it's more fun than it looks.",
            "you'll feel the difference fast.",
            "it brings people together.",
            "it's good for body and mind.",
            "it opens doors you didn't expect.",
            "it costs less than you'd guess.",
        ),
    },
    point_lines={
        "promo": (
            "designed around the way you actually live.",
            "made with care, down to the last detail.",
            "built to last, and made to stand out.",
            "loved by the people who use it most.",
            "see it in action.",
        ),
        "gerund": (
            "get clear on why {topic} matters to you.",
            "begin with the simplest version you can do today.",
            "build a routine, so it happens without a fight.",
            "watch out for the classic mistake: doing too much, too soon.",
            "measure what changes, and keep what works.",
            "find one person to share the journey with.",
        ),
    },
    details={
        "gerund": (
            "It takes a few minutes, and the payoff adds up fast.",
            "Small, steady changes beat one big push.",
            "Try it this week and notice the difference.",
            "Most people skip this step, and it shows.",
            "Write it down, so you actually remember it.",
            "It's the easiest win in {topic}.",
            "You don't need special gear or a big budget.",
            "Give it two weeks before you judge the results.",
            "Once it's a habit, you won't even think about it.",
            "Keep it fun, and you'll keep doing it.",
        ),
        "subject": (
            "It's simpler than it sounds, once you see it.",
            "Keep this in mind the next time the subject comes up.",
            "This is where the picture of {topic} starts to change.",
            "It explains more of everyday life than you might think.",
            "And the details are even more interesting.",
            "Once you notice it, you'll see it everywhere.",
            "It's one of those things that's easy to overlook.",
            "Ask around, and you'll hear plenty of opinions on it.",
        ),
        "promo": (
            "You'll notice the difference from day one.",
            "Every detail is there for a reason.",
            "It just works.",
            "Simple, reliable and ready to go.",
        ),
        "steps": (
            "Take your time here.",
            "Don't skip this one.",
            "It makes the next step much easier.",
            "Small care now pays off at the end.",
        ),
        "mistakes": (
            "It's an easy fix once you spot it.",
            "Almost everyone does this at first.",
            "Catch it early, and it won't become a habit.",
            "Slow down, and the results improve right away.",
        ),
        "myths": (
            "The truth is much simpler.",
            "Plenty of beginners prove it wrong every day.",
            "Don't let it hold you back.",
        ),
        "reasons": (
            "Ask anyone who's tried it.",
            "It adds up quickly.",
            "You'll wonder why you waited.",
        ),
        "named": (
            "People come back to it again and again.",
            "It's easy to see why it made the list.",
            "Try it once, and you'll understand.",
            "It delivers more than you'd expect.",
            "Ask anyone who's tried it.",
        ),
    },
    outros={
        "list_verb": (
            "That's {n} {noun} to {action}.",
            "And that's how to {action}, in {n} easy {noun}.",
            "Now you've got {n} {noun} to {action}.",
        ),
        "list_gerund": ("That's {n} {noun} for {topic}.",),
        "list_subject": ("That's {n} {noun} {prep} {topic}.",),
        "list_named": ("Those are {n} {topic} worth remembering.",),
        "countdown": ("And that's the top {n} {things}.",),
        "one_verb": ("That's one {noun_one} to {action}.",),
        "one": ("That's one {noun_one} worth remembering.",),
        "general_verb": ("Now you know how to {action}.", "That's how to {action}."),
        "general_gerund": (
            "That's the short guide to {topic}.",
            "Now you're ready to start {topic}.",
        ),
        "general_promo": ("{Topic}. Get yours today.", "{Topic}, available now."),
        "general_subject": (
            "And that's {topic}, in a nutshell.",
            "Now you know the essentials of {topic}.",
        ),
    },
    calls={
        "tiktok": ("Follow for more tips like this.", "Follow for more videos like this."),
        "youtube": ("Subscribe for more videos like this.", "Like and subscribe if this helped."),
        "square": ("Save this post for later.", "Share it with a friend who'd love it."),
        "promo": ("Tap the link to learn more.", "Find out more today."),
    },
    outro_more={
        "list": (
            "Which one will you try first? Tell me in the comments.",
            "Try one today and see the difference.",
        ),
        "promo": ("Ready when you are.",),
        "": ("Share this with someone who needs it.", "Thanks for watching."),
    },
    bridges=(
        "Take a closer look.",
        "Notice the small details here.",
        "Here's where it gets interesting.",
        "Picture it for a moment.",
        "Think about how this plays out day to day.",
        "This is the part most people skip.",
        "Now, zoom out a little.",
        "It's worth slowing down here.",
        "See how it all connects?",
        "Keep that in mind for what comes next.",
        "There's more to it than meets the eye.",
    ),
)
