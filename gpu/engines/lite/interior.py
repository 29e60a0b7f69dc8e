"""Indoor scenes for the lite image engine: a wall, a window onto the day, furniture and devices."""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gpu.engines.lite.landscape import render_outdoor
from gpu.engines.lite.paint import RGB, Canvas, mix, scale
from gpu.engines.lite.scene import ScenePlan

_WALLS: list[RGB] = [(0.93, 0.9, 0.84), (0.86, 0.9, 0.88), (0.92, 0.86, 0.8), (0.84, 0.87, 0.93)]


def render_interior(c: Canvas, plan: ScenePlan, rng: np.random.Generator) -> None:
    """Paint a room lit by its window for the time of day, with the props the prompt names."""
    pal = plan.palette
    light = 0.45 + 0.55 * pal.light
    wall = scale(_WALLS[int(rng.integers(len(_WALLS)))], light)
    if plan.time in ("sunrise", "sunset"):
        wall = mix(wall, pal.glow, 0.12)
    closeup = "closeup" in plan.features
    floor_y = c.h * (0.93 if closeup else 0.8)
    c.vertical_gradient(
        [(0.0, scale(wall, 0.86)), (0.6, wall), (1.0, scale(wall, 0.93))], 0, int(floor_y) + 1
    )
    wood = scale((0.62, 0.45, 0.3), light)
    c.vertical_gradient([(0.0, scale(wood, 0.8)), (1.0, wood)], int(floor_y), c.h)
    for k in range(1, 6):  # floor boards recede toward the wall
        y = floor_y + (c.h - floor_y) * (k / 6) ** 1.6
        c.rect(0, y, c.w, y + c.unit * 1.2, scale(wood, 0.78))
    c.rect(0, floor_y - c.unit * 10, c.w, floor_y, scale(wall, 0.97))
    window_left = bool(rng.random() < 0.5)
    # Light falls on the wall from the window's side, brightest up high.
    spill = c.ellipse_blob(c.w * (0.2 if window_left else 0.8), c.h * 0.25, c.w * 0.7, c.h * 0.35)
    if spill is not None:
        c.blend(spill[0] * 0.2 * pal.light, pal.glow, spill[1])
    if not closeup:
        _window(c, plan, rng, window_left)
    if "kitchen" in plan.features:
        _kitchen(c, rng, light)
    if "plant" in plan.features or rng.random() < 0.5:
        side = 0.82 if window_left else 0.18
        _plant(c, c.w * side, floor_y + c.unit * 6, c.unit * (1.6 if closeup else 1.0), light)
    if "thermostat" in plan.features or not plan.features & {"kitchen", "plant", "lamp"}:
        radius = c.w * (0.3 if closeup else 0.085)
        y = c.h * (0.42 if closeup else 0.4)
        _thermostat(
            c, c.w * (0.5 if closeup else (0.72 if window_left else 0.28)), y, radius, light
        )
    if "lamp" in plan.features or plan.time == "night":
        _lamp(c, c.w * (0.18 if window_left else 0.82), floor_y, pal.light)


def _window(c: Canvas, plan: ScenePlan, rng: np.random.Generator, left: bool) -> None:
    ww, wh = int(c.w * 0.42), int(c.h * 0.3)
    x0 = int(c.w * (0.08 if left else 0.5))
    y0 = int(c.h * 0.14)
    view = Canvas(ww, wh)
    outside = ScenePlan(
        time=plan.time, setting="field", features=plan.features & {"solar", "turbines"}
    )
    render_outdoor(view, outside, rng, horizon=wh * 0.62)
    frame = (0.97, 0.97, 0.96)
    t = c.unit * 9
    c.rect(x0 - t, y0 - t, x0 + ww + t, y0 + wh + t * 1.8, scale(frame, 0.9))
    c.rgb[y0 : y0 + wh, x0 : x0 + ww] = view.rgb
    c.rect(x0 + ww / 2 - t / 3, y0, x0 + ww / 2 + t / 3, y0 + wh, frame)
    c.rect(x0, y0 + wh * 0.45 - t / 3, x0 + ww, y0 + wh * 0.45 + t / 3, frame)
    # Daylight through the window: a soft slanted beam onto the wall and the floor.
    if plan.palette.light > 0.5:
        slant = 0.35 if left else -0.35
        ys = c.ys[y0 + wh :, None]
        shift = (ys - (y0 + wh)) * slant
        xs = c.xs[None, :] - x0 - shift
        across = np.clip(np.minimum(xs, ww - xs) / (c.unit * 30), 0, 1)
        fade = np.exp(-(ys - (y0 + wh)) / (c.h * 0.5))
        c.blend(across * fade * 0.16, plan.palette.glow, (0, y0 + wh, c.w, c.h))


