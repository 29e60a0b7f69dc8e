"""Bot fixtures: the real python-telegram-bot Application polling a fake Bot API, on SQLite
with the embedded worker, so jobs run to the end on the lite engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from telegram.ext import Application

from bots.telegram.app import UPDATES, build_application, started, stopping
from core.settings import Settings
from jobs.worker import JobWorker
from tests.api.conftest import api  # noqa: F401
from tests.billing.fake_stripe import fake_stripe  # noqa: F401
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.fake_telegram import fake_telegram as fake_telegram
from tests.conftest import Stack


@dataclass
class Running:
    application: Application
    fake: FakeTelegram
    settings: Settings


def configure(settings: Settings, fake: FakeTelegram) -> None:
    settings.telegram_bot_token = fake.token
    settings.telegram_api_url = fake.base_url
    settings.telegram_file_url = fake.base_file_url
    settings.telegram_bot_username = fake.bot_username
    # Edits close together, so a short job still shows several of them.
    settings.telegram_progress_interval_s = 0.3


@pytest.fixture
async def bot(sqlite_stack: Stack, fake_telegram: FakeTelegram) -> AsyncIterator[Running]:
    """The bot polling the fake Telegram, as `skyie bot` runs it, with a job worker."""
    settings = sqlite_stack.settings
    configure(settings, fake_telegram)
    application = build_application(settings)
    worker = JobWorker(settings).start()
    await application.initialize()
    await started(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=UPDATES)
    await application.start()
    try:
        yield Running(application, fake_telegram, settings)
    finally:
        await application.updater.stop()
        await stopping(application)
        await application.stop()
        await application.shutdown()
        worker.stop()
