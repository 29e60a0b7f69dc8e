"""Props the lite scenes place on top of a landscape: solar roofs, wind turbines, birds, rain."""

from __future__ import annotations

import numpy as np

from gpu.engines.lite.paint import Canvas, mix, scale
from gpu.engines.lite.scene import Palette


def birds(c: Canvas, rng: np.random.Generator, horizon: float) -> None:
    """A small flock of V-shaped birds in the sky."""
    cx, cy = c.w * rng.uniform(0.2, 0.8), horizon * rng.uniform(0.25, 0.6)
    for _ in range(int(rng.integers(3, 7))):
        x, y = cx + c.w * rng.uniform(-0.15, 0.15), cy + horizon * rng.uniform(-0.08, 0.08)
        s = c.unit * rng.uniform(5, 9)
        ink = (0.12, 0.12, 0.16)
        c.segment(x - s, y - s * 0.45, x, y, c.unit * 1.6, ink)
        c.segment(x, y, x + s, y - s * 0.5, c.unit * 1.6, ink)


def rain(c: Canvas, rng: np.random.Generator) -> None:
    """Slanted translucent rain streaks over the whole frame."""
    c.rgb *= 0.88  # rain dims the light
    length = c.unit * 26
    for _ in range(int(180 * c.unit)):
        x, y = c.w * rng.uniform(-0.1, 1.1), c.h * rng.uniform(0, 1)
        c.segment(x, y, x - length * 0.25, y + length, c.unit * 1.2, (0.85, 0.88, 0.95), 0.35)


def turbines(c: Canvas, rng: np.random.Generator, ground: np.ndarray, pal: Palette) -> None:
    """Two to four wind turbines standing on a far ridge."""
    white = mix(scale((0.96, 0.96, 0.98), 0.4 + 0.6 * pal.light), pal.haze, 0.25)
    for x in np.sort(rng.uniform(0.1, 0.9, int(rng.integers(2, 5)))) * c.w:
        base = float(ground[min(int(x), c.w - 1)])
        tall = c.unit * rng.uniform(90, 140)
        hub = (float(x), base - tall)
        c.segment(x, base + 4, x, hub[1], c.unit * 3.2, white)
        angle = rng.uniform(0, 2 * np.pi)
        for k in range(3):
            a = angle + k * 2 * np.pi / 3
            tip = (hub[0] + np.cos(a) * tall * 0.55, hub[1] + np.sin(a) * tall * 0.55)
            c.segment(hub[0], hub[1], tip[0], tip[1], c.unit * 2.6, white)
        c.disc(hub[0], hub[1], c.unit * 3.5, white)


def solar_roof(c: Canvas, rng: np.random.Generator, pal: Palette, aerial: bool) -> None:
    """A roof plane in the foreground covered with a grid of solar panels.

    The roof is a parallelogram (origin + u along the ridge + v down the slope); each pixel's
    (u, v) is solved once and panels, frames and cell lines are drawn from it.
    """
    if aerial:
        origin, e_u, e_v = (
            (0.04 * c.w, 0.42 * c.h),
            (0.98 * c.w, 0.05 * c.h),
            (-0.1 * c.w, 0.62 * c.h),
        )
    else:
        origin, e_u, e_v = (
            (-0.08 * c.w, 0.7 * c.h),
            (1.2 * c.w, -0.06 * c.h),
            (-0.12 * c.w, 0.36 * c.h),
        )
    corners_x = [origin[0], origin[0] + e_u[0], origin[0] + e_v[0], origin[0] + e_u[0] + e_v[0]]
    corners_y = [origin[1], origin[1] + e_u[1], origin[1] + e_v[1], origin[1] + e_u[1] + e_v[1]]
    box = c.clip_box(min(corners_x), min(corners_y), max(corners_x), max(corners_y))
    if box is None:
        return
    x0, y0, x1, y1 = box
    inv = np.linalg.inv(np.array([[e_u[0], e_v[0]], [e_u[1], e_v[1]]], dtype=np.float64))
    px = c.xs[None, x0:x1] - origin[0]
    py = c.ys[y0:y1, None] - origin[1]
    u = (inv[0, 0] * px + inv[0, 1] * py).astype(np.float32)
    v = (inv[1, 0] * px + inv[1, 1] * py).astype(np.float32)
    # Edge softness in (u, v) units so the roof outline is anti-aliased at this size.
    soft_u, soft_v = 1.0 / np.hypot(*e_u), 1.0 / np.hypot(*e_v)
    inside = np.clip(np.minimum(u, 1 - u) / soft_u + 0.5, 0, 1) * np.clip(
        np.minimum(v, 1.2 - v) / soft_v + 0.5, 0, 1
    )
    roof = scale((0.36, 0.3, 0.28), 0.35 + 0.65 * pal.light)
    c.blend(inside, roof, box)
    cols, rows = int(rng.integers(5, 8)), int(rng.integers(3, 5))
    pu = (u - 0.06) / 0.88 * cols
    pv = (v - 0.08) / 0.8 * rows
    in_grid = (pu > 0) & (pu < cols) & (pv > 0) & (pv < rows)
    fu, fv = pu % 1, pv % 1
    gap_u, gap_v = 0.05, 0.06
    panel = in_grid & (fu > gap_u) & (fu < 1 - gap_u) & (fv > gap_v) & (fv < 1 - gap_v)
    # Panels reflect the sky: lighter toward the ridge, deep blue toward the viewer.
    reflect = np.clip(1 - v, 0, 1)[..., None] * 0.45
    base = np.asarray(scale((0.08, 0.16, 0.36), 0.5 + 0.5 * pal.light), np.float32)
    sky = np.asarray(pal.sky[1][1], np.float32)
    color = base * (1 - reflect) + sky * reflect
    c.blend(panel.astype(np.float32) * inside, color, box)
    # Thin cell lines inside each panel (6 x 10 cells) and a silver frame around it.
    cell = ((fu * 6 % 1) < 0.06) | ((fv * 10 % 1) < 0.08)
    c.blend((panel & cell).astype(np.float32) * 0.35 * inside, (0.7, 0.78, 0.9), box)
    frame = in_grid & ~panel
    c.blend(
        frame.astype(np.float32) * 0.8 * inside,
        scale((0.78, 0.8, 0.84), 0.4 + 0.6 * pal.light),
        box,
    )
