"""Each clip's picture, fitted to its frame inside the render graph (never a separate encode).

Any input works: odd sizes, rotated phone video (ffmpeg applies the rotation on decode),
variable frame rates (the fps filter resamples onto the canvas clock), stills, and clips that
are shorter than their slot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter

from media.ffmpeg import MediaError, MediaInfo, probe
from media.graph import Graph, Slot, on_clock
from media.spec import Canvas, Clip, host_box

# Every source is converted to BT.709 limited range (what players assume for HD, and what the
# caption colours are drawn in), so stills and videos of any origin keep their colours.
_TO_709 = "out_color_matrix=bt709:out_range=tv"
# Crop-to-fill keeps at least this share of the source's picture; below it (a landscape phone
# clip on a vertical canvas) the whole picture is shown over a blurred copy of itself instead.
_MIN_KEPT_BY_CROP = 0.6
# The blurred backdrop is made at 1/10 of the frame: a small blur scaled up looks the same as
# a wide blur at full size, for a fraction of the work.
_BLUR_SHRINK = 10
_BLUR_SIGMA = 4.0


def fit_mode(info: MediaInfo, width: int, height: int, wanted: str) -> Literal["crop", "pad"]:
    """How a source of `info`'s shape is fitted to width x height ("auto" decides by shape)."""
    if wanted in ("crop", "pad"):
        return wanted  # type: ignore[return-value]
    if not (info.width and info.height):
        return "crop"
    source, frame = info.width / info.height, width / height
    return "crop" if min(source / frame, frame / source) >= _MIN_KEPT_BY_CROP else "pad"


def blurred_fill(source: str, out: str, width: int, height: int) -> str:
    """A chain filling width x height with a blurred, cover-scaled copy of `source`: the
    backdrop a picture of another shape is shown whole over, instead of black bars."""
    bw = max(8, width // _BLUR_SHRINK) // 2 * 2
    bh = max(8, height // _BLUR_SHRINK) // 2 * 2
    # Cut to the frame's shape first, so only the part that shows is shrunk; once blurred,
    # bilinear enlarging looks the same as bicubic and costs less.
    return (
        f"[{source}]crop='min(iw,ih*{width}/{height})':'min(ih,iw*{height}/{width})',"
        f"scale={bw}:{bh}:flags=area:{_TO_709},gblur=sigma={_BLUR_SIGMA},"
        f"scale={width}:{height}:flags=bilinear,setsar=1[{out}]"
    )


def over_blurred_fill(scaled: str, out: str, width: int, height: int, x: str, y: str) -> list[str]:
    """Chains placing the already-scaled picture `scaled` at (x, y) over a blurred fill of
    itself, width x height. The fill is made from the scaled copy, not from the source: the
    same picture, for a fraction of the pixels."""
    return [
        f"[{scaled}]split=2[{out}fg][{out}bg]",
        blurred_fill(f"{out}bg", f"{out}bgs", width, height),
        f"[{out}bgs][{out}fg]overlay=x={x}:y={y}:format=yuv420,format=yuv420p[{out}]",
    ]


def fit_chains(source: str, out: str, width: int, height: int, mode: str) -> list[str]:
    """Chains turning stream `source` into `out`: width x height, yuv420p, BT.709."""
    if mode == "crop":
        return [
            f"[{source}]scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic"
            f":{_TO_709},crop={width}:{height},setsar=1,format=yuv420p[{out}]"
        ]
    return [
        f"[{source}]scale={width}:{height}:force_original_aspect_ratio=decrease"
        f":force_divisible_by=2:flags=bicubic:{_TO_709},setsar=1[{out}s]",
        # Even offsets keep the picture aligned with the half-resolution chroma planes.
        *over_blurred_fill(f"{out}s", out, width, height, "trunc((W-w)/4)*2", "trunc((H-h)/4)*2"),
    ]


def _held(
    graph: Graph, path: Path, out: str, size: tuple[int, int], frames: int, fps: int, fit: str
) -> None:
    """A picture held for `frames` frames at `size` (decoded and scaled once, then repeated)."""
    info = probe(path)
    i = graph.add_input(path)
    mode = fit_mode(info, *size, fit)
    graph.chains += fit_chains(f"{i}:v", f"{out}f", *size, mode)
    graph.chains.append(f"[{out}f]loop=loop={frames - 1}:size=1:start=0,{on_clock(fps)}[{out}]")


def host_mask(workdir: Path, width: int, height: int) -> Path:
    """A grey mask with rounded, softened corners for the host's frame (written once)."""
    path = workdir / f"host-mask-{width}x{height}.png"
    if not path.exists():
        radius = max(4, width // 20)
        blur = max(1, width // 200)
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (blur, blur, width - 1 - blur, height - 1 - blur), radius=radius, fill=255
        )
        mask.filter(ImageFilter.GaussianBlur(blur)).save(path)
    return path


def add_picture(graph: Graph, n: int, clip: Clip, slot: Slot, canvas: Canvas, extra: int) -> str:
    """Add clip `n`'s picture: `slot.frames + extra` frames, `extra` being the overlap a
    transition into the next clip needs. Returns the output label."""
    info = probe(clip.video)
    if not info.has_video:
        what = "an audio file" if info.has_audio else "not a picture"
        raise MediaError(f"clip {n}: {clip.video} has no video stream ({what})")
    fps, label, frames = canvas.fps, f"v{n}", slot.frames + extra
    if clip.background is None:
        size = (canvas.width, canvas.height)
    else:
        bx, by, *box = host_box(canvas.width, canvas.height)
        size = (box[0], box[1])
    picture = f"p{n}" if clip.background else label
    if info.is_still_image:
        _held(graph, clip.video, picture, size, frames, fps, clip.fit)
    else:
        seconds = frames / fps
        # A b-roll clip shorter than its slot loops; a talking clip holds its last frame
        # instead, since restarting a face mid-sentence looks broken. tpad also covers a loop
        # that falls short.
        loop = ["-stream_loop", "-1"] if clip.kind == "broll" else []
        i = graph.add_input(clip.video, *loop, "-t", f"{seconds + 1:.3f}")
        graph.chains.append(f"[{i}:v]setpts=PTS-STARTPTS,fps={fps}[{picture}r]")
        graph.chains += fit_chains(
            f"{picture}r", f"{picture}f", *size, fit_mode(info, *size, clip.fit)
        )
        graph.chains.append(
            f"[{picture}f]tpad=stop_mode=clone:stop_duration={seconds:.3f},"
            f"trim=end_frame={frames},{on_clock(fps)}[{picture}]"
        )
    if clip.background is not None:
        if not probe(clip.background).has_video:
            raise MediaError(f"clip {n}: background {clip.background} is not a picture")
        # A backdrop fills the canvas: cropped, whatever its shape.
        _held(graph, clip.background, f"b{n}", (canvas.width, canvas.height), frames, fps, "crop")
        m = graph.add_input(host_mask(graph.workdir, *size))
        graph.chains.append(
            f"[{m}:v]format=gray,loop=loop={frames - 1}:size=1:start=0,{on_clock(fps)}[m{n}]"
        )
        graph.chains.append(f"[{picture}][m{n}]alphamerge[h{n}]")
        graph.chains.append(
            f"[b{n}][h{n}]overlay=x={bx}:y={by}:format=yuv420:eof_action=pass,"
            f"format=yuv420p[{label}]"
        )
    return label
