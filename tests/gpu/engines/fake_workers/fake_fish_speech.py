"""Stand-in for gpu/sidecars/fish_speech_worker.py: the same protocol and arguments, but a tone
burst per word (numpy) instead of speech, with known word boundaries.

Text triggers: CRASH (exit mid-request after an error on stderr), HANG (never answer),
OOM (a CUDA out-of-memory exception). FAKE_WORKER_LOG: a file each request is appended to.
FAKE_FAIL_LOAD: fail while loading.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[4]))

from gpu.sidecars import ProgressFn, WorkerInputError, serve

RATE = 44_100
LEAD_S, TRAIL_S = 0.30, 0.45
WORD_GAP_S, SENTENCE_GAP_S = 0.06, 0.40
LETTER_S = 0.06


def word_plan(text: str) -> list[tuple[str, float, float]]:
    """(word, start, end) of every tone burst the fake speaks for `text`."""
    t = LEAD_S
    plan = []
    words = text.split()
    for n, word in enumerate(words):
        length = max(0.12, LETTER_S * len(re.sub(r"\W", "", word)))
        plan.append((word, t, t + length))
        t += length
        if n < len(words) - 1:
            t += SENTENCE_GAP_S if re.search(r"[.!?]$", word) else WORD_GAP_S
    return plan


def load(args: argparse.Namespace) -> dict[str, Any]:
    if os.environ.get("FAKE_FAIL_LOAD"):
        raise RuntimeError("fake: the checkpoint is corrupt")
    if not Path(args.checkpoint).is_dir():
        raise FileNotFoundError(f"no checkpoint at {args.checkpoint}")
    print("fake fish speech: model loaded", file=sys.stderr)
    return {"device": args.device, "precision": args.precision, "pid": os.getpid()}


def tts(state: dict[str, Any], message: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    text = str(message["text"])
    log = os.environ.get("FAKE_WORKER_LOG")
    if log:
        reference = message.get("reference_audio")
        seconds = None
        if reference:
            with wave.open(str(reference)) as wav:
                seconds = wav.getnframes() / wav.getframerate()
        entry = {**message, "reference_seconds": seconds, "pid": os.getpid()}
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
    print("this print must not reach the protocol stream")  # stdout is redirected to stderr
    if "CRASH" in text:
        print("fake fish speech: CUDA error: an illegal memory access", file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)
    if "HANG" in text:
        time.sleep(3600)
    if "OOM" in text:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    if not text.strip():
        raise WorkerInputError("the text is empty")

    plan = word_plan(text)
    total = plan[-1][2] + TRAIL_S
    samples = np.zeros(int(total * RATE), dtype=np.float32)
    pitch = 260.0 if message.get("reference_audio") else 160.0
    for n, (_word, start, end) in enumerate(plan):
        a, b = int(start * RATE), int(end * RATE)
        t = np.arange(b - a) / RATE
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
        samples[a:b] = 0.5 * np.sin(2 * np.pi * pitch * t) * ramp
        if n % max(1, len(plan) // 3) == 0:
            progress((n + 1) / len(plan))
    pcm = (samples * 32767).astype("<i2")
    with wave.open(str(message["out"]), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())
    return {"audio": str(message["out"]), "sample_rate": RATE}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bfloat16")
    args = parser.parse_args()
    return serve(lambda: load(args), {"tts": tts})


if __name__ == "__main__":
    sys.exit(main())
