"""The Telegram bot end to end: the real python-telegram-bot Application polls a fake Bot API
while a person briefs it, approves the price, watches one progress message move, gets the
video and an export; edits a script by instruction; and buys credits through Stripe."""

from __future__ import annotations

import re

from sqlalchemy import select

from billing import ledger
from core.db import get_database
from core.models import Job, JobStatus, TelegramAccount, TelegramJob
from core.storage import get_storage
from tests.bots.conftest import Running
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.fake_telegram_types import FakeMessage, FakeUser

BRIEF = "a 10-second video about green tea, no host"
JOB_TIMEOUT = 150


def callbacks(fake: FakeTelegram, message: FakeMessage) -> list[str]:
    return [data or "" for row in fake.buttons(message) for _, data in row]


def card(fake: FakeTelegram, user: FakeUser, after: int = 0) -> FakeMessage | None:
    """The newest script card (a message with a Generate button) after message `after`."""
    for message in reversed(fake.chat(user)):
        if message.message_id > after and any(
            c.startswith("gen:") for c in callbacks(fake, message)
        ):
            return message
    return None


def said(fake: FakeTelegram, user: FakeUser, pattern: str) -> FakeMessage | None:
    for message in reversed(fake.chat(user)):
        if re.search(pattern, message.text or message.caption or "", re.IGNORECASE):
            return message
    return None


async def start(fake: FakeTelegram, user: FakeUser) -> None:
    fake.send_text(user, "/start")
    await fake.wait_for(lambda: said(fake, user, "account is ready"))


async def brief(fake: FakeTelegram, user: FakeUser, text: str = BRIEF) -> FakeMessage:
    newest = fake.last(user)
    fake.send_text(user, text)
    return await fake.wait_for(
        lambda: card(fake, user, newest.message_id if newest else 0), timeout=60
    )


def gen(fake: FakeTelegram, message: FakeMessage) -> str:
    return next(c for c in callbacks(fake, message) if c.startswith("gen:"))


async def test_brief_approve_progress_and_delivery(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana", "ana")
    await start(fake, ana)
    shown = await brief(fake, ana)
    assert any(e["type"] == "pre" for e in shown.entities), "the script is shown as a block"
    assert re.search(r"Generate — \d+ credits", fake.buttons(shown)[0][0][0])
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None
        before = await ledger.balance(s, account.user_id)

    fake.press(ana, shown, gen(fake, shown))
    video = await fake.wait_for(
        lambda: next((m for m in fake.chat(ana) if m.media == "video"), None),
        timeout=JOB_TIMEOUT,
    )
    # One progress message, edited in place as the job moved, ending with its result.
    async with get_database().session(read_only=True) as s:
        row = (await s.scalars(select(TelegramJob))).one()
        job = await s.get(Job, row.job_id)
        assert job is not None and job.status == JobStatus.succeeded.value
        assert row.delivered_at is not None
        spent = before - await ledger.balance(s, account.user_id)
    progress = next(m for m in fake.chat(ana) if m.message_id == row.progress_message_id)
    assert "Ready" in (progress.text or "")
    assert len(progress.history) >= 2, "the progress message was edited as the job moved"
    assert sum("%" in (h.get("text") or "") for h in progress.history) >= 1
    assert spent == job.credits
    # The file is the job's own video, with export buttons under it.
    stored = get_storage(bot.settings.storage_dir).artifact_file(
        job.output["render_key"], "video.mp4"
    )
    assert video.file is not None and video.file.data == stored.read_bytes()
    exports = callbacks(fake, video)
    assert f"exp:{job.id}:youtube" in exports
    # The card's buttons are gone: the quote is spent.
    await fake.wait_for(lambda: not callbacks(fake, shown))

    fake.press(ana, video, f"exp:{job.id}:square")
    square = await fake.wait_for(
        lambda: next(
            (
                m
                for m in fake.chat(ana)
                if m.media == "video" and m is not video and "square" in (m.caption or "")
            ),
            None,
        ),
        timeout=JOB_TIMEOUT,
    )
    assert square.file is not None and square.file.data[4:8] == b"ftyp"


async def test_an_edit_by_instruction_replaces_the_card(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    first = await brief(fake, ana, "a 30-second video about three ways to save water at home")
    first_quote, first_text = gen(fake, first), first.text or ""
    fake.press(ana, first, "edit")
    await fake.wait_for(lambda: said(fake, ana, "What should change"))
    second = await brief(fake, ana, "make it shorter")
    assert gen(fake, second) != first_quote, "a new script gets a new price"
    seconds = [
        float(m) for m in re.findall(r"Script · about (\d+) s", f"{first_text} {second.text}")
    ]
    assert len(seconds) == 2 and seconds[1] < seconds[0]
    # The old card lost its buttons: only the newest script can be generated.
    await fake.wait_for(lambda: not callbacks(fake, first))


async def test_unknown_people_are_told_to_start(bot: Running) -> None:
    fake = bot.fake
    bob = fake.user("Bob")
    fake.send_text(bob, "make me a video")
    await fake.wait_for(lambda: said(fake, bob, "Send /start"))
    fake.send_text(bob, "/nonsense")
    await fake.wait_for(lambda: said(fake, bob, "/start|don't know"))
