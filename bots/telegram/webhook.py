"""Webhook mode: Telegram posts updates to the API process, which feeds them to the same
Application that polling runs (built with `updater(None)`).

The route checks the secret token Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`
(set with setWebhook), so nobody else can post updates as if they came from Telegram.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Mapping
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


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": []}}, status)


def mount(app: FastAPI, settings: Settings, application: Application | None = None) -> Application:
    """Serve Telegram's webhook on `app`, and run the bot with the app's lifespan."""
    bot_app = application or build_application(settings, webhook=True)
    secret = settings.telegram_secret()

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return _error(403, "bad_secret", f"the {SECRET_HEADER} header is missing or wrong")
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
            await bot_app.initialize()
            await bot_app.start()
            await started(bot_app)
            if settings.telegram_webhook_url:
                await bot_app.bot.set_webhook(
                    settings.telegram_webhook_url, secret_token=secret, allowed_updates=UPDATES
                )
                log.info("telegram.webhook_set", url=settings.telegram_webhook_url)
            try:
                yield state
            finally:
                # The webhook stays set: a restart (or another replica) takes the next update.
                await stopping(bot_app)
                await bot_app.stop()
                await bot_app.shutdown()

    app.router.lifespan_context = lifespan  # type: ignore[assignment]
    return bot_app
