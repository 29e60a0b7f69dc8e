"""Media: FFmpeg probing, caption files, the one-pass renderer and multi-format export."""

from media.captions import CaptionLayout, Cue, group_cues, write_ass, write_srt
from media.export import EXPORT_PRESETS, ExportTarget, export_formats, thumbnail
from media.ffmpeg import MediaError, MediaInfo, ffmpeg_exe, probe, run_ffmpeg
from media.render import render
from media.spec import Canvas, Clip, RenderResult, RenderSpec, Word

__all__ = [
    "EXPORT_PRESETS",
    "Canvas",
    "CaptionLayout",
    "Clip",
    "Cue",
    "ExportTarget",
    "MediaError",
    "MediaInfo",
    "RenderResult",
    "RenderSpec",
    "Word",
    "export_formats",
    "ffmpeg_exe",
    "group_cues",
    "probe",
    "render",
    "run_ffmpeg",
    "thumbnail",
    "write_ass",
    "write_srt",
]
