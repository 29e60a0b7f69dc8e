"""What the bot says: HTML-safe formatting, scripts and prices, and long texts split to fit."""

from __future__ import annotations

import html

from core.events import ProgressEvent

# Telegram's limits: a message's text, and a media caption.
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
BAR_CELLS = 12

HELP = (
    "<b>Skyie Studio</b> makes short videos: a host who talks, and generated b-roll.\n\n"
    "Tell me what you want, e.g. <i>a 30-second video about three ways to save energy at "
    "home, with a friendly host</i>. I write a script and show its price; nothing is "
    "charged until you press <b>Generate</b>.\n\n"
    "• Ask for changes in your own words (<i>make it shorter</i>, <i>scene 2 at night</i>), "
    "or send the whole script back edited.\n"
    "• Send a photo of a face: it becomes your presenter.\n"
    "• Send a voice note: I take it as your brief, and you can choose to clone the voice.\n\n"
    "/new – start a new video\n"
    "/balance – your credits and plan\n"
    "/buy – buy credits or a plan\n"
    "/jobs – your latest videos\n"
    "/cancel – stop a video being made (its credits come back)\n"
    "/help – this message"
)

COMMANDS = [
    ("new", "Start a new video"),
    ("balance", "Your credits and plan"),
    ("buy", "Buy credits or a plan"),
    ("jobs", "Your latest videos"),
    ("cancel", "Stop a video being made"),
    ("help", "What I can do"),
]


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def split(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Plain text in pieces of at most `limit` characters, cut at a paragraph, a line or a
    word where one is near, so nothing is lost and little is cut mid-word."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def split_html(blocks: list[tuple[str, bool]], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Messages of HTML from (plain text, preformatted) blocks. A block too long for one
    message is split as plain text first, so no tag is ever cut in half; the pieces are
    measured escaped (& grows to &amp;), so none overflows."""
    messages: list[str] = []
    current = ""
    for text, pre in blocks:
        for part in _escaped_pieces(text, pre, limit):
            joined = f"{current}\n\n{part}" if current else part
            if len(joined) <= limit:
                current = joined
                continue
            if current:
                messages.append(current)
            current = part
    if current:
        messages.append(current)
    return messages


def _escaped_pieces(text: str, pre: bool, limit: int) -> list[str]:
    room = limit - len("<pre></pre>") if pre else limit
    size = room
    while True:
        parts = [esc(piece) for piece in split(text, size)]
        if all(len(part) <= room for part in parts) or size <= 64:
            break
        size //= 2
    return [f"<pre>{part}</pre>" if pre else part for part in parts]


def credits(n: int) -> str:
    return f"{n} credit" if n == 1 else f"{n} credits"


def bar(fraction: float) -> str:
    filled = round(max(0.0, min(fraction, 1.0)) * BAR_CELLS)
    return "█" * filled + "░" * (BAR_CELLS - filled)


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    return (
        f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
    )


def progress(event: ProgressEvent, title: str) -> str:
    """The one progress message of a job, as it is edited in place."""
    lines = [f"🎬 <b>{esc(title)}</b>"]
    if event.status == "succeeded":
        lines.append("✅ Ready.")
    elif event.status == "failed":
        lines.append(f"❌ It failed: {esc(event.message or 'unknown error')}")
        lines.append("Its credits were given back.")
    elif event.status == "cancelled":
        lines.append("✖ Cancelled. Its credits were given back.")
    else:
        lines.append(f"{bar(event.fraction)} {event.fraction:.0%}")
        where = esc(event.phase)
        if event.queue_position:
            where += f" · {event.queue_position} ahead in the queue"
        if event.eta_s is not None:
            where += f" · about {duration(event.eta_s)} left"
        lines.append(where)
    return "\n".join(lines)
