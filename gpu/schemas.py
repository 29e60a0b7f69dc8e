"""Wire schemas of the GPU server: the only types the app and the GPU box share."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class InferKind(StrEnum):
    t2v = "t2v"
    i2v = "i2v"
    ti2v = "ti2v"
    animate = "animate"
    s2v = "s2v"
    tts = "tts"
    lipsync = "lipsync"
    music = "music"
    caption = "caption"
    image = "image"


class TaskState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Width = Annotated[int, Field(ge=64, le=3840, multiple_of=2)]
Height = Annotated[int, Field(ge=64, le=3840, multiple_of=2)]
Fps = Annotated[int, Field(ge=1, le=60)]
Duration = Annotated[float, Field(gt=0, le=60)]


class TTSRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    voice: str = Field(default="default", max_length=64)
    language: str = Field(default="en", max_length=16)
    speed_wpm: int = Field(default=165, ge=60, le=400)
    reference_file_id: str | None = Field(default=None, description="Voice sample to clone.")
    engine: str = Field(
        default="auto",
        pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
        description="Speech engine by name (see /health's tts variants); auto takes the best.",
    )


class ImageRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=1000)
    width: Width = 720
    height: Height = 1280
    seed: Seed = 0


class T2VRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=1000)
    duration_s: Duration = 4.0
    fps: Fps = 30
    width: Width = 720
    height: Height = 1280
    seed: Seed = 0
    preset: Literal["fast", "balanced", "quality"] = "fast"


class I2VRequest(T2VRequest):
    image_file_id: str


class LipsyncRequest(BaseModel):
    portrait_file_id: str
    audio_file_id: str
    fps: Fps = 30
    width: Width = 720
    height: Height = 1280
    seed: Seed = 0


class AnimateRequest(BaseModel):
    """A character image performing the body and face motion of a driving clip (Wan2.2-Animate).

    The output lasts as long as the driving clip (at most 20 seconds)."""

    image_file_id: str = Field(description="The character to animate: a still image.")
    video_file_id: str = Field(description="The driving clip whose motion the character copies.")
    prompt: str = Field(default="", max_length=1000, description="Optional scene description.")
    fps: Fps = 30
    width: Width = 720
    height: Height = 1280
    seed: Seed = 0
    preset: Literal["fast", "balanced", "quality"] = "fast"


class MusicRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=500)
    duration_s: Annotated[float, Field(gt=0, le=900)] = 30.0
    seed: Seed = 0


class CaptionRequest(BaseModel):
    audio_file_id: str
    language: str | None = None


class WordTiming(BaseModel):
    word: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)


class TaskResult(BaseModel):
    """What a finished task produced: output files by role, plus measured facts."""

    files: dict[str, str] = Field(
        default_factory=dict, description="role -> file id, e.g. {'audio': 'f_…'}"
    )
    duration_s: float | None = None
    words: list[WordTiming] = Field(default_factory=list)
    width: int | None = None
    height: int | None = None
    engine: str = ""


class TaskInfo(BaseModel):
    id: str
    kind: InferKind
    state: TaskState
    progress: float = Field(ge=0, le=1)
    queue_position: int = 0
    error: str | None = None
    result: TaskResult | None = None


class TaskCreated(BaseModel):
    task_id: str


class FileInfo(BaseModel):
    file_id: str
    size: int
    content_type: str


class EngineHealth(BaseModel):
    available: bool
    reason: str | None = None
    variants: list[str] = Field(
        default_factory=list, description="Engine names a request can pick, e.g. TTS engines."
    )


class Health(BaseModel):
    ok: bool
    gpu: str | None = Field(description="GPU name, or None on a CPU host")
    vram_free_gb: float | None = None
    loaded_models: list[str] = Field(default_factory=list)
    engines: dict[str, EngineHealth] = Field(default_factory=dict)
    queued: int = 0
    running: int = 0
    first_step_wait_s: float | None = Field(
        default=None,
        description="How long a job's first step submitted now would wait to start (estimate).",
    )


REQUEST_TYPES: dict[InferKind, type[BaseModel]] = {
    InferKind.t2v: T2VRequest,
    InferKind.i2v: I2VRequest,
    InferKind.ti2v: I2VRequest,
    InferKind.tts: TTSRequest,
    InferKind.lipsync: LipsyncRequest,
    InferKind.animate: AnimateRequest,
    InferKind.s2v: LipsyncRequest,
    InferKind.music: MusicRequest,
    InferKind.caption: CaptionRequest,
    InferKind.image: ImageRequest,
}