def _kitchen(c: Canvas, rng: np.random.Generator, light: float) -> None:
    top, bottom = c.h * 0.6, c.h * 0.8
    cabinet = scale(
        [(0.36, 0.52, 0.5), (0.93, 0.93, 0.9), (0.3, 0.38, 0.5)][int(rng.integers(3))], light
    )
    tile = scale((0.95, 0.95, 0.93), light)
    for row in range(3):  # backsplash tiles
        for col in range(int(c.w / (c.unit * 40)) + 1):
            x = col * c.unit * 40 + (row % 2) * c.unit * 20
            y = top - (row + 1) * c.unit * 20
            c.rect(x + 1, y + 1, x + c.unit * 40 - 1, y + c.unit * 20 - 1, scale(tile, 0.96))
    c.rect(0, top, c.w, bottom, cabinet)
    doors = 4
    for k in range(doors):
        x = c.w * k / doors
        c.rect(
            x + c.unit * 6,
            top + c.unit * 18,
            x + c.w / doors - c.unit * 6,
            bottom - c.unit * 8,
            scale(cabinet, 1.06),
        )
        c.rounded_rect(
            x + c.w / doors / 2 - c.unit * 14,
            top + c.unit * 26,
            x + c.w / doors / 2 + c.unit * 14,
            top + c.unit * 31,
            c.unit * 2.5,
            scale((0.75, 0.75, 0.78), light),
        )
    c.rect(0, top - c.unit * 2, c.w, top + c.unit * 12, scale((0.82, 0.8, 0.76), light))
    c.rect(0, top + c.unit * 12, c.w, top + c.unit * 15, scale((0.5, 0.48, 0.45), light))


def _plant(c: Canvas, x: float, base: float, size: float, light: float) -> None:
    s = 36 * c.unit * size
    pot = scale((0.78, 0.45, 0.32), light)
    c.rounded_rect(x - s * 0.55, base - s * 1.1, x + s * 0.55, base, s * 0.12, pot)
    c.rect(x - s * 0.62, base - s * 1.15, x + s * 0.62, base - s * 0.95, scale(pot, 1.08))
    leaf = scale((0.25, 0.55, 0.3), light)
    for k, angle in enumerate(np.linspace(-1.1, 1.1, 7)):
        length = s * (1.6 + 0.5 * np.cos(angle * 2))
        tip = (x + np.sin(angle) * length, base - s * 1.1 - np.cos(angle) * length)
        c.segment(x, base - s * 1.1, tip[0], tip[1], s * 0.32, scale(leaf, 0.9 + 0.05 * (k % 3)))


def _thermostat(c: Canvas, x: float, y: float, r: float, light: float) -> None:
    # A soft shadow first so the device sits on the wall rather than floating.
    shadow = c.ellipse_blob(x + r * 0.08, y + r * 0.12, r * 0.75, r * 0.75)
    if shadow is not None:
        c.blend(shadow[0] * 0.35, (0.2, 0.2, 0.22), shadow[1])
    c.disc(x, y, r, scale((0.86, 0.87, 0.88), light))
    c.disc(x, y, r * 0.86, (0.1, 0.11, 0.13))
    angles = np.linspace(-np.pi * 1.25, -np.pi * 0.15, 40)
    for a0, a1 in itertools.pairwise(angles):
        p0 = (x + np.cos(a0) * r * 0.7, y + np.sin(a0) * r * 0.7)
        p1 = (x + np.cos(a1) * r * 0.7, y + np.sin(a1) * r * 0.7)
        c.segment(p0[0], p0[1], p1[0], p1[1], r * 0.06, (1.0, 0.55, 0.2))
    _text(c, "21°", x, y, int(r * 0.55), (0.96, 0.96, 0.96))


def _text(c: Canvas, text: str, x: float, y: float, size: int, color: RGB) -> None:
    """Centred text composited through PIL's built-in scalable font."""
    if size < 6:
        return
    font = ImageFont.load_default(size=size)
    mask = Image.new("L", (c.w, c.h), 0)
    ImageDraw.Draw(mask).text((x, y), text, fill=255, font=font, anchor="mm")
    left, top, right, bottom = mask.getbbox() or (0, 0, 0, 0)
    if right <= left:
        return
    alpha = np.asarray(mask.crop((left, top, right, bottom)), np.float32) / 255.0
    c.blend(alpha, color, (left, top, right, bottom))


def _lamp(c: Canvas, x: float, floor_y: float, daylight: float) -> None:
    pole_top = floor_y - c.h * 0.32
    c.segment(x, floor_y, x, pole_top, c.unit * 4, (0.2, 0.2, 0.22))
    c.rect(
        x - c.unit * 30,
        floor_y - c.unit * 4,
        x + c.unit * 30,
        floor_y + c.unit * 2,
        (0.2, 0.2, 0.22),
    )
    glow = c.ellipse_blob(x, pole_top + c.unit * 30, c.w * 0.35, c.h * 0.22)
    if glow is not None:
        c.blend(glow[0] * (0.55 - 0.35 * daylight), (1.0, 0.8, 0.5), glow[1])
    for k in range(14):  # a tapered shade built from stacked lines
        f = k / 13
        half = c.unit * (22 + 16 * f)
        yy = pole_top - c.unit * 8 + f * c.unit * 44
        c.segment(x - half, yy, x + half, yy, c.unit * 4, (0.98, 0.88, 0.7))
