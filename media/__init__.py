"""Media: FFmpeg probing, caption files and the one-pass renderer of a RenderSpec into an MP4."""

from media.captions import CaptionLayout, Cue, group_cues, write_ass, write_srt
from media.ffmpeg import MediaError, MediaInfo, ffmpeg_exe, probe, run_ffmpeg
from media.render import render
from media.spec import Canvas, Clip, RenderResult, RenderSpec, Word

__all__ = [
    "Canvas",
    "CaptionLayout",
    "Clip",
    "Cue",
    "MediaError",
    "MediaInfo",
    "RenderResult",
    "RenderSpec",
    "Word",
    "ffmpeg_exe",
    "group_cues",
    "probe",
    "render",
    "run_ffmpeg",
    "write_ass",
    "write_srt",
]
