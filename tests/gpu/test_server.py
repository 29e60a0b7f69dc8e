"""The GPU server contract, exercised through GpuClient and plain HTTP over ASGITransport."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from pydantic import BaseModel

from gpu.client import GpuClient, GpuRequestError, GpuTaskFailed, GpuUnavailable
from gpu.engines.base import EngineOutput, ProgressFn
from gpu.engines.registry import Slot
from gpu.schemas import (
    AnimateRequest,
    I2VRequest,
    ImageRequest,
    InferKind,
    LipsyncRequest,
    MusicRequest,
    TaskState,
    TTSRequest,
)
from gpu.server import ENGINE_UNAVAILABLE_HEADER

from .conftest import API_KEY


async def test_health_lists_every_kind_with_reasons(client: GpuClient) -> None:
    health = await client.health()
    assert health.ok and health.gpu is None
    assert set(health.engines) == {k.value for k in InferKind}
    assert all(e.reason for e in health.engines.values())
    assert health.engines["caption"].available
    assert "PocketSphinx" in (health.engines["caption"].reason or "")
    assert health.engines["s2v"].available and "avatar" in (health.engines["s2v"].reason or "")
    assert health.engines["tts"].variants == ["espeak"]


async def test_voice_engine_not_installed_is_refused_by_name(
    client: GpuClient, raw: httpx.AsyncClient
) -> None:
    response = await raw.post("/infer/tts", json={"text": "Hi.", "engine": "fish-speech"})
    assert response.status_code == 422
    assert "'fish-speech' is not installed" in response.json()["detail"]
    assert "espeak" in response.json()["detail"]
    # Asking again does not help, so the client does not wait for it as for a busy GPU.
    with pytest.raises(GpuRequestError, match="fish-speech"):
        await client.submit(InferKind.tts, TTSRequest(text="Hi.", engine="fish-speech"))
    for name in ("auto", "espeak"):
        created = await client.submit(InferKind.tts, TTSRequest(text="Hi.", engine=name))
        assert (await client.wait(created)).result.engine.startswith("lite")


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/health"), ("GET", "/tasks/t_x"), ("POST", "/infer/tts"), ("POST", "/files"),
     ("GET", "/files/f_x"), ("DELETE", "/files/f_x")],
)  # fmt: skip
async def test_every_route_needs_the_key(gpu_app: FastAPI, method: str, url: str) -> None:
    transport = httpx.ASGITransport(app=gpu_app)
    async with httpx.AsyncClient(base_url="http://gpu", transport=transport) as anonymous:
        missing = await anonymous.request(method, url)
        wrong = await anonymous.request(method, url, headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"


async def test_client_with_wrong_key_gets_a_clear_error(gpu_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=gpu_app)
    async with GpuClient("http://gpu", "wrong", transport=transport) as gpu:
        with pytest.raises(GpuRequestError, match="API key") as err:
            await gpu.health()
    assert err.value.status_code == 401


async def test_unknown_task_and_kind_are_404(client: GpuClient, raw: httpx.AsyncClient) -> None:
    assert (await raw.get("/tasks/t_missing")).status_code == 404
    # A forgotten task means a restarted server: wait for the GPU and submit again.
    with pytest.raises(GpuUnavailable, match="unknown to the GPU server"):
        await client.wait("t_missing")
    response = await raw.post("/infer/dance", json={})
    assert response.status_code == 404 and "unknown inference kind 'dance'" in response.text


async def test_invalid_body_is_422(client: GpuClient, raw: httpx.AsyncClient) -> None:
    response = await raw.post("/infer/tts", json={"text": "", "speed_wpm": 5})
    assert response.status_code == 422
    fields = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert ("text",) in fields and ("speed_wpm",) in fields
    assert (await raw.post("/infer/image", content=b"not json")).status_code == 422
    with pytest.raises(TypeError, match="tts needs a TTSRequest"):
        await client.submit(InferKind.tts, ImageRequest(prompt="x"))


async def test_unavailable_engine_is_503_with_reason(
    client: GpuClient, raw: httpx.AsyncClient
) -> None:
    body = {"image_file_id": "f_x", "video_file_id": "f_y"}
    response = await raw.post("/infer/animate", json=body)
    assert response.status_code == 503
    assert response.headers[ENGINE_UNAVAILABLE_HEADER] == "animate"
    assert "Wan 2.2 Animate" in response.json()["detail"]
    with pytest.raises(GpuUnavailable, match="animate is unavailable"):
        await client.submit(InferKind.animate, AnimateRequest(**body))


async def test_missing_input_file_is_named(
    client: GpuClient, gpu_app: FastAPI, tmp_path: Path
) -> None:
    with pytest.raises(GpuRequestError, match="image_file_id") as err:
        await client.submit(InferKind.i2v, I2VRequest(prompt="x", image_file_id="f_nope"))
    assert err.value.status_code == 422
    Image.new("RGB", (8, 8)).save(tmp_path / "p.png")
    portrait = await client.upload(tmp_path / "p.png")
    with pytest.raises(GpuRequestError, match=r"'f_gone' \(audio_file_id\)"):
        await client.submit(
            InferKind.lipsync, LipsyncRequest(portrait_file_id=portrait, audio_file_id="f_gone")
        )
    assert gpu_app.state.gpu.files.get(portrait).pins == 0  # the found input was not left pinned


async def test_upload_download_delete(
    client: GpuClient, raw: httpx.AsyncClient, tmp_path: Path
) -> None:
    source = tmp_path / "still.png"
    Image.effect_noise((64, 64), 40).save(source)
    file_id = await client.upload(source)
    copy = await client.download(file_id, tmp_path / "out" / "copy.png")
    assert copy.read_bytes() == source.read_bytes()
    assert not list(copy.parent.glob("*.part"))
    # A downloaded file is gone: outputs are fetched once.
    assert (await raw.get(f"/files/{file_id}")).status_code == 404
    second = await client.upload(source)
    assert (await raw.delete(f"/files/{second}")).status_code == 204
    assert (await raw.delete(f"/files/{second}")).status_code == 404
    # A gone output is lost work, not a bad request: the step waits and runs again.
    with pytest.raises(GpuUnavailable, match="no longer on the GPU server"):
        await client.download(second, tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()


async def test_uploads_must_be_media_whatever_their_name(
    client: GpuClient, gpu_app: FastAPI, tmp_path: Path
) -> None:
    for name, content in [
        ("note.txt", b"hello gpu"),
        ("portrait.png", b"<html>not a picture</html>"),
        ("speech.wav", b"MZ\x90\x00 an executable"),
        ("empty.mp4", b""),
        ("one.mp3", b"\xff"),  # one byte of what could start an MP3 frame
        ("notes.bmp", b"BM but only text after the two letters"),
    ]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(GpuRequestError, match=r"not a supported picture|empty") as err:
            await client.upload(tmp_path / name)
        assert err.value.status_code == 415
    assert not list((gpu_app.state.gpu.files.root).iterdir()), "refused uploads leave nothing"


async def test_upload_limit_and_missing_field(
    client: GpuClient, raw: httpx.AsyncClient, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 * 1024 * 1024))
    with pytest.raises(GpuRequestError, match="2 MB limit") as err:
        await client.upload(big)
    assert err.value.status_code == 413
    response = await raw.post("/files", files={"other": ("a.txt", b"x")})
    assert response.status_code == 422 and "'file'" in response.text


async def test_failed_task_reports_error_and_server_keeps_serving(
    client: GpuClient, tmp_path: Path
) -> None:
    not_an_image = tmp_path / "portrait.png"
    not_an_image.write_bytes(b"\x89PNG\r\n\x1a\n but the rest is not a picture")
    speech = await client.infer(InferKind.tts, TTSRequest(text="Hello there."))
    audio = await client.download(speech.files["audio"], tmp_path / "speech.wav")
    request = LipsyncRequest(
        portrait_file_id=await client.upload(not_an_image),
        audio_file_id=await client.upload(audio),
        width=180,
        height=320,
    )
    with pytest.raises(
        GpuTaskFailed, match=r"portrait image \(portrait_file_id\) is not a readable image"
    ):
        await client.infer(InferKind.lipsync, request)
    again = await client.infer(InferKind.tts, TTSRequest(text="Still here."))
    assert again.files["audio"] and again.words


async def test_engine_crash_fails_only_its_task(client: GpuClient, gpu_app: FastAPI) -> None:
    def explode(
        request: BaseModel, inputs: Mapping[str, Path], out: Path, progress: ProgressFn
    ) -> EngineOutput:
        raise RuntimeError("boom")

    gpu_app.state.gpu.registry.slots[InferKind.music] = Slot(explode, "test engine")
    with pytest.raises(GpuTaskFailed, match="music engine crashed: RuntimeError: boom"):
        await client.infer(InferKind.music, MusicRequest(prompt="x", duration_s=1))
    assert (await client.health()).ok


async def test_queue_positions_and_progress(
    client: GpuClient, gpu_app: FastAPI, raw: httpx.AsyncClient
) -> None:
    gate = threading.Event()

    def slow(
        request: BaseModel, inputs: Mapping[str, Path], out: Path, progress: ProgressFn
    ) -> EngineOutput:
        progress(0.5)
        gate.wait(10)
        (out / "a.txt").write_text("done")
        return EngineOutput(files={"text": out / "a.txt"}, engine="test")

    state = gpu_app.state.gpu
    state.registry.slots[InferKind.image] = Slot(slow, "test engine")
    ids = [await client.submit(InferKind.image, ImageRequest(prompt=str(n))) for n in range(3)]
    for _ in range(200):
        infos = [state.tasks.info(i) for i in ids]
        if sum(i.state is TaskState.running for i in infos) == 2:  # lite concurrency is 2
            break
        await asyncio.sleep(0.01)
    assert [i.state for i in infos] == [TaskState.running, TaskState.running, TaskState.queued]
    assert infos[2].queue_position == 1 and infos[0].queue_position == 0
    assert (await client.health()).queued == 1
    seen: list[float] = []
    gate.set()
    done = await client.wait(ids[2], on_progress=seen.append)
    assert done.state is TaskState.succeeded and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert (await raw.get(f"/files/{done.result.files['text']}")).text == "done"  # type: ignore[union-attr]


def test_many_event_loops_share_one_app(gpu_app: FastAPI) -> None:
    """Dramatiq worker threads each run their own loop against the same in-process app."""
    results: list[str] = []
    errors: list[BaseException] = []

    async def one(n: int) -> None:
        transport = httpx.ASGITransport(app=gpu_app)
        async with GpuClient(
            "http://gpu", API_KEY, transport=transport, poll_interval_s=0.02
        ) as gpu:
            result = await gpu.infer(InferKind.tts, TTSRequest(text=f"Thread number {n}."))
            results.append(result.files["audio"])

    def worker(n: int) -> None:
        try:
            asyncio.run(one(n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and len(set(results)) == 4
