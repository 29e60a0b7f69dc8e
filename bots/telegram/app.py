"""The bot's Application: handlers, flood control, the error handler, and polling.

Polling (`skyie bot`) suits a studio on one machine; webhook mode (`bots.telegram.webhook`)
runs the same Application inside the API process.
"""

from __future__ import annotations

import os

from telegram import BotCommand, ChatMember, Update
from telegram.error import Conflict, InvalidToken, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from agent.providers.base import Provider
from agent.providers.select import make_provider
from agent.writer import PlannerWriter
from bots.telegram import chat, commands, jobs, media, send, texts
from bots.telegram.context import BotDeps, Context, OnePersonAtATime
from core.logging import get_logger
from core.settings import Settings
from core.storage import Storage, get_storage

log = get_logger("bots.telegram")

# Durations from the library (RetryAfter.retry_after) as timedelta, as its next major version
# will have them; send.wait_of reads either.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# Updates run side by side (one person's slow turn never holds up another's); each person's
# own go one at a time, in order (OnePersonAtATime).
CONCURRENT_UPDATES = 32
# Flood control: AIORateLimiter keeps to Telegram's overall and per-chat rates; a RetryAfter
# reaches send.call at once (the limiter would pause every chat for it), which waits it out
# for a reply and skips it for a progress edit.
RATE_LIMIT_RETRIES = 0
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


def build_application(
    settings: Settings,
    *,
    storage: Storage | None = None,
    provider: Provider | None = None,
    webhook: bool = False,
) -> Application:
    if not settings.telegram_bot_token:
        raise ValueError("SKYIE_TELEGRAM_BOT_TOKEN is empty: make a bot with @BotFather first")
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_files)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(OnePersonAtATime(CONCURRENT_UPDATES))
        .post_init(started)
        .post_stop(stopping)
    )
    if webhook:
        builder = builder.updater(None)  # updates arrive through the API's route
    application = builder.build()
    application.bot_data["deps"] = BotDeps(
        settings=settings,
        storage=storage or get_storage(settings.storage_dir),
        provider=provider or make_provider(settings),
        writer=PlannerWriter(),
    )
    _add_handlers(application)
    return application


def _add_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", commands.on_start, filters=private))
    app.add_handler(CommandHandler("help", commands.on_help, filters=private))
    app.add_handler(CommandHandler("new", commands.on_new, filters=private))
    app.add_handler(CommandHandler("balance", commands.on_balance, filters=private))
    app.add_handler(CommandHandler("buy", commands.on_buy, filters=private))
    app.add_handler(CommandHandler("jobs", commands.on_jobs, filters=private))
    app.add_handler(CommandHandler("cancel", commands.on_cancel, filters=private))
    app.add_handler(MessageHandler(private & filters.COMMAND, _unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, chat.on_text))
    app.add_handler(
        MessageHandler(private & (filters.PHOTO | filters.Document.IMAGE), media.on_photo)
    )
    app.add_handler(MessageHandler(private & (filters.VOICE | filters.AUDIO), media.on_voice))
    app.add_handler(MessageHandler(private & ~filters.COMMAND, _unsupported))
    app.add_handler(CallbackQueryHandler(chat.on_card, pattern=r"^(gen:|drop:|edit$)"))
    app.add_handler(CallbackQueryHandler(commands.on_buy, pattern=r"^buy$"))
    app.add_handler(CallbackQueryHandler(commands.on_buy_choice, pattern=r"^buy:"))
    app.add_handler(CallbackQueryHandler(commands.on_job_button, pattern=r"^(cancel|send|exp):"))
    app.add_handler(CallbackQueryHandler(media.on_voice_button, pattern=r"^voice:"))
    app.add_handler(CallbackQueryHandler(commands.on_link_choice, pattern=r"^link:"))
    app.add_handler(CallbackQueryHandler(_stale_button))
    app.add_handler(ChatMemberHandler(_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(on_error)


async def _unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have."""
    if update.effective_chat is not None:
        await send.say(
            context.bot, update.effective_chat.id, "I don't know that command. /help lists mine."
        )


async def _unsupported(update: Update, context: Context) -> None:
    """Stickers, videos, locations…: say what the bot takes instead."""
    if update.effective_chat is not None:
        await send.say(
            context.bot,
            update.effective_chat.id,
            "I work with text, photos (your presenter) and voice notes. /help says more.",
        )


async def _stale_button(update: Update, context: Context) -> None:
    """A button from an old version of the bot."""
    if update.callback_query is not None:
        await update.callback_query.answer("This button is out of date.")


async def _membership(update: Update, context: Context) -> None:
    """The person blocked the bot (or unblocked it): stop or resume writing to them."""
    change = update.my_chat_member
    if change is None:
        return
    if change.new_chat_member.status == ChatMember.BANNED:
        await send.mark_blocked(change.chat.id)
    elif change.old_chat_member.status == ChatMember.BANNED:
        await send.mark_blocked(change.chat.id, blocked=False)


async def on_error(update: object, context: Context) -> None:
    """Log what went wrong; tell the person, unless they are out of reach."""
    error = context.error
    if isinstance(error, send.ChatGone):
        return
    log.error("telegram.handler_failed", error=repr(error), exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await send.say(
                context.bot,
                update.effective_chat.id,
                "Something went wrong on our side. Nothing was charged for it; try again.",
            )
        except Exception:  # the chat is unreachable as well: logging was all we could do
            log.warning("telegram.error_reply_failed", exc_info=True)


async def started(application: Application) -> None:
    """Commands in Telegram's menu, and the jobs a previous run was following."""
    bot = application.bot
    await bot.set_my_commands([BotCommand(name, about) for name, about in texts.COMMANDS])
    deps: BotDeps = application.bot_data["deps"]
    resumed = await jobs.resume(bot, deps)
    log.info("telegram.ready", bot=bot.username, resumed_jobs=resumed)


async def stopping(application: Application) -> None:
    """Progress watchers end with the bot; the next start follows their jobs again."""
    await jobs.stop_watching(application.bot_data["deps"])


def run_polling(settings: Settings) -> None:
    """`skyie bot`: long-poll Telegram until interrupted (Ctrl-C)."""
    application = build_application(settings)
    try:
        application.run_polling(allowed_updates=UPDATES, drop_pending_updates=False)
    except InvalidToken:
        raise SystemExit("Telegram refused the bot token (SKYIE_TELEGRAM_BOT_TOKEN)") from None
    except Conflict:
        raise SystemExit(
            "another process takes this bot's updates (a webhook, or a second `skyie bot`)"
        ) from None
    except NetworkError as exc:
        raise SystemExit(f"cannot reach Telegram at {settings.telegram_api_url}: {exc}") from None
