"""The web chat: the studio's front door. Plain HTML, CSS and ES modules, served beside the
API by the same app, with nothing loaded from the network."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from core.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
# Everything the page loads comes from this server; the policy makes the browser enforce it.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add)


def create_studio_app(
    settings: Settings | None = None, *, run_worker: bool | None = None
) -> FastAPI:
    """The API plus the web chat at `/`."""
    app = create_app(settings, run_worker=run_worker)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def index() -> FileResponse:
        # The page is one document; views are chosen by the URL's #fragment.
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    for path in ("/", "/reset-password"):
        app.add_api_route(path, index, methods=["GET"], include_in_schema=False)
    app.add_middleware(SecurityHeaders)
    settings = app.state.settings
    if settings.telegram_bot_token and settings.telegram_webhook_url:
        from bots.telegram import webhook

        webhook.mount(app, settings)
    return app
