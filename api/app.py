"""The HTTP API: one FastAPI app, versioned under /v1. In embedded mode it also runs the job
worker (and through it the lite GPU server) in-process, so one command gives a whole studio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.assets.endpoints import router as assets_router
from api.assets.voices import router as voices_router
from api.auth.endpoints import router as auth_router
from api.auth.mail import make_mailer
from api.billing.endpoints import router as billing_router
from api.chat.endpoints import router as chat_router
from api.errors import install_error_handlers
from api.jobs.endpoints import router as jobs_router
from api.metrics import MetricsMiddleware, metrics_endpoint
from api.ratelimit import RedisLimiter, make_limiter
from api.system import gpu_cache
from api.system import router as system_router
from api.telegram.endpoints import router as telegram_router
from api.usage.endpoints import router as usage_router
from api.videos.endpoints import router as videos_router
from api.webhooks.endpoints import router as webhooks_router
from core import migrate
from core.logging import get_logger
from core.settings import Settings, get_settings
from core.storage import get_storage
from jobs.worker import JobWorker

log = get_logger("api")
API_PREFIX = "/v1"


def create_app(settings: Settings | None = None, *, run_worker: bool | None = None) -> FastAPI:
    """`run_worker`: run job steps in this process; by default only with the embedded broker
    (with a shared broker, `skyie worker` processes do it)."""
    settings = settings or get_settings()
    with_worker = settings.is_embedded_broker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.resolved_database_url.startswith("sqlite"):
            # The embedded database is the app's own: bring it to head on start.
            await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
        worker = JobWorker(settings).start() if with_worker else None
        try:
            yield
        finally:
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            if isinstance(app.state.limiter, RedisLimiter):
                await app.state.limiter.close()

    app = FastAPI(
        title="Skyie Studio API",
        version="1",
        description=(
            "Describe a video, approve its script and price, get the file. "
            "Authenticate with 'Authorization: Bearer <access token or API key>'. "
            'Every error has the shape {"error": {"code", "message", "details"}}.'
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.storage = get_storage(settings.storage_dir)
    app.state.limiter = make_limiter(settings)
    app.state.mailer = make_mailer(settings)
    app.state.gpu_cache = gpu_cache()
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware)
    for router in (
        auth_router,
        chat_router,
        videos_router,
        jobs_router,
        assets_router,
        voices_router,
        webhooks_router,
        billing_router,
        usage_router,
        telegram_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(system_router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    return app
