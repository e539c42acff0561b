"""Hand-drawn digits as pen strokes, for tests that need a person's digit without MNIST.

Each digit is a list of strokes; each stroke a list of (x, y) points in a unit box (x to the
right, y down). The browser test draws the same strokes with the mouse.
"""

import math

import numpy as np
from PIL import Image, ImageDraw


def _ellipse(cx, cy, rx, ry, start=-90, end=270, n=28):
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(start, end, n)
    ]


STROKES = {
    0: [_ellipse(0.5, 0.5, 0.3, 0.45)],
    1: [[(0.55, 0.05), (0.45, 0.95)]],
    2: [_ellipse(0.5, 0.3, 0.3, 0.25, start=200, end=380, n=12) + [(0.6, 0.6), (0.2, 0.95), (0.85, 0.95)]],
    3: [
        _ellipse(0.48, 0.27, 0.28, 0.22, start=200, end=450, n=14)
        + _ellipse(0.48, 0.71, 0.3, 0.24, start=-90, end=150, n=14)
    ],
    4: [[(0.55, 0.05), (0.15, 0.62), (0.88, 0.62)], [(0.66, 0.3), (0.66, 0.95)]],
    5: [
        [(0.3, 0.06), (0.8, 0.06)],
        [(0.3, 0.06), (0.26, 0.45)] + _ellipse(0.5, 0.67, 0.3, 0.26, start=-120, end=150, n=16),
    ],
    6: [[(0.7, 0.05), (0.42, 0.3), (0.27, 0.55)] + _ellipse(0.5, 0.7, 0.24, 0.24, start=180, end=540, n=20)],
    7: [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)]],
    8: [
        _ellipse(0.5, 0.27, 0.22, 0.22, start=90, end=450, n=18)
        + _ellipse(0.5, 0.72, 0.27, 0.23, start=-90, end=270, n=18)
    ],
    9: [_ellipse(0.5, 0.3, 0.25, 0.25, start=0, end=360, n=18) + [(0.75, 0.3), (0.72, 0.95)]],
}


def strokes_in_box(digit, box):
    """The digit's strokes scaled into `box` = (left, top, right, bottom) in pixels."""
    left, top, right, bottom = box
    return [[(left + x * (right - left), top + y * (bottom - top)) for x, y in stroke] for stroke in STROKES[digit]]


def draw(digits, size=(280, 280), width=18, ink=(255, 255, 255, 255), background=(0, 0, 0, 0), mode="RGBA", boxes=None):
    """A Pillow image of `digits` (an int or a string) written side by side, like on the canvas."""
    digits = [int(c) for c in str(digits)]
    image = Image.new(mode, size, background)
    pen = ImageDraw.Draw(image)
    boxes = boxes or default_boxes(len(digits), size)
    for digit, box in zip(digits, boxes):
        for stroke in strokes_in_box(digit, box):
            pen.line(stroke, fill=ink, width=width, joint="curve")
            r = width / 2
            for x, y in (stroke[0], stroke[-1]):
                pen.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return image


def default_boxes(count, size):
    width, height = size
    cell = width / max(count, 1)
    side = min(cell * 0.6, height * 0.7)
    return [
        (
            cell * i + (cell - side * 0.7) / 2,
            (height - side) / 2,
            cell * i + (cell + side * 0.7) / 2,
            (height + side) / 2,
        )
        for i in range(count)
    ]


def canvas_array(digits, **kwargs):
    """RGBA numpy array as `streamlit-drawable-canvas` returns it: white strokes, transparent paper."""
    return np.asarray(draw(digits, **kwargs))


def paper(digits, size=(600, 450), width=14):
    """Dark ink on light paper, RGB."""
    return draw(digits, size=size, width=width, ink=(25, 25, 30), background=(235, 232, 225), mode="RGB")


# ---------------------------------------------------------------------------- continental writers
# A hand MNIST's American writers did not have: 1s with a long flag and a foot, 7s with a bar
# through the stem, 9s with a straight stem, 4s open at the top, flat-topped 3s. Each writer has
# their own slant, width, size and stroke; each sample its own jitter. Written independently of
# lenet.datasets.starter (Chaikin-smoothed polylines rather than splines), so tests of the starter model
# and of teaching do not grade the generator against itself.

