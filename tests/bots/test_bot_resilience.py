"""What goes wrong around a chat bot: Telegram's flood control, dropped connections, people
who block the bot, texts longer than a message, and webhook mode with its secret."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from core.db import get_database
from core.models import JobStatus, TelegramAccount, TelegramJob
from tests.bots.conftest import Running, configure
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.test_bot import brief, callbacks, gen, said, start
from tests.conftest import Stack
from tests.jobs.helpers import wait_for
from tests.serving import free_port, serve
from webchat.app import create_studio_app

PROMPT = "a slow aerial shot over green tea terraces at sunrise with mist in the valleys " * 5


async def test_flood_control_and_dropped_connections_are_ridden_out(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    fake.flood("sendMessage", times=2, retry_after=1)
    fake.send_text(ana, "/balance")
    await fake.wait_for(lambda: said(fake, ana, "You have"), timeout=30)
    assert [c.status for c in fake.calls if c.method == "sendMessage"][-3:] == [429, 429, 200]

    fake.fail("sendMessage", times=1)
    fake.send_text(ana, "/help")
    await fake.wait_for(lambda: said(fake, ana, "/balance – your credits"), timeout=30)


async def test_a_long_script_is_split_and_the_buttons_follow_the_last_part(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    lines = [f"[BROLL: {PROMPT.strip()[:380]} | 3s] Part {n}." for n in range(1, 11)]
    script = "\n".join(lines)
    # As much as one Telegram message carries in; the reply around it needs more.
    assert 3900 < len(script) <= 4096
    newest = fake.last(ana)
    fake.send_text(ana, script)
    last = await fake.wait_for(lambda: card(fake, ana, newest.message_id if newest else 0))
    parts = [m for m in fake.chat(ana) if newest is None or m.message_id > newest.message_id]
    assert len(parts) >= 2 and all(len(m.text or "") <= 4096 for m in parts)
    assert [bool(callbacks(fake, m)) for m in parts] == [False] * (len(parts) - 1) + [True]
    # Telegram keeps the text and marks the <pre> blocks as entities (ASCII: offsets are
    # characters).
    shown = "".join(
        (m.text or "")[e["offset"] : e["offset"] + e["length"]]
        for m in parts
        for e in m.entities
        if e["type"] == "pre"
    )
    assert re.sub(r"\s+", "", shown) == re.sub(r"\s+", "", script)
    assert last is parts[-1]


def card(fake: FakeTelegram, user: object, after: int) -> object:
    from tests.bots.test_bot import card as newest_card

    return newest_card(fake, user, after)  # type: ignore[arg-type]


async def test_a_person_who_blocked_the_bot_is_left_alone(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    shown = await brief(fake, ana, "a 20-second video about tea, no host")
    fake.press(ana, shown, gen(fake, shown))
    await fake.wait_for(lambda: said(fake, ana, "%|Queued"))
    fake.block(ana)

    async def blocked() -> bool:
        async with get_database().session(read_only=True) as s:
            account = await s.get(TelegramAccount, ana.id)
            return account is not None and account.bot_blocked_at is not None

    for _ in range(200):
        if await blocked():
            break
        await fake.wait_for(lambda: True)
    assert await blocked()
    # The job still finishes and stays in the library; nothing more goes to the chat.
    async with get_database().session(read_only=True) as s:
        row = (await s.scalars(select(TelegramJob))).one()
    job = await wait_for(bot.settings, row.job_id, timeout_s=150)
    assert job.status == JobStatus.succeeded.value
    await fake.wait_for(lambda: row.job_id not in watchers(bot))
    assert not [c for c in fake.calls if c.method == "sendVideo"]

    fake.unblock(ana)
    fake.send_text(ana, "/balance")
    await fake.wait_for(lambda: said(fake, ana, "on the Free plan"))
    assert not await blocked()


def watchers(bot: Running) -> dict[str, object]:
    return dict(bot.application.bot_data["deps"].watchers)


async def test_webhook_mode_takes_updates_with_the_secret_only(
    sqlite_stack: Stack, fake_telegram: FakeTelegram
) -> None:
    settings, fake = sqlite_stack.settings, fake_telegram
    configure(settings, fake)
    port = free_port()
    settings.telegram_webhook_url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings.telegram_webhook_secret = "s3cret_Token-1"
    base = f"http://127.0.0.1:{port}"
    with serve(create_studio_app(settings, run_worker=False), port):
        # The bot comes up in the background, the API does not wait for it.
        await fake.wait_for(
            lambda: any(
                c.method == "setWebhook" and c.params.get("secret_token") == "s3cret_Token-1"
                for c in fake.calls
            )
        )
        ana = fake.user("Ana")
        await start(fake, ana)
        assert fake.webhook_deliveries and all(d.status == 200 for d in fake.webhook_deliveries)
        async with httpx.AsyncClient(base_url=base) as client:
            chat = {"id": 1, "type": "private"}
            message = {"message_id": 1, "date": 0, "chat": chat, "text": "/start"}
            update = {"update_id": 1, "message": message}
            r = await client.post("/telegram/webhook", json=update)
            assert r.status_code == 403 and r.json()["error"]["code"] == "bad_secret"
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            r = await client.post("/telegram/webhook", json=update, headers=wrong)
            assert r.status_code == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_Token-1"}
            r = await client.post("/telegram/webhook", content=b"{not json", headers=right)
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_update"
