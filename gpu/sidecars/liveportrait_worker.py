"""LivePortrait worker: runs with the LivePortrait checkout importable and serves `animate`.

    python gpu/sidecars/liveportrait_worker.py --repo /opt/LivePortrait \
        --weights /models/liveportrait --device cuda --precision float16

LivePortrait animates a portrait from a driving VIDEO; there is none for speech. Instead the
server derives per-frame controls from the speech (mouth opening from its loudness, blinks,
a gentle head motion) and this worker drives LivePortrait's own retargeting with them, the
way its Gradio "retargeting" tab does with sliders:

  - the source portrait is cropped and encoded once (Cropper.crop_source_image, the motion
    extractor and the appearance feature extractor);
  - per frame, the head pose is the source pose plus the small pitch/yaw/roll offsets;
  - the lip-open ratio (`retarget_lip`, LivePortrait's lip retargeting module) follows the
    mouth curve, the eye-open ratio (`retarget_eye`) closes for blinks;
  - stitching, warp + decode, then paste-back into the full portrait;
  - frames are streamed to ffmpeg, which scales/crops them to the requested size.

`--weights` is the Hugging Face repository KwaiVGI/LivePortrait as downloaded (the checkout's
`pretrained_weights` folder): liveportrait/base_models, liveportrait/retargeting_models,
liveportrait/landmark.onnx and insightface/models/buffalo_l.

LivePortrait is imported inside functions only, so this file imports anywhere; the protocol
comes from gpu.sidecars, which is standard library only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.append(_REPO_ROOT)  # last: never shadow LivePortrait's own `src` package

from gpu.sidecars import ProgressFn, WorkerInputError, serve  # noqa: E402

BASE_MODELS = {
    "checkpoint_F": "liveportrait/base_models/appearance_feature_extractor.pth",
    "checkpoint_M": "liveportrait/base_models/motion_extractor.pth",
    "checkpoint_G": "liveportrait/base_models/spade_generator.pth",
    "checkpoint_W": "liveportrait/base_models/warping_module.pth",
    "checkpoint_S": "liveportrait/retargeting_models/stitching_retargeting_module.pth",
}
LANDMARK_MODEL = "liveportrait/landmark.onnx"
INSIGHTFACE_ROOT = "insightface"
SOURCE_MAX_DIM = 1280
LIP_OPEN_RATIO = 0.45  # the lip-open ratio of a fully open mouth (Gradio's slider tops at 0.8)
LIP_REST_MAX = 0.03  # a portrait with parted lips is closed to this between words
CURVES = ("mouth", "blink", "pitch", "yaw", "roll")


@dataclass
class State:
    pipeline: Any
    device: str


def load(args: argparse.Namespace) -> State:
    """Build LivePortrait's pipeline with weights from `--weights`."""
    repo = Path(args.repo).resolve()
    if not (repo / "src" / "live_portrait_pipeline.py").is_file():
        raise FileNotFoundError(f"no LivePortrait checkout at {repo}")
    weights = Path(args.weights)
    missing = [name for name in BASE_MODELS.values() if not (weights / name).is_file()]
    if missing:
        raise FileNotFoundError(f"LivePortrait weights missing in {weights}: {missing}")
    sys.path.insert(0, str(repo))
    from src.config.crop_config import CropConfig
    from src.config.inference_config import InferenceConfig
    from src.live_portrait_pipeline import LivePortraitPipeline

    on_cpu = args.device == "cpu"
    device_id = int(args.device.split(":")[1]) if args.device.startswith("cuda:") else 0
    inference_cfg = InferenceConfig()
    for field, relative in BASE_MODELS.items():
        setattr(inference_cfg, field, str(weights / relative))
    inference_cfg.flag_use_half_precision = not on_cpu and args.precision != "float32"
    inference_cfg.device_id = device_id
    if hasattr(inference_cfg, "flag_force_cpu"):
        inference_cfg.flag_force_cpu = on_cpu
    crop_cfg = CropConfig()
    crop_cfg.insightface_root = str(weights / INSIGHTFACE_ROOT)
    crop_cfg.landmark_ckpt_path = str(weights / LANDMARK_MODEL)
    crop_cfg.device_id = device_id
    if hasattr(crop_cfg, "flag_force_cpu"):
        crop_cfg.flag_force_cpu = on_cpu
    pipeline = LivePortraitPipeline(inference_cfg=inference_cfg, crop_cfg=crop_cfg)
    if on_cpu or device_id != 0:
        # The pipeline builds its Cropper (face detector, landmarks) for GPU 0; its device
        # only comes from the Cropper's own keyword arguments.
        from src.utils.cropper import Cropper

        pipeline.cropper = Cropper(crop_cfg=crop_cfg, device_id=device_id, flag_force_cpu=on_cpu)
    return State(pipeline=pipeline, device=pipeline.live_portrait_wrapper.device)


