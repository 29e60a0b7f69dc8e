"""Webhook mode: Telegram posts updates to the API process, which feeds them to the same
Application that polling runs (built with `updater(None)`).

The route checks the secret token Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`
(set with setWebhook), so nobody else can post updates as if they came from Telegram.
Telegram being out of reach never keeps the API from starting: the bot comes up in the
background (`BotStarter`), retrying with backoff, and until it is up the route answers 503,
which Telegram retries later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from telegram import Update
from telegram.ext import Application

from bots.telegram.app import UPDATES, build_application, started, stopping
from core.logging import get_logger
from core.settings import Settings

log = get_logger("bots.telegram")

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1 << 20
# Bringing the bot up is tried again after 1 s, 2 s, 4 s… and then every minute.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0


def backoff(first: float, cap: float) -> Iterator[float]:
    """Waits between tries: `first`, doubling, never more than `cap`."""
    delay = first
    while True:
        yield min(delay, cap)
        delay = min(delay * 2, cap)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class BotStarter:
    """Brings the Application up (getMe, start, the command menu, setWebhook) on a task of
    its own, trying again until it all succeeded, and takes it down with the API. Each step
    is done once: a retry goes on from the one that failed."""

    def __init__(self, application: Application, settings: Settings, secret: str) -> None:
        self.application, self.settings, self.secret = application, settings, secret
        self.ready = False  # the Application runs: updates can be handed to it
        self.attempts = 0
        self._announced = False  # `started` ran: the command menu is set, jobs are followed
        self._hooked = not settings.telegram_webhook_url
        self._task: asyncio.Task[None] | None = None

    def launch(self) -> None:
        self._task = asyncio.create_task(self._keep_trying(), name="telegram-bot-start")

    async def _keep_trying(self) -> None:
        waits = backoff(RETRY_FIRST_S, RETRY_MAX_S)
        while True:
            self.attempts += 1
            try:
                await self._bring_up()
            except Exception as exc:  # Telegram down, refusing, or answering nonsense
                wait = next(waits)
                log.warning(
                    "telegram.start_failed",
                    attempt=self.attempts,
                    error=_reason(exc),
                    retry_in_s=wait,
                )
                await asyncio.sleep(wait)
                continue
            return

    async def _bring_up(self) -> None:
        application = self.application
        await application.initialize()  # getMe; a no-op once it succeeded
        if not application.running:
            await application.start()
        self.ready = True
        if not self._announced:
            await started(application)
            self._announced = True
        if not self._hooked:
            url = self.settings.telegram_webhook_url
            await application.bot.set_webhook(
                url, secret_token=self.secret, allowed_updates=UPDATES
            )
            self._hooked = True
            log.info("telegram.webhook_set", url=url)

    async def close(self) -> None:
        """Stop trying, and take down whatever came up. The webhook stays set: a restart (or
        another replica) takes the next update."""
        self.ready = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        application = self.application
        if application.running:
            await stopping(application)
            await application.stop()
        # Shuts the bot's HTTP clients as well; without a successful getMe the Application
        # counts as never initialized and leaves them to the bot.
        await application.shutdown()
        await application.bot.shutdown()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": []}}, status)


def mount(app: FastAPI, settings: Settings, application: Application | None = None) -> Application:
    """Serve Telegram's webhook on `app`, and run the bot with the app's lifespan."""
    bot_app = application or build_application(settings, webhook=True)
    secret = settings.telegram_secret()
    starters: list[BotStarter] = []  # the one of the running lifespan

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return _error(403, "bad_secret", f"the {SECRET_HEADER} header is missing or wrong")
        if not (starters and starters[-1].ready):
            response = _error(503, "bot_starting", "the bot is not running yet; try again later")
            response.headers["Retry-After"] = "5"
            return response
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return _error(413, "too_large", "an update is never this big")
        try:
            update = Update.de_json(json.loads(body), bot_app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, "bad_update", f"the body is not a Telegram update: {exc}")
        # Answered at once: Telegram waits for nothing but this 200, and the Application
        # handles the update on its own tasks.
        await bot_app.update_queue.put(update)
        return Response(status_code=200)

    app.add_api_route(PATH, telegram_webhook, methods=["POST"], include_in_schema=False)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi: FastAPI) -> AsyncIterator[Mapping[str, Any] | None]:
        async with inner(asgi) as state:
            starter = BotStarter(bot_app, settings, secret)
            starters.append(starter)
            starter.launch()
            try:
                yield state
            finally:
                await starter.close()
                starters.remove(starter)

    app.router.lifespan_context = lifespan  # type: ignore[assignment]
    return bot_app
