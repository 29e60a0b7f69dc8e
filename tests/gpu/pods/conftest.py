"""Fixtures for the RunPod host tests: the fake RunPod, a Redis namespace, a clock to jump."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from gpu.pods import RunPodHost
from tests.gpu.pods.fake_runpod import FakeRunPod

REDIS_URL = os.environ.get("SKYIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POD = "pod-abc123"
BOOT_S = 0.3


class Clock:
    """Wall time plus a jump the test controls, so idle periods pass instantly."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunPod]:
    server = FakeRunPod(boot_delay_s=BOOT_S)
    monkeypatch.setenv("RUNPOD_API_BASE_URL", server.api_base_url)
    yield server
    server.close()


@pytest.fixture
def namespace() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"these tests need Redis at {REDIS_URL}: {exc}")
    ns = f"test-pods-{uuid.uuid4().hex[:12]}"
    yield ns
    keys = list(client.scan_iter(f"{ns}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(fake: FakeRunPod, namespace: str, clock: Clock) -> Any:
    """Build a host as one worker process would: its own Redis client, shared keys."""

    def build(**overrides: Any) -> RunPodHost:
        options: dict[str, Any] = {
            "api_key": fake.api_key,
            "pod_id": POD,
            "gpu_api_key": fake.gpu_api_key,
            "redis_client": redis.Redis.from_url(REDIS_URL, decode_responses=True),
            "namespace": namespace,
            "url_template": fake.proxy_url_template,
            "idle_stop_s": 60.0,
            "start_timeout_s": 5.0,
            "cold_start_default_s": 100.0,
            "poll_s": 0.02,
            "probe_timeout_s": 1.0,
            "recheck_s": 10.0,
            "lock_wait_s": 5.0,
            "clock": clock,
        }
        options.update(overrides)
        return RunPodHost(**options)

    return build
