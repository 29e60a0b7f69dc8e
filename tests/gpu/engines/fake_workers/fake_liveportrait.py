"""Stand-in for gpu/sidecars/liveportrait_worker.py: the same protocol and arguments, but
frames synthesized with numpy (the portrait with a mouth that opens by the `mouth` curve)
and encoded by the ffmpeg the request names.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.append(str(Path(__file__).resolve().parents[4]))

from gpu.sidecars import ProgressFn, WorkerInputError, serve


def load(args: argparse.Namespace) -> dict[str, Any]:
    for path in (args.repo, args.weights):
        if not Path(path).is_dir():
            raise FileNotFoundError(f"{path} is missing")
    print("fake liveportrait: pipeline built", file=sys.stderr)
    return {"pid": os.getpid()}


def animate(state: dict[str, Any], message: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    curves = {name: message[name] for name in ("mouth", "blink", "pitch", "yaw", "roll")}
    frames = len(curves["mouth"])
    if frames == 0 or any(len(v) != frames for v in curves.values()):
        raise WorkerInputError("the driving curves must all have one value per frame")
    width, height, fps = int(message["width"]), int(message["height"]), int(message["fps"])
    with Image.open(message["portrait"]) as img:
        base = np.asarray(img.convert("RGB").resize((width, height)), dtype=np.uint8)
    if float(base.std()) < 1.0:
        raise WorkerInputError("no face was found in the portrait; use a clear, frontal face")
    cmd = [message["ffmpeg"], "-nostdin", "-y", "-v", "error", "-f", "rawvideo"]
    cmd += ["-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
    cmd += ["-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    cmd += [str(message["out"])]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    mx, my, mw = width // 2, int(height * 0.7), max(4, width // 5)
    for i in range(frames):
        frame = base.copy()
        opening = round(curves["mouth"][i] * height * 0.08)
        if opening > 0:
            frame[my - opening : my + opening, mx - mw : mx + mw] = (40, 10, 10)
        proc.stdin.write(frame.tobytes())
        progress((i + 1) / frames)
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg failed")
    return {"video": str(message["out"]), "frames": frames}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="float16")
    args = parser.parse_args()
    return serve(lambda: load(args), {"animate": animate})


if __name__ == "__main__":
    sys.exit(main())
