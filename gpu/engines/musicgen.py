"""MusicGen engine: text-to-music beds of any requested length with transformers' MusicGen.

MusicGen was trained on 30-second excerpts, so one `generate` call makes at most `chunk_s`
seconds. Longer beds are *continued* rather than stitched from unrelated pieces: every further
pass is prompted with the text and the last `context_s` seconds of audio made so far (MusicGen's
own audio-prompt continuation, as in audiocraft's extended generation), and returns that context
re-generated followed by new music. The two takes of the context are nearly identical, so they
are joined with a short crossfade in the middle of the overlap, away from the decoder's edges.
The finished track is trimmed to the exact requested length, faded in and out, and peak
normalised to the lite engine's level so the mixer treats both alike.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import EngineConfig, EngineError, EngineOutput, ProgressFn, is_out_of_memory
from gpu.engines.cache import ModelSpec
from gpu.engines.media import write_wav
from gpu.engines.registry import Slot
from gpu.schemas import InferKind, MusicRequest

if TYPE_CHECKING:
    import torch

log = logging.getLogger("skyie.gpu.musicgen")

# Checkpoint folders under SKYIE_MODELS_DIR, in order of preference, with the VRAM each needs
# in bfloat16 (weights, T5 text encoder, EnCodec, and the doubled batch of classifier-free
# guidance with a 30-second KV cache).
MODEL_FOLDERS: dict[str, float] = {
    "musicgen-medium": 8.0,
    "musicgen-large": 16.0,
    "musicgen-small": 4.0,
}
CHUNK_S = 30.0  # the longest excerpt MusicGen was trained on
CONTEXT_S = 10.0  # audio each further pass continues from
CROSSFADE_S = 0.5  # the join inside that context
FADE_IN_S = 0.5
FADE_OUT_S = 2.0
PEAK_DBFS = -3.0  # the lite music engine's level
MAX_GAIN = 10.0  # never lift a near-silent take by more than 20 dB: that would only be noise


def find_model(models_dir: Path) -> Path | None:
    """The first MusicGen checkpoint folder present, in MODEL_FOLDERS order."""
    for name in MODEL_FOLDERS:
        folder = models_dir / name
        if (folder / "config.json").is_file():
            return folder
    return None


def slots(
    config: EngineConfig, *, chunk_s: float = CHUNK_S, context_s: float = CONTEXT_S
) -> dict[InferKind, Slot]:
    """The music slot: MusicGen when a checkpoint folder is present, else why not.

    `chunk_s` and `context_s` exist so tests can exercise continuation with a tiny model.
    """
    if importlib.util.find_spec("transformers") is None:
        return {InferKind.music: Slot(None, "MusicGen needs the transformers package")}
    folder = find_model(config.models_dir)
    if folder is None:
        looked = ", ".join(str(config.models_dir / name) for name in MODEL_FOLDERS)
        return {InferKind.music: Slot(None, f"MusicGen weights not found (looked in {looked})")}
    engine = MusicgenEngine(config, folder, chunk_s=chunk_s, context_s=context_s)
    note = (
        f"MusicGen ({folder.name}, transformers) on {config.device}: {chunk_s:g} s per pass, "
        f"longer beds continued from the last {context_s:g} s"
    )
    return {
        InferKind.music: Slot(
            engine, note, folder.name, lambda: config.cache.is_loaded(folder.name)
        )
    }


@dataclass(frozen=True)
class _Loaded:
    model: Any  # MusicgenForConditionalGeneration
    processor: Any  # MusicgenProcessor


@dataclass(frozen=True)
class _Codec:
    """The audio codec's geometry: generation happens in frames, output in samples."""

    rate: int  # samples per second
    hop: int  # samples per frame
    delay: int  # extra tokens the codebook delay pattern costs per pass
    channels: int

    @property
    def frame_rate(self) -> float:
        return self.rate / self.hop


