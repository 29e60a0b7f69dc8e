"""What each kind of step does: GPU steps call the GPU server, media steps run FFmpeg."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from billing.plans import capped
from core.errors import InvalidInput
from core.script import segment_seconds
from core.settings import EMBEDDED, Settings
from core.storage import Storage
from gpu.client import GpuClient, embedded_transport
from gpu.schemas import (
    I2VRequest,
    ImageRequest,
    InferKind,
    LipsyncRequest,
    MusicRequest,
    TaskResult,
    TTSRequest,
)
from media import captions as media_captions
from media.captions import CaptionSettings
from media.export import EXPORT_PRESETS, PREVIEW, export_formats, thumbnail
from media.render import render
from media.spec import Canvas, Clip, RenderSpec, Word
from media.watermark import Watermark

Progress = Callable[[float], None]


class StepInputError(InvalidInput):
    """A step's inputs are unusable; running it again would fail the same way."""


@dataclass
class StepContext:
    name: str
    kind: str
    params: dict[str, Any]
    deps: dict[str, str]  # dependency step name -> content key
    key: str  # this step's content key (also its GPU tasks' idempotency key)
    storage: Storage
    gpu: GpuClient
    scratch: Path
    progress: Progress
    first_gpu: bool = False  # the job's first GPU step: the GPU server runs it ahead of others
    paid_priority: bool = False  # the owner's plan has priority: ahead of other plans' work

    async def infer(self, kind: InferKind, request: BaseModel) -> TaskResult:
        """Run one GPU task for this step, resumable under the step's key after a restart."""
        return await self.gpu.infer(
            kind,
            request,
            self.progress,
            key=self.key,
            first=self.first_gpu,
            paid=self.paid_priority,
        )

    def dep_file(self, name: str, filename: str) -> Path:
        return self.storage.artifact_file(self.deps[name], filename)

    def dep_meta(self, name: str) -> dict[str, Any]:
        return self.storage.artifact_meta(self.deps[name])


def make_gpu_client(settings: Settings) -> GpuClient:
    if settings.gpu_url == EMBEDDED:
        return GpuClient(
            "http://gpu.embedded", settings.gpu_api_key, transport=embedded_transport()
        )
    return GpuClient(settings.gpu_url, settings.gpu_api_key)


def _only_file(files: dict[str, str], role: str) -> str:
    if role in files:
        return files[role]
    if len(files) == 1:
        return next(iter(files.values()))
    raise RuntimeError(f"GPU result has no {role!r} output (got {sorted(files)})")


async def _fetch(ctx: StepContext, files: dict[str, str], role: str, filename: str) -> Path:
    return await ctx.gpu.download(_only_file(files, role), ctx.scratch / filename)


