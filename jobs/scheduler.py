"""The scheduler: the studio's periodic duties in one loop.

- the recovery sweep: steps whose worker vanished, lost messages, lost webhook deliveries;
- credit holds that lapsed;
- monthly plan credits;
- stopping the GPU pod once nothing in flight needs it.

`skyie scheduler` runs it alone; `skyie worker` and the embedded studio run it beside their
steps. With a Redis broker only one scheduler at a time does the duties (a lease in Redis),
so running several, for safety or by accident, costs nothing and doubles nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

from billing import grants
from core.db import get_database
from core.logging import get_logger
from core.settings import Settings
from jobs import broker, service, webhooks
from jobs.gpu_host import stop_idle_gpu

# How often idle GPU pods are looked for (a few seconds of a pod's time at most).
GPU_STOP_CHECK_S = 5.0
# How often the monthly plan credits are looked for: a new month starts at most this late.
MONTHLY_GRANT_CHECK_S = 600.0
# A leader silent this long is replaced by another scheduler.
LEADER_TTL_S = 30.0

log = get_logger("jobs.scheduler")

# Take the lease if it is free, or renew it if it is ours: one atomic step.
_HOLD = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


async def sweep(settings: Settings, *, requeue_all_queued: bool = False) -> int:
    """Re-send orphaned steps, then lost webhook deliveries, then end lapsed holds (each in its
    own transaction, so one failing leaves the others done). Returns the steps re-sent."""
    db = get_database()
    async with db.session() as s:
        recovered = await service.recover(
            s, lease_s=settings.step_lease_s, requeue_all_queued=requeue_all_queued
        )
    async with db.session() as s:
        resent = await webhooks.resend_due(s, everything=requeue_all_queued)
    if resent:
        log.info("scheduler.webhooks_resent", deliveries=resent)
    async with db.session() as s:
        lapsed = await service.expire_holds(s)
    if lapsed:
        log.info("scheduler.holds_lapsed", holds=lapsed)
    return recovered


async def grant_monthly() -> int:
    """Plan credits: each account's month, once (see billing.grants)."""
    granted = await grants.grant_monthly(get_database())
    if granted:
        log.info("scheduler.monthly_credits", accounts=granted)
    return granted


class Leader:
    """Whether this scheduler is the one doing the duties: always in embedded mode (one
    process); with Redis, the holder of a lease that it renews on every pass."""

    def __init__(self, settings: Settings) -> None:
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.key = f"{settings.redis_namespace}:scheduler:leader"
        self._redis = None
        self._leading = False
        if not settings.is_embedded_broker:
            import redis

            self._redis = redis.Redis.from_url(settings.broker, socket_timeout=5)

    def hold(self) -> bool:
        if self._redis is None:
            return True
        ttl_ms = int(LEADER_TTL_S * 1000)
        leading = bool(self._redis.eval(_HOLD, 1, self.key, self.me, ttl_ms))
        if leading != self._leading:
            log.info("scheduler.leading" if leading else "scheduler.standing_by", me=self.me)
            self._leading = leading
        return leading

    def release(self) -> None:
        if self._redis is None:
            return
        try:
            self._redis.eval(_RELEASE, 1, self.key, self.me)
        except Exception:
            log.warning("scheduler.release_failed", exc_info=True)  # the lease lapses anyway
        finally:
            self._redis.close()


def touch(path: Path) -> None:
    """Say this process is alive (a container health check reads the file's age)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


class Scheduler:
    """Runs the duties that are due, every few seconds, until stopped."""

    def __init__(self, settings: Settings, *, alive_file: Path | None = None) -> None:
        self.settings = settings
        self.alive_file = alive_file
        self.leader = Leader(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A fresh in-process broker has lost every message of a previous run: resend them all.
        self._requeue_all = settings.is_embedded_broker
        self._next_sweep = self._next_grant = 0.0
        self.interval = max(0.5, min(settings.step_lease_s / 2, 30.0))

    def tick(self) -> bool:
        """One pass over the duties that are due; False if one of them failed."""
        try:
            if not self.leader.hold():
                return True
        except Exception:
            log.exception("scheduler.leader_check_failed")
            return False
        ok = True
        now = time.monotonic()
        if self.settings.monthly_grants and now >= self._next_grant:
            self._next_grant = now + MONTHLY_GRANT_CHECK_S
            try:
                broker.run_coro(grant_monthly())
            except Exception:
                ok = False
                log.exception("scheduler.monthly_credits_failed")
        if now >= self._next_sweep:
            self._next_sweep = now + self.interval
            try:
                recovered = broker.run_coro(
                    sweep(self.settings, requeue_all_queued=self._requeue_all)
                )
                if recovered:
                    log.info("scheduler.recovered", steps=recovered)
                self._requeue_all = False  # the one-time resend is done once it has succeeded
            except Exception:
                ok = False
                log.exception("scheduler.sweep_failed")
        try:
            # A pod costs money while it is up: stop it once no job in flight needs it.
            if broker.run_coro(stop_idle_gpu(self.settings)):
                log.info("scheduler.gpu_stopped")
        except Exception:
            ok = False
            log.exception("scheduler.gpu_stop_failed")
        return ok

    def run(self) -> None:
        """Loop until `stop()`; touches the alive file after each pass that went well."""
        try:
            while True:
                if self.tick() and self.alive_file is not None:
                    touch(self.alive_file)
                if self._stop.wait(min(self.interval, GPU_STOP_CHECK_S)):
                    return
        finally:
            self.leader.release()
            broker.close_thread_loop()

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self.run, name="skyie-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