CONTINENTAL = {
    0: [
        [
            (0.5, 0.0),
            (0.2, 0.15),
            (0.12, 0.5),
            (0.22, 0.88),
            (0.5, 1.0),
            (0.8, 0.86),
            (0.88, 0.5),
            (0.78, 0.12),
            (0.48, 0.02),
        ]
    ],
    1: [[(0.15, 0.42), (0.6, 0.0), (0.6, 1.0)], [(0.3, 1.0), (0.9, 1.0)]],
    2: [[(0.15, 0.25), (0.4, 0.0), (0.75, 0.05), (0.8, 0.35), (0.15, 1.0), (0.9, 0.98)]],
    3: [[(0.15, 0.02), (0.85, 0.02), (0.45, 0.42), (0.8, 0.55), (0.85, 0.82), (0.55, 1.0), (0.15, 0.88)]],
    4: [[(0.45, 0.0), (0.1, 0.65), (0.95, 0.65)], [(0.72, 0.3), (0.72, 1.0)]],
    5: [[(0.3, 0.05), (0.22, 0.45), (0.6, 0.38), (0.85, 0.62), (0.7, 0.95), (0.15, 0.92)], [(0.3, 0.04), (0.85, 0.0)]],
    6: [[(0.75, 0.0), (0.22, 0.55), (0.2, 0.85), (0.5, 1.0), (0.8, 0.8), (0.7, 0.55), (0.35, 0.55), (0.22, 0.7)]],
    7: [[(0.1, 0.2), (0.12, 0.02), (0.9, 0.02), (0.4, 1.0)], [(0.35, 0.52), (0.85, 0.5)]],
    8: [
        [
            (0.5, 0.45),
            (0.2, 0.22),
            (0.5, 0.0),
            (0.8, 0.22),
            (0.5, 0.45),
            (0.15, 0.72),
            (0.5, 1.0),
            (0.85, 0.72),
            (0.5, 0.45),
        ]
    ],
    9: [[(0.85, 0.2), (0.55, 0.0), (0.2, 0.15), (0.22, 0.4), (0.55, 0.48), (0.85, 0.3), (0.85, 0.0), (0.85, 1.0)]],
}


def _chaikin(points, rounds):
    points = np.asarray(points, float)
    for _ in range(rounds):
        inner = np.repeat(points[:-1], 2, axis=0) * np.tile([[0.75], [0.25]], (len(points) - 1, 1)) + np.repeat(
            points[1:], 2, axis=0
        ) * np.tile([[0.25], [0.75]], (len(points) - 1, 1))
        points = np.vstack([points[:1], inner, points[-1:]])
    return points


def continental_writer(seed):
    """One writer's constant habits: slant, width, size, place on the canvas, brush, tidiness."""
    rng = np.random.default_rng(seed)
    return {
        "slant": rng.uniform(-0.15, 0.35),
        "width": rng.uniform(0.5, 0.85),
        "height": rng.uniform(150, 230),
        "brush": int(rng.choice([8, 12, 18, 18, 24, 30])),
        "jitter": rng.uniform(0.01, 0.035),
        "round": int(rng.integers(1, 4)),
        "points": int(rng.integers(6, 30)),
    }


def continental_strokes(digit, writer, rng):
    """The digit in the writer's hand, as canvas strokes (pixels), sampled as a mouse records them."""
    strokes = []
    for stroke in CONTINENTAL[digit]:
        points = np.asarray(stroke, float) + rng.normal(0, writer["jitter"], (len(stroke), 2))
        curve = _chaikin(points, writer["round"])
        along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
        at = np.linspace(0, along[-1], max(2, int(writer["points"] * along[-1])))
        curve = np.column_stack([np.interp(at, along, curve[:, 0]), np.interp(at, along, curve[:, 1])])
        x = (curve[:, 0] - 0.5) * writer["width"] + writer["slant"] * (0.5 - curve[:, 1])
        strokes.append(np.column_stack([x, curve[:, 1] - 0.5]))
    height = writer["height"] * rng.uniform(0.9, 1.1)
    center = np.array([140, 140]) + rng.normal(0, 12, 2)
    return [[tuple(p) for p in s * height + center] for s in strokes]


def canvas_of(strokes, brush):
    """RGBA array as the canvas sends it: `strokes` (pixel points) in white on transparent."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    r = brush / 2
    for stroke in strokes:
        pen.line(stroke, fill=(255, 255, 255, 255), width=brush, joint="curve")
        for x, y in stroke:
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
    return np.asarray(image)


def continental_canvas(digit, writer, rng):
    """The digit in the writer's hand, on a canvas."""
    return canvas_of(continental_strokes(digit, writer, rng), writer["brush"])


def continental_set(writers, per_digit, seed=0, canvas=continental_canvas):
    """(canvases, labels): `per_digit` samples of every digit from each writer seed in `writers`."""
    rng = np.random.default_rng(seed)
    canvases, labels = [], []
    for writer_seed in writers:
        writer = continental_writer(writer_seed)
        for digit in range(10):
            for _ in range(per_digit):
                canvases.append(canvas(digit, writer, rng))
                labels.append(digit)
    return canvases, np.array(labels)


def recorded_stroke(digit, writer, rng, points=8):
    """The digit as a pen recorder without pen lifts stores it: every stroke joined to the next
    along the pen's travel, the whole trajectory kept as `points` evenly spaced points: one
    stroke of straight lines (canvas pixels). Continental 1s, 7s and 4s come out looking like 2s
    and 9s: a hand the model misreads until it is taught."""
    joined = np.array([p for stroke in continental_strokes(digit, writer, rng) for p in stroke], float)
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(joined, axis=0), axis=1))])
    at = np.linspace(0, along[-1], points)
    return [(float(np.interp(a, along, joined[:, 0])), float(np.interp(a, along, joined[:, 1]))) for a in at]


def recorded_canvas(digit, writer, rng):
    """`recorded_stroke` drawn on a canvas as the Draw page's sends it."""
    return canvas_of([recorded_stroke(digit, writer, rng)], writer["brush"])


def recorded_set(writers, per_digit, seed=0):
    """(canvases, labels) like `continental_set`, recorded without pen lifts (`recorded_canvas`)."""
    return continental_set(writers, per_digit, seed, canvas=recorded_canvas)