async def run_tts(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    reference_id = None
    if p.get("reference"):
        sample = ctx.storage.path(p["reference"])
        if not sample.is_file():
            raise StepInputError(f"the voice sample {p['reference']} is missing from storage")
        reference_id = await ctx.gpu.upload(sample)
    request = TTSRequest(
        text=p["text"],
        voice=p["voice"],
        language=p["language"],
        speed_wpm=p["wpm"],
        reference_file_id=reference_id,
        engine=p.get("engine", "auto"),
    )
    result = await ctx.infer(InferKind.tts, request)
    await _fetch(ctx, result.files, "audio", "voice.wav")
    return {
        "duration_s": result.duration_s,
        "words": [w.model_dump() for w in result.words],
        "engine": result.engine,
    }


async def run_lipsync(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    portrait = ctx.storage.path(p["portrait"])
    if not portrait.is_file():
        raise StepInputError(f"the avatar image {p['portrait']} is missing from storage")
    (tts,) = ctx.deps
    portrait_id = await ctx.gpu.upload(portrait)
    audio_id = await ctx.gpu.upload(ctx.dep_file(tts, "voice.wav"))
    request = LipsyncRequest(
        portrait_file_id=portrait_id,
        audio_file_id=audio_id,
        fps=p["fps"],
        width=p["width"],
        height=p["height"],
    )
    result = await ctx.infer(InferKind.lipsync, request)
    await _fetch(ctx, result.files, "video", "video.mp4")
    return {"duration_s": result.duration_s, "engine": result.engine}


async def run_keyframe(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    request = ImageRequest(prompt=p["prompt"], width=p["width"], height=p["height"], seed=p["seed"])
    result = await ctx.infer(InferKind.image, request)
    await _fetch(ctx, result.files, "image", "image.png")
    return {"engine": result.engine}


async def run_clip(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    keyframe = next(n for n in ctx.deps if n.startswith("keyframe/"))
    tts = next((n for n in ctx.deps if n.startswith("tts/")), None)
    speech = ctx.dep_meta(tts)["duration_s"] if tts else None
    duration = segment_seconds("broll", p["duration_s"], speech)
    image_id = await ctx.gpu.upload(ctx.dep_file(keyframe, "image.png"))
    request = I2VRequest(
        image_file_id=image_id,
        prompt=p["prompt"],
        duration_s=round(duration, 3),
        fps=p["fps"],
        width=p["width"],
        height=p["height"],
        seed=p["seed"],
        preset=p["preset"],
    )
    result = await ctx.infer(InferKind.i2v, request)
    await _fetch(ctx, result.files, "video", "video.mp4")
    return {"duration_s": duration, "engine": result.engine}


async def run_music(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    request = MusicRequest(prompt=p["prompt"], duration_s=p["duration_s"], seed=p["seed"])
    result = await ctx.infer(InferKind.music, request)
    await _fetch(ctx, result.files, "audio", "music.wav")
    return {"duration_s": result.duration_s, "engine": result.engine}


def timeline(ctx: StepContext) -> tuple[list[float], list[Word]]:
    """Each segment's measured length, and every spoken word placed on the whole video's clock."""
    durations: list[float] = []
    words: list[Word] = []
    start = 0.0
    for seg in ctx.params["segments"]:
        speech = ctx.dep_meta(seg["tts"]) if seg["tts"] else None
        length = segment_seconds(
            seg["kind"], seg["duration_s"], speech["duration_s"] if speech else None
        )
        if speech:
            words.extend(
                Word(w["word"], start + w["start"], start + w["end"]) for w in speech["words"]
            )
        durations.append(length)
        start += length
    return durations, words


async def run_captions(ctx: StepContext) -> dict[str, Any]:
    durations, words = timeline(ctx)
    await asyncio.to_thread(media_captions.write_srt, words, ctx.scratch / "captions.srt")
    (ctx.scratch / "words.json").write_text(json.dumps([w.__dict__ for w in words]))
    return {"durations": durations, "duration_s": sum(durations), "words": len(words)}


async def run_render(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    durations, words = timeline(ctx)
    clips = []
    for seg, length in zip(p["segments"], durations, strict=True):
        clips.append(
            Clip(
                video=ctx.dep_file(seg["visual"], "video.mp4"),
                duration_s=length,
                voice=ctx.dep_file(seg["tts"], "voice.wav") if seg["tts"] else None,
                kind=seg["kind"],
                transition=seg.get("transition", "cut"),
                background=(
                    ctx.dep_file(seg["background"], "image.png") if seg.get("background") else None
                ),
            )
        )
    spec = RenderSpec(
        canvas=Canvas(p["width"], p["height"], p["fps"]),
        clips=clips,
        music=ctx.dep_file("music", "music.wav") if p["music"] else None,
        words=words,
        burn_captions=p["burn_captions"],
        captions=CaptionSettings(**p["caption_look"]) if p.get("caption_look") else None,
        preset=p["preset"],
        # The plan's mark (free accounts), drawn clear of the captions.
        watermark=Watermark(text=p["watermark"]) if p.get("watermark") else None,
    )
    result = await asyncio.to_thread(
        render, spec, ctx.scratch / "video.mp4", on_progress=ctx.progress
    )
    srt = ctx.dep_file("captions", "captions.srt")
    (ctx.scratch / "captions.srt").write_bytes(srt.read_bytes())
    return {
        "duration_s": result.duration_s,
        "width": result.width,
        "height": result.height,
        "caption_band": list(result.caption_band) if result.caption_band else None,
    }


async def run_export(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    master = ctx.storage.artifact_file(p["render_key"], "video.mp4")
    short = p.get("max_short_side", 2160)
    targets = []
    for name in p["formats"]:
        target = EXPORT_PRESETS[name]
        width, height = capped(target.width, target.height, short)
        targets.append(replace(target, width=width, height=height))
    band = ctx.storage.artifact_meta(p["render_key"]).get("caption_band")
    # One decode of the master feeds every format and the animated preview.
    outputs = await asyncio.to_thread(
        export_formats,
        master,
        targets,
        ctx.scratch,
        preset=p["preset"],
        on_progress=ctx.progress,
        caption_band=tuple(band) if band else None,
        preview=ctx.scratch / "preview.webp",
    )
    preview = outputs.pop(PREVIEW)
    await asyncio.to_thread(thumbnail, master, ctx.scratch / "thumbnail.jpg")
    return {"formats": sorted(outputs), "preview": preview.name}


HANDLERS: dict[str, Callable[[StepContext], Awaitable[dict[str, Any]]]] = {
    "tts": run_tts,
    "lipsync": run_lipsync,
    "keyframe": run_keyframe,
    "clip": run_clip,
    "music": run_music,
    "captions": run_captions,
    "render": run_render,
    "export": run_export,
}
