"""Fixtures for the GPU server tests: an app with lite engines and a client bound to it."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import imageio_ffmpeg
import numpy as np
import pytest
from fastapi import FastAPI

from gpu.client import GpuClient
from gpu.server import GpuServerSettings, create_app

API_KEY = "test-gpu-key"
DEFAULT_AVATAR = Path(__file__).resolve().parents[2] / "core" / "assets" / "default_avatar.png"


@pytest.fixture
def gpu_settings(tmp_path: Path) -> GpuServerSettings:
    return GpuServerSettings(api_key=API_KEY, workdir=tmp_path / "gpu", max_upload_mb=2)


@pytest.fixture
def gpu_app(gpu_settings: GpuServerSettings) -> Iterator[FastAPI]:
    app = create_app(gpu_settings)
    yield app
    app.state.gpu.tasks.shutdown()


@pytest.fixture
async def client(gpu_app: FastAPI) -> AsyncIterator[GpuClient]:
    transport = httpx.ASGITransport(app=gpu_app)
    async with GpuClient(
        "http://gpu", API_KEY, transport=transport, poll_interval_s=0.02, backoff_s=0.01
    ) as gpu:
        yield gpu


@pytest.fixture
async def raw(gpu_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client with the right key, for asserting status codes."""
    transport = httpx.ASGITransport(app=gpu_app)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url="http://gpu", transport=transport, headers=headers) as c:
        yield c


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples as float (frames, channels) and the sample rate."""
    with wave.open(str(path)) as wav:
        rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.getnframes()
        data = np.frombuffer(wav.readframes(frames), dtype="<i2").astype(np.float32) / 32768
    return data.reshape(-1, channels), rate


def video_frames(path: Path) -> tuple[list[np.ndarray], float]:
    """Decoded RGB frames and the container's fps, via the ffmpeg that imageio-ffmpeg ships."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    width, height = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return frames, float(meta["fps"])


def probe_streams(path: Path) -> str:
    """ffmpeg's own description of the file's streams (there is no ffprobe)."""
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stderr
