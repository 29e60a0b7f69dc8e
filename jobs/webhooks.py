"""Outbound webhooks: a signed delivery per endpoint when a job finishes, retried with backoff.

Scheme, as a receiver sees it. Each delivery is a POST of a JSON body
`{"event": "job.succeeded", "job": {"id", "status", "workflow", "credits", "error", ...,
"links": {...}}}` with the headers

    Skyie-Event: job.succeeded | job.failed | job.cancelled
    Skyie-Delivery: <delivery id>, the same on every attempt: dedupe on it
    Skyie-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>

To verify, recompute the HMAC over the body bytes exactly as received (before any JSON
parsing), compare in constant time, and refuse a `t` outside a few minutes of now so a captured
request cannot be replayed later; `verify_signature` does all three. A 2xx answer within
`webhook_timeout_s` counts as delivered. Anything else is retried after
`webhook_backoff_s * 2**(attempts - 1)` seconds until `webhook_max_attempts`, then the delivery
is marked failed. Every attempt is recorded (status, error) and listed under the webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, after_commit, get_database
from core.logging import get_logger
from core.models import Job, JobStatus, Webhook, WebhookDelivery, new_id, utcnow
from core.settings import Settings, get_settings
from jobs import broker, outbound

log = get_logger("jobs.webhooks")

EVENTS = {
    JobStatus.succeeded: "job.succeeded",
    JobStatus.failed: "job.failed",
    JobStatus.cancelled: "job.cancelled",
}
SIGNATURE_HEADER = "Skyie-Signature"
EVENT_HEADER = "Skyie-Event"
DELIVERY_HEADER = "Skyie-Delivery"
DEFAULT_TOLERANCE_S = 300
# A claimed delivery is left to its worker this long past the HTTP timeout; after that the
# sweep assumes the worker died mid-request and sends it again.
CLAIM_MARGIN_S = 30.0
# A due delivery whose message has not been handled this long is taken as lost and re-sent.
SWEEP_GRACE_S = 30.0
# Clocks of the hosts that schedule and run a delivery may differ by a little.
CLOCK_SLACK = timedelta(seconds=1)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The Skyie-Signature header value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> bool:
    """True when `header` signs exactly `body` with `secret`, made within `tolerance_s`."""
    stamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            stamp = int(value)
        elif key == "v1":
            macs.append(value)
    if stamp is None or not macs:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        return False
    expected = sign(secret, body, stamp).rpartition("v1=")[2]
    # Several v1 values are allowed so a receiver can accept an old and a new secret at once.
    return any(hmac.compare_digest(expected, mac) for mac in macs)


class JobLinks(BaseModel):
    """Where a job and its files are, as absolute URLs."""

    job: str
    events: str = Field(description="Live progress (Server-Sent Events).")
    video: str | None = Field(default=None, description="The rendered MP4 (Range supported).")
    captions: str | None = Field(default=None, description="SRT; add ?format=vtt for WebVTT.")
    thumbnail: str | None = Field(default=None, description="A JPEG still of the video.")
    preview: str | None = Field(
        default=None, description="A few looping seconds as an animated WebP (export jobs)."
    )
    exports: dict[str, str] = Field(
        default_factory=dict, description="Platform format -> download URL."
    )


def job_links(job: Job, base_url: str) -> JobLinks:
    base = f"{base_url.rstrip('/')}/v1/jobs/{job.id}"
    links = JobLinks(job=base, events=f"{base}/events")
    if job.status != JobStatus.succeeded.value:
        return links
    if "render_key" in job.output:
        links.video, links.captions = f"{base}/video", f"{base}/captions"
        links.thumbnail = f"{base}/thumbnail"
    if "export_key" in job.output:
        links.thumbnail, links.preview = f"{base}/thumbnail", f"{base}/preview"
        links.exports = {fmt: f"{base}/exports/{fmt}" for fmt in sorted(job.output["files"])}
    return links


def payload(job: Job, event: str, public_url: str) -> dict[str, Any]:
    stamp = (job.finished_at or utcnow()).isoformat()
    return {
        "event": event,
        "job": {
            "id": job.id,
            "status": job.status,
            "workflow": job.workflow,
            "credits": job.credits,
            "error": job.error,
            "retry_of": job.retry_of,
            "created_at": job.created_at.isoformat(),
            "finished_at": stamp,
            "links": job_links(job, public_url).model_dump(),
        },
    }


def _send_after_commit(session: AsyncSession, delivery_id: str, delay_ms: int = 0) -> None:
    after_commit(session, lambda: broker.current().send_webhook(delivery_id, delay_ms=delay_ms))


async def enqueue(session: AsyncSession, job: Job) -> int:
    """In the transaction that finishes `job`: one delivery per webhook of its owner, sent
    once that transaction commits (a rollback sends nothing)."""
    status = JobStatus(job.status)
    if status not in EVENTS:
        return 0
    event = EVENTS[status]
    hooks = (await session.scalars(select(Webhook).where(Webhook.user_id == job.user_id))).all()
    if not hooks:
        return 0
    done = set(
        await session.scalars(
            select(WebhookDelivery.webhook_id).where(
                WebhookDelivery.job_id == job.id, WebhookDelivery.event == event
            )
        )
    )
    body = payload(job, event, get_settings().public_url)
    now = utcnow()
    made = 0
    for hook in hooks:
        if hook.id in done:
            continue
        delivery = WebhookDelivery(
            id=new_id("whd"),
            webhook_id=hook.id,
            job_id=job.id,
            event=event,
            payload=body,
            next_attempt_at=now,
        )
        session.add(delivery)
        _send_after_commit(session, delivery.id)
        made += 1
    return made


@dataclass(frozen=True)
class _Attempt:
    delivery_id: str
    attempt: int
    url: str
    secret: str
    event: str
    body: bytes


async def _claim(db: Database, delivery_id: str, settings: Settings) -> _Attempt | None:
    """Take a due delivery for one attempt; None when it is done, not due, or taken."""
    async with db.session() as s:
        delivery = await s.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return None
        hook = await s.get(Webhook, delivery.webhook_id)
        if hook is None:
            return None
        if delivery.attempts >= settings.webhook_max_attempts:
            # Out of attempts already (a worker died during the last one, or the limit was
            # lowered since): settle it instead of trying again.
            delivery.status, delivery.next_attempt_at = "failed", None
            return None
        now = utcnow()
        lease = now + timedelta(seconds=settings.webhook_timeout_s + CLAIM_MARGIN_S)
        # Conditional: of two messages for one delivery (a retry and a sweep), one sends.
        claimed = await s.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == delivery.attempts,
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now + CLOCK_SLACK,
                ),
            )
            .values(attempts=delivery.attempts + 1, next_attempt_at=lease)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        return _Attempt(
            delivery_id, delivery.attempts + 1, hook.url, hook.secret, delivery.event, body
        )


async def _post(attempt: _Attempt, settings: Settings) -> tuple[int | None, str | None]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Skyie-Webhooks/1",
        EVENT_HEADER: attempt.event,
        DELIVERY_HEADER: attempt.delivery_id,
        SIGNATURE_HEADER: sign(attempt.secret, attempt.body, int(time.time())),
    }
    try:
        # Redirects are not followed: the signed request goes where the person registered it.
        answer = await outbound.post(
            attempt.url,
            attempt.body,
            headers,
            timeout_s=settings.webhook_timeout_s,
            allow_private=settings.webhook_allow_private,
        )
    except TimeoutError:
        return None, f"no complete answer within {settings.webhook_timeout_s:g} s"
    except Exception as exc:
        # Whatever went wrong (network, TLS, a private address, a URL httpx refuses) is this
        # attempt's outcome: it must be recorded, or the delivery would retry without counting.
        if not isinstance(exc, (httpx.HTTPError, outbound.PrivateDestination)):
            log.warning("webhook.post_crashed", delivery_id=attempt.delivery_id, exc_info=True)
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status < 300:
        return answer.status, None
    return answer.status, f"HTTP {answer.status}: {answer.head[:300]}"


async def deliver(delivery_id: str) -> None:
    """The webhook actor's body: one attempt, then delivered, rescheduled or failed."""
    settings, db = get_settings(), get_database()
    attempt = await _claim(db, delivery_id, settings)
    if attempt is None:
        return
    status, error = await _post(attempt, settings)
    async with db.session() as s:
        delivery = await s.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.attempts != attempt.attempt:
            return  # deleted meanwhile, or our lease lapsed and another attempt owns it now
        now = utcnow()
        delivery.last_status, delivery.last_error = status, error
        if error is None:
            delivery.status, delivery.delivered_at = "delivered", now
            delivery.next_attempt_at = None
            log.info("webhook.delivered", delivery_id=delivery_id, attempt=attempt.attempt)
            return
        if attempt.attempt >= settings.webhook_max_attempts:
            delivery.status, delivery.next_attempt_at = "failed", None
            log.warning("webhook.failed", delivery_id=delivery_id, error=error)
            return
        delay_s = settings.webhook_backoff_s * 2 ** (attempt.attempt - 1)
        delivery.next_attempt_at = now + timedelta(seconds=delay_s)
        _send_after_commit(s, delivery_id, int(delay_s * 1000))
        log.info("webhook.retry", delivery_id=delivery_id, in_s=delay_s, error=error)


async def resend_due(session: AsyncSession, *, everything: bool = False) -> int:
    """Send again the pending deliveries whose message seems lost (due for a while, or, with
    `everything`, all: a fresh in-process broker has lost every message of a previous run)."""
    now = utcnow()
    overdue = WebhookDelivery.next_attempt_at < now - timedelta(seconds=SWEEP_GRACE_S)
    stmt = select(WebhookDelivery).where(WebhookDelivery.status == "pending")
    if not everything:
        stmt = stmt.where(overdue)
    resent = 0
    for delivery in (await session.scalars(stmt)).all():
        due = delivery.next_attempt_at or now
        delay_ms = max(0, int((due - now).total_seconds() * 1000))
        if not everything:
            # Restart the grace period, so a busy worker is not sent the same message each sweep;
            # conditional, so a claim made since the select keeps its lease.
            moved = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.attempts == delivery.attempts,
                    overdue,
                )
                .values(next_attempt_at=now)
                .execution_options(synchronize_session=False)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                continue
            delay_ms = 0
        _send_after_commit(session, delivery.id, delay_ms)
        resent += 1
    return resent