def _read_portrait(path: Path) -> Any:
    """The portrait as RGB, at most SOURCE_MAX_DIM on its long side, with even sides."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise WorkerInputError(f"portrait {path} is not a readable image")
    h, w = bgr.shape[:2]
    scale = min(1.0, SOURCE_MAX_DIM / max(h, w))
    new_w, new_h = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
    if (new_w, new_h) != (w, h):
        bgr = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class _Encoder:
    """ffmpeg reading raw RGB frames on stdin, writing H.264 at the requested size."""

    def __init__(
        self,
        ffmpeg: str,
        out: Path,
        *,
        frame_size: tuple[int, int],
        size: tuple[int, int],
        fps: int,
    ) -> None:
        width, height = size
        cmd = [ffmpeg, "-nostdin", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24"]
        cmd += ["-s", f"{frame_size[0]}x{frame_size[1]}", "-r", str(fps), "-i", "-"]
        cmd += [
            "-vf",
            f"scale={width}:{height}:force_original_aspect_ratio=increase:"
            f"flags=lanczos,crop={width}:{height},setsar=1,format=yuv420p",
        ]
        cmd += ["-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
        cmd += ["-movflags", "+faststart", str(out)]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()/abort()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self._log)

    def write(self, frame: Any) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(frame.tobytes())

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        if self._proc.wait() != 0:
            self._log.seek(0)
            detail = self._log.read().decode(errors="replace").strip()
            raise RuntimeError(f"ffmpeg could not encode the frames: {detail[-500:]}")
        self._log.close()

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._log.close()


def animate(state: State, message: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Serve one `animate` request: portrait + per-frame curves -> a silent MP4 at `out`."""
    import numpy as np
    import torch
    from src.utils.camera import get_rotation_matrix
    from src.utils.crop import paste_back, prepare_paste_back
    from src.utils.retargeting_utils import calc_eye_close_ratio, calc_lip_close_ratio

    curves = {name: [float(v) for v in message.get(name) or []] for name in CURVES}
    frames = len(curves["mouth"])
    if frames == 0 or any(len(values) != frames for values in curves.values()):
        raise WorkerInputError("the driving curves must all have one value per frame")
    fps, width, height = int(message["fps"]), int(message["width"]), int(message["height"])
    out = Path(str(message["out"]))

    pipeline = state.pipeline
    wrapper = pipeline.live_portrait_wrapper
    img_rgb = _read_portrait(Path(str(message["portrait"])))
    crop_info = pipeline.cropper.crop_source_image(img_rgb, pipeline.cropper.crop_cfg)
    if crop_info is None:
        raise WorkerInputError("no face was found in the portrait; use a clear, frontal face")
    source_lmk = crop_info["lmk_crop"]
    mask = prepare_paste_back(
        wrapper.inference_cfg.mask_crop,
        crop_info["M_c2o"],
        dsize=(img_rgb.shape[1], img_rgb.shape[0]),
    )

    with torch.no_grad():
        source = wrapper.prepare_source(crop_info["img_crop_256x256"])
        x_s_info = wrapper.get_kp_info(source)
        f_s = wrapper.extract_feature_3d(source)
        x_s = wrapper.transform_keypoint(x_s_info)
        num_kp = x_s.shape[1]
        t_d = x_s_info["t"].clone()
        t_d[..., 2] = 0  # LivePortrait drops the depth shift as well

        lip_source = float(calc_lip_close_ratio(source_lmk[None])[0][0])
        eye_source = float(np.mean(calc_eye_close_ratio(source_lmk[None])))
        lip_rest = min(lip_source, LIP_REST_MAX)
        lip_open = max(LIP_OPEN_RATIO, lip_rest)
        progress(0.05)

        encoder = _Encoder(
            str(message.get("ffmpeg") or "ffmpeg"),
            out,
            frame_size=(img_rgb.shape[1], img_rgb.shape[0]),
            size=(width, height),
            fps=fps,
        )
        try:
            for i in range(frames):
                pose = {axis: x_s_info[axis] + curves[axis][i] for axis in ("pitch", "yaw", "roll")}
                rotation = get_rotation_matrix(pose["pitch"], pose["yaw"], pose["roll"])
                x_d = x_s_info["scale"] * (x_s_info["kp"] @ rotation + x_s_info["exp"]) + t_d

                mouth = min(max(curves["mouth"][i], 0.0), 1.0)
                lip_target = lip_rest + (lip_open - lip_rest) * mouth
                lip_ratio = wrapper.calc_combined_lip_ratio([[lip_target]], source_lmk)
                x_d = x_d + wrapper.retarget_lip(x_s, lip_ratio).reshape(-1, num_kp, 3)
                blink = min(max(curves["blink"][i], 0.0), 1.0)
                if blink > 0.01:
                    eye_target = eye_source * (1.0 - 0.95 * blink)
                    eye_ratio = wrapper.calc_combined_eye_ratio([[eye_target]], source_lmk)
                    x_d = x_d + wrapper.retarget_eye(x_s, eye_ratio).reshape(-1, num_kp, 3)

                x_d = wrapper.stitching(x_s, x_d)
                decoded = wrapper.warp_decode(f_s, x_s, x_d)
                crop_frame = wrapper.parse_output(decoded["out"])[0]
                frame = paste_back(crop_frame, crop_info["M_c2o"], img_rgb, mask)
                encoder.write(np.ascontiguousarray(frame, dtype=np.uint8))
                if i % max(1, frames // 20) == 0:
                    progress(0.05 + 0.9 * (i + 1) / frames)
        except BaseException:
            encoder.abort()
            raise
        encoder.close()
    progress(1.0)
    return {"video": str(out), "frames": frames}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="LivePortrait sidecar worker (JSON lines).")
    parser.add_argument("--repo", required=True, help="the LivePortrait checkout")
    parser.add_argument("--weights", required=True, help="LivePortrait's pretrained_weights")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="float16")
    args = parser.parse_args(argv)
    return serve(lambda: load(args), {"animate": animate})


if __name__ == "__main__":
    sys.exit(main())
