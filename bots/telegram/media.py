"""What people send besides text: a photo becomes their presenter; a voice note is a brief
(transcribed) or, with the speaker's consent, the voice their videos speak with."""

from __future__ import annotations

import shutil
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bots.telegram import send
from bots.telegram.chat import remember, requote, respond, script_blocks, show_card
from bots.telegram.context import BotDeps, Context, authorize, deps_of, tool_context
from core.db import get_database
from core.errors import SkyieError
from core.logging import get_logger
from core.models import AssetKind, TelegramAccount
from jobs.transcribe import transcribe
from tools.assets import add_asset

log = get_logger("bots.telegram")

CONSENT = (
    "Cloning a voice needs the speaker's consent. Is this your own voice, or do you have the "
    "speaker's permission to use it for your videos?"
)


async def _download(bot: Bot, deps: BotDeps, file_id: str, name: str) -> Path:
    folder = deps.storage.scratch()
    target = folder / Path(name).name
    telegram_file = await bot.get_file(file_id)
    await telegram_file.download_to_drive(target)
    return target


async def on_photo(update: Update, context: Context) -> None:
    """A photo or an image file: the face that presents this person's videos from now on."""
    account = await authorize(update, context)
    message = update.effective_message
    if account is None or message is None:
        return
    if message.photo:
        file_id, name = message.photo[-1].file_id, "telegram-photo.jpg"
    elif message.document is not None:
        file_id, name = message.document.file_id, message.document.file_name or "image"
    else:
        return
    deps, bot = deps_of(context), context.bot
    path = await _download(bot, deps, file_id, name)
    try:
        async with get_database().session() as s:
            asset = await add_asset(
                tool_context(s, deps, account), AssetKind.avatar, path, name, move=True
            )
            asset_id = asset.id
    except SkyieError as exc:
        await send.say(
            bot, account.chat_id, f"That photo cannot present your videos: {exc.message}"
        )
        return
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    await remember(account, state={"avatar": asset_id})
    shown = await reprice(
        bot, deps, account, "This face presents your videos now.", avatar=asset_id
    )
    if not shown:
        await send.say(
            bot, account.chat_id, "This face presents your videos now. Tell me what to make!"
        )
    if message.caption:
        await respond(bot, deps, account, message.caption)


async def reprice(
    bot: Bot,
    deps: BotDeps,
    account: TelegramAccount,
    note: str,
    *,
    avatar: str | None = None,
    voice: str | None = None,
) -> bool:
    """Put a new presenter or voice on the current draft and show it with its new price.
    False when there is no draft to change."""
    if account.conversation_id is None:
        return False
    changes = {"avatar_asset_id": avatar} if avatar else {"voice": voice}
    card = await requote(
        deps, account, account.conversation_id, lambda o: o.model_copy(update=changes)
    )
    if card is None:
        return False
    await show_card(bot, account, [(note, False), *script_blocks(card[0])], card[1])
    return True


def _consent_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ I consent — clone it", callback_data="voice:yes")],
            [InlineKeyboardButton("✖ No", callback_data="voice:no")],
        ]
    )


async def on_voice(update: Update, context: Context) -> None:
    """A voice note or an audio file: transcribed and taken as a brief; it can also become
    the voice of this person's videos, once they consent."""
    account = await authorize(update, context)
    message = update.effective_message
    if account is None or message is None:
        return
    audio = message.voice or message.audio
    if audio is None:
        return
    name = getattr(audio, "file_name", None) or "voice-note.ogg"
    deps, bot = deps_of(context), context.bot
    await remember(account, state={"pending_voice": {"file_id": audio.file_id, "name": name}})
    if message.audio is not None:
        # A music or recorded audio file is rarely a brief: ask about the voice first.
        await send.say(bot, account.chat_id, CONSENT, _consent_buttons())
        return
    heard = await _transcribe(deps, bot, audio.file_id, name, account)
    clone = InlineKeyboardMarkup(
        [[InlineKeyboardButton("🎙 Use this recording as my voice", callback_data="voice:clone")]]
    )
    if not heard:
        await send.say(
            bot,
            account.chat_id,
            "I could not make out words in that voice note. Type your brief, or use the "
            "recording as the voice of your videos:",
            clone,
        )
        return
    await send.say(bot, account.chat_id, f"🎙 I heard: “{heard}”", clone)
    await respond(bot, deps, account, heard)


async def _transcribe(
    deps: BotDeps, bot: Bot, file_id: str, name: str, account: TelegramAccount
) -> str:
    """The words of a voice note; empty when there are none or no speech-to-text engine
    serves this studio (the person is asked to type instead)."""
    path = await _download(bot, deps, file_id, name)
    try:
        return await transcribe(deps.settings, path, language=_language(account))
    except SkyieError as exc:
        log.info("telegram.transcribe_failed", error=exc.message)
        return ""
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def _language(account: TelegramAccount) -> str | None:
    code = account.language.split("-")[0].lower()
    return code or None


async def on_voice_button(update: Update, context: Context) -> None:
    """voice:clone asks for consent; voice:yes keeps the recording as a voice; voice:no drops it."""
    query = update.callback_query
    account = await authorize(update, context)
    if query is None or account is None or query.data is None:
        return
    deps, bot = deps_of(context), context.bot
    choice = query.data.partition(":")[2]
    await query.answer()
    pending = account.state.get("pending_voice")
    if choice == "clone":
        await send.say(bot, account.chat_id, CONSENT, _consent_buttons())
        return
    if query.message is not None:
        await send.drop_buttons(bot, account.chat_id, query.message.message_id)
    if choice == "no" or not isinstance(pending, dict):
        await remember(account, state={"pending_voice": None})
        await send.say(bot, account.chat_id, "Okay, the recording was not kept as a voice.")
        return
    path = await _download(bot, deps, str(pending["file_id"]), str(pending["name"]))
    try:
        async with get_database().session() as s:
            asset = await add_asset(
                tool_context(s, deps, account),
                AssetKind.voice,
                path,
                str(pending["name"]),
                consent=True,
                move=True,
            )
            asset_id = asset.id
    except SkyieError as exc:
        await send.say(bot, account.chat_id, f"That recording cannot be a voice: {exc.message}")
        return
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    await remember(account, state={"voice": asset_id, "pending_voice": None})
    note = "Saved with your consent: your videos speak with this voice now."
    if not await reprice(bot, deps, account, note, voice=asset_id):
        await send.say(bot, account.chat_id, f"{note} Tell me what to make!")
