"""FLUX.1-schnell over the Hugging Face Inference API, against httpx.MockTransport answering
with the API's real request and response shapes (image bytes; JSON errors; HTML pages)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from gpu.engines.base import EngineConfig, EngineError
from gpu.engines.cache import ModelCache
from gpu.engines.flux import MAX_PIXELS, MAX_RETRIES, FluxEngine, api_size, slots
from gpu.schemas import ImageRequest, InferKind

BASE = "https://hf.test/hf-inference/models"
URL = f"{BASE}/black-forest-labs/FLUX.1-schnell"
TOKEN = "hf_testtoken"

Handler = Callable[[httpx.Request], httpx.Response]


def image_bytes(size: tuple[int, int], fmt: str = "JPEG") -> bytes:
    """A left-red / right-blue picture, so cropping and orientation can be checked."""
    img = Image.new("RGB", size, (220, 30, 30))
    img.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def config(tmp_path: Path, token: str | None = TOKEN) -> EngineConfig:
    return EngineConfig(
        models_dir=tmp_path / "models",
        cache=ModelCache(8),
        device="cpu",
        dtype="float32",
        hf_token=token,
        hf_base_url=BASE,
    )


class Api:
    """Scripted answers in order, with every request the engine sent kept for assertions."""

    def __init__(self, *answers: Handler | httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer


def run(
    tmp_path: Path, api: Api, request: ImageRequest
) -> tuple[Path, list[float], list[float], FluxEngine]:
    sleeps: list[float] = []
    progress: list[float] = []
    engine = FluxEngine(config(tmp_path), transport=httpx.MockTransport(api), sleep=sleeps.append)
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    result = engine(request, {}, out_dir, progress.append)
    assert result.engine == "flux.1-schnell"
    assert (result.width, result.height) == (request.width, request.height)
    return result.files["image"], sleeps, progress, engine


def ok(size: tuple[int, int], fmt: str = "JPEG") -> httpx.Response:
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return httpx.Response(200, content=image_bytes(size, fmt), headers={"content-type": mime})


def error(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_request_shape_and_exact_output_size(tmp_path: Path) -> None:
    api = Api(ok((208, 304)))
    request = ImageRequest(prompt="a lighthouse at dawn, film still", width=200, height=300, seed=7)
    path, sleeps, progress, _ = run(tmp_path, api, request)

    sent = api.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == URL
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {
        "inputs": "a lighthouse at dawn, film still",
        "parameters": {"width": 208, "height": 304, "num_inference_steps": 4, "seed": 7},
    }
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size == (200, 300)
        rgb = img.convert("RGB")
        assert rgb.getpixel((10, 150))[0] > 150  # left stays red
        assert rgb.getpixel((190, 150))[2] > 150  # right stays blue
    assert sleeps == []
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_other_aspect_ratio_is_cropped_to_fill(tmp_path: Path) -> None:
    api = Api(ok((512, 512), "PNG"))
    path, *_ = run(tmp_path, api, ImageRequest(prompt="x", width=128, height=256))
    with Image.open(path) as img:
        assert img.size == (128, 256)
        rgb = img.convert("RGB")
        # A centred crop of a half-red half-blue square keeps both halves.
        assert rgb.getpixel((5, 128))[0] > 150 and rgb.getpixel((122, 128))[2] > 150


def test_api_size_rounds_up_to_16_within_the_pixel_budget() -> None:
    assert api_size(720, 1280) == (720, 1280)
    assert api_size(200, 300) == (208, 304)
    w, h = api_size(3840, 2160)
    assert w % 16 == 0 and h % 16 == 0
    assert w * h <= MAX_PIXELS * 1.03 and abs(w / h - 16 / 9) < 0.02


def test_waits_while_the_model_loads(tmp_path: Path) -> None:
    loading = {"error": "Model black-forest-labs/FLUX.1-schnell is currently loading"}
    api = Api(
        error(503, {**loading, "estimated_time": 12.5}),
        error(503, {**loading, "estimated_time": 900.0}),
        ok((64, 64)),
    )
    _, sleeps, _, _ = run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert sleeps == [12.5, 60.0]  # the second wait is capped
    assert len(api.requests) == 3


def test_rate_limits_honour_retry_after_then_back_off(tmp_path: Path) -> None:
    limited = {"error": "Rate limit reached. You reached free usage limit (reset hourly)."}
    api = Api(error(429, limited, {"retry-after": "3"}), error(429, limited), ok((64, 64)))
    _, sleeps, _, _ = run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert sleeps == [3.0, 4.0]


def test_gives_up_after_bounded_retries(tmp_path: Path) -> None:
    limited = {"error": "Rate limit reached. You reached free usage limit (reset hourly)."}
    api = Api(error(429, limited))
    with pytest.raises(EngineError, match=r"rate limited \(HTTP 429\).*free usage limit"):
        run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert len(api.requests) == MAX_RETRIES + 1


def test_server_errors_and_network_errors_are_retried(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api = Api(refuse, error(500, {"error": "Internal Server Error"}), ok((64, 64)))
    _, sleeps, _, _ = run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert sleeps == [2.0, 4.0]


def test_html_gateway_page_reports_its_text(tmp_path: Path) -> None:
    page = (
        "<html><head><title>502</title><style>b{}</style></head>"
        "<body><h1>502 Bad Gateway</h1></body></html>"
    )
    api = Api(httpx.Response(502, text=page, headers={"content-type": "text/html"}))
    with pytest.raises(EngineError, match=r"HTTP 502.*502 Bad Gateway") as caught:
        run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert "<h1>" not in str(caught.value) and "b{}" not in str(caught.value)


def test_bad_token_fails_at_once_with_the_api_message(tmp_path: Path) -> None:
    api = Api(error(401, {"error": "Invalid credentials in Authorization header"}))
    with pytest.raises(EngineError, match=r"HTTP 401.*Invalid credentials.*SKYIE_HF_TOKEN"):
        run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert len(api.requests) == 1


def test_rejected_request_reports_validation_errors(tmp_path: Path) -> None:
    api = Api(error(422, {"error": ["Input validation error: `inputs` must be non-empty"]}))
    with pytest.raises(EngineError, match=r"rejected the request \(HTTP 422\).*non-empty"):
        run(tmp_path, api, ImageRequest(prompt="x", width=64, height=64))
    assert len(api.requests) == 1


def test_a_success_without_an_image_is_an_error(tmp_path: Path) -> None:
    html = httpx.Response(200, text="<html>Sign in</html>", headers={"content-type": "text/html"})
    with pytest.raises(EngineError, match=r"text/html instead of an image.*Sign in"):
        run(tmp_path, Api(html), ImageRequest(prompt="x", width=64, height=64))
    garbage = httpx.Response(200, content=b"\x00not a png", headers={"content-type": "image/png"})
    with pytest.raises(EngineError, match="not an image"):
        run(tmp_path, Api(garbage), ImageRequest(prompt="x", width=64, height=64))


def test_slots(tmp_path: Path) -> None:
    missing = slots(config(tmp_path, token=None))[InferKind.image]
    assert missing.engine is None and "SKYIE_HF_TOKEN" in missing.note
    present = slots(config(tmp_path))[InferKind.image]
    assert isinstance(present.engine, FluxEngine)
    assert present.engine.url == URL
