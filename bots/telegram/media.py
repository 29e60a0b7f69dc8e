"""What people send besides text: a photo becomes their presenter; a voice note is a brief
(transcribed) or, with the speaker's consent, the voice their videos speak with."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bots.telegram import send
from bots.telegram.chat import remember, requote, respond, script_blocks, show_card
from bots.telegram.context import BotDeps, Context, authorize, deps_of, tool_context
from core.db import get_database
from core.errors import SkyieError
from core.logging import get_logger
from core.models import AssetKind, TelegramAccount, utcnow
from jobs.transcribe import transcribe
from tools.assets import add_asset

log = get_logger("bots.telegram")

CONSENT = (
    "Cloning a voice needs the speaker's consent. Is this your own voice, or do you have the "
    "speaker's permission to use it for your videos?"
)
# Recordings waiting for consent, in the account's state by the id of the message that
# brought them: each button names its recording, so an older message's button never takes
# a newer recording. Only the newest few wait.
PENDING = "pending_voices"
MAX_PENDING = 5
GONE = (
    "That recording is no longer waiting for an answer (I keep the last "
    f"{MAX_PENDING}). Send it again to use it as your voice."
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


def _consent_buttons(recording: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "✅ I consent — clone it", callback_data=f"voice:yes:{recording}"
                )
            ],
            [InlineKeyboardButton("✖ No", callback_data=f"voice:no:{recording}")],
        ]
    )


def _pending(state: dict[str, Any]) -> dict[str, dict[str, str]]:
    held = state.get(PENDING)
    return dict(held) if isinstance(held, dict) else {}


async def _change_pending(
    account: TelegramAccount,
    *,
    add: tuple[int, dict[str, str]] | None = None,
    drop: int | None = None,
) -> None:
    """Keep a recording waiting for consent (the oldest beyond `MAX_PENDING` go), or let
    one go, reading the row afresh so no other change to the state is lost."""
    async with get_database().session() as s:
        row = await s.get(TelegramAccount, account.telegram_id)
        if row is None:
            return
        pending = _pending(row.state)
        if drop is not None:
            pending.pop(str(drop), None)
        if add is not None:
            pending[str(add[0])] = add[1]
            for stale in sorted(pending, key=int)[:-MAX_PENDING]:
                del pending[stale]
        state = {**row.state, PENDING: pending}
        state.pop("pending_voice", None)  # the one recording older versions kept
        row.state = state
        row.updated_at = utcnow()
        account.state = state


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
    recording = message.message_id
    await _change_pending(account, add=(recording, {"file_id": audio.file_id, "name": name}))
    if message.audio is not None:
        # A music or recorded audio file is rarely a brief: ask about the voice first.
        await send.say(bot, account.chat_id, CONSENT, _consent_buttons(recording))
        return
    heard = await _transcribe(deps, bot, audio.file_id, name, account)
    clone = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "🎙 Use this recording as my voice", callback_data=f"voice:clone:{recording}"
                )
            ]
        ]
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


def _button(data: str) -> tuple[str, int | None]:
    """voice:<choice>:<message id of the recording>; buttons of older versions name none."""
    choice, _, recording = data.partition(":")[2].partition(":")
    return choice, int(recording) if recording.isdigit() else None


async def on_voice_button(update: Update, context: Context) -> None:
    """voice:clone asks for consent; voice:yes keeps the recording as a voice; voice:no drops
    it. Each names its recording by the id of the message that brought it."""
    query = update.callback_query
    account = await authorize(update, context)
    if query is None or account is None or query.data is None:
        return
    deps, bot = deps_of(context), context.bot
    choice, recording = _button(query.data)
    await query.answer()
    pending = _pending(account.state).get(str(recording)) if recording is not None else None
    gone = recording is None or not isinstance(pending, dict)
    if query.message is not None and (gone or choice != "clone"):
        await send.drop_buttons(bot, account.chat_id, query.message.message_id)
    if recording is None or not isinstance(pending, dict):
        # Never another recording in its place: the button named this one.
        await send.say(bot, account.chat_id, GONE)
        return
    if choice == "clone":
        await send.say(bot, account.chat_id, CONSENT, _consent_buttons(recording))
        return
    if choice != "yes":
        await _change_pending(account, drop=recording)
        await send.say(bot, account.chat_id, "Okay, the recording was not kept as a voice.")
        return
    name = str(pending["name"])
    path = await _download(bot, deps, str(pending["file_id"]), name)
    try:
        async with get_database().session() as s:
            asset = await add_asset(
                tool_context(s, deps, account),
                AssetKind.voice,
                path,
                name,
                consent=True,
                move=True,
            )
            asset_id = asset.id
    except SkyieError as exc:
        await _change_pending(account, drop=recording)
        await send.say(bot, account.chat_id, f"That recording cannot be a voice: {exc.message}")
        return
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    await _change_pending(account, drop=recording)
    await remember(account, state={"voice": asset_id})
    note = "Saved with your consent: your videos speak with this voice now."
    if not await reprice(bot, deps, account, note, voice=asset_id):
        await send.say(bot, account.chat_id, f"{note} Tell me what to make!")
