"""The conversation in a chat: free text to the agent, its script back as a card with
Generate / Edit / Cancel buttons, a pasted script taken as the person's own edit."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest

from agent.loop import (
    AgentDeps,
    AgentEvent,
    ErrorEvent,
    JobEvent,
    QuoteEvent,
    ScriptEvent,
    TextEvent,
    run_turn,
    start_conversation,
)
from bots.telegram import jobs, send, texts
from bots.telegram.context import CHANNEL, BotDeps, Context, authorize, deps_of, tool_context
from core.db import get_database
from core.errors import SkyieError
from core.models import Conversation, TelegramAccount, utcnow
from core.production import ProductionOptions
from core.script import parse_script
from tools.production import QuoteOutput, make_quote
from tools.registry import call_tool

TYPING_EVERY_S = 4.5
# A message that starts with a segment marker is a script the person edited themselves.
SCRIPT_START = re.compile(r"^\s*\[(TALKING|BROLL)\b", re.IGNORECASE)
TITLE_CHARS = 80


def card_buttons(quote_id: str, credits: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"🎬 Generate — {texts.credits(credits)}", callback_data=f"gen:{quote_id}"
                )
            ],
            [
                InlineKeyboardButton("✏️ Edit", callback_data="edit"),
                InlineKeyboardButton("✖ Cancel", callback_data=f"drop:{quote_id}"),
            ],
        ]
    )


def buy_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("💳 Buy credits", callback_data="buy")]])


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """'typing…' in the chat while the agent works (Telegram shows it for about 5 s)."""

    async def keep() -> None:
        while True:
            with contextlib.suppress(Exception):  # only a courtesy: never fails the turn
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def conversation_of(account: TelegramAccount, first_message: str) -> str:
    if account.conversation_id is not None:
        return account.conversation_id
    title = " ".join(first_message.split())[:TITLE_CHARS]
    conversation_id = await start_conversation(account.user_id, CHANNEL, title)
    await remember(account, conversation_id=conversation_id)
    return conversation_id


async def remember(account: TelegramAccount, **changes: Any) -> None:
    """Change the account row (its conversation, or keys of its `state`) and keep the change."""
    async with get_database().session() as s:
        row = await s.get(TelegramAccount, account.telegram_id)
        if row is None:
            return
        state_changes = changes.pop("state", None)
        for name, value in changes.items():
            setattr(row, name, value)
            setattr(account, name, value)
        if state_changes is not None:
            row.state = {**row.state, **state_changes}
            account.state = row.state
        row.updated_at = utcnow()


async def on_text(update: Update, context: Context) -> None:
    """Free text: a brief, a change or an approval for the agent; a pasted script is an edit."""
    account = await authorize(update, context)
    message = update.effective_message
    if account is None or message is None or not message.text:
        return
    deps = deps_of(context)
    await respond(context.bot, deps, account, message.text)


async def respond(bot: Bot, deps: BotDeps, account: TelegramAccount, text: str) -> None:
    conversation_id = await conversation_of(account, text)
    if SCRIPT_START.match(text):
        await own_script(bot, deps, account, conversation_id, text)
        return
    agent = AgentDeps(deps.settings, deps.storage, deps.provider, deps.writer)
    events: list[AgentEvent] = []
    async with typing(bot, account.chat_id):
        async for event in run_turn(
            conversation_id, text, agent, user_id=account.user_id, channel=CHANNEL
        ):
            events.append(event)
    await show_turn(bot, deps, account, conversation_id, events)


async def show_turn(
    bot: Bot,
    deps: BotDeps,
    account: TelegramAccount,
    conversation_id: str,
    events: list[AgentEvent],
) -> None:
    said = "".join(e.text for e in events if isinstance(e, TextEvent)).strip()
    script = next((e for e in reversed(events) if isinstance(e, ScriptEvent)), None)
    quote = next((e for e in reversed(events) if isinstance(e, QuoteEvent)), None)
    blocks: list[tuple[str, bool]] = [(said, False)] if said else []
    if script is not None:
        preferred = await apply_preferences(deps, account, conversation_id)
        if preferred is not None:
            script = preferred[0]
            quote = preferred[1]
        blocks += script_blocks(script)
    blocks += [(f"⚠️ {e.message}", False) for e in events if isinstance(e, ErrorEvent)]
    await show_card(bot, account, blocks, quote)
    for event in events:
        if isinstance(event, JobEvent):
            await jobs.follow(bot, deps, event.job_id, account.chat_id)


async def show_card(
    bot: Bot, account: TelegramAccount, blocks: list[tuple[str, bool]], quote: QuoteEvent | None
) -> None:
    """Send the reply; with a price, it is the new card and the old card's buttons go."""
    markup = None
    if quote is not None:
        short = quote.balance < quote.credits
        blocks = [
            *blocks,
            (
                f"Price: {texts.credits(quote.credits)}. You have {quote.balance}"
                + (" — not enough yet: /buy more." if short else ".")
                + " Nothing is charged until you press Generate.",
                False,
            ),
        ]
        markup = card_buttons(quote.quote_id, quote.credits)
    if not blocks:
        blocks = [("Done.", False)]
    sent = await send.send_html(bot, account.chat_id, blocks, markup)
    if quote is not None and sent is not None:
        previous = account.state.get("card")
        if isinstance(previous, int) and previous != sent.message_id:
            await send.drop_buttons(bot, account.chat_id, previous)
        await remember(account, state={"card": sent.message_id})


