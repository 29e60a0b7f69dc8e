"""The Dramatiq broker chosen by settings (in-process or Redis) and the actors bound to it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Middleware,
    Pipelines,
    ShutdownNotifications,
    TimeLimit,
)

from core.db import dispose_all
from core.settings import Settings, get_settings

GPU_QUEUE = "gpu"
MEDIA_QUEUE = "media"
WEBHOOK_QUEUE = "webhooks"
STEP_QUEUES = (GPU_QUEUE, MEDIA_QUEUE)
# Pro and Business jobs' steps: a queue of their own beside each step queue. A worker serving
# a step queue consumes both, taking the priority one first; a worker may also serve only the
# priority queues, so paid work never waits behind a backlog of free work.
PRIORITY_SUFFIX = "-priority"
# Dramatiq runs a worker's fetched messages lowest number first.
WEBHOOK_PRIORITY, PAID_PRIORITY, STANDARD_PRIORITY = -10, 0, 10
STEP_TIME_LIMIT_MS = 2 * 60 * 60 * 1000
# One HTTP request with a timeout of seconds; the limit only catches a wedged thread.
WEBHOOK_TIME_LIMIT_MS = 5 * 60 * 1000

_local = threading.local()


def run_coro(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on this thread's own long-lived event loop (actors are sync functions;
    a loop per thread keeps database engines and their connections reusable)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop.run_until_complete(coro)


def close_thread_loop() -> None:
    """Dispose this thread's database engine and close its loop (the thread is ending)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        return
    try:
        loop.run_until_complete(dispose_all())
    finally:
        loop.close()
        _local.loop = None


class ThreadCleanup(Middleware):
    """Worker threads hold an event loop and a connection pool each: release them on exit."""

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: object) -> None:
        close_thread_loop()


def priority_queue(queue: str) -> str:
    return queue + PRIORITY_SUFFIX


def broker_queues(queues: set[str] | None) -> set[str] | None:
    """The broker queues a worker consumes for the step queues an operator names: a step queue
    brings its priority queue along; a priority queue alone is served alone. None = all."""
    if queues is None:
        return None
    names = {WEBHOOK_QUEUE}
    for queue in queues:
        names.add(queue)
        if queue in STEP_QUEUES:
            names.add(priority_queue(queue))
    return names


def known_queues() -> tuple[str, ...]:
    return (*STEP_QUEUES, *(priority_queue(q) for q in STEP_QUEUES))


def make_broker(settings: Settings) -> dramatiq.Broker:
    # Retries are decided by the step runner from the database, not by the broker.
    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        ThreadCleanup(),
    ]
    if settings.is_embedded_broker:
        return StubBroker(middleware=middleware)
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(
        url=settings.broker, middleware=middleware, namespace=f"{settings.redis_namespace}:dramatiq"
    )


class Actors:
    """The step actors and the webhook actor, declared on one broker."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        step: Callable[[str], None],
        deliver: Callable[[str], None],
        *,
        url: str,
    ) -> None:
        self.broker = broker
        self.url = url
        options = {"max_retries": 0, "time_limit": STEP_TIME_LIMIT_MS}
        self.by_queue = {
            name: dramatiq.Actor(
                step,
                broker=broker,
                actor_name=f"{name}.run_step",
                queue_name=name,
                priority=PAID_PRIORITY if name.endswith(PRIORITY_SUFFIX) else STANDARD_PRIORITY,
                options=dict(options),
            )
            for name in known_queues()
        }
        # Retries are scheduled from the delivery's row (backoff, attempts), not by Dramatiq.
        # First of all: a notification takes milliseconds and is worth more than a step's
        # head start, when both wait for a thread of the same worker.
        self.webhook = dramatiq.Actor(
            deliver,
            broker=broker,
            actor_name="webhooks.deliver",
            queue_name=WEBHOOK_QUEUE,
            priority=WEBHOOK_PRIORITY,
            options={"max_retries": 0, "time_limit": WEBHOOK_TIME_LIMIT_MS},
        )

    def send(
        self, queue: str, step_id: str, *, priority: bool = False, delay_ms: int | None = None
    ) -> None:
        """Send a step to its queue (`gpu` or `media`), or that queue's priority twin."""
        actor = self.by_queue[priority_queue(queue) if priority else queue]
        if delay_ms:
            actor.send_with_options(args=(step_id,), delay=delay_ms)
        else:
            actor.send(step_id)

    def send_webhook(self, delivery_id: str, *, delay_ms: int | None = None) -> None:
        if delay_ms:
            self.webhook.send_with_options(args=(delivery_id,), delay=delay_ms)
        else:
            self.webhook.send(delivery_id)


_actors: Actors | None = None
_lock = threading.Lock()


def configure(
    settings: Settings, step: Callable[[str], None], deliver: Callable[[str], None]
) -> Actors:
    """Make the broker named by settings the global one and declare the actors on it."""
    global _actors
    with _lock:
        broker = make_broker(settings)
        dramatiq.set_broker(broker)
        _actors = Actors(broker, step, deliver, url=settings.broker)
        return _actors


def current() -> Actors:
    """The actors on the broker the settings name now (configured on first use, so a process
    that only submits jobs, such as the API, needs no set-up call)."""
    settings = get_settings()
    if _actors is None or _actors.url != settings.broker:
        # The actor bodies live above this module.
        from jobs.worker import step_actor, webhook_actor

        return configure(settings, step_actor, webhook_actor)
    return _actors
