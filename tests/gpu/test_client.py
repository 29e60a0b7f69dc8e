"""GpuClient behaviour against scripted transports: retries, give-up, timeouts, embedded mode."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from gpu.client import GpuClient, GpuTaskFailed, GpuTimeout, GpuUnavailable, embedded_transport
from gpu.schemas import Health, InferKind, MusicRequest, TTSRequest
from gpu.server import GpuServerSettings


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport that gives the answers in order (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def make(transport: httpx.MockTransport, **kwargs: float) -> GpuClient:
    return GpuClient("http://gpu", "k", transport=transport, backoff_s=0.001, **kwargs)  # type: ignore[arg-type]


HEALTH = httpx.Response(200, json=Health(ok=True, gpu=None).model_dump(mode="json"))


async def test_retries_5xx_then_succeeds() -> None:
    transport, seen = scripted(
        httpx.Response(502), httpx.Response(503, json={"detail": "busy"}), HEALTH
    )
    async with make(transport) as gpu:
        assert (await gpu.health()).ok
    assert len(seen) == 3
    assert seen[0].headers["authorization"] == "Bearer k"


async def test_gives_up_on_persistent_5xx_and_connection_errors() -> None:
    transport, seen = scripted(httpx.Response(500, json={"detail": "kaput"}))
    async with make(transport) as gpu:
        with pytest.raises(GpuUnavailable, match="GPU server error 500 on GET /health: kaput"):
            await gpu.health()
    assert len(seen) == 4  # one try and three retries
    transport, seen = scripted(httpx.ConnectError("refused"))
    async with make(transport) as gpu:
        with pytest.raises(GpuUnavailable, match="unreachable"):
            await gpu.health()


async def test_engine_unavailable_is_not_retried() -> None:
    answer = httpx.Response(
        503,
        json={"detail": "caption is unavailable: no STT"},
        headers={"X-Skyie-Engine-Unavailable": "caption"},
    )
    transport, seen = scripted(answer)
    async with make(transport) as gpu:
        with pytest.raises(GpuUnavailable, match="no STT"):
            await gpu.submit(InferKind.tts, TTSRequest(text="hi"))
    assert len(seen) == 1


async def test_wait_reports_progress_then_fails_with_the_error() -> None:
    def info(state: str, progress: float, error: str | None = None) -> httpx.Response:
        body = {"id": "t", "kind": "tts", "state": state, "progress": progress, "error": error}
        return httpx.Response(200, content=json.dumps(body))

    transport, _ = scripted(
        info("queued", 0), info("running", 0.4), info("failed", 0.4, "no voice")
    )
    seen: list[float] = []
    async with make(transport, poll_interval_s=0.001) as gpu:
        with pytest.raises(GpuTaskFailed, match="tts task t failed: no voice"):
            await gpu.wait("t", on_progress=seen.append)
    assert seen == [0.0, 0.4]


async def test_wait_times_out() -> None:
    body = {"id": "t", "kind": "music", "state": "running", "progress": 0.2}
    transport, _ = scripted(httpx.Response(200, json=body))
    async with make(transport, poll_interval_s=0.01, task_timeout_s=0.05) as gpu:
        # A timeout is not a verdict on the inputs: the caller may try again.
        with pytest.raises(GpuTimeout, match="did not finish within"):
            await gpu.wait("t")


async def test_download_retries_and_writes_atomically(tmp_path: Path) -> None:
    transport, seen = scripted(httpx.ReadError("cut"), httpx.Response(200, content=b"abc" * 1000))
    dest = tmp_path / "a" / "file.bin"
    async with make(transport) as gpu:
        assert await gpu.download("f_1", dest) == dest
    assert dest.read_bytes() == b"abc" * 1000 and len(seen) == 2
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]


async def test_upload_of_a_missing_file_names_it(tmp_path: Path) -> None:
    transport, _ = scripted(HEALTH)
    async with make(transport) as gpu:
        with pytest.raises(FileNotFoundError, match=r"nope\.wav"):
            await gpu.upload(tmp_path / "nope.wav")


async def test_embedded_transport_is_one_app(tmp_path: Path) -> None:
    assert embedded_transport() is embedded_transport()
    key = GpuServerSettings().api_key.get_secret_value()  # what the embedded app was built with
    async with GpuClient("http://embedded", key, transport=embedded_transport()) as gpu:
        result = await gpu.infer(InferKind.tts, TTSRequest(text="Embedded mode works."))
        path = await gpu.download(result.files["audio"], tmp_path / "speech.wav")
    assert path.stat().st_size > 1000 and [w.word for w in result.words][-1] == "works."


async def test_download_retries_a_5xx_and_never_leaves_partial_files(tmp_path: Path) -> None:
    transport, seen = scripted(httpx.Response(503), httpx.Response(200, content=b"ok"))
    async with make(transport) as gpu:
        await gpu.download("f_1", tmp_path / "x.bin")
    assert (tmp_path / "x.bin").read_bytes() == b"ok" and len(seen) == 2
    transport, _ = scripted(httpx.Response(500))
    async with make(transport) as gpu:
        with pytest.raises(GpuUnavailable, match="500"):
            await gpu.download("f_2", tmp_path / "y.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]


async def test_a_full_queue_is_retried_after_the_time_the_server_asks(tmp_path: Path) -> None:
    import time as clock

    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(clock.monotonic())
        if len(calls) == 1:
            return httpx.Response(
                503, json={"detail": "the GPU queue is full"}, headers={"Retry-After": "1"}
            )
        return httpx.Response(202, json={"task_id": "t_1"})

    async with GpuClient(
        "http://gpu", "k", transport=httpx.MockTransport(handler), backoff_s=0.01
    ) as gpu:
        assert await gpu.submit(InferKind.music, MusicRequest(prompt="x")) == "t_1"
    assert calls[1] - calls[0] >= 0.95, "waited the Retry-After, not the 10 ms backoff"


def test_every_kind_has_a_time_limit_fitting_its_work() -> None:
    from gpu.client import TASK_TIMEOUTS_S

    assert set(TASK_TIMEOUTS_S) == set(InferKind)
    assert TASK_TIMEOUTS_S[InferKind.i2v] >= 4 * TASK_TIMEOUTS_S[InferKind.tts]