async def apply_preferences(
    deps: BotDeps, account: TelegramAccount, conversation_id: str
) -> tuple[ScriptEvent, QuoteEvent] | None:
    """The presenter photo and voice this person chose in the chat, put on a fresh draft
    that still has the defaults."""
    avatar, voice = account.state.get("avatar"), account.state.get("voice")
    if not avatar and not voice:
        return None

    def preferred(options: ProductionOptions) -> ProductionOptions:
        return options.model_copy(
            update={
                "avatar_asset_id": options.avatar_asset_id or avatar,
                "voice": voice if voice and options.voice == "default" else options.voice,
            }
        )

    return await requote(deps, account, conversation_id, preferred)


async def requote(
    deps: BotDeps,
    account: TelegramAccount,
    conversation_id: str,
    choose: Callable[[ProductionOptions], ProductionOptions],
) -> tuple[ScriptEvent, QuoteEvent] | None:
    """The draft with the options `choose` makes of its own, priced again (a quote must
    match what is made). None when there is no draft, nothing changes, or the new options
    are refused (a chosen asset deleted since): the draft then stays as it was."""
    async with get_database().session() as s:
        conversation = await s.get(Conversation, conversation_id)
        if conversation is None or "script" not in conversation.state:
            return None
        options = ProductionOptions.model_validate(conversation.state.get("options", {}))
        changed = choose(options)
        if changed == options:
            return None
        script = parse_script(conversation.state["script"])
        ctx = tool_context(s, deps, account, conversation_id)
        ctx.turn = conversation.turns
        try:
            async with s.begin_nested():
                quote = await make_quote(ctx, script, changed)
        except SkyieError:
            return None
        conversation.state = {**conversation.state, "options": changed.model_dump(mode="json")}
    return card_events(script.to_text(), script.planned_seconds, quote)


def script_blocks(script: ScriptEvent) -> list[tuple[str, bool]]:
    return [(f"Script · about {script.planned_seconds:.0f} s", False), (script.script, True)]


def card_events(text: str, seconds: float, quote: QuoteOutput) -> tuple[ScriptEvent, QuoteEvent]:
    return (
        ScriptEvent(script=text, planned_seconds=seconds),
        QuoteEvent.model_validate(quote.model_dump()),
    )


async def own_script(
    bot: Bot, deps: BotDeps, account: TelegramAccount, conversation_id: str, text: str
) -> None:
    """The person sent a whole script: it replaces the draft, keeps its options, and is priced."""
    try:
        script = parse_script(text)
    except SkyieError as exc:
        await send.say(bot, account.chat_id, f"That script has a problem: {exc.message}")
        return
    refused: str | None = None
    async with get_database().session() as s:
        conversation = await s.get(Conversation, conversation_id)
        assert conversation is not None
        options = ProductionOptions.model_validate(conversation.state.get("options", {}))
        ctx = tool_context(s, deps, account, conversation_id)
        ctx.turn = conversation.turns
        try:
            async with s.begin_nested():  # a refused script never becomes the draft
                quote = await make_quote(ctx, script, options)
        except SkyieError as exc:
            refused = exc.message
        else:
            state = {k: v for k, v in conversation.state.items() if k != "quote_id"}
            conversation.state = {
                **state,
                "script": script.to_text(),
                "options": options.model_dump(mode="json"),
            }
            conversation.updated_at = utcnow()
    if refused is not None:
        await send.say(bot, account.chat_id, refused)
        return
    script_event, quote_event = card_events(script.to_text(), script.planned_seconds, quote)
    blocks = [("Your script is the draft now.", False), *script_blocks(script_event)]
    await show_card(bot, account, blocks, quote_event)


async def on_card(update: Update, context: Context) -> None:
    """The script card's buttons: Generate (spends the quote), Edit, Cancel."""
    query = update.callback_query
    account = await authorize(update, context)
    if query is None or account is None or query.data is None:
        return
    deps, bot = deps_of(context), context.bot
    action, _, quote_id = query.data.partition(":")
    message_id = query.message.message_id if query.message is not None else None
    if action == "edit":
        await query.answer()
        await send.call(
            account.chat_id,
            lambda: bot.send_message(
                account.chat_id,
                "What should change? Say it in your own words — e.g. “make it shorter”, "
                "“scene 2 at night”, “a calmer voice” — or send the whole script back edited.",
                reply_markup=ForceReply(input_field_placeholder="make it shorter"),
            ),
        )
        return
    if action == "drop":
        await query.answer("Cancelled")
        if message_id is not None:
            await send.drop_buttons(bot, account.chat_id, message_id)
        await send.say(
            bot,
            account.chat_id,
            "Okay, nothing was charged. Tell me what to change, or /new for another video.",
        )
        return
    # Answered first: Telegram refuses an answer that comes long after the tap (this one may
    # have waited behind the person's previous turn), and a refusal must not stop the job
    # from being followed.
    with contextlib.suppress(BadRequest):
        await query.answer("Starting…")
    async with get_database().session() as s:
        ctx = tool_context(s, deps, account, account.conversation_id)
        outcome = await call_tool(ctx, "produce_video", {"quote_id": quote_id})
    if outcome.is_error or outcome.output is None:
        short = outcome.code == "insufficient_credits"
        await send.say(
            bot, account.chat_id, outcome.error or "it failed", buy_button() if short else None
        )
        return
    await jobs.follow(bot, deps, str(outcome.output.model_dump()["job_id"]), account.chat_id)
    if message_id is not None:
        await send.drop_buttons(bot, account.chat_id, message_id)
