"""Fixed-window rate limits per caller: in memory (one process) or in Redis (shared)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol

from core.errors import RateLimited
from core.settings import Settings

WINDOW_S = 60


class Limiter(Protocol):
    async def hit(self, key: str, limit: int) -> int | None:
        """Count one request; None if allowed, else seconds until the window resets."""
        ...


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, limit: int) -> int | None:
        now = time.time()
        window = int(now // WINDOW_S)
        async with self._lock:
            if len(self._counts) > 100_000:  # old windows are never read again
                self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
        if count > limit:
            return max(1, math.ceil((window + 1) * WINDOW_S - now))
        return None


class RedisLimiter:
    def __init__(self, url: str, namespace: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._namespace = namespace

    async def hit(self, key: str, limit: int) -> int | None:
        now = time.time()
        window = int(now // WINDOW_S)
        name = f"{self._namespace}:rate:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, WINDOW_S + 5)
            count, _ = await pipe.execute()
        if int(count) > limit:
            return max(1, math.ceil((window + 1) * WINDOW_S - now))
        return None

    async def close(self) -> None:
        await self._redis.aclose()


def make_limiter(settings: Settings) -> MemoryLimiter | RedisLimiter:
    # Several API processes must share one count: use Redis whenever the deployment has it.
    if settings.broker.startswith("redis"):
        return RedisLimiter(settings.broker, settings.redis_namespace)
    return MemoryLimiter()


async def enforce(limiter: Limiter, key: str, limit: int, what: str) -> None:
    retry_after = await limiter.hit(key, limit)
    if retry_after is not None:
        raise RateLimited(
            f"too many requests for {what}: at most {limit} a minute; try again in {retry_after} s",
            retry_after_s=retry_after,
        )
