"""Webhook mode when Telegram is out of reach at startup: the API serves at once, the webhook
route answers 503 (after checking the secret), and the bot comes up in the background as soon
as Telegram answers; a shutdown before then ends the retries cleanly."""

from __future__ import annotations

from itertools import islice

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from bots.telegram import webhook
from tests.bots.conftest import configure
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.test_bot import start
from tests.conftest import Stack
from tests.serving import free_port, serve
from webchat.app import create_studio_app

SECRET = "s3cret_Token-1"
RIGHT = {webhook.SECRET_HEADER: SECRET}
UPDATE = {
    "update_id": 1,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "/x"},
}


def _studio(stack: Stack, fake: FakeTelegram, port: int) -> FastAPI:
    settings = stack.settings
    configure(settings, fake)
    settings.telegram_webhook_url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings.telegram_webhook_secret = SECRET
    return create_studio_app(settings, run_worker=False)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same backoff, scaled down so a test sees several tries."""
    monkeypatch.setattr(webhook, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(webhook, "RETRY_MAX_S", 0.2)


def dropped(fake: FakeTelegram, method: str) -> int:
    return sum(1 for c in fake.calls if c.method == method and c.status == 0)


def test_the_wait_between_tries_doubles_up_to_a_minute() -> None:
    waits = list(islice(webhook.backoff(webhook.RETRY_FIRST_S, webhook.RETRY_MAX_S), 9))
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_the_api_starts_while_telegram_is_down_and_the_bot_follows(
    sqlite_stack: Stack, fake_telegram: FakeTelegram, quick_retries: None
) -> None:
    fake, port = fake_telegram, free_port()
    fake.fail("getMe", times=None)  # Telegram out of reach
    with (
        capture_logs() as logs,
        serve(_studio(sqlite_stack, fake, port), port) as server,
    ):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            r = await client.post("/telegram/webhook", json=UPDATE)
            assert r.status_code == 403 and r.json()["error"]["code"] == "bad_secret"
            r = await client.post("/telegram/webhook", json=UPDATE, headers=RIGHT)
            assert r.status_code == 503 and r.json()["error"]["code"] == "bot_starting"

            await fake.wait_for(lambda: dropped(fake, "getMe") >= 3)
            r = await client.post("/telegram/webhook", json=UPDATE, headers=RIGHT)
            assert r.status_code == 503
            assert not [c for c in fake.calls if c.method == "setWebhook"]

            # Telegram answers again, setWebhook still fails twice; then the bot is up.
            fake.fail("setWebhook", times=2)
            fake.heal("getMe")
            await fake.wait_for(
                lambda: any(
                    c.method == "setWebhook"
                    and c.status == 200
                    and c.params.get("secret_token") == SECRET
                    for c in fake.calls
                )
            )
            assert dropped(fake, "setWebhook") == 2
            ana = fake.user("Ana")
            await start(fake, ana)  # delivered to the webhook, handled by the bot
            assert fake.webhook_deliveries
            assert all(d.status == 200 for d in fake.webhook_deliveries)
    assert not server.lifespan.error_occurred and not server.lifespan.shutdown_failed
    failures = [e for e in logs if e["event"] == "telegram.start_failed"]
    # One line per failed try, with its number and its reason.
    assert len(failures) == dropped(fake, "getMe") + dropped(fake, "setWebhook")
    assert [e["attempt"] for e in failures] == list(range(1, len(failures) + 1))
    assert all(e["error"].startswith("NetworkError") for e in failures)
    assert [e["retry_in_s"] for e in failures[:3]] == [0.05, 0.1, 0.2]


async def test_a_shutdown_while_telegram_is_still_down_ends_the_retries(
    sqlite_stack: Stack, fake_telegram: FakeTelegram, quick_retries: None
) -> None:
    fake, port = fake_telegram, free_port()
    fake.fail("getMe", times=None)
    with serve(_studio(sqlite_stack, fake, port), port) as server:
        await fake.wait_for(lambda: dropped(fake, "getMe") >= 2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            r = await client.post("/telegram/webhook", json=UPDATE, headers=RIGHT)
            assert r.status_code == 503
    # The Application never started, so nothing tried to stop it, and nothing else was asked.
    assert not server.lifespan.error_occurred and not server.lifespan.shutdown_failed
    assert [c.method for c in fake.calls if c.method != "getMe"] == []
