"""The worker: Dramatiq worker threads over the configured broker, optionally with the scheduler.

Stopping is graceful: the worker takes no new message, lets the steps it runs finish for the
grace period (`SKYIE_SHUTDOWN_GRACE_S`), then hands those still running back to the queue, so
another worker starts them at once instead of after the lease. Prefetched messages go back to
the broker untouched.
"""

from __future__ import annotations

import threading
from pathlib import Path

from dramatiq import Worker

from core.logging import get_logger
from core.settings import Settings, get_settings
from jobs import broker, webhooks
from jobs.runner import hand_back_in_flight, in_flight, run_step
from jobs.scheduler import Scheduler, touch

# How often a worker says it is alive, when asked to (a container health check).
ALIVE_EVERY_S = 5.0
MIN_STOP_MS = 1000

log = get_logger("jobs.worker")


def step_actor(step_id: str) -> None:
    """The body of the step actors: run one step on this thread's event loop."""
    broker.run_coro(run_step(step_id))


def webhook_actor(delivery_id: str) -> None:
    """The body of the webhook actor: one delivery attempt."""
    broker.run_coro(webhooks.deliver(delivery_id))


class JobWorker:
    """Consumes step and webhook messages on worker threads. Every worker delivers webhooks,
    whichever step queues it serves. With `schedule`, it also runs the scheduler's duties
    (recovery sweep, holds, monthly credits, idle pod stop); with several, one leads."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        queues: set[str] | None = None,
        threads: int | None = None,
        schedule: bool = True,
        alive_file: Path | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.queues = queues
        self.actors = broker.configure(self.settings, step_actor, webhook_actor)
        self.worker = Worker(
            self.actors.broker,
            queues=broker.broker_queues(queues),
            worker_threads=threads or self.settings.worker_threads,
            worker_timeout=100,
        )
        self.scheduler = Scheduler(self.settings) if schedule else None
        self.alive_file = alive_file
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="skyie-alive", daemon=True)

    def start(self) -> JobWorker:
        self.worker.start()
        if self.scheduler is not None:
            self.scheduler.start()
        if self.alive_file is not None:
            self._monitor.start()
        return self

    def healthy(self) -> bool:
        """Every worker and consumer thread is running and the broker answers. (Dramatiq's
        consumers survive a lost broker by retrying forever, so their threads alone say
        nothing about a worker that cannot reach Redis.)"""
        threads = [*self.worker.workers, *self.worker.consumers.values()]
        if not threads or not all(t.is_alive() for t in threads):
            return False
        client = getattr(self.actors.broker, "client", None)  # the Redis broker's
        if client is None:
            return True
        try:
            return bool(client.ping())
        except Exception as exc:
            log.warning("worker.broker_unreachable", error=str(exc))
            return False

    def _watch(self) -> None:
        assert self.alive_file is not None
        while not self._stop.is_set():
            if self.healthy():
                touch(self.alive_file)
            self._stop.wait(ALIVE_EVERY_S)

    def stop(self, grace_s: float | None = None) -> int:
        """Stop taking messages, give running steps `grace_s` (default: the setting) to
        finish, then hand the rest back. Returns how many steps were handed back."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.stop(timeout_s=0)  # told now, joined at the end: not out of grace
        mine = {t.ident for t in self.worker.workers if t.ident is not None}
        running = in_flight.count(mine)
        if running:
            log.info("worker.stopping", running=running, grace_s=grace)
        # Worker threads finish the message in hand (within `grace`) and take no other;
        # then the consumers put back what they fetched and nobody ran.
        # At least a second: the same timeout bounds the consumers' join, and a consumer
        # not joined may fetch more after Dramatiq put the fetched ones back.
        self.worker.stop(timeout=max(int(grace * 1000), MIN_STOP_MS))
        handed = self._hand_back(mine) if in_flight.count(mine) else 0
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._monitor.is_alive():
            self._monitor.join(timeout=ALIVE_EVERY_S)
        self.actors.broker.close()
        return handed

    @staticmethod
    def _hand_back(threads: set[int]) -> int:
        """On a thread of its own: `stop` may be called from a thread running an event loop."""
        handed = [0]

        def run() -> None:
            try:
                handed[0] = broker.run_coro(hand_back_in_flight(threads))
            except Exception:
                # The lease and the recovery sweep bring them back later instead.
                log.exception("worker.hand_back_failed")
            finally:
                broker.close_thread_loop()

        thread = threading.Thread(target=run, name="skyie-hand-back")
        thread.start()
        thread.join()
        if handed[0]:
            log.warning("worker.handed_back", steps=handed[0])
        return handed[0]

    def __enter__(self) -> JobWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
