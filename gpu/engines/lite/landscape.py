"""Outdoor scenes for the lite image engine: sky, sun or moon, land by setting, props."""

from __future__ import annotations

import numpy as np

from gpu.engines.lite.paint import RGB, Canvas, mix, scale, smooth_noise
from gpu.engines.lite.props import birds, rain, solar_roof, turbines
from gpu.engines.lite.scene import Palette, ScenePlan

_NIGHT_LAND: RGB = (0.05, 0.07, 0.14)
_GREENS: list[RGB] = [(0.42, 0.62, 0.36), (0.34, 0.56, 0.3), (0.27, 0.5, 0.26), (0.2, 0.42, 0.22)]


def land(color: RGB, pal: Palette, depth: float) -> RGB:
    """A land colour lit for the time of day and faded into haze with distance (depth 0..1)."""
    lit = scale(color, 0.35 + 0.65 * pal.light)
    if pal.light < 0.5:
        lit = mix(lit, _NIGHT_LAND, 0.55)
    return mix(lit, pal.haze, 0.7 * depth)


def render_outdoor(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float | None = None
) -> None:
    """Paint a complete outdoor scene for the plan onto the canvas."""
    pal = plan.palette
    aerial = "aerial" in plan.features
    if horizon is None:
        horizon = c.h * (0.34 if aerial else float(rng.uniform(0.55, 0.62)))
    c.vertical_gradient(pal.sky, 0, int(horizon) + 2)
    c.rgb[int(horizon) + 2 :] = pal.haze
    sun_x = c.w * float(rng.uniform(0.22, 0.78))
    sun_y = _sun_height(plan.time, horizon, c.h)
    if plan.time == "night":
        _stars(c, rng, horizon)
    else:
        glow = c.ellipse_blob(sun_x, horizon, c.w * 0.9, c.h * 0.12)
        if glow is not None:
            c.blend(glow[0] * 0.45, pal.glow, glow[1])
    radius = c.w * (0.085 if plan.time in ("sunset", "sunrise") else 0.06)
    c.disc(sun_x, sun_y, radius, pal.sun, glow=radius * 0.9, glow_color=pal.glow)
    if plan.time == "night":  # the moon's crescent: cover part of the disc with sky
        shadow = mix(pal.sky[0][1], pal.sky[1][1], 0.4)
        c.disc(sun_x + radius * 0.45, sun_y - radius * 0.2, radius * 0.92, shadow)
    _clouds(c, rng, pal, horizon, many="clouds" in plan.features or "rain" in plan.features)
    if "birds" in plan.features or (plan.time != "night" and rng.random() < 0.35):
        birds(c, rng, horizon)
    painters = {
        "field": _field, "forest": _forest, "mountains": _mountains, "ocean": _ocean,
        "city": _city, "desert": _desert, "snow": _snow,
    }  # fmt: skip
    painters.get(plan.setting, _field)(c, plan, rng, horizon, sun_x)
    if "solar" in plan.features:
        solar_roof(c, rng, pal, aerial=aerial)
    if "rain" in plan.features:
        rain(c, rng)
    # Warm light spilling from the sun over the whole frame ties the layers together.
    wash = c.ellipse_blob(sun_x, sun_y, c.w * 1.2, c.h * 0.6)
    if wash is not None and plan.time != "night":
        c.blend(wash[0] * 0.12, pal.glow, wash[1])


def _sun_height(time: str, horizon: float, height: int) -> float:
    if time in ("sunrise", "sunset"):
        return horizon - height * 0.045
    return height * 0.16 if time == "day" else height * 0.15


def _stars(c: Canvas, rng: np.random.Generator, horizon: float) -> None:
    count = int(260 * c.unit**2)
    ys = rng.uniform(0, horizon * 0.9, count).astype(int)
    xs = rng.integers(0, c.w, count)
    brightness = rng.uniform(0.3, 1.0, count)[:, None] * (1 - ys / max(horizon, 1))[:, None]
    c.rgb[ys, xs] = np.maximum(c.rgb[ys, xs], brightness * np.array([0.95, 0.95, 1.0]))


