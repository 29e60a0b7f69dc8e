"""Prometheus metrics: request counts and latencies by route, and jobs by status."""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db import get_database
from core.models import Job

# One registry for the process: apps created again (tests) share the same series.
REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "skyie_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "skyie_http_request_seconds",
    "Time to answer HTTP requests (to the response's start), by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
JOBS = Gauge("skyie_jobs", "Jobs by status.", ["status"], registry=REGISTRY)


def _route_of(scope: Scope) -> str:
    # Label by the template (/v1/jobs/{job_id}), never the raw path: ids would explode the series.
    if "route" not in scope:
        return "unmatched"
    names = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join(f"{{{names[p]}}}" if p in names else p for p in scope["path"].split("/"))


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                route = _route_of(scope)
                LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)
                REQUESTS.labels(scope["method"], route, str(status["code"])).inc()
            await send(message)

        await self.app(scope, receive, record)


# Job counts are read at most this often, however often (or by whom) /metrics is scraped.
JOB_COUNTS_TTL_S = 10.0
_counted_at = {"t": -JOB_COUNTS_TTL_S}


async def metrics_endpoint(request: Request) -> Response:
    if time.monotonic() - _counted_at["t"] >= JOB_COUNTS_TTL_S:
        _counted_at["t"] = time.monotonic()
        async with get_database().session() as session:
            rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
            counts = dict(rows.all())
        for status in ("queued", "running", "succeeded", "failed", "cancelled"):
            JOBS.labels(status).set(counts.get(status, 0))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
