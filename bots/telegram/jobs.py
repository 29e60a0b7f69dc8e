"""Jobs in a chat: one progress message edited in place, the finished video delivered once
(a file, or a download link when it is too big), export buttons, and following jobs again
after a restart."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter

from bots.telegram import send, texts
from bots.telegram.context import BotDeps
from bots.telegram.send import ChatGone
from core.db import get_database
from core.errors import NotFound
from core.events import ProgressEvent
from core.logging import get_logger
from core.models import Job, JobStatus, TelegramAccount, TelegramJob, utcnow
from jobs import links
from jobs.watch import finished, job_events

log = get_logger("bots.telegram")

# (label, export format): one button per aspect ratio; tiktok, reels and shorts are one size.
EXPORTS = [
    ("9:16 TikTok · Reels · Shorts", "tiktok"),
    ("16:9 YouTube", "youtube"),
    ("4:5 Instagram", "instagram"),
    ("1:1 Square", "square"),
]
# Jobs older than this are not followed again after a restart: their chat has moved on.
RESUME_WITHIN = timedelta(days=2)
UPLOAD_TIMEOUT_S = 300.0


def title_of(job: Job) -> str:
    if job.workflow == "export":
        return "Export"
    first = job.script_text.strip().splitlines()[0] if job.script_text.strip() else ""
    words = first.split("]", 1)[-1].strip() or "Your video"
    return words if len(words) <= 60 else words[:59].rstrip() + "…"


def export_buttons(job_id: str) -> InlineKeyboardMarkup:
    keys = [
        InlineKeyboardButton(label, callback_data=f"exp:{job_id}:{fmt}") for label, fmt in EXPORTS
    ]
    return InlineKeyboardMarkup([keys[:2], keys[2:]])


async def follow(bot: Bot, deps: BotDeps, job_id: str, chat_id: int) -> None:
    """This chat follows the job: recorded (so a restart follows it again), then watched."""
    async with get_database().session() as s:
        if await s.get(TelegramJob, job_id) is None:
            s.add(TelegramJob(job_id=job_id, chat_id=chat_id))
    watch(bot, deps, job_id)


def watch(bot: Bot, deps: BotDeps, job_id: str) -> None:
    if job_id in deps.watchers:
        return
    task = asyncio.create_task(_watch(bot, deps, job_id), name=f"telegram-job-{job_id}")
    deps.watchers[job_id] = task
    task.add_done_callback(lambda _: deps.watchers.pop(job_id, None))


async def resume(bot: Bot, deps: BotDeps) -> int:
    """Follow again the jobs whose file has not gone out yet (the process restarted)."""
    since = utcnow() - RESUME_WITHIN
    async with get_database().session(read_only=True) as s:
        # Not for people who blocked the bot: their videos wait in their library.
        ids = list(
            await s.scalars(
                select(TelegramJob.job_id)
                .join(TelegramAccount, TelegramAccount.chat_id == TelegramJob.chat_id)
                .where(
                    TelegramJob.delivered_at.is_(None),
                    TelegramJob.created_at >= since,
                    TelegramAccount.bot_blocked_at.is_(None),
                )
            )
        )
    for job_id in ids:
        watch(bot, deps, job_id)
    return len(ids)


async def stop_watching(deps: BotDeps) -> None:
    tasks = list(deps.watchers.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _ProgressMessage:
    """The job's one progress message: sent once, then edited, at most every `interval`."""

    def __init__(self, bot: Bot, row: TelegramJob, title: str, interval: float) -> None:
        self.bot, self.row, self.title, self.interval = bot, row, title, interval
        self.shown: str | None = None
        self.pending: str | None = None
        self.sent_at = 0.0

    def due_in(self) -> float | None:
        if self.pending is None:
            return None
        return max(0.0, self.sent_at + self.interval - time.monotonic())

    async def offer(self, event: ProgressEvent) -> None:
        text = texts.progress(event, self.title)
        if text == self.shown:
            self.pending = None
            return
        self.pending = text
        if finished(event) or self.due_in() == 0.0:
            await self.flush(final=finished(event))

    async def flush(self, *, final: bool = False) -> None:
        text, chat_id = self.pending, self.row.chat_id
        if text is None:
            return
        # A progress edit may be skipped under flood control (it is tried again after the
        # interval); the last one may not.
        done: bool | None = False
        if self.row.progress_message_id is not None:
            done = await send.edit_html(
                self.bot, chat_id, self.row.progress_message_id, text, can_skip=not final
            )
        if done is False:  # the first message, or the person deleted the last one
            message = await send.call(
                chat_id,
                lambda: self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML),
                can_skip=not final,
            )
            done = None if message is None else True
            if message is not None:
                await self._remember(message.message_id)
        if done:
            self.shown, self.pending = text, None
        self.sent_at = time.monotonic()

    async def _remember(self, message_id: int) -> None:
        self.row.progress_message_id = message_id
        async with get_database().session() as s:
            await s.execute(
                update(TelegramJob)
                .where(TelegramJob.job_id == self.row.job_id)
                .values(progress_message_id=message_id)
            )


