"""Job progress events and the bus that carries them (in-process, or Redis pub/sub)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field

from core.logging import get_logger
from core.settings import EMBEDDED, get_settings

log = get_logger("events")


class ProgressEvent(BaseModel):
    job_id: str
    status: str
    phase: str = Field(description="Human label of what runs now, e.g. 'Voice', 'Render'.")
    fraction: float = Field(ge=0, le=1)
    eta_s: float | None = None
    queue_position: int = 0
    phases: dict[str, float] = Field(default_factory=dict, description="Per-phase fraction done.")
    message: str = ""


class Subscription:
    """A stream of one job's events; `get` blocks up to `timeout` seconds."""

    def __init__(self) -> None:
        self._queue: queue.Queue[ProgressEvent] = queue.Queue()

    def put(self, event: ProgressEvent) -> None:
        self._queue.put(event)

    def get(self, timeout: float) -> ProgressEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class LocalBus:
    """In-process bus for embedded mode; safe across threads and event loops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, list[Subscription]] = {}

    def publish(self, event: ProgressEvent) -> None:
        with self._lock:
            subs = list(self._subs.get(event.job_id, ()))
        for sub in subs:
            sub.put(event)

    @contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        sub = Subscription()
        with self._lock:
            self._subs.setdefault(job_id, []).append(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subs[job_id].remove(sub)
                if not self._subs[job_id]:
                    del self._subs[job_id]


class RedisBus:
    """Redis pub/sub bus for production: any process publishes, any process listens."""

    def __init__(self, url: str, namespace: str = "skyie") -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self.namespace = namespace

    def channel(self, job_id: str) -> str:
        return f"{self.namespace}:job:{job_id}"

    def publish(self, event: ProgressEvent) -> None:
        # Progress is advisory (the database holds the truth): a Redis hiccup must not fail a step.
        try:
            self._redis.publish(self.channel(event.job_id), event.model_dump_json())
        except Exception:
            log.warning("events.publish_failed", job_id=event.job_id, exc_info=True)

    @contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.channel(job_id))
        sub = Subscription()
        stop = threading.Event()

        def pump() -> None:
            while not stop.is_set():
                message = pubsub.get_message(timeout=0.2)
                if message and message.get("type") == "message":
                    sub.put(ProgressEvent.model_validate(json.loads(message["data"])))

        thread = threading.Thread(target=pump, name=f"bus-{job_id}", daemon=True)
        thread.start()
        try:
            yield sub
        finally:
            stop.set()
            thread.join(timeout=2)
            pubsub.close()


_bus: LocalBus | RedisBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> LocalBus | RedisBus:
    global _bus
    with _bus_lock:
        if _bus is None:
            settings = get_settings()
            url = settings.events
            _bus = LocalBus() if url == EMBEDDED else RedisBus(url, settings.redis_namespace)
        return _bus


def reset_bus() -> None:
    global _bus
    with _bus_lock:
        _bus = None
