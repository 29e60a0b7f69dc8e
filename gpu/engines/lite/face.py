"""Where a portrait's mouth and eyes are: known geometry (PNG metadata, sidecar) or a guess."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field, ValidationError

from gpu.engines.base import EngineError

# PNG text chunk that carries the geometry inside the portrait itself, so it survives an upload.
PNG_KEY = "skyie-face"

Fraction = float


class EyeBox(BaseModel):
    """An eye: centre and size as fractions of the image width (x, width) and height (y, height)."""

    x: Fraction = Field(ge=0, le=1)
    y: Fraction = Field(ge=0, le=1)
    width: Fraction = Field(gt=0, le=1)
    height: Fraction = Field(gt=0, le=1)


class FaceGeometry(BaseModel):
    """Mouth and eye positions in a portrait, in fractions of its size; colours as 0..255 RGB."""

    mouth_x: Fraction = Field(ge=0, le=1)
    mouth_y: Fraction = Field(ge=0, le=1, description="the line where the lips meet")
    mouth_width: Fraction = Field(gt=0, le=1, description="corner to corner, fraction of width")
    eyes: list[EyeBox] = Field(default_factory=list, description="empty: do not blink")
    lid_color: tuple[int, int, int] | None = Field(default=None, description="eyelid skin colour")
    mouth_color: tuple[int, int, int] = (86, 28, 36)

    def to_png_text(self) -> str:
        return self.model_dump_json(exclude_none=True)


def embedded_geometry(image: Image.Image) -> FaceGeometry | None:
    """Geometry stored in the image's PNG text chunk, if any (bad data is an error, not ignored)."""
    raw = image.info.get(PNG_KEY)
    if not raw:
        return None
    try:
        return FaceGeometry.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise EngineError(f"portrait has unreadable '{PNG_KEY}' face geometry: {exc}") from exc


def estimate_geometry(image: Image.Image) -> FaceGeometry:
    """A guess for a portrait without geometry: the skin-coloured region near the centre is the
    face; without one, a centred head-and-shoulders framing is assumed. Eyes are not guessed
    (a misplaced blink looks worse than none)."""
    small = image.convert("YCbCr").resize((96, round(96 * image.height / image.width)))
    ycc = np.asarray(small, dtype=np.float32)
    # The classic Cb/Cr skin box; wide enough for most skin tones and for illustrations.
    skin = (ycc[..., 1] > 77) & (ycc[..., 1] < 130) & (ycc[..., 2] > 133) & (ycc[..., 2] < 180)
    skin &= ycc[..., 0] > 40
    h, w = skin.shape
    cols = skin[:, w // 4 : 3 * w // 4].mean(axis=1)
    rows = np.flatnonzero(cols > 0.25)
    if rows.size > h * 0.05:
        top = rows[0]
        # The face's bottom is where the skin band narrows into the neck or ends.
        run_end = top
        while run_end + 1 < h and cols[run_end + 1] > 0.25:
            run_end += 1
        face_h = min(run_end - top + 1, int(w * 0.9))
        band = skin[top : top + face_h]
        xs = np.flatnonzero(band.mean(axis=0) > 0.3)
        if xs.size > 0 and face_h > 4:
            cx = (xs[0] + xs[-1] + 1) / 2 / w
            face_w = (xs[-1] - xs[0] + 1) / w
            mouth_y = (top + face_h * 0.78) / h
            return FaceGeometry(
                mouth_x=cx,
                mouth_y=min(mouth_y, 0.95),
                mouth_width=min(max(face_w * 0.32, 0.05), 0.4),
            )
    return FaceGeometry(mouth_x=0.5, mouth_y=0.5, mouth_width=0.11)
