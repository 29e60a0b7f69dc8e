"""Draws the default host portrait (core/assets/default_avatar.png + .json face geometry).

Run: .venv/bin/python scripts/make_default_avatar.py
The portrait is drawn at twice its size and scaled down, which anti-aliases every edge.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from PIL.PngImagePlugin import PngInfo

from gpu.engines.lite.face import PNG_KEY, EyeBox, FaceGeometry

W, H = 1080, 1920
S = 2  # supersampling factor
K = 1.15  # the figure is drawn in a 1080x1920 frame, then scaled up about the bottom centre
OUT = Path(__file__).resolve().parent.parent / "core" / "assets"

SKIN = (236, 188, 156)
SKIN_SHADE = (212, 156, 126)
HAIR = (58, 38, 34)
HAIR_LIGHT = (104, 68, 52)
JACKET = (34, 112, 122)
JACKET_DARK = (24, 84, 94)
TOP = (247, 243, 236)
LIPS_UPPER = (186, 88, 96)
LIPS_LOWER = (205, 110, 112)
IRIS = (96, 62, 40)

FACE_C = (540, 790)
FACE_RX, FACE_RY = 205, 262
EYES = [(458, 800), (622, 800)]
EYE_W, EYE_H = 94, 44
MOUTH_C = (540, 968)
MOUTH_W = 124

Point = tuple[float, float]


def tf(x: float, y: float) -> Point:
    """Figure coordinates to frame coordinates (the figure fills the frame a little more)."""
    return 540 + (x - 540) * K, H - (H - y) * K


def sc(points: Sequence[Point]) -> list[tuple[float, float]]:
    """Figure coordinates to supersampled canvas coordinates."""
    return [(tf(x, y)[0] * S, tf(x, y)[1] * S) for x, y in points]


def bezier(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 24) -> list[Point]:
    """Points along a cubic Bezier curve."""
    out = []
    for i in range(n + 1):
        t = i / n
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        out.append(
            (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )
        )
    return out


def layer() -> Image.Image:
    return Image.new("RGBA", (W * S, H * S), (0, 0, 0, 0))


def mask() -> Image.Image:
    return Image.new("L", (W * S, H * S), 0)


def paint(
    base: Image.Image,
    shape: Image.Image,
    color: tuple[int, int, int],
    opacity: float = 1.0,
    blur: float = 0,
) -> None:
    """Composite a flat colour onto base through a mask (optionally blurred, for soft shading)."""
    if blur:
        shape = shape.filter(ImageFilter.GaussianBlur(blur * S))
    if opacity < 1:
        shape = shape.point(lambda v: int(v * opacity))
    base.paste(Image.new("RGBA", base.size, (*color, 255)), (0, 0), shape)


def ellipse_mask(cx: float, cy: float, rx: float, ry: float, figure: bool = True) -> Image.Image:
    m = mask()
    if figure:
        (cx, cy), rx, ry = tf(cx, cy), rx * K, ry * K
    ImageDraw.Draw(m).ellipse(
        ((cx - rx) * S, (cy - ry) * S, (cx + rx) * S, (cy + ry) * S), fill=255
    )
    return m


def poly_mask(points: Sequence[Point]) -> Image.Image:
    m = mask()
    ImageDraw.Draw(m).polygon(sc(points), fill=255)
    return m


def face_outline() -> list[Point]:
    """An egg-shaped face: full cheeks, narrower toward a soft chin."""
    pts = []
    for i in range(180):
        a = 2 * math.pi * i / 180
        s = math.sin(a)
        rx = FACE_RX * (1 - 0.3 * max(s, 0) ** 3)
        ry = FACE_RY * (1.0 if s > 0 else 0.97)
        pts.append((FACE_C[0] + rx * math.cos(a), FACE_C[1] + ry * s))
    return pts


def background() -> Image.Image:
    ys = np.linspace(0, 1, H * S, dtype=np.float32)[:, None, None]
    top, bottom = np.array([222, 232, 238], np.float32), np.array([178, 200, 214], np.float32)
    grad = top * (1 - ys) + bottom * ys
    xs = np.linspace(-1, 1, W * S, dtype=np.float32)[None, :, None]
    yy = np.linspace(-1, 1, H * S, dtype=np.float32)[:, None, None]
    glow = np.exp(-((xs / 0.9) ** 2 + ((yy + 0.2) / 0.55) ** 2))
    img = grad + (np.array([250, 244, 236], np.float32) - grad) * glow * 0.75
    base = Image.fromarray(
        np.clip(img.repeat(W * S, axis=1) if img.shape[1] == 1 else img, 0, 255).astype(np.uint8),
        "RGB",
    ).convert("RGBA")
    for cx, cy, r, a in [
        (170, 420, 120, 0.25),
        (900, 300, 170, 0.2),
        (950, 1150, 90, 0.18),
        (120, 1050, 70, 0.15),
    ]:
        paint(base, ellipse_mask(cx, cy, r, r, figure=False), (255, 255, 255), a, blur=30)
    return base


def body(img: Image.Image) -> None:
    # Shoulders and jacket.
    left = bezier((540, 1192), (430, 1196), (300, 1222), (215, 1280)) + bezier(
        (215, 1280), (140, 1335), (112, 1500), (96, 1930)
    )
    right = [(W - x, y) for x, y in reversed(left)]
    paint(img, poly_mask([*left, (96, 1930), (984, 1930), *right]), JACKET)
    # Inner top (V neck) and the skin it frames.
    paint(img, poly_mask([(420, 1210), (660, 1210), (600, 1930), (480, 1930)]), TOP)
    paint(img, poly_mask([(470, 1190), (610, 1190), (540, 1330)]), SKIN)
    paint(img, poly_mask([(470, 1190), (610, 1190), (540, 1240)]), SKIN_SHADE, 0.5, blur=8)
    # Lapels fold from the collar to the waist.
    for sign in (-1, 1):
        x = lambda v, s=sign: 540 + s * v  # noqa: E731 - mirror helper
        lapel = [
            (x(95), 1195),
            (x(165), 1215),
            (x(150), 1400),
            (x(40), 1700),
            (x(10), 1760),
            (x(70), 1450),
        ]
        paint(img, poly_mask(lapel), JACKET_DARK)
        paint(
            img,
            poly_mask([(x(95), 1195), (x(120), 1205), (x(60), 1460), (x(70), 1450)]),
            (60, 140, 150),
            0.6,
        )
    # A small lapel microphone: it reads as "host" at a glance.
    paint(img, ellipse_mask(640, 1420, 13, 17), (30, 30, 34))
    paint(img, ellipse_mask(636, 1414, 4, 5), (120, 120, 130))
    # Soft shading where the arms turn away from the light.
    paint(
        img,
        poly_mask([(96, 1930), (200, 1300), (250, 1500), (230, 1930)]),
        JACKET_DARK,
        0.55,
        blur=24,
    )
    paint(
        img,
        poly_mask([(984, 1930), (880, 1300), (830, 1500), (850, 1930)]),
        JACKET_DARK,
        0.4,
        blur=24,
    )
    for sx in (-1, 1):  # where the arms meet the chest
        m = mask()
        ImageDraw.Draw(m).line(
            sc(
                bezier(
                    (540 + sx * 290, 1330),
                    (540 + sx * 300, 1500),
                    (540 + sx * 300, 1700),
                    (540 + sx * 305, 1930),
                )
            ),
            fill=255,
            width=round(5 * S * K),
        )
        paint(img, m, JACKET_DARK, 0.7, blur=4)


def neck(img: Image.Image) -> None:
    m = mask()
    ImageDraw.Draw(m).rounded_rectangle(sc([(472, 950), (608, 1235)]), radius=40 * S * K, fill=255)
    paint(img, m, SKIN)
    shadow = ellipse_mask(540, 1040, 95, 70).filter(ImageFilter.GaussianBlur(14 * S))
    paint(img, ImageChops.multiply(shadow, m), SKIN_SHADE, 0.9)
    for sx in (-1, 1):  # the neck rounds away at its sides
        side = ellipse_mask(540 + sx * 70, 1100, 18, 140).filter(ImageFilter.GaussianBlur(10 * S))
        paint(img, ImageChops.multiply(side, m), SKIN_SHADE, 0.6)


def hair_back(img: Image.Image) -> None:
    m = ellipse_mask(540, 772, 278, 300)
    lower = mask()
    ImageDraw.Draw(lower).rounded_rectangle(
        sc([(262, 760), (818, 1245)]), radius=110 * S * K, fill=255
    )
    paint(img, ImageChops.lighter(m, lower), HAIR)


def face(img: Image.Image) -> None:
    for ex in (338, 742):  # ears, mostly hidden by the hair later
        paint(img, ellipse_mask(ex, 835, 34, 62), SKIN_SHADE)
    outline = poly_mask(face_outline())
    paint(img, outline, SKIN)
    # Shade toward the face's edge: the face mask minus a shrunken copy, blurred.
    inner = outline.filter(ImageFilter.GaussianBlur(34 * S))
    edge = ImageChops.subtract(outline, inner.point(lambda v: min(255, int(v * 1.6))))
    paint(img, edge, SKIN_SHADE, 0.7, blur=10)
    for cx in (428, 652):  # cheeks
        paint(img, ellipse_mask(cx, 915, 58, 36), (240, 142, 132), 0.32, blur=22)
    # Nose: a soft side shadow, the tip and two small nostril shadows.
    paint(
        img,
        poly_mask(
            bezier((554, 850), (562, 872), (568, 890), (564, 904))
            + bezier((558, 904), (560, 890), (554, 872), (549, 850))
        ),
        SKIN_SHADE,
        0.6,
        blur=5,
    )
    paint(img, ellipse_mask(540, 902, 26, 16), (248, 206, 178), 0.6, blur=6)
    for nx in (526, 554):
        paint(img, ellipse_mask(nx, 914, 9, 5), (170, 110, 96), 0.75, blur=2)
    # Chin highlight.
    paint(img, ellipse_mask(540, 1022, 45, 20), (248, 206, 178), 0.5, blur=12)


def eyes(img: Image.Image) -> None:
    draw_lines = []
    for n, (cx, cy) in enumerate(EYES):
        outer = -1 if n == 0 else 1
        hw, hh = EYE_W / 2, EYE_H / 2
        inner_x, outer_x = cx - outer * hw, cx + outer * hw
        upper = bezier(
            (inner_x, cy + 2),
            (inner_x + outer * hw * 0.5, cy - hh * 1.25),
            (outer_x - outer * hw * 0.45, cy - hh * 1.2),
            (outer_x, cy - 2),
        )
        lower = bezier(
            (outer_x, cy - 2),
            (outer_x - outer * hw * 0.4, cy + hh * 0.95),
            (inner_x + outer * hw * 0.45, cy + hh * 0.95),
            (inner_x, cy + 2),
        )
        almond = poly_mask(upper + lower)
        paint(img, almond, (252, 250, 248))
        iris = ImageChops.multiply(ellipse_mask(cx, cy + 2, 21, 21), almond)
        paint(img, iris, IRIS)
        paint(
            img,
            ImageChops.multiply(ellipse_mask(cx, cy + 6, 14, 11), almond),
            (70, 44, 30),
            0.7,
            blur=3,
        )
        paint(img, ImageChops.multiply(ellipse_mask(cx, cy + 2, 9, 9), almond), (24, 18, 18))
        paint(img, ellipse_mask(cx + 7, cy - 5, 5, 5), (255, 255, 255))
        # The upper lid casts a soft shadow on the top of the eyeball.
        paint(
            img,
            ImageChops.multiply(ellipse_mask(cx, cy - hh, hw, hh * 0.8), almond),
            (150, 120, 115),
            0.35,
            blur=3,
        )
        draw_lines.append((upper, outer_x, cy, outer))
        # The upper lid's crease and a little shadow above the eye.
        crease = bezier(
            (inner_x + outer * 6, cy - 14),
            (inner_x + outer * hw * 0.5, cy - hh * 1.9),
            (outer_x - outer * hw * 0.4, cy - hh * 1.85),
            (outer_x + outer * 2, cy - 10),
        )
        m = mask()
        ImageDraw.Draw(m).line(sc(crease), fill=255, width=round(4 * S * K))
        paint(img, m, SKIN_SHADE, 0.9, blur=1.5)
        # Eyebrow: a tapered arch.
        brow_top = bezier(
            (inner_x - outer * 4, cy - 48),
            (inner_x + outer * 30, cy - 78),
            (outer_x - outer * 20, cy - 80),
            (outer_x + outer * 14, cy - 60),
        )
        brow_bottom = bezier(
            (outer_x + outer * 14, cy - 60),
            (outer_x - outer * 20, cy - 70),
            (inner_x + outer * 30, cy - 66),
            (inner_x - outer * 4, cy - 38),
        )
        paint(img, poly_mask(brow_top + brow_bottom), HAIR, 0.95)
    for upper, outer_x, cy, outer in draw_lines:
        m = mask()
        d = ImageDraw.Draw(m)
        d.line(sc(upper), fill=255, width=round(6 * S * K), joint="curve")
        d.line(
            sc([(outer_x - outer * 4, cy - 4), (outer_x + outer * 12, cy - 12)]),
            fill=255,
            width=round(5 * S * K),
        )
        paint(img, m, (40, 26, 26))


def mouth(img: Image.Image) -> None:
    cx, cy = MOUTH_C
    hw = MOUTH_W / 2
    line = bezier(
        (cx - hw, cy - 4), (cx - hw * 0.45, cy + 6), (cx + hw * 0.45, cy + 6), (cx + hw, cy - 4)
    )
    upper = bezier(
        (cx - hw, cy - 4), (cx - hw * 0.6, cy - 14), (cx - hw * 0.3, cy - 22), (cx, cy - 14)
    ) + bezier((cx, cy - 14), (cx + hw * 0.3, cy - 22), (cx + hw * 0.6, cy - 14), (cx + hw, cy - 4))
    paint(img, poly_mask(upper + list(reversed(line))), LIPS_UPPER)
    lower = bezier(
        (cx + hw, cy - 4), (cx + hw * 0.6, cy + 30), (cx - hw * 0.6, cy + 30), (cx - hw, cy - 4)
    )
    paint(img, poly_mask(line + lower), LIPS_LOWER)
    paint(img, ellipse_mask(cx, cy + 14, hw * 0.4, 6), (232, 150, 150), 0.7, blur=3)
    m = mask()
    ImageDraw.Draw(m).line(sc(line), fill=255, width=round(3 * S * K), joint="curve")
    paint(img, m, (120, 48, 56))
    for sx in (-1, 1):  # smile dimples at the corners
        paint(img, ellipse_mask(cx + sx * (hw + 4), cy - 6, 5, 4), SKIN_SHADE, 0.9, blur=2)


def hair_front(img: Image.Image) -> None:
    cap = ellipse_mask(540, 752, 256, 258)
    # A side part: the fringe sweeps from the part across the forehead to the right temple.
    hairline = bezier((322, 830), (318, 700), (380, 625), (462, 612)) + bezier(
        (462, 612), (560, 690), (690, 680), (770, 820)
    )
    below = poly_mask([*hairline, (800, 1300), (280, 1300)])
    paint(img, ImageChops.subtract(cap, below), HAIR)
    # Side locks fall over the ears and the face's edge to the shoulders.
    for sx in (-1, 1):
        pts = bezier((352, 640), (282, 770), (298, 1000), (300, 1232)) + bezier(
            (300, 1232), (318, 1150), (336, 950), (340, 780)
        )
        paint(img, poly_mask([(540 + sx * (540 - x), y) for x, y in pts]), HAIR)
    # A few lighter strands give the hair volume; they stay inside the hair.
    strands = [
        ((360, 590), (420, 535), (520, 515), (600, 528)),
        ((620, 560), (690, 580), (745, 640), (772, 730)),
        ((318, 840), (304, 960), (310, 1080), (316, 1190)),
        ((762, 840), (776, 960), (772, 1080), (764, 1190)),
    ]
    for p in strands:
        m = mask()
        ImageDraw.Draw(m).line(sc(bezier(*p)), fill=255, width=round(9 * S * K), joint="curve")
        paint(img, m, HAIR_LIGHT, 0.55, blur=5)


def geometry() -> FaceGeometry:
    mx, my = tf(MOUTH_C[0], MOUTH_C[1] + 2)
    eyes = [tf(x, y) for x, y in EYES]
    return FaceGeometry(
        mouth_x=mx / W,
        mouth_y=my / H,
        mouth_width=MOUTH_W * K / W,
        eyes=[EyeBox(x=x / W, y=y / H, width=EYE_W * K / W, height=EYE_H * K / H) for x, y in eyes],
        lid_color=SKIN,
        mouth_color=(92, 30, 40),
    )


def main() -> None:
    img = background()
    hair_back(img)
    body(img)
    neck(img)
    face(img)
    eyes(img)
    mouth(img)
    hair_front(img)
    final = img.convert("RGB").resize((W, H), Image.Resampling.LANCZOS)
    geo = geometry()
    info = PngInfo()
    info.add_text(PNG_KEY, geo.to_png_text())
    OUT.mkdir(parents=True, exist_ok=True)
    final.save(OUT / "default_avatar.png", pnginfo=info, optimize=True)
    (OUT / "default_avatar.json").write_text(
        json.dumps(geo.model_dump(exclude_none=True), indent=2) + "\n"
    )
    print(f"wrote {OUT / 'default_avatar.png'} and {OUT / 'default_avatar.json'}")


if __name__ == "__main__":
    main()
