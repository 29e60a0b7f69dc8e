"""Progress events reach subscribers on the in-process bus and over Redis pub/sub."""

from __future__ import annotations

import pytest

from core.events import LocalBus, ProgressEvent, RedisBus
from tests.conftest import REDIS_NAMESPACE, REDIS_URL


def event(job_id: str, fraction: float) -> ProgressEvent:
    return ProgressEvent(
        job_id=job_id, status="running", phase="Voice", fraction=fraction, eta_s=3.0
    )


@pytest.mark.parametrize(
    "make_bus", [LocalBus, lambda: RedisBus(REDIS_URL, REDIS_NAMESPACE)], ids=["local", "redis"]
)
def test_subscribers_get_their_jobs_events_only(make_bus: object) -> None:
    bus = make_bus()  # type: ignore[operator]
    with bus.subscribe("job_a") as sub_a, bus.subscribe("job_b") as sub_b:
        if isinstance(bus, RedisBus):
            import time

            time.sleep(0.3)  # let the subscription reach the server before publishing
        bus.publish(event("job_a", 0.25))
        bus.publish(event("job_a", 0.5))
        got = [sub_a.get(timeout=3), sub_a.get(timeout=3)]
        assert [e.fraction for e in got if e] == [0.25, 0.5]
        assert got[0] is not None and got[0].eta_s == 3.0
        assert sub_b.get(timeout=0.3) is None


def test_events_without_subscribers_are_dropped() -> None:
    bus = LocalBus()
    bus.publish(event("nobody", 0.1))
    with bus.subscribe("nobody") as sub:
        assert sub.get(timeout=0.05) is None
