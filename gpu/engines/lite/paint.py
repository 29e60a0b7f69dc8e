"""Anti-aliased numpy painting primitives for the lite illustrated scenes (float RGB canvas)."""

from __future__ import annotations

import numpy as np

RGB = tuple[float, float, float]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours, t=0 gives a."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def scale(c: RGB, k: float) -> RGB:
    return (c[0] * k, c[1] * k, c[2] * k)


def smooth_noise(
    rng: np.random.Generator, n: int, octaves: int = 5, base: float = 1.5
) -> np.ndarray:
    """A smooth 1-D curve in about [-1, 1] over n samples: a few sines at random phases."""
    x = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out = np.zeros(n, dtype=np.float32)
    total = 0.0
    for k in range(octaves):
        freq = base * (2.0**k) * rng.uniform(0.8, 1.25)
        amp = 0.5**k
        out += amp * np.sin(2 * np.pi * freq * x + rng.uniform(0, 2 * np.pi)).astype(np.float32)
        total += amp
    return out / total


class Canvas:
    """An RGB float canvas (values 0..1) with coordinates in pixels, origin top-left."""

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.rgb = np.zeros((height, width, 3), dtype=np.float32)
        self.xs = np.arange(width, dtype=np.float32) + 0.5
        self.ys = np.arange(height, dtype=np.float32) + 0.5
        self.unit = (width * height) ** 0.5 / 960.0  # size unit: 1.0 on a 720x1280 frame

    def vertical_gradient(
        self, stops: list[tuple[float, RGB]], top: int = 0, bottom: int | None = None
    ) -> None:
        """Fill rows [top, bottom) with colour stops at fractions of that span."""
        bottom = self.h if bottom is None else bottom
        if bottom <= top:
            return
        t = (self.ys[top:bottom] - top) / max(bottom - top, 1)
        pos = [p for p, _ in stops]
        for ch in range(3):
            column = np.interp(t, pos, [c[ch] for _, c in stops]).astype(np.float32)
            self.rgb[top:bottom, :, ch] = column[:, None]

    def blend(
        self,
        alpha: np.ndarray,
        color: RGB | np.ndarray,
        box: tuple[int, int, int, int] | None = None,
    ) -> None:
        """Paint `color` through `alpha` (0..1) over the whole canvas or a (x0, y0, x1, y1) box."""
        x0, y0, x1, y1 = box if box is not None else (0, 0, self.w, self.h)
        region = self.rgb[y0:y1, x0:x1]
        a = alpha[..., None] if alpha.ndim == 2 else alpha
        col = np.asarray(color, dtype=np.float32)
        region += (col - region) * a

    def clip_box(
        self, x0: float, y0: float, x1: float, y1: float
    ) -> tuple[int, int, int, int] | None:
        box = (
            max(int(x0), 0),
            max(int(y0), 0),
            min(int(np.ceil(x1)), self.w),
            min(int(np.ceil(y1)), self.h),
        )
        return box if box[2] > box[0] and box[3] > box[1] else None

    def disc(
        self,
        cx: float,
        cy: float,
        r: float,
        color: RGB,
        glow: float = 0.0,
        glow_color: RGB | None = None,
    ) -> None:
        """A filled circle with an optional soft glow of radius `glow` around it."""
        reach = r + glow * 3
        box = self.clip_box(cx - reach, cy - reach, cx + reach, cy + reach)
        if box is None:
            return
        x0, y0, x1, y1 = box
        d = np.hypot(self.xs[None, x0:x1] - cx, self.ys[y0:y1, None] - cy)
        if glow > 0:
            halo = np.exp(-np.maximum(d - r, 0) / glow) * 0.55
            self.blend(halo, glow_color or color, box)
        self.blend(np.clip(r - d + 0.5, 0, 1), color, box)

    def ridge(
        self,
        heights: np.ndarray,
        top_color: RGB,
        bottom_color: RGB | None = None,
        depth: float = 1.0,
    ) -> None:
        """Fill below the skyline heights[x], shaded toward bottom_color over `depth` px."""
        top = int(max(np.floor(heights.min()), 0))
        if top >= self.h:
            return
        ys = self.ys[top:, None]
        alpha = np.clip(ys - heights[None, :] + 0.5, 0, 1)
        if bottom_color is None:
            self.blend(alpha, top_color, (0, top, self.w, self.h))
            return
        t = np.clip((ys - heights[None, :]) / max(depth, 1.0), 0, 1)[..., None]
        col = np.asarray(top_color, np.float32) * (1 - t) + np.asarray(bottom_color, np.float32) * t
        self.blend(alpha, col, (0, top, self.w, self.h))

    def ellipse_blob(
        self, cx: float, cy: float, rx: float, ry: float
    ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """Soft gaussian-edged ellipse alpha and its box (for clouds and light)."""
        box = self.clip_box(cx - 2 * rx, cy - 2 * ry, cx + 2 * rx, cy + 2 * ry)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        dx = (self.xs[None, x0:x1] - cx) / rx
        dy = (self.ys[y0:y1, None] - cy) / ry
        return np.exp(-(dx**2 + dy**2) * 1.6), box

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: RGB | np.ndarray) -> None:
        """An axis-aligned rectangle with anti-aliased edges."""
        box = self.clip_box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)
        if box is None:
            return
        bx0, by0, bx1, by1 = box
        ax = np.clip(np.minimum(self.xs[bx0:bx1] - x0, x1 - self.xs[bx0:bx1]) + 0.5, 0, 1)
        ay = np.clip(np.minimum(self.ys[by0:by1] - y0, y1 - self.ys[by0:by1]) + 0.5, 0, 1)
        self.blend(ay[:, None] * ax[None, :], color, box)

    def rounded_rect(
        self, x0: float, y0: float, x1: float, y1: float, radius: float, color: RGB
    ) -> None:
        box = self.clip_box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)
        if box is None:
            return
        bx0, by0, bx1, by1 = box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hx, hy = (x1 - x0) / 2 - radius, (y1 - y0) / 2 - radius
        qx = np.maximum(np.abs(self.xs[None, bx0:bx1] - cx) - hx, 0)
        qy = np.maximum(np.abs(self.ys[by0:by1, None] - cy) - hy, 0)
        self.blend(np.clip(radius - np.hypot(qx, qy) + 0.5, 0, 1), color, box)

    def triangle_row(
        self,
        base_y: np.ndarray,
        centers: np.ndarray,
        heights: np.ndarray,
        half_widths: np.ndarray,
        color: RGB,
        fill_below: bool = True,
    ) -> None:
        """Conifer silhouettes standing on base_y[x], drawn as one skyline for speed.

        With fill_below the ground under the row takes the trees' colour (a dense forest);
        without it only the triangles are painted.
        """
        edge = base_y.astype(np.float32).copy()
        for cx, th, hw in zip(centers, heights, half_widths, strict=True):
            lo, hi = max(int(cx - hw), 0), min(int(cx + hw) + 1, self.w)
            if hi <= lo:
                continue
            xs = self.xs[lo:hi]
            tip = base_y[min(max(int(cx), 0), self.w - 1)] - th
            edge[lo:hi] = np.minimum(edge[lo:hi], tip + np.abs(xs - cx) * (th / hw))
        if fill_below:
            self.ridge(edge, color)
            return
        top, bottom = int(max(edge.min(), 0)), int(min(np.ceil(base_y.max()) + 1, self.h))
        if bottom <= top:
            return
        ys = self.ys[top:bottom, None]
        alpha = np.clip(ys - edge[None, :] + 0.5, 0, 1) * np.clip(base_y[None, :] - ys + 0.5, 0, 1)
        self.blend(alpha, color, (0, top, self.w, bottom))

    def segment(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        width: float,
        color: RGB,
        alpha: float = 1.0,
    ) -> None:
        """A line with round caps (a capsule) of the given width."""
        pad = width + 1
        box = self.clip_box(
            min(x0, x1) - pad, min(y0, y1) - pad, max(x0, x1) + pad, max(y0, y1) + pad
        )
        if box is None:
            return
        bx0, by0, bx1, by1 = box
        px = self.xs[None, bx0:bx1] - x0
        py = self.ys[by0:by1, None] - y0
        dx, dy = x1 - x0, y1 - y0
        t = np.clip((px * dx + py * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
        d = np.hypot(px - t * dx, py - t * dy)
        self.blend(np.clip(width / 2 - d + 0.5, 0, 1) * alpha, color, box)

    def vignette(self, strength: float) -> None:
        nx = (self.xs / self.w - 0.5) * 2
        ny = (self.ys / self.h - 0.5) * 2
        r2 = nx[None, :] ** 2 * 0.6 + ny[:, None] ** 2 * 0.8
        self.rgb *= (1 - strength * np.clip(r2 - 0.25, 0, None))[..., None]

    def to_uint8(self) -> np.ndarray:
        return (np.clip(self.rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
