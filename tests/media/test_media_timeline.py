"""The timeline: transitions between clips, inputs of any shape fitted inside the graph, and a
soundtrack brought to the platforms' loudness — each checked by decoding the result."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media.ffmpeg import MediaError, ffmpeg_exe, probe
from media.mix import TARGET_LUFS, TRUE_PEAK_DB
from media.render import render
from media.spec import TRANSITIONS, Canvas, Clip, RenderSpec
from tests.media.conftest import make_media
from tests.media.test_media_render import decode_audio, decode_frames, tone_level

SMALL = Canvas(160, 288, 25)
RED, BLUE = (230, 20, 20), (20, 20, 230)


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("colours")
    return tuple(  # type: ignore[return-value]
        make_media(
            folder / f"{name}.mp4",
            *("-f", "lavfi", "-i", f"color=c={name}:s=160x288:r=25:d=2"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        )
        for name in ("red", "blue")
    )


def is_colour(frame: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return bool(np.abs(frame.reshape(-1, 3).mean(axis=0) - rgb).max() < 25)


@pytest.mark.parametrize("transition", TRANSITIONS)
def test_each_transition_keeps_every_clip_on_time(
    tmp_path: Path, colours: tuple[Path, Path], voice: Path, transition: str
) -> None:
    red, blue = colours
    spec = RenderSpec(
        canvas=SMALL,
        clips=[
            Clip(red, 1.0),
            Clip(blue, 1.0, voice=voice, transition=transition, transition_s=0.4),  # type: ignore[arg-type]
        ],
        normalize_loudness=False,
    )
    out = render(spec, tmp_path / f"{transition}.mp4").path
    frames = decode_frames(out, SMALL).astype(np.int16)
    assert len(frames) == 50, "a transition never changes the length"
    assert is_colour(frames[24], RED) and is_colour(frames[35], BLUE)
    # The second clip's voice still starts with its clip, however the pictures meet.
    audio = decode_audio(out)
    assert tone_level(audio, 1000.0, 0.5, 0.95) < 0.01 < tone_level(audio, 1000.0, 1.05, 1.5)
    middle = frames[30]
    left, right = middle[:, : SMALL.width // 4], middle[:, -SMALL.width // 4 :]
    if transition == "cut":
        assert is_colour(frames[25], BLUE)
    elif transition == "crossfade":
        # Half-way, the two pictures are blended: both red and blue, evenly across the frame.
        assert 60 < middle[..., 0].mean() < 200 and 60 < middle[..., 2].mean() < 200
        assert np.abs(left.mean(axis=(0, 1)) - right.mean(axis=(0, 1))).max() < 20
    elif transition == "fade":
        assert middle.mean() < 40, "fades through black"
    else:  # slide, wipe: one picture takes over from one side
        assert not np.allclose(left.mean(axis=(0, 1)), right.mean(axis=(0, 1)), atol=60)
        assert {is_colour(left, RED), is_colour(right, RED)} == {True, False}


def test_a_transition_longer_than_its_clips_is_shortened(
    tmp_path: Path, colours: tuple[Path, Path]
) -> None:
    red, blue = colours
    spec = RenderSpec(
        canvas=SMALL,
        clips=[Clip(red, 0.4), Clip(blue, 0.4, transition="crossfade", transition_s=2.0)],
    )
    frames = decode_frames(render(spec, tmp_path / "short.mp4").path, SMALL).astype(np.int16)
    assert len(frames) == 20
    assert is_colour(frames[9], RED) and is_colour(frames[19], BLUE)


def test_bad_transition_is_named(tmp_path: Path, colours: tuple[Path, Path]) -> None:
    red, blue = colours
    for clip, message in [
        (Clip(blue, 1.0, transition="spin"), "unknown transition 'spin'"),  # type: ignore[arg-type]
        (Clip(blue, 1.0, transition="wipe", transition_s=0), "transition_s 0"),
        (Clip(blue, 1.0, fit="stretch"), "fit 'stretch'"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(MediaError, match=message):
            render(RenderSpec(canvas=SMALL, clips=[Clip(red, 1.0), clip]), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_a_landscape_clip_is_padded_over_its_blurred_self(tmp_path: Path) -> None:
    wide = make_media(
        tmp_path / "wide.mp4",
        *("-f", "lavfi", "-i", "color=c=white:s=320x180:r=25:d=1"),
        *("-c:v", "libx264", "-preset", "ultrafast"),
    )
    frames = {}
    for fit in ("auto", "crop"):
        spec = RenderSpec(canvas=SMALL, clips=[Clip(wide, 0.4, fit=fit)])  # type: ignore[arg-type]
        frames[fit] = decode_frames(render(spec, tmp_path / f"{fit}.mp4").path, SMALL)[5]
    # Auto shows the whole 16:9 picture in a band across the middle of the 9:16 frame ...
    band = (SMALL.width * 9 // 16) // 2
    centre = frames["auto"][SMALL.height // 2 - band // 2 : SMALL.height // 2 + band // 2]
    assert centre.mean() > 240
    # ... where crop fills the frame with its middle.
    assert frames["crop"].mean() > 240


def test_a_rotated_4k_60fps_variable_rate_phone_clip_is_normalised(tmp_path: Path) -> None:
    raw = make_media(
        tmp_path / "raw.mp4",
        *("-f", "lavfi", "-i", "testsrc2=s=3840x2160:r=60:d=1"),
        *("-f", "lavfi", "-i", "sine=f=300:d=1"),
        # 60 fps for half a second, then 30 fps: a variable frame rate, as phones record.
        *("-vf", "setpts='if(lt(N,30),N/60,0.5+(N-30)/30)/TB'", "-fps_mode", "vfr"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"),
    )
    phone = tmp_path / "phone.mp4"
    rotate = ["-display_rotation:v", "90", "-i", str(raw), "-c", "copy", str(phone)]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *rotate], check=True)
    info = probe(phone)
    assert (info.width, info.height) == (2160, 3840), "shown upright"
    out = render(RenderSpec(canvas=SMALL, clips=[Clip(phone, 1.5)]), tmp_path / "out.mp4")
    result = probe(out.path)
    assert (result.width, result.height, result.fps) == (160, 288, 25)
    assert result.duration_s == pytest.approx(1.5, abs=0.05)
    # Its own sound is not the voice: the soundtrack stays silent.
    assert np.abs(decode_audio(out.path)).max() < 1e-3


def test_bad_inputs_are_normalised_or_refused_by_name(tmp_path: Path, voice: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    good = make_media(
        tmp_path / "good.mp4",
        *("-f", "lavfi", "-i", "testsrc2=s=160x288:r=25:d=2"),
        *("-c:v", "libx264", "-preset", "ultrafast"),
    )
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    for path in (empty, truncated):
        with pytest.raises(MediaError, match=re.escape(path.name)):
            render(RenderSpec(canvas=SMALL, clips=[Clip(path, 1.0)]), tmp_path / "out.mp4")
    with pytest.raises(MediaError, match="has no video stream \\(an audio file\\)"):
        render(RenderSpec(canvas=SMALL, clips=[Clip(voice, 1.0)]), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    # A picture under a video's name is a picture: it is shown as a still.
    disguised = tmp_path / "clip.mp4"
    Image.new("RGB", (90, 160), BLUE).save(disguised, format="PNG")
    out = render(RenderSpec(canvas=SMALL, clips=[Clip(disguised, 1.0)]), tmp_path / "still.mp4")
    frames = decode_frames(out.path, SMALL)
    assert len(frames) == 25 and is_colour(frames[12], BLUE)


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) as ffmpeg's EBU R128 meter reports."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a"]
    cmd += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    log = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
    summary = log[log.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1])  # type: ignore[index]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)[1])  # type: ignore[index]
    return integrated, peak


@pytest.mark.parametrize("level", [0.03, 0.9])
def test_soundtrack_reaches_the_loudness_target(
    tmp_path: Path, still: Path, music: Path, level: float
) -> None:
    """A whisper and a shout both come out at -14 LUFS, with peaks under -1 dBTP."""
    speech = make_media(
        tmp_path / "speech.wav",
        *("-f", "lavfi", "-i", f"sine=f=220:d=4,volume={level},tremolo=f=3:d=0.9"),
    )
    spec = RenderSpec(
        canvas=SMALL, clips=[Clip(still, 2.0, voice=speech), Clip(still, 2.0)], music=music
    )
    out = render(spec, tmp_path / "loud.mp4").path
    integrated, peak = loudness(out)
    assert integrated == pytest.approx(TARGET_LUFS, abs=1.0)
    assert peak <= TRUE_PEAK_DB + 0.1


def test_cuts_and_transitions_mix_on_one_timeline(
    tmp_path: Path, colours: tuple[Path, Path]
) -> None:
    red, blue = colours
    kinds = ["cut", "crossfade", "cut", "wipe", "fade"]
    clips = [Clip(red if n % 2 else blue, 0.6, transition=k) for n, k in enumerate(kinds)]  # type: ignore[arg-type]
    frames = decode_frames(
        render(RenderSpec(canvas=SMALL, clips=clips), tmp_path / "m.mp4").path, SMALL
    )
    assert len(frames) == 75
    for n in range(5):  # each clip shows its own colour by its last frame
        assert is_colour(frames[n * 15 + 14].astype(np.int16), RED if n % 2 else BLUE)
