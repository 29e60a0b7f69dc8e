"""Webhook deliveries on both stacks: made when a job ends, signed, retried, swept when lost."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.db import get_database
from core.models import Job, Webhook, WebhookDelivery, utcnow
from core.settings import Settings, get_settings
from jobs import outbound, service, webhooks
from jobs.worker import JobWorker
from tests.conftest import Stack
from tests.jobs.helpers import make_user, submit
from tests.jobs.receiver import Receiver


def test_signatures_verify_only_the_signed_body_with_the_right_secret() -> None:
    body = b'{"event":"job.succeeded"}'
    now = int(time.time())
    header = webhooks.sign("whsec_a", body, now)
    assert header.startswith(f"t={now},v1=")
    assert webhooks.verify_signature("whsec_a", header, body)
    assert not webhooks.verify_signature("whsec_b", header, body)
    assert not webhooks.verify_signature("whsec_a", header, body + b" ")
    assert not webhooks.verify_signature("whsec_a", header, body, now=now + 301)
    assert not webhooks.verify_signature("whsec_a", "v1=abc", body)
    assert not webhooks.verify_signature("whsec_a", "garbage", body)
    # A receiver rotating secrets accepts a header carrying either signature.
    old = webhooks.sign("whsec_old", body, now).rpartition(",")[2]
    assert webhooks.verify_signature("whsec_a", f"{header},{old}", body)


async def add_webhook(user_id: str, url: str) -> Webhook:
    async with get_database().session() as s:
        hook = Webhook(user_id=user_id, url=url, secret=webhooks.new_secret())
        s.add(hook)
        await s.flush()
        return hook


async def cancelled_job(settings: Settings, user_id: str) -> str:
    started = await submit(settings, user_id)
    async with get_database().session() as s:
        await service.cancel_job(s, started.job_id, user_id=user_id)
    return started.job_id


async def deliveries(job_id: str) -> list[WebhookDelivery]:
    async with get_database().session() as s:
        rows = await s.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id))
        return list(rows.all())


async def make_due(delivery_id: str, ago_s: float = 1.0) -> None:
    """Pretend the retry's wait has passed."""
    async with get_database().session() as s:
        await s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=ago_s))
        )


async def test_an_ended_job_is_delivered_once_signed(stack: Stack) -> None:
    user = await make_user(stack.settings)
    with Receiver() as receiver:
        hook = await add_webhook(user, receiver.url)
        job_id = await cancelled_job(stack.settings, user)
        (delivery,) = await deliveries(job_id)
        assert (delivery.event, delivery.status, delivery.attempts) == (
            "job.cancelled",
            "pending",
            0,
        )
        await webhooks.deliver(delivery.id)
        await webhooks.deliver(delivery.id)  # a duplicate message sends nothing more
        (got,) = receiver.received
    assert got.headers["Skyie-Event"] == "job.cancelled"
    assert got.headers["Skyie-Delivery"] == delivery.id
    assert webhooks.verify_signature(hook.secret, got.headers["Skyie-Signature"], got.body)
    sent = json.loads(got.body)
    assert sent["event"] == "job.cancelled"
    assert sent["job"]["id"] == job_id and sent["job"]["status"] == "cancelled"
    assert sent["job"]["links"]["job"] == f"{stack.settings.public_url}/v1/jobs/{job_id}"
    (delivery,) = await deliveries(job_id)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    async with get_database().session() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        assert await webhooks.enqueue(s, job) == 0  # one delivery per webhook and event


async def test_failures_back_off_doubling_then_give_up(
    sqlite_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYIE_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("SKYIE_WEBHOOK_BACKOFF_S", "60")
    get_settings.cache_clear()
    user = await make_user(sqlite_stack.settings)
    with Receiver(fail_first=99) as receiver:
        await add_webhook(user, receiver.url)
        (delivery,) = await deliveries(await cancelled_job(sqlite_stack.settings, user))
        waits = []
        for attempt in (1, 2):
            await webhooks.deliver(delivery.id)
            (delivery,) = await deliveries(delivery.job_id)
            assert (delivery.status, delivery.attempts) == ("pending", attempt)
            assert delivery.last_status == 500 and "HTTP 500" in (delivery.last_error or "")
            assert delivery.next_attempt_at is not None
            waits.append((delivery.next_attempt_at - utcnow()).total_seconds())
            await webhooks.deliver(delivery.id)  # not due yet: nothing is sent
            assert len(receiver.received) == attempt
            await make_due(delivery.id)
        await webhooks.deliver(delivery.id)
        assert len(receiver.received) == 3
    # 60 s after the first failure, 120 s after the second (measured a moment later).
    assert 0 < waits[0] <= 60 < waits[1] <= 120
    (delivery,) = await deliveries(delivery.job_id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)


async def test_the_sweep_resends_a_lost_delivery(stack: Stack) -> None:
    user = await make_user(stack.settings)
    with Receiver() as receiver:
        await add_webhook(user, receiver.url)
        (delivery,) = await deliveries(await cancelled_job(stack.settings, user))
        await make_due(delivery.id, ago_s=webhooks.SWEEP_GRACE_S + 5)
        async with get_database().session() as s:
            assert await webhooks.resend_due(s) >= 1
        (resent,) = await deliveries(delivery.job_id)
        assert resent.next_attempt_at is not None
        assert resent.next_attempt_at > utcnow() - timedelta(seconds=webhooks.SWEEP_GRACE_S)
        async with get_database().session() as s:
            await webhooks.resend_due(s)  # just sent again: left to that message this time
        (again,) = await deliveries(delivery.job_id)
        assert again.next_attempt_at == resent.next_attempt_at
        # A worker starting on a fresh in-process broker has lost every message: its first
        # sweep sends them all again. On Redis the message itself survived.
        with JobWorker(stack.settings):
            got = await asyncio.to_thread(receiver.wait_for, 1)
    assert got[0].headers["Skyie-Delivery"] == delivery.id
    (delivery,) = await deliveries(delivery.job_id)
    assert delivery.status == "delivered"


async def test_a_private_destination_is_refused_at_delivery_by_default(
    sqlite_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered while private addresses were allowed; the server's policy then tightened
    # (or the name now resolves elsewhere): each delivery checks the address again.
    user = await make_user(sqlite_stack.settings)
    with Receiver() as receiver:
        await add_webhook(user, receiver.url)
        (delivery,) = await deliveries(await cancelled_job(sqlite_stack.settings, user))
        monkeypatch.setenv("SKYIE_WEBHOOK_ALLOW_PRIVATE", "false")
        get_settings.cache_clear()
        await webhooks.deliver(delivery.id)
        assert receiver.received == []
    (delivery,) = await deliveries(delivery.job_id)
    assert delivery.attempts == 1 and "not a public address" in (delivery.last_error or "")


def test_check_destination_knows_public_from_private() -> None:
    for url in (
        "http://127.0.0.1:8000/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/x",
    ):
        with pytest.raises(outbound.PrivateDestination):
            outbound.check_destination(url, allow_private=False)
        outbound.check_destination(url, allow_private=True)
    outbound.check_destination("http://8.8.8.8/hook", allow_private=False)
    with pytest.raises(outbound.PrivateDestination, match="does not resolve"):
        outbound.check_destination("http://no-such-host.invalid/x", allow_private=False)