def _clouds(c: Canvas, rng: np.random.Generator, pal: Palette, horizon: float, many: bool) -> None:
    count = int(rng.integers(5, 9) if many else rng.integers(1, 4))
    for _ in range(count):
        cx, cy = c.w * rng.uniform(-0.1, 1.1), horizon * rng.uniform(0.12, 0.75)
        size = c.w * rng.uniform(0.08, 0.16) * (0.6 + 0.4 * cy / horizon)
        for _ in range(int(rng.integers(4, 7))):
            blob = c.ellipse_blob(
                cx + size * rng.uniform(-1.4, 1.4),
                cy + size * rng.uniform(-0.25, 0.2),
                size * rng.uniform(0.5, 0.9),
                size * rng.uniform(0.28, 0.45),
            )
            if blob is not None:
                c.blend(np.minimum(blob[0] * 1.6, 1) * 0.75, pal.cloud, blob[1])


def _hills(
    c: Canvas,
    rng: np.random.Generator,
    horizon: float,
    colors: list[RGB],
    pal: Palette,
    amp: float = 0.1,
) -> list[np.ndarray]:
    """Rolling hill layers from far to near; returns each layer's edge for placing props."""
    space = c.h - horizon
    offsets = [0.0, 0.16, 0.36, 0.62][: len(colors)]
    edges = []
    for i, (offset, color) in enumerate(zip(offsets, colors, strict=False)):
        depth = 1 - i / max(len(colors) - 1, 1)
        edge = (
            horizon
            + space * offset
            - space * amp * (1 + i * 0.3) * (smooth_noise(rng, c.w, 3, 1.0) + 1)
        )
        top = land(color, pal, depth)
        c.ridge(edge, top, scale(top, 0.82), depth=space * 0.5)
        edges.append(edge)
    return edges


def _round_trees(
    c: Canvas, rng: np.random.Generator, edge: np.ndarray, pal: Palette, depth: float, count: int
) -> None:
    for x in rng.uniform(0, c.w, count):
        ground = float(edge[min(int(x), c.w - 1)])
        size = c.unit * rng.uniform(14, 26) * (1.4 - depth)
        c.rect(
            x - size * 0.12,
            ground - size * 1.2,
            x + size * 0.12,
            ground + 2,
            land((0.35, 0.24, 0.16), pal, depth),
        )
        c.disc(x, ground - size * 1.4, size, land((0.22, 0.45, 0.22), pal, depth))
        c.disc(
            x - size * 0.3, ground - size * 1.6, size * 0.55, land((0.32, 0.56, 0.28), pal, depth)
        )


