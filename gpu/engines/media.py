"""Media plumbing shared by engines: ffmpeg, audio decode/encode, image loading, video encode."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import wave
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from gpu.engines.base import EngineError

# libx264 (preset, crf) per request preset. A lite clip must take a couple of seconds on two
# cores, where x264's own "fast" preset alone takes longer than that; "quality" buys it back.
_X264: dict[str, tuple[str, int]] = {
    "fast": ("superfast", 23),
    "balanced": ("veryfast", 21),
    "quality": ("fast", 19),
}

VideoPreset = Literal["fast", "balanced", "quality"]


def ffmpeg_exe() -> str:
    """The ffmpeg binary: `SKYIE_FFMPEG` when set, else the one shipped by imageio-ffmpeg."""
    configured = os.environ.get("SKYIE_FFMPEG")
    if configured:
        return configured
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _stderr_tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def decode_audio(path: Path, rate: int, *, what: str) -> np.ndarray:
    """Any audio file decoded by ffmpeg to mono float32 samples at `rate` Hz."""
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1"]
    cmd += ["-ar", str(rate), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        detail = _stderr_tail(proc.stderr.decode(errors="replace"))
        raise EngineError(f"{what} is not readable audio: {detail or 'ffmpeg failed'}")
    samples = np.frombuffer(proc.stdout, dtype=np.float32)
    if samples.size == 0:
        raise EngineError(f"{what} contains no audio samples")
    return samples


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Float samples in [-1, 1] (shape (n,) or (n, channels)) written as 16-bit PCM WAV."""
    data = samples if samples.ndim == 2 else samples[:, None]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(data.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        # In blocks: a 15-minute stereo track would otherwise need several full-size copies.
        for start in range(0, data.shape[0], 1 << 20):
            block = np.clip(data[start : start + (1 << 20)], -1.0, 1.0) * 32767.0
            out.writeframes(block.round().astype("<i2").tobytes())


def load_image(path: Path, *, what: str) -> Image.Image:
    """An input image as RGB, or an EngineError naming the input when it is not an image."""
    try:
        with Image.open(path) as img:
            img.load()
            info = dict(img.info)
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise EngineError(f"{what} is not a readable image: {exc}") from exc
    rgb.info.update(info)
    return rgb


def cover_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, float, float, float]:
    """The centred crop of a source that fills the destination aspect ratio (crop-to-fill)."""
    scale = max(dst_w / src_w, dst_h / src_h)
    crop_w, crop_h = dst_w / scale, dst_h / scale
    left, top = max((src_w - crop_w) / 2, 0.0), max((src_h - crop_h) / 2, 0.0)
    return left, top, min(left + crop_w, float(src_w)), min(top + crop_h, float(src_h))


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB (h, w, 3; uint8 or float 0..1; even h and w) to BT.709 limited-range Y, Cb, Cr uint8,
    with chroma averaged over 2x2 blocks (4:2:0)."""
    h, w = rgb.shape[:2]
    x = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    luma = x @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    cb = (x[..., 2] - luma).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    cr = (x[..., 0] - luma).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    def u8(plane: np.ndarray) -> np.ndarray:
        return np.clip(plane + 0.5, 0, 255).astype(np.uint8)

    return u8(16 + 219 * luma), u8(128 + 224 / 1.8556 * cb), u8(128 + 224 / 1.5748 * cr)


class YuvStill:
    """A still image held as BT.709 limited-range Y, Cb, Cr planes (chroma at half size).

    Resampling three 8-bit planes costs about half of resampling RGB, and ffmpeg then needs
    no colour conversion: this is what keeps camera moves over a still cheap. Patches can be
    pasted for one frame (a moving mouth) and reset afterwards.
    """

    def __init__(self, image: Image.Image) -> None:
        w, h = image.size[0] // 2 * 2, image.size[1] // 2 * 2
        rgb = np.asarray(image.convert("RGB"))[:h, :w]
        self.size = (w, h)
        self.planes = tuple(np.ascontiguousarray(p) for p in rgb_to_yuv420(rgb))
        self._pristine = tuple(p.copy() for p in self.planes)
        # The PIL images share memory with the arrays, so pasted patches show up in frames.
        self._images = [
            Image.frombuffer("L", (p.shape[1], p.shape[0]), p, "raw", "L", 0, 1)
            for p in self.planes
        ]

    def paste_rgb(self, x: int, y: int, patch: np.ndarray) -> None:
        """Overwrite the region at even (x, y) with an even-sized RGB patch."""
        ys, cbs, crs = rgb_to_yuv420(patch)
        h, w = ys.shape
        self.planes[0][y : y + h, x : x + w] = ys
        self.planes[1][y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = cbs
        self.planes[2][y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = crs

    def reset(self, x: int, y: int, w: int, h: int) -> None:
        """Undo pastes in a region."""
        self.planes[0][y : y + h, x : x + w] = self._pristine[0][y : y + h, x : x + w]
        for plane, pristine in zip(self.planes[1:], self._pristine[1:], strict=True):
            plane[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = pristine[
                y // 2 : (y + h) // 2, x // 2 : (x + w) // 2
            ]

    def frame(self, box: tuple[float, float, float, float], width: int, height: int) -> bytes:
        """The window `box` (in still pixels) resampled to a width x height yuv420p frame."""
        half = (box[0] / 2, box[1] / 2, box[2] / 2, box[3] / 2)
        bilinear = Image.Resampling.BILINEAR
        luma, cb, cr = self._images
        return b"".join(
            (
                luma.resize((width, height), bilinear, box=box).tobytes(),
                cb.resize((width // 2, height // 2), bilinear, box=half).tobytes(),
                cr.resize((width // 2, height // 2), bilinear, box=half).tobytes(),
            )
        )


class VideoWriter:
    """Streams RGB frames into ffmpeg (rawvideo pipe) and encodes H.264 yuv420p without audio.

    Frames may be smaller or larger than the output; ffmpeg scales them, which is cheaper than
    resizing in Python.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: int,
        frame_size: tuple[int, int] | None = None,
        preset: VideoPreset = "fast",
        pix_fmt: Literal["rgb24", "yuv420p"] = "rgb24",
    ) -> None:
        self.path = path
        self.frame_w, self.frame_h = frame_size or (width, height)
        self.pix_fmt = pix_fmt
        self.frames = 0
        x264_preset, crf = _X264[preset]
        cmd = [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-f", "rawvideo"]
        cmd += ["-pix_fmt", pix_fmt, "-s", f"{self.frame_w}x{self.frame_h}", "-r", str(fps)]
        if pix_fmt == "yuv420p":
            cmd += ["-color_range", "tv", "-colorspace", "bt709"]
        cmd += ["-i", "-"]
        filters = []
        if (self.frame_w, self.frame_h) != (width, height):
            filters.append(f"scale={width}:{height}:flags=bicubic")
        if pix_fmt == "rgb24":
            filters.append("scale=out_color_matrix=bt709:out_range=tv,format=yuv420p")
        if filters:
            cmd += ["-vf", ",".join(filters)]
        cmd += ["-an", "-c:v", "libx264", "-preset", x264_preset, "-crf", str(crf)]
        cmd += ["-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709"]
        cmd += ["-color_trc", "bt709", "-color_range", "tv", "-movflags", "+faststart", str(path)]
        # stderr goes to a file: a pipe nobody reads could fill up and stall ffmpeg mid-encode.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self._stderr)

    def write(self, frame: np.ndarray) -> None:
        """Append one (frame_h, frame_w, 3) uint8 RGB frame."""
        if self.pix_fmt != "rgb24":
            raise ValueError("this writer takes yuv420p frames")
        if frame.shape != (self.frame_h, self.frame_w, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be {self.frame_h}x{self.frame_w}x3 uint8, got {frame.shape}"
            )
        self._send(np.ascontiguousarray(frame).data)

    def write_yuv(self, data: bytes) -> None:
        """Append one yuv420p frame (Y plane, then U, then V)."""
        if self.pix_fmt != "yuv420p" or len(data) != self.frame_w * self.frame_h * 3 // 2:
            raise ValueError(f"frame must be {self.frame_w}x{self.frame_h} yuv420p bytes")
        self._send(data)

    def write_image(self, image: Image.Image) -> None:
        """Append one RGB PIL image of the frame size (skips a numpy copy)."""
        if self.pix_fmt != "rgb24":
            raise ValueError("this writer takes yuv420p frames")
        if image.size != (self.frame_w, self.frame_h) or image.mode != "RGB":
            raise ValueError(f"frame must be a {self.frame_w}x{self.frame_h} RGB image")
        self._send(image.tobytes())

    def _send(self, data: bytes | memoryview) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError:
            self._fail("ffmpeg stopped accepting frames")
        self.frames += 1

    def close(self) -> None:
        """Finish the file; raises EngineError when ffmpeg did not produce it."""
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            self._fail(f"ffmpeg exited with status {self._proc.returncode}")
        self._stderr.close()

    def abort(self) -> None:
        """Stop ffmpeg after an error elsewhere; the partial file is removed."""
        self._proc.kill()
        self._proc.wait()
        self._stderr.close()
        self.path.unlink(missing_ok=True)

    def _fail(self, message: str) -> None:
        self._proc.kill()
        self._proc.wait()
        self._stderr.seek(0)
        detail = _stderr_tail(self._stderr.read().decode(errors="replace"))
        self._stderr.close()
        raise EngineError(f"video encoding failed: {message}: {detail}")

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