class MusicgenEngine:
    """The `music` engine for one MusicGen checkpoint folder."""

    def __init__(
        self,
        config: EngineConfig,
        folder: Path,
        *,
        chunk_s: float = CHUNK_S,
        context_s: float = CONTEXT_S,
    ) -> None:
        if not 0 < context_s < chunk_s:
            raise ValueError(f"context_s ({context_s}) must be positive and below chunk_s")
        self.config = config
        self.folder = folder
        self.name = folder.name
        self.chunk_s = chunk_s
        self.context_s = context_s
        self.spec = ModelSpec(self.name, MODEL_FOLDERS.get(self.name, 8.0), load=self._load)

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput:
        """Engine entry point for `music`: writes `music.wav` of exactly the requested length."""
        assert isinstance(request, MusicRequest)
        try:
            with self.config.cache.use(self.spec) as loaded:
                progress(0.02)
                track, rate = self._generate(loaded, request, progress)
        except EngineError:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                self.config.cache.unload_all()
                raise EngineError(
                    f"MusicGen ({self.name}) ran out of GPU memory making "
                    f"{request.duration_s:g} s of music; try again when the GPU is less busy"
                ) from exc
            raise
        finish(track, rate)
        path = out_dir / "music.wav"
        write_wav(path, track.T, rate)
        progress(1.0)
        return EngineOutput(
            files={"audio": path}, engine=self.name, duration_s=track.shape[1] / rate
        )

    def _load(self) -> _Loaded:
        import torch
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        try:
            model: Any = MusicgenForConditionalGeneration.from_pretrained(
                self.folder, dtype=getattr(torch, self.config.dtype)
            )
            processor = AutoProcessor.from_pretrained(self.folder)
        except (OSError, ValueError) as exc:
            raise EngineError(f"could not load MusicGen from {self.folder}: {exc}") from exc
        return _Loaded(model.to(self.config.device).eval(), processor)

    def _generate(
        self, loaded: _Loaded, request: MusicRequest, progress: ProgressFn
    ) -> tuple[np.ndarray, int]:
        """The whole track as float32 (channels, samples), at least the requested length."""
        import torch

        model = loaded.model
        audio_config = model.config.audio_encoder
        decoder_config = model.decoder.config
        hop = int(getattr(audio_config, "hop_length", 0)) or round(
            audio_config.sampling_rate / audio_config.frame_rate
        )
        channels = int(decoder_config.audio_channels)
        codec = _Codec(
            rate=int(audio_config.sampling_rate),
            hop=hop,
            delay=int(decoder_config.num_codebooks) // channels - 1,
            channels=channels,
        )
        total = round(request.duration_s * codec.rate)
        chunk_frames = max(2, math.floor(self.chunk_s * codec.frame_rate))
        context_frames = min(chunk_frames - 1, max(1, round(self.context_s * codec.frame_rate)))
        passes = plan_passes(math.ceil(total / hop), chunk_frames, context_frames)
        meter = _TokenMeter(sum(n + codec.delay for n in passes), progress)
        log.info(
            "musicgen.generate model=%s seconds=%g passes=%d",
            self.name,
            request.duration_s,
            len(passes),
        )
        torch.manual_seed(request.seed)
        joiner = _Joiner(round(CROSSFADE_S * codec.rate))
        while joiner.length < total:
            missing = math.ceil((total - joiner.length) / hop)
            if joiner.last is None:
                take = self._pass(
                    loaded, request.prompt, None, min(missing, chunk_frames), codec, meter
                )
                joiner.first(take)
                continue
            context = min(context_frames, joiner.last.shape[1] // hop) * hop
            new_frames = min(missing, chunk_frames - context // hop)
            take = self._pass(
                loaded, request.prompt, joiner.last[:, -context:], new_frames, codec, meter
            )
            joiner.extend(take, context)
        return joiner.track()[:, :total], codec.rate

    def _pass(
        self,
        loaded: _Loaded,
        prompt: str,
        audio: np.ndarray | None,
        new_frames: int,
        codec: _Codec,
        meter: _TokenMeter,
    ) -> np.ndarray:
        """One generate call: the audio prompt (if any) re-generated, then `new_frames` more."""
        from transformers import LogitsProcessorList

        kwargs: dict[str, Any] = {"text": [prompt], "padding": True, "return_tensors": "pt"}
        if audio is not None:
            kwargs["audio"] = audio[0] if codec.channels == 1 else audio
            kwargs["sampling_rate"] = codec.rate
        inputs = loaded.processor(**kwargs).to(self.config.device)
        if "input_values" in inputs:  # the processor makes float32; the codec may run in bf16
            inputs["input_values"] = inputs["input_values"].to(loaded.model.dtype)
        values: torch.Tensor = loaded.model.generate(
            **inputs,
            do_sample=True,
            max_new_tokens=new_frames + codec.delay,
            logits_processor=LogitsProcessorList([meter]),  # a fresh list: generate() appends
        )
        take = values[0].float().cpu().numpy()
        prompt_samples = 0 if audio is None else audio.shape[1]
        if take.shape[1] <= prompt_samples:  # no new music: continuing would never finish
            raise EngineError(
                f"MusicGen ({self.name}) returned no new audio after a "
                f"{prompt_samples / codec.rate:g} s prompt"
            )
        return np.ascontiguousarray(take, dtype=np.float32)


def plan_passes(frames: int, chunk_frames: int, context_frames: int) -> list[int]:
    """New frames made by each generate pass for a track of `frames` frames."""
    passes = [min(frames, chunk_frames)]
    made = passes[0]
    while made < frames:
        passes.append(min(frames - made, chunk_frames - context_frames))
        made += passes[-1]
    return passes


class _Joiner:
    """Assembles passes into one track; each later pass overlaps the end by its context.

    Only the newest take is kept whole (the next pass is prompted with its tail); earlier
    audio is committed in pieces so a 15-minute track is concatenated once, at the end.
    """

    def __init__(self, crossfade: int) -> None:
        self.crossfade = crossfade
        self.pieces: list[np.ndarray] = []
        self.committed = 0
        self.last: np.ndarray | None = None

    @property
    def length(self) -> int:
        return self.committed + (0 if self.last is None else self.last.shape[1])

    def first(self, take: np.ndarray) -> None:
        self.last = take

    def extend(self, take: np.ndarray, context: int) -> None:
        """Join a take whose first `context` samples re-generate the current last ones."""
        assert self.last is not None
        width = min(self.crossfade, context // 2)
        start = (context - width) // 2  # the crossfade sits mid-overlap, away from both edges
        keep = self.last.shape[1] - context + start
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, width, dtype=np.float32))
        blend = (
            self.last[:, keep : keep + width] * (1 - ramp) + take[:, start : start + width] * ramp
        )
        self._commit(self.last[:, :keep])
        self._commit(blend)
        self.last = take[:, start + width :]

    def track(self) -> np.ndarray:
        if self.last is not None:
            self._commit(self.last)
            self.last = None
        return np.concatenate(self.pieces, axis=1)

    def _commit(self, piece: np.ndarray) -> None:
        self.pieces.append(piece)
        self.committed += piece.shape[1]


def finish(track: np.ndarray, rate: int) -> None:
    """Fade in and out (shorter for short tracks) and peak-normalise, in place."""
    n = track.shape[1]
    fade_in = int(min(FADE_IN_S, n / rate * 0.1) * rate)
    fade_out = int(min(FADE_OUT_S, n / rate * 0.25) * rate)
    if fade_in > 0:
        track[:, :fade_in] *= np.sin(np.linspace(0, math.pi / 2, fade_in, dtype=np.float32)) ** 2
    if fade_out > 0:
        track[:, -fade_out:] *= np.cos(np.linspace(0, math.pi / 2, fade_out, dtype=np.float32)) ** 2
    peak = float(np.abs(track).max()) if n else 0.0
    if peak > 0:
        track *= min((10 ** (PEAK_DBFS / 20)) / peak, MAX_GAIN)


class _TokenMeter:
    """A logits processor that only counts: each generation step is one token per codebook,
    so counting calls turns generate() into progress across all passes.

    (A streamer would be the natural hook, but MusicGen's generate() in transformers 5 passes
    the streamer only the prompt, never the steps.) Reports are throttled to whole percents.
    """

    def __init__(self, total_tokens: int, progress: ProgressFn) -> None:
        self.total = max(1, total_tokens)
        self.progress = progress
        self.done = 0
        self.reported = 0.0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.done += 1
        fraction = 0.02 + 0.93 * min(1.0, self.done / self.total)
        if fraction - self.reported >= 0.01:
            self.reported = fraction
            self.progress(fraction)
        return scores