def _field(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    edges = _hills(c, rng, horizon, _GREENS, plan.palette)
    if "turbines" in plan.features:
        turbines(c, rng, edges[0], plan.palette)
    _round_trees(c, rng, edges[1], plan.palette, 0.6, int(rng.integers(2, 6)))
    _round_trees(c, rng, edges[2], plan.palette, 0.3, int(rng.integers(1, 3)))


def _forest(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    pal = plan.palette
    edges = _hills(c, rng, horizon, _GREENS[:2], pal, amp=0.06)
    if "turbines" in plan.features:
        turbines(c, rng, edges[0], pal)
    space = c.h - horizon
    for row, depth in enumerate((0.75, 0.45, 0.15)):
        base = (
            horizon
            + space * (0.12 + row * 0.22)
            - space * 0.05 * (smooth_noise(rng, c.w, 2, 1.0) + 1)
        )
        width = c.unit * (10 + row * 9)
        count = int(c.w / width * 1.4)
        centers = np.sort(rng.uniform(-width, c.w + width, count))
        heights = width * rng.uniform(2.6, 4.2, count)
        c.triangle_row(
            base,
            centers,
            heights,
            width * rng.uniform(0.8, 1.1, count),
            land((0.12, 0.32, 0.2), pal, depth),
        )


def _mountains(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    pal = plan.palette
    for i, depth in enumerate((0.85, 0.55)):
        ridged = 1 - np.abs(smooth_noise(rng, c.w, 5, 0.8))
        edge = horizon + c.h * 0.02 * i - horizon * (0.38 - i * 0.12) * ridged**1.5
        rock = land((0.42, 0.4, 0.48) if i == 0 else (0.3, 0.34, 0.36), pal, depth)
        c.ridge(edge, rock, scale(rock, 0.85), depth=c.h * 0.2)
        if i == 0:  # snow caps above a wavy snow line
            line = float(edge.min()) + (horizon - float(edge.min())) * 0.35
            wobble = line + c.unit * 12 * smooth_noise(rng, c.w, 4, 3.0)
            top = int(max(edge.min(), 0))
            ys = c.ys[top : int(line) + 40, None]
            alpha = np.clip(ys - edge[None, :] + 0.5, 0, 1) * np.clip(
                (wobble[None, :] - ys) / 2, 0, 1
            )
            c.blend(
                alpha,
                land((0.96, 0.97, 1.0), pal, depth * 0.6),
                (0, top, c.w, top + alpha.shape[0]),
            )
    edges = _hills(c, rng, horizon + (c.h - horizon) * 0.15, _GREENS[1:], pal, amp=0.08)
    _round_trees(c, rng, edges[0], pal, 0.5, int(rng.integers(2, 5)))


def _ocean(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    pal = plan.palette
    top = int(horizon)
    # Water mirrors the sky: the horizon colour near the horizon, the zenith's deeper down.
    near = mix(scale(pal.sky[0][1], 0.8), (0.05, 0.22, 0.4), 0.6)
    c.vertical_gradient(
        [(0.0, scale(pal.sky[-1][1], 0.92)), (0.3, mix(pal.sky[1][1], near, 0.65)), (1.0, near)],
        top,
        c.h,
    )
    if "island" in plan.features or rng.random() < 0.5:
        x = c.w * rng.uniform(0.1, 0.9)
        bump = np.exp(-(((c.xs - x) / (c.w * rng.uniform(0.12, 0.25))) ** 2)) * c.h * 0.04
        c.ridge(horizon + 1 - bump, land((0.3, 0.45, 0.3), pal, 0.8))
    ys = c.ys[top:, None]
    dist = (ys - horizon) / (c.h - horizon)
    # Glitter under the sun widens toward the viewer; ripples get further apart with perspective.
    width = c.w * (0.04 + 0.22 * dist)
    phase = smooth_noise(rng, c.w, 4, 5.0)[None, :] * 1.2
    ripples = np.clip((np.sin(ys / (0.6 + 5 * dist) + phase) - 0.7) * 3.0, 0, 1)
    glitter = np.exp(-(((c.xs[None, :] - sun_x) / width) ** 2)) * ripples
    c.blend(glitter * 0.6, pal.sun, (0, top, c.w, c.h))
    c.blend(ripples * 0.05, pal.sky[-1][1], (0, top, c.w, c.h))
    if "boat" in plan.features:
        bx, by = c.w * rng.uniform(0.2, 0.8), horizon + (c.h - horizon) * 0.25
        s = c.unit * 30
        c.segment(bx - s, by, bx + s, by, s * 0.3, land((0.3, 0.2, 0.15), pal, 0.3))
        for k in range(12):
            f = k / 11
            c.segment(
                bx,
                by - s * 2.2 * (1 - f) - s * 0.2,
                bx + s * 0.9 * (1 - f) * 0.9,
                by - s * 0.3,
                2,
                land((0.97, 0.95, 0.9), pal, 0.3),
            )
    if "beach" in plan.features:
        edge = c.h * 0.8 - c.h * 0.05 * (smooth_noise(rng, c.w, 3, 0.7) + 1)
        c.ridge(edge + c.unit * 6, land((0.75, 0.65, 0.5), pal, 0.1))
        c.ridge(
            edge + c.unit * 14,
            land((0.93, 0.82, 0.62), pal, 0.0),
            land((0.85, 0.7, 0.5), pal, 0.0),
            c.h * 0.2,
        )


def _city(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    pal = plan.palette
    night = plan.time == "night"
    for layer, depth in enumerate((0.8, 0.5, 0.15)):
        x = -rng.uniform(0, c.w * 0.05)
        body = land((0.32, 0.34, 0.42) if layer < 2 else (0.2, 0.22, 0.28), pal, depth)
        while x < c.w:
            bw = c.w * rng.uniform(0.07, 0.16) * (1 + layer * 0.25)
            top = horizon - c.h * rng.uniform(0.04, 0.18) * (1 + layer * 0.6) + layer * c.h * 0.08
            c.rect(x, top, x + bw - c.unit, c.h, scale(body, float(rng.uniform(0.88, 1.08))))
            if layer > 0:
                _windows(c, rng, (x, top, x + bw - c.unit), night, depth, pal)
            x += bw
    road = land((0.18, 0.18, 0.2), pal, 0.0)
    c.rect(0, c.h * 0.9, c.w, c.h, road)


def _windows(
    c: Canvas,
    rng: np.random.Generator,
    building: tuple[float, float, float],
    night: bool,
    depth: float,
    pal: Palette,
) -> None:
    x0, top, x1 = building
    box = c.clip_box(x0 + c.unit * 4, top + c.unit * 6, x1 - c.unit * 4, c.h * 0.9)
    if box is None:
        return
    bx0, by0, bx1, by1 = box
    cell_w, cell_h = c.unit * 11, c.unit * 15
    u = (c.xs[None, bx0:bx1] - bx0) / cell_w
    v = (c.ys[by0:by1, None] - by0) / cell_h
    lit = rng.random((int(v.max()) + 2, int(u.max()) + 2)) < (0.3 if night else 0.6)
    shape = (
        (np.abs(u % 1 - 0.5) < 0.24)
        & (np.abs(v % 1 - 0.5) < 0.26)
        & lit[v.astype(int), u.astype(int)]
    )
    color = (1.0, 0.82, 0.45) if night else mix(pal.sky[1][1], (1, 1, 1), 0.3)
    c.blend(shape.astype(np.float32) * (0.75 - 0.5 * depth) * (1.0 if night else 0.6), color, box)


def _desert(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    pal = plan.palette
    space = c.h - horizon
    for i, depth in enumerate((0.8, 0.55, 0.3, 0.05)):
        edge = (
            horizon
            + space * (0.05 + i * 0.22)
            - space * 0.09 * (smooth_noise(rng, c.w, 2, 0.9) + 1)
        )
        # Light the dune face that leans toward the sun, shade the other one.
        slope = np.gradient(edge) * np.sign(sun_x - c.w / 2)
        shade = np.clip(0.96 - slope * 0.25, 0.84, 1.05)[:, None]
        sand = np.asarray(land((0.93, 0.72, 0.46), pal, depth * 0.45), np.float32)[None, :] * shade
        top = int(max(edge.min(), 0))
        alpha = np.clip(c.ys[top:, None] - edge[None, :] + 0.5, 0, 1)
        c.blend(alpha, sand, (0, top, c.w, c.h))


def _snow(
    c: Canvas, plan: ScenePlan, rng: np.random.Generator, horizon: float, sun_x: float
) -> None:
    pal = plan.palette
    whites: list[RGB] = [
        (0.82, 0.86, 0.95),
        (0.88, 0.91, 0.97),
        (0.93, 0.95, 0.99),
        (0.98, 0.98, 1.0),
    ]
    edges = _hills(c, rng, horizon, whites, pal)
    for edge, depth in ((edges[1], 0.6), (edges[2], 0.3)):
        width = c.unit * (12 if depth > 0.5 else 20)
        count = int(rng.integers(4, 10))
        centers = rng.uniform(0, c.w, count)
        c.triangle_row(
            edge + 2,
            centers,
            width * rng.uniform(2.5, 3.5, count),
            np.full(count, width),
            land((0.15, 0.3, 0.25), pal, depth),
            fill_below=False,
        )
    for _ in range(120):  # falling snow
        c.disc(
            c.w * rng.uniform(0, 1), c.h * rng.uniform(0, 1), c.unit * rng.uniform(1, 3), (1, 1, 1)
        )
