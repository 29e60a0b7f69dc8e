"""Per-frame face animation for the lite avatar: mouth openness from audio, jaw drop, blinks."""

from __future__ import annotations

import numpy as np


def mouth_openness(samples: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    """How open the mouth is (0..1) at each video frame, from the speech loudness around it.

    Loudness is measured in dB relative to the clip's own loud parts, so quiet and loud
    recordings animate alike; a fast attack and slower release keep the motion from flickering.
    """
    x = samples.astype(np.float64)
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    half = int(rate * 0.025)
    centres = ((np.arange(frames) + 0.5) * rate / fps).astype(int)
    lo = np.clip(centres - half, 0, x.size)
    hi = np.clip(centres + half, 0, x.size)
    rms = np.sqrt((energy[hi] - energy[lo]) / np.maximum(hi - lo, 1))
    db = 20 * np.log10(rms + 1e-9)
    audible = rms > 1e-3  # below about -60 dBFS the mouth stays shut
    if not audible.any():
        return np.zeros(frames, dtype=np.float32)
    loud = float(np.percentile(db[audible], 90))
    quiet = max(float(np.percentile(db, 10)), loud - 40.0)
    span = max(loud - quiet, 6.0)
    level = np.clip((db - (quiet + 0.3 * span)) / (0.6 * span), 0.0, 1.0) * audible
    out = np.zeros(frames, dtype=np.float32)
    current = 0.0
    for n, target in enumerate(level):
        current += (0.7 if target > current else 0.45) * (target - current)
        out[n] = current
    return out


class MouthRig:
    """Opens the mouth in a fixed region of a portrait; what does not change per frame is
    computed once here.

    Rows below the lip line are pulled down (a smooth displacement that fades out toward the
    chin and the cheeks), then the dark opening with a hint of teeth fills the gap.
    """

    def __init__(
        self, roi: np.ndarray, mx: float, my: float, width: float, interior: np.ndarray
    ) -> None:
        self.roi = roi.astype(np.float32)
        self.mx, self.my, self.width = mx, my, width
        self.interior = interior.astype(np.float32)
        h, w = roi.shape[:2]
        self.top = min(max(int(my) - 1, 0), h - 1)  # rows above the lip line never move
        ys = np.arange(self.top, h, dtype=np.float32)[:, None] + 0.5
        xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
        across = np.cos(np.clip((xs - mx) / (1.1 * width), -1, 1) * np.pi / 2) ** 2
        below = np.clip((ys - my) / max(h - my, 1.0), 0, 1)
        fade = np.where(ys >= my, 1 - below * below * (3 - 2 * below), 0.0)
        self.weight = (across * fade).astype(np.float32)
        self.rows = ys - 0.5
        self.cols = np.broadcast_to(np.arange(w)[None, :], self.weight.shape)

    def frame(self, openness: float) -> np.ndarray:
        """The region with the jaw dropped by `openness` (0..1) and the opening painted in."""
        h = self.roi.shape[0]
        drop = openness * 0.3 * self.width
        src = np.clip(self.rows - drop * self.weight, 0, h - 1)
        y0 = src.astype(np.int32)
        y1 = np.minimum(y0 + 1, h - 1)
        t = (src - y0)[..., None]
        out = self.roi.copy()
        out[self.top :] = self.roi[y0, self.cols] * (1 - t) + self.roi[y1, self.cols] * t
        self._paint_opening(out, drop, openness)
        return out

    def _paint_opening(self, out: np.ndarray, drop: float, openness: float) -> None:
        """An ellipse from the upper lip's edge down to the lowered lower lip."""
        a, b = 0.42 * self.width * (1 - 0.12 * openness), max(drop / 2, 0.5)
        cx, cy = self.mx, self.my + drop / 2
        x0, x1 = max(int(cx - a) - 1, 0), min(int(cx + a) + 2, out.shape[1])
        y0, y1 = max(int(cy - b) - 1, 0), min(int(cy + b) + 2, out.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
        d = np.sqrt(((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2)
        inside = np.clip((1 - d) * min(a, b) + 0.5, 0, 1)[..., None]
        color = np.broadcast_to(self.interior, (*inside.shape[:2], 3)).copy()
        if drop > 3:  # big enough to show the upper teeth and the tongue
            sides = np.clip((a * 0.8 - np.abs(xs - cx)) / 2, 0, 1)
            teeth = np.clip((cy - b * 0.3 - ys) / 1.5, 0, 1) * sides
            color += (np.array([0.94, 0.92, 0.88], np.float32) - color) * teeth[..., None]
            tongue_d = ((xs - cx) / (a * 0.6)) ** 2 + ((ys - (cy + b * 0.85)) / (b * 0.6)) ** 2
            tongue = np.clip((1 - tongue_d) * 3, 0, 1) * 0.85
            color += (np.array([0.74, 0.36, 0.38], np.float32) - color) * tongue[..., None]
        region = out[y0:y1, x0:x1]
        region += (color - region) * inside


def blink_schedule(frames: int, fps: int, seed: int) -> np.ndarray:
    """Lid closure (0..1) per frame: a blink every 2.5-5.5 s, about 0.2 s long."""
    rng = np.random.default_rng(seed + 7919)
    closure = np.zeros(frames, dtype=np.float32)
    t = rng.uniform(0.8, 2.5)
    duration = frames / fps
    shape_t = np.array([0.0, 0.07, 0.11, 0.22])  # closing, closed, reopening (seconds)
    shape_v = np.array([0.0, 1.0, 1.0, 0.0])
    while t < duration:
        start, end = int(t * fps), int((t + shape_t[-1]) * fps) + 1
        for n in range(start, min(end, frames)):
            closure[n] = max(closure[n], float(np.interp(n / fps - t, shape_t, shape_v)))
        t += rng.uniform(2.5, 5.5)
    return closure


def blink_eye(
    roi: np.ndarray, ex: float, ey: float, ew: float, eh: float, closure: float, lid: np.ndarray
) -> np.ndarray:
    """The eye region with the upper lid lowered by `closure` (1 = shut), lashes at its edge."""
    h, w = roi.shape[:2]
    ys = np.arange(h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
    a, b = ew * 0.56, eh * 0.75
    across = np.sqrt(np.clip(1 - ((xs - ex) / a) ** 2, 0, 1))
    top, bottom = ey - b * across, ey + b * across * 0.8
    edge = top + (bottom - top) * closure
    inside = (np.abs(xs - ex) < a).astype(np.float32)
    cover = np.clip(edge - ys + 0.5, 0, 1) * np.clip(ys - (top - eh * 0.35), 0, 1) * inside
    out = roi + (lid - roi) * cover[..., None]
    lash = (
        np.clip(1.2 - np.abs(ys - edge) / max(eh * 0.06, 0.8), 0, 1)
        * inside
        * across
        * min(closure * 1.5, 1)
    )
    return out + (np.array([0.16, 0.1, 0.1], np.float32) - out) * lash[..., None]
