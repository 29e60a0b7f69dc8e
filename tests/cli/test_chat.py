"""`skyie chat` scripted through standard input: brief, change, approval, finished video."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from media.ffmpeg import probe

REPO = Path(__file__).resolve().parents[2]


def chat(lines: str, home: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SKYIE_HOME": str(home),
        "SKYIE_DATABASE_URL": "",
        "SKYIE_BROKER": "embedded",
        "SKYIE_EVENTS": "embedded",
        "SKYIE_ANTHROPIC_API_KEY": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "chat", "--out", str(out)],
        input=lines,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_scripted_conversation_ends_with_a_video(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = chat(
        "a 20-second video about cold brew coffee, no host\nmake it shorter\nyes, generate\n",
        tmp_path / "home",
        out,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    said = done.stdout
    assert said.count("Quote:") == 2  # the draft, then the shorter revision
    assert "Generating now" in said and "Ready:" in said
    videos = list(out.glob("*.mp4"))
    assert len(videos) == 1
    assert probe(videos[0]).duration_s < 17  # shorter than the 20 s first asked


def test_a_bad_instruction_gets_a_clear_answer_and_no_job(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = chat("a 15-second video about tea\nchange scene 9 to a forest\n", tmp_path / "home", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "couldn't do that" in done.stdout and "scene" in done.stdout
    assert not out.exists() or not list(out.glob("*.mp4"))
