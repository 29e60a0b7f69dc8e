"""FLUX.1-schnell key frames over the Hugging Face Inference API (`image`).

The model runs on Hugging Face's servers, so nothing is loaded here and no VRAM is used: the
engine POSTs the prompt to `{hf_base_url}/black-forest-labs/FLUX.1-schnell` and receives the
image bytes. The API's own failure modes are handled: 503 while the model loads (wait its
`estimated_time`, capped, and retry), 429 and other 5xx (bounded retries with backoff,
honouring Retry-After), a rejected token (401/403) or request (other 4xx) as a clear error.

FLUX works in 16-pixel blocks and about two megapixels: the request's size is rounded up to a
multiple of 16 (and scaled down when larger than that) for the API, and the image that comes
back is cropped to the requested aspect ratio and resized to exactly width x height.
"""

from __future__ import annotations

import email.utils
import io
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel

from gpu.engines.base import EngineConfig, EngineError, EngineOutput, ProgressFn
from gpu.engines.media import cover_box
from gpu.engines.registry import Slot
from gpu.schemas import ImageRequest, InferKind

log = logging.getLogger("skyie.gpu.flux")

ENGINE = "flux.1-schnell"
MODEL_ID = "black-forest-labs/FLUX.1-schnell"
STEPS = 4  # schnell is distilled for 1-4 steps
BLOCK = 16
MAX_PIXELS = 1440 * 1440  # about what FLUX was trained up to; larger requests are upscaled here
MAX_LOADING_WAIT_S = 60.0  # cap on one wait for a loading model
MAX_LOADING_WAITS = 6
MAX_RETRIES = 4  # for 429, 5xx and network errors
BACKOFF_S = 2.0
MAX_RETRY_AFTER_S = 60.0