async def _watch(bot: Bot, deps: BotDeps, job_id: str) -> None:
    try:
        async with get_database().session(read_only=True) as s:
            row, job = await s.get(TelegramJob, job_id), await s.get(Job, job_id)
        if row is None or job is None:
            return
        message = _ProgressMessage(
            bot, row, title_of(job), deps.settings.telegram_progress_interval_s
        )
        last = await _relay(job_id, message)
        if last is not None and last.status == JobStatus.succeeded.value:
            await deliver(bot, deps, job_id)
    except ChatGone:
        return  # they blocked the bot; the video stays in their library
    except NotFound:
        return  # the job went with its owner's account
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("telegram.watch_failed", job_id=job_id)


async def _relay(job_id: str, message: _ProgressMessage) -> ProgressEvent | None:
    """Pass the job's events to its progress message, flushing a held-back edit when its
    time comes even if no new event arrives."""
    events = job_events(job_id)
    last: ProgressEvent | None = None
    upcoming: asyncio.Future[ProgressEvent] = asyncio.ensure_future(anext(events))
    try:
        while True:
            done, _ = await asyncio.wait({upcoming}, timeout=message.due_in())
            if not done:
                await message.flush()
                continue
            try:
                last = upcoming.result()
            except StopAsyncIteration:
                return last
            try:
                await message.offer(last)
            except (NetworkError, RetryAfter) as exc:
                # Progress is a courtesy: Telegram being away for a while must not cost the
                # delivery. The held-back text is tried again with the next event.
                log.warning("telegram.progress_failed", job_id=job_id, error=str(exc))
            if finished(last):
                return last
            upcoming = asyncio.ensure_future(anext(events))
    finally:
        upcoming.cancel()
        await asyncio.gather(upcoming, return_exceptions=True)
        await events.aclose()


async def deliver(bot: Bot, deps: BotDeps, job_id: str) -> None:
    """Send a finished job's file(s), once: claimed first, released if sending fails."""
    async with get_database().session() as s:
        claimed = await s.execute(
            update(TelegramJob)
            .where(TelegramJob.job_id == job_id, TelegramJob.delivered_at.is_(None))
            .values(delivered_at=utcnow())
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return
        row, job = await s.get(TelegramJob, job_id), await s.get(Job, job_id)
    assert row is not None and job is not None
    try:
        await send_files(bot, deps, job, row.chat_id)
    except ChatGone:
        raise
    except Exception:
        async with get_database().session() as s:
            await s.execute(
                update(TelegramJob).where(TelegramJob.job_id == job_id).values(delivered_at=None)
            )
        raise


async def send_files(bot: Bot, deps: BotDeps, job: Job, chat_id: int) -> None:
    """A finished video with its export buttons, or each file of an export job."""
    storage = deps.storage
    if job.workflow == "export":
        files: dict[str, str] = job.output.get("files", {})
        for fmt, name in sorted(files.items()):
            path = storage.artifact_file(job.output["export_key"], name)
            await _send_video(
                bot, deps, job, chat_id, path, f"{fmt} · {texts.esc(title_of(job))}", fmt=fmt
            )
        return
    key = job.output["render_key"]
    path = storage.artifact_file(key, str(job.output.get("video", "video.mp4")))
    seconds = _duration(deps, key)
    caption = f"✅ <b>{texts.esc(title_of(job))}</b>" + (
        f" · {texts.duration(seconds)}" if seconds else ""
    )
    caption += "\nWant it for another platform? Pick a format:"
    await _send_video(
        bot, deps, job, chat_id, path, caption, markup=export_buttons(job.id), seconds=seconds
    )


def _duration(deps: BotDeps, key: str) -> float | None:
    try:
        return float(deps.storage.artifact_meta(key)["duration_s"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


async def _send_video(
    bot: Bot,
    deps: BotDeps,
    job: Job,
    chat_id: int,
    path: Path,
    caption: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    seconds: float | None = None,
    fmt: str | None = None,
) -> None:
    size = path.stat().st_size
    if size > deps.settings.telegram_upload_limit_mb * 1024 * 1024:
        await _send_link(bot, deps, job, chat_id, caption, size, fmt, markup)
        return

    async def upload() -> object:
        with path.open("rb") as video:
            return await bot.send_video(
                chat_id,
                video,
                caption=caption[: texts.CAPTION_LIMIT],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                duration=round(seconds) if seconds else None,
                supports_streaming=True,
                filename=f"{job.id}{'-' + fmt if fmt else ''}.mp4",
                read_timeout=UPLOAD_TIMEOUT_S,
                write_timeout=UPLOAD_TIMEOUT_S,
            )

    try:
        await send.call(chat_id, upload)
    except NetworkError as exc:
        if not send.too_large(exc):
            raise
        # A server with a lower limit than configured: the link still gets it there.
        await _send_link(bot, deps, job, chat_id, caption, size, fmt, markup)


async def _send_link(
    bot: Bot,
    deps: BotDeps,
    job: Job,
    chat_id: int,
    caption: str,
    size: int,
    fmt: str | None,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Over what Telegram lets a bot upload: a signed link that opens in any browser."""
    url = texts.esc(links.video_url(deps.settings, job.user_id, job.id, fmt))
    text = (
        f"{caption}\n\nAt {size / 1e6:.0f} MB it is more than Telegram lets a bot send: "
        f'<a href="{url}">download it here</a> (the link works for 7 days).'
    )
    await send.call(
        chat_id,
        lambda: bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup),
    )
