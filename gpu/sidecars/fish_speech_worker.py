"""Fish Speech worker: runs INSIDE Fish Speech's own virtualenv and serves `tts` requests.

    <fish-venv>/bin/python gpu/sidecars/fish_speech_worker.py \
        --checkpoint /models/fish-speech-1.5 --device cuda --precision bfloat16

It loads the model the way Fish Speech's own API server does (tools/server/model_manager.py):
the text-to-semantic LLaMA behind `launch_thread_safe_queue`, the vocoder through its hydra
config, both wrapped in `TTSInferenceEngine`, then warms up. Each request is one
`ServeTTSRequest`; a reference sample (zero-shot cloning) travels as `ServeReferenceAudio`.

Two source layouts are supported: Fish Speech 1.5.1+ and OpenAudio S1 keep the inference code
in the `fish_speech` package; 1.5.0 kept it in the checkout's `tools/` package, which must
then be importable (run from the checkout, or set FISH_SPEECH_DIR to it).

Nothing from Fish Speech is imported at module level, so this file imports anywhere; the
protocol comes from gpu.sidecars, which is standard library only.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

# The repository root goes LAST on sys.path: its top-level packages (tools, media, …) must
# never shadow Fish Speech's own (1.5.0 has a `tools` package too).
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.append(_REPO_ROOT)

from gpu.sidecars import ProgressFn, WorkerInputError, serve  # noqa: E402

# Vocoder checkpoint file -> (hydra config name, module under fish_speech.models).
DECODERS: dict[str, tuple[str, str]] = {
    "codec.pth": ("modded_dac_vq", "dac"),  # OpenAudio S1 (mini)
    "firefly-gan-vq-fsq-8x1024-21hz-generator.pth": ("firefly_gan_vq", "vqgan"),  # 1.5
}
WARM_UP_TEXT = "Hello."


@dataclass
class FishApi:
    """The pieces of Fish Speech's inference API this worker uses, from either layout."""

    engine_class: Any
    launch_thread_safe_queue: Any
    load_decoder: Any
    tts_request: Any
    reference_audio: Any


@dataclass
class State:
    api: FishApi
    engine: Any


def _first(*candidates: str) -> ModuleType:
    errors: list[str] = []
    for name in candidates:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise ImportError("; ".join(errors))


def import_api(decoder_module: str) -> FishApi:
    """Fish Speech's inference API from the package layout (1.5.1+) or the tools/ one (1.5.0)."""
    engine_mod = _first("fish_speech.inference_engine", "tools.inference_engine")
    engine_class = getattr(engine_mod, "TTSInferenceEngine", None) or engine_mod.InferenceEngine
    llama = _first("fish_speech.models.text2semantic.inference", "tools.llama.generate")
    decoder = _first(f"fish_speech.models.{decoder_module}.inference", "tools.vqgan.inference")
    schema = _first("fish_speech.utils.schema", "tools.schema")
    return FishApi(
        engine_class=engine_class,
        launch_thread_safe_queue=llama.launch_thread_safe_queue,
        load_decoder=decoder.load_model,
        tts_request=schema.ServeTTSRequest,
        reference_audio=schema.ServeReferenceAudio,
    )


def _decoder_for(checkpoint: Path) -> tuple[Path, str, str]:
    for filename, (config_name, module) in DECODERS.items():
        if (checkpoint / filename).is_file():
            return checkpoint / filename, config_name, module
    known = ", ".join(DECODERS)
    raise FileNotFoundError(f"no vocoder checkpoint in {checkpoint} (looked for {known})")


def load(args: argparse.Namespace) -> State:
    """Load the LLaMA and the vocoder the way Fish Speech's API server does, then warm up."""
    checkpoint = Path(args.checkpoint)
    decoder_path, config_name, decoder_module = _decoder_for(checkpoint)  # before slow imports
    repo = os.environ.get("FISH_SPEECH_DIR")
    if repo:
        sys.path.insert(0, repo)
    import torch

    api = import_api(decoder_module)
    precision = {
        "bfloat16": torch.bfloat16,
        "float16": torch.half,
        "float32": torch.float32,
    }.get(args.precision, torch.bfloat16)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device} requested but CUDA is not available")
    llama_queue = api.launch_thread_safe_queue(
        checkpoint_path=str(checkpoint), device=device, precision=precision, compile=args.compile
    )
    decoder = api.load_decoder(
        config_name=config_name, checkpoint_path=str(decoder_path), device=device
    )
    engine = api.engine_class(
        llama_queue=llama_queue, decoder_model=decoder, precision=precision, compile=args.compile
    )
    state = State(api=api, engine=engine)
    synthesize(state, WARM_UP_TEXT, references=[], seed=0, normalize=False)
    return state


def synthesize(
    state: State, text: str, *, references: list[Any], seed: int | None, normalize: bool
) -> tuple[int, Any]:
    """(sample rate, mono float samples) for `text`, from Fish Speech's own inference loop."""
    import numpy as np

    request = state.api.tts_request(
        text=text,
        references=references,
        reference_id=None,
        seed=seed,
        normalize=normalize,
        format="wav",
        streaming=False,
        chunk_length=200,
        max_new_tokens=1024,
        top_p=0.7,
        repetition_penalty=1.2,
        temperature=0.7,
    )
    final = None
    for result in state.engine.inference(request):
        if result.code == "error":
            error = result.error or RuntimeError("Fish Speech reported an unknown error")
            raise error if isinstance(error, BaseException) else RuntimeError(str(error))
        if result.code == "final":
            final = result.audio
    if final is None:
        raise RuntimeError("Fish Speech finished without producing audio")
    sample_rate, audio = final
    return int(sample_rate), np.asarray(audio, dtype=np.float32).reshape(-1)


def write_wav(path: Path, rate: int, samples: Any) -> None:
    """16-bit PCM mono WAV, with the standard library (soundfile may not be installed)."""
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def tts(state: State, message: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Serve one `tts` request: text (+ optional reference sample) -> a WAV at `out`."""
    text = str(message.get("text") or "").strip()
    if not text:
        raise WorkerInputError("the text is empty")
    out = Path(str(message.get("out") or ""))
    if not out.parent.is_dir():
        raise WorkerInputError(f"output folder {out.parent} does not exist")
    references = []
    reference = message.get("reference_audio")
    if reference:
        path = Path(str(reference))
        if not path.is_file():
            raise WorkerInputError(f"reference audio {path} not found")
        references.append(
            state.api.reference_audio(
                audio=path.read_bytes(), text=str(message.get("reference_text") or "")
            )
        )
    progress(0.05)
    seed = message.get("seed")
    rate, samples = synthesize(
        state,
        text,
        references=references,
        seed=int(seed) if seed is not None else None,
        normalize=bool(message.get("normalize")),
    )
    progress(0.95)
    write_wav(out, rate, samples)
    return {"audio": str(out), "sample_rate": rate, "duration_s": len(samples) / rate}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fish Speech sidecar worker (JSON lines).")
    parser.add_argument("--checkpoint", required=True, help="Fish Speech weights folder")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bfloat16")
    parser.add_argument("--compile", action="store_true", help="torch.compile the decoder loop")
    args = parser.parse_args(argv)
    return serve(lambda: load(args), {"tts": tts})


if __name__ == "__main__":
    sys.exit(main())