def slots(
    config: EngineConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[InferKind, Slot]:
    """The `image` slot, or why FLUX is unavailable (no Hugging Face token)."""
    if not config.hf_token:
        return {
            InferKind.image: Slot(
                None, "FLUX.1-schnell over the Hugging Face Inference API: set SKYIE_HF_TOKEN"
            )
        }
    engine = FluxEngine(config, transport=transport, sleep=sleep)
    return {
        InferKind.image: Slot(
            engine, "FLUX.1-schnell key frames over the Hugging Face Inference API"
        )
    }


def api_size(width: int, height: int) -> tuple[int, int]:
    """The size to ask FLUX for: within MAX_PIXELS, sides rounded up to multiples of 16."""
    scale = min(1.0, math.sqrt(MAX_PIXELS / (width * height)))
    return (
        max(BLOCK, math.ceil(width * scale / BLOCK) * BLOCK),
        max(BLOCK, math.ceil(height * scale / BLOCK) * BLOCK),
    )


def api_message(response: httpx.Response) -> str:
    """The API's own words for a failure: the JSON `error`, else the text of an HTML page."""
    body = response.content[:20_000].decode("utf-8", errors="replace")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        error = data["error"]
        return "; ".join(map(str, error)) if isinstance(error, list) else str(error)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S | re.I)
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text[:300] or response.reason_phrase or "no details"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other form Retry-After may take: an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _loading_time(response: httpx.Response) -> float | None:
    """`estimated_time` from a 503 "model is loading" answer, None for other 503s."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    estimated = data.get("estimated_time")
    if isinstance(estimated, int | float):
        return float(estimated)
    return 20.0 if "loading" in str(data.get("error", "")).lower() else None


class FluxEngine:
    """The `image` engine. `transport` replaces the network (tests pass httpx.MockTransport);
    `sleep` replaces the waits between attempts."""

    def __init__(
        self,
        config: EngineConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 180.0,
    ) -> None:
        if not config.hf_token:
            raise ValueError("FLUX over the Hugging Face Inference API needs a token")
        self.url = f"{config.hf_base_url.rstrip('/')}/{MODEL_ID}"
        self.token = config.hf_token
        self.transport = transport
        self.sleep = sleep
        self.timeout = httpx.Timeout(timeout_s, connect=20.0)

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput:
        assert isinstance(request, ImageRequest)
        width, height = api_size(request.width, request.height)
        body: dict[str, object] = {
            "inputs": request.prompt,
            "parameters": {
                "width": width,
                "height": height,
                "num_inference_steps": STEPS,
                "seed": request.seed,
            },
        }
        progress(0.05)
        content = self._generate(body)
        progress(0.9)
        try:
            with Image.open(io.BytesIO(content)) as img:
                img.load()
                picture = img.convert("RGB")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise EngineError(
                "FLUX.1-schnell (Hugging Face Inference API) returned data that is not "
                f"an image: {exc}"
            ) from exc
        if picture.size != (request.width, request.height):
            box = cover_box(picture.width, picture.height, request.width, request.height)
            picture = picture.resize(
                (request.width, request.height), Image.Resampling.LANCZOS, box=box
            )
        path = out_dir / "keyframe.png"
        picture.save(path, format="PNG")
        progress(1.0)
        return EngineOutput(
            files={"image": path}, engine=ENGINE, width=request.width, height=request.height
        )

    def _generate(self, body: dict[str, object]) -> bytes:
        """POST until the API answers with an image, a permanent error or retries run out."""
        headers = {"Authorization": f"Bearer {self.token}"}
        loading_waits = retries = 0
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            while True:
                try:
                    response = client.post(self.url, json=body, headers=headers)
                except httpx.TransportError as exc:
                    retries += 1
                    if retries > MAX_RETRIES:
                        raise EngineError(
                            f"could not reach the Hugging Face Inference API: {exc}"
                        ) from exc
                    self._wait(BACKOFF_S * 2 ** (retries - 1), f"network error: {exc}")
                    continue
                status = response.status_code
                if status == 200:
                    return self._image_bytes(response)
                message = api_message(response)
                if status == 503:
                    loading = _loading_time(response)
                    if loading is not None:
                        loading_waits += 1
                        if loading_waits > MAX_LOADING_WAITS:
                            raise EngineError(
                                "FLUX.1-schnell is still loading on the Hugging Face "
                                f"Inference API; try again later ({message})"
                            )
                        self._wait(min(max(loading, 1.0), MAX_LOADING_WAIT_S), message)
                        continue
                if status in (401, 403):
                    raise EngineError(
                        f"the Hugging Face Inference API rejected the token (HTTP {status}): "
                        f"{message}; check SKYIE_HF_TOKEN"
                    )
                if status == 429 or status >= 500:
                    retries += 1
                    if retries > MAX_RETRIES:
                        what = "rate limited" if status == 429 else "failing"
                        raise EngineError(
                            f"the Hugging Face Inference API kept {what} "
                            f"(HTTP {status}) after {MAX_RETRIES} retries: {message}"
                        )
                    backoff = BACKOFF_S * 2 ** (retries - 1)
                    hinted = _retry_after(response)
                    delay = min(hinted, MAX_RETRY_AFTER_S) if hinted is not None else backoff
                    self._wait(delay, f"HTTP {status}: {message}")
                    continue
                raise EngineError(
                    f"FLUX.1-schnell (Hugging Face Inference API) rejected the request "
                    f"(HTTP {status}): {message}"
                )

    @staticmethod
    def _image_bytes(response: httpx.Response) -> bytes:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith("image/"):
            raise EngineError(
                "FLUX.1-schnell (Hugging Face Inference API) answered with "
                f"{content_type} instead of an image: {api_message(response)}"
            )
        if not response.content:
            raise EngineError("FLUX.1-schnell (Hugging Face Inference API) returned no image")
        return response.content

    def _wait(self, seconds: float, reason: str) -> None:
        log.info("gpu.flux_retry wait_s=%.1f reason=%s", seconds, reason[:200])
        self.sleep(seconds)
