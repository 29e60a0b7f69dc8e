"""The worker: Dramatiq worker threads over the configured broker, plus the recovery sweep."""

from __future__ import annotations

import threading
import time

from dramatiq import Worker

from billing import grants
from core.db import get_database
from core.logging import get_logger
from core.settings import Settings, get_settings
from jobs import broker, service, webhooks
from jobs.gpu_host import stop_idle_gpu
from jobs.runner import run_step

# How often idle GPU pods are looked for (a few seconds of a pod's time at most).
GPU_STOP_CHECK_S = 5.0
# How often the monthly plan credits are looked for: a new month starts at most this late.
MONTHLY_GRANT_CHECK_S = 600.0

log = get_logger("jobs.worker")


def step_actor(step_id: str) -> None:
    """The body of the step actors: run one step on this thread's event loop."""
    broker.run_coro(run_step(step_id))


def webhook_actor(delivery_id: str) -> None:
    """The body of the webhook actor: one delivery attempt."""
    broker.run_coro(webhooks.deliver(delivery_id))


async def sweep(settings: Settings, *, requeue_all_queued: bool = False) -> int:
    """Re-send orphaned steps, then lost webhook deliveries (each in its own transaction, so
    one failing leaves the other done)."""
    db = get_database()
    async with db.session() as s:
        recovered = await service.recover(
            s, lease_s=settings.step_lease_s, requeue_all_queued=requeue_all_queued
        )
    async with db.session() as s:
        resent = await webhooks.resend_due(s, everything=requeue_all_queued)
    if resent:
        log.info("worker.webhooks_resent", deliveries=resent)
    async with db.session() as s:
        lapsed = await service.expire_holds(s)
    if lapsed:
        log.info("worker.holds_lapsed", holds=lapsed)
    return recovered


async def grant_monthly() -> int:
    """The scheduled task of plan credits: each account's month, once (see billing.grants)."""
    granted = await grants.grant_monthly(get_database())
    if granted:
        log.info("worker.monthly_credits", accounts=granted)
    return granted


class JobWorker:
    """Consumes step and webhook messages on worker threads and periodically re-sends orphaned
    steps and lost deliveries. Every worker delivers webhooks, whichever step queues it serves."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        queues: set[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.queues = queues
        self.actors = broker.configure(self.settings, step_actor, webhook_actor)
        self.worker = Worker(
            self.actors.broker,
            queues=None if queues is None else {*queues, broker.WEBHOOK_QUEUE},
            worker_threads=threads or self.settings.worker_threads,
            worker_timeout=100,
        )
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="skyie-sweeper", daemon=True)

    def start(self) -> JobWorker:
        self.worker.start()
        self._sweeper.start()
        return self

    def _sweep_loop(self) -> None:
        # A fresh in-process broker has lost every message of a previous run: resend them all.
        first = {"requeue_all_queued": self.settings.is_embedded_broker}
        interval = max(0.5, min(self.settings.step_lease_s / 2, 30.0))
        next_sweep = next_grant = 0.0
        while True:
            if self.settings.monthly_grants and time.monotonic() >= next_grant:
                next_grant = time.monotonic() + MONTHLY_GRANT_CHECK_S
                try:
                    broker.run_coro(grant_monthly())
                except Exception:
                    log.exception("worker.monthly_credits_failed")
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + interval
                try:
                    recovered = broker.run_coro(sweep(self.settings, **first))
                    if recovered:
                        log.info("worker.recovered", steps=recovered)
                    first = {}  # the one-time resend is done only once it has succeeded
                except Exception:
                    log.exception("worker.sweep_failed")
            if self.queues is None or "gpu" in self.queues:
                try:
                    # A pod costs money while it is up: stop it once no job in flight needs it.
                    if broker.run_coro(stop_idle_gpu(self.settings)):
                        log.info("worker.gpu_stopped")
                except Exception:
                    log.exception("worker.gpu_stop_failed")
            if self._stop.wait(min(interval, GPU_STOP_CHECK_S)):
                broker.close_thread_loop()
                return

    def stop(self) -> None:
        self._stop.set()
        self.worker.stop()
        self._sweeper.join(timeout=5)
        self.actors.broker.close()

    def __enter__(self) -> JobWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
