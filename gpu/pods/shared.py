"""A pool of pods as every worker sees it: one Redis hash per pod, one for the pool, one lock.

Workers are separate processes (and threads with their own event loops), so the state cannot
live in memory. Each pod's hash holds its status, when its current start began and its last
activity; the pool's hash holds what all pods share (the measured cold starts and task
durations: the pods run the same image on the same kind of GPU); one lock for the whole pool
serialises every decision to start or stop a pod, so "is another pod needed?" and "is this the
last pod up?" are answered on a consistent view.
The client is redis-py's synchronous one because it is safe to share across threads and event
loops; async callers run these methods through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import redis

from gpu.pods.base import GpuHostUnavailable, HostStatus

# Weight of the newest cold start in the moving average: recent starts say most about the
# image and the machines RunPod hands out now, yet one odd start does not swing the estimate.
COLD_START_ALPHA = 0.3
# Tasks vary far more than cold starts (a line of speech vs. a video clip), so each one moves
# the typical task time less: the average should follow the mix of work, not the last task.
TASK_ALPHA = 0.1


@dataclass(frozen=True)
class PodRecord:
    status: HostStatus | None  # None: unknown, nobody has looked at the pod yet
    since: float
    starting_since: float | None = None
    measure: bool = False  # this start was a resume from stopped: its duration is a cold start
    last_activity: float | None = None
    last_ok: float | None = None
    detail: str = ""

    @property
    def active_at(self) -> float:
        """When the pod last did (or was handed) work, or else changed state."""
        return self.last_activity if self.last_activity is not None else self.since


@dataclass(frozen=True)
class PoolStats:
    """What the pods share: measured cold starts and task durations, as moving averages."""

    cold_avg_s: float | None = None
    cold_count: int = 0
    task_avg_s: float | None = None
    task_count: int = 0


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


class SharedPodState:
    """One pod's hash."""

    def __init__(self, client: redis.Redis, key: str, *, clock: Callable[[], float]) -> None:
        self._redis = client
        self.key = key
        self._clock = clock

    def read(self) -> PodRecord:
        """The record; its status is None while no worker has decided one yet."""
        return parse_record(self._redis.hgetall(self.key))

    def write(self, **fields: str | float | bool | HostStatus | None) -> None:
        """Set fields (None deletes one); a new status also stamps `since`."""
        mapping: dict[str, str] = {}
        gone: list[str] = []
        if "status" in fields and "since" not in fields:
            fields["since"] = self._clock()
        for name, value in fields.items():
            if value is None:
                gone.append(name)
            elif isinstance(value, bool):
                mapping[name] = "1" if value else "0"
            elif isinstance(value, float | int):
                mapping[name] = repr(float(value))  # repr round-trips a float exactly
            else:
                mapping[name] = str(value)
        pipe = self._redis.pipeline()
        if mapping:
            pipe.hset(self.key, mapping=mapping)  # type: ignore[arg-type]
        if gone:
            pipe.hdel(self.key, *gone)
        pipe.execute()

    def touch(self) -> None:
        self._redis.hset(self.key, "last_activity", repr(self._clock()))


def parse_record(raw_hash: Mapping[str | bytes, str | bytes]) -> PodRecord:
    raw = {_text(k): _text(v) for k, v in raw_hash.items()}
    status = raw.get("status")
    return PodRecord(
        status=HostStatus(status) if status else None,
        since=_float(raw.get("since")) or 0.0,
        starting_since=_float(raw.get("starting_since")),
        measure=raw.get("measure") == "1",
        last_activity=_float(raw.get("last_activity")),
        last_ok=_float(raw.get("last_ok")),
        detail=raw.get("detail", ""),
    )


class SharedPool:
    """The pool: each pod's state, the shared averages, and the lock every decision takes."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        pod_ids: Sequence[str],
        *,
        clock: Callable[[], float],
        lock_timeout_s: float = 120.0,
    ) -> None:
        """Pod hashes are `{prefix}:{pod_id}` (the single-pod layout's key, so a pool of one
        keeps its state across the upgrade); the pool's own hash is `{prefix}:pool`."""
        self._redis = client
        self.key = f"{prefix}:pool"
        self._clock = clock
        self._lock_timeout_s = lock_timeout_s
        self.pods = {pod: SharedPodState(client, f"{prefix}:{pod}", clock=clock) for pod in pod_ids}

    def read_all(self) -> dict[str, PodRecord]:
        """Every pod's record, in one round trip, in pool order."""
        pipe = self._redis.pipeline(transaction=False)
        for state in self.pods.values():
            pipe.hgetall(state.key)
        return {pod: parse_record(raw) for pod, raw in zip(self.pods, pipe.execute(), strict=True)}

    def stats(self) -> PoolStats:
        raw = {_text(k): _text(v) for k, v in self._redis.hgetall(self.key).items()}
        return PoolStats(
            cold_avg_s=_float(raw.get("cold_avg_s")),
            cold_count=int(raw.get("cold_count") or 0),
            task_avg_s=_float(raw.get("task_avg_s")),
            task_count=int(raw.get("task_count") or 0),
        )

    def record_cold_start(self, seconds: float) -> None:
        """Fold one measured cold start into the pool's moving average."""
        self._fold("cold", seconds, COLD_START_ALPHA)

    def record_task(self, seconds: float) -> None:
        """Fold one GPU task's duration into the pool's typical task time."""
        self._fold("task", seconds, TASK_ALPHA)

    def _fold(self, name: str, seconds: float, alpha: float) -> None:
        avg_field, count_field = f"{name}_avg_s", f"{name}_count"

        # Optimistic transaction: workers report tasks without the pool lock (a step must not
        # wait on a pod start to say it finished), so two reports retry rather than one being
        # lost.
        def update(pipe: redis.client.Pipeline) -> None:
            old_avg, old_count = pipe.hmget(self.key, [avg_field, count_field])
            old = _float(_text(old_avg) if old_avg is not None else None)
            avg = seconds if old is None else alpha * seconds + (1 - alpha) * old
            count = int(_text(old_count) if old_count is not None else 0) + 1
            pipe.multi()
            pipe.hset(self.key, mapping={avg_field: repr(avg), count_field: str(count)})

        self._redis.transaction(update, self.key)

    @contextlib.contextmanager
    def locked(self, wait_s: float) -> Iterator[bool]:
        """Hold the pool's lock; yields False (and holds nothing) if it was not free in time.

        The lock expires on its own after `lock_timeout_s`, so a worker killed while holding it
        blocks the others for at most that long.
        """
        lock = self._redis.lock(
            f"{self.key}:lock",
            timeout=self._lock_timeout_s,
            blocking_timeout=max(wait_s, 0.0),
            thread_local=False,
        )
        acquired = bool(lock.acquire())
        try:
            yield acquired
        finally:
            if acquired:
                with contextlib.suppress(redis.exceptions.LockError):
                    lock.release()


def _text(value: str | bytes) -> str:
    """Clients made without decode_responses hand back bytes."""
    return value.decode() if isinstance(value, bytes) else value


@contextlib.contextmanager
def redis_errors(url: str) -> Iterator[None]:
    """Turn Redis failures into the host's own error, so a job waits instead of crashing."""
    try:
        yield
    except redis.RedisError as exc:
        raise GpuHostUnavailable(
            f"the GPU pods' shared state in Redis ({url}) is unreachable: {exc}",
            code="unreachable",
        ) from exc
