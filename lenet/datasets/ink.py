"""Pen strokes on a canvas: a trajectory drawn as the Draw page's canvas sends a drawing, and the
ways real people's strokes arrive (slant, proportions, wobble, a quick sketch of a few points).

A stroke is an (n, 2) array of (x, y) points, x to the right and y down. `render` draws strokes
given in a unit box onto an RGBA canvas (white, round-ended, on transparent), the picture the
Draw page's preprocessing reads; training on such pictures keeps drawings, uploads and
teaching on one pipeline.
"""

import math

import numpy as np
from PIL import Image, ImageDraw

from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH

INK, PAPER = (255, 255, 255, 255), (0, 0, 0, 0)


def unit_box(strokes):
    """Strokes scaled (aspect kept) so the longest side is 1 and centred in the unit box."""
    points = np.vstack(strokes).astype(np.float64)
    low, extent = points.min(axis=0), np.ptp(points, axis=0)
    scale = 1 / max(extent.max(), 1e-9)
    return [(np.asarray(s, np.float64) - low) * scale + (1 - extent * scale) / 2 for s in strokes]


def place(strokes, height, left, top):
    """Strokes in the unit box scaled to `height` and moved to (`left`, `top`), all canvas fractions."""
    return [s * height + (left, top) for s in strokes]


def render(strokes, size=CANVAS_SIZE, width=DEFAULT_BRUSH, margin=None):
    """The canvas as the Draw page sends it: RGBA, white round-ended strokes on transparent.

    The unit box fills the canvas less `margin` pixels on every side (15% of it by default).
    """
    margin = 0.15 * size if margin is None else margin
    image = Image.new("RGBA", (size, size), PAPER)
    pen = ImageDraw.Draw(image)
    radius = width / 2
    for stroke in strokes:
        points = evenly_spaced(stroke * (size - 2 * margin) + margin, spacing=max(2.0, width / 2))
        pen.line(points.ravel().tolist(), fill=INK, width=width, joint="curve")  # round joins
        for x, y in (points[0], points[-1]):  # round caps, as the canvas's brush draws them
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=INK)
    return np.asarray(image)


def arc_length(points):
    return np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def resampled(points, count):
    """`count` points evenly spaced along the polyline `points` (its ends kept)."""
    along = arc_length(points)
    at = np.linspace(0, along[-1], max(2, int(count)))
    return np.column_stack([np.interp(at, along, points[:, 0]), np.interp(at, along, points[:, 1])])


def evenly_spaced(points, spacing):
    """The polyline with a point every `spacing` units at most (a dense stroke thinned, a sparse one filled)."""
    points = np.asarray(points, np.float64)
    if len(points) < 2:
        return points
    return resampled(points, max(2, math.ceil(arc_length(points)[-1] / spacing) + 1))


def joined(strokes):
    """One trajectory through every stroke in writing order: a recorder that keeps no pen lifts."""
    return [np.vstack(strokes)]


def sketched(strokes, count, curve):
    """The whole trajectory kept as `count` points evenly spaced along it (pen lifts dropped),
    joined by straight lines or, with `curve`, by a smooth curve through them: how a quick
    mouse, a coarse tablet or a data set like pendigits hands a digit in."""
    points = resampled(joined(strokes)[0], count)
    return [catmull_rom(points) if curve else points]


def catmull_rom(points, samples=8):
    """A smooth curve through `points` (centripetal-free, uniform Catmull-Rom), `samples` per segment."""
    padded = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    p0, p1, p2, p3 = padded[:-3, None], padded[1:-2, None], padded[2:-1, None], padded[3:, None]
    curve = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
    return np.vstack([curve.reshape(-1, 2), points[-1:]])


def hand(rng, slant=(-12, 25), aspect=(0.7, 1.3), turn=8):
    """A random writer's slant (top to the right, degrees), width/height ratio and turn, as a 2x2 matrix."""
    lean, angle = math.radians(rng.uniform(*slant)), math.radians(rng.uniform(-turn, turn))
    shear = np.array([[1, -math.tan(lean)], [0, 1]])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return rotation @ shear @ np.diag([rng.uniform(*aspect), 1])


def wobbled(strokes, rng, strength=0.02):
    """Strokes bent by a smooth random displacement of the unit box (an elastic distortion of the pen path)."""
    waves = rng.normal(0, strength, (2, 2, 2))  # a low-frequency field: sin/cos of x and y, per axis
    phase = rng.uniform(0, 2 * math.pi, 2)

    def field(points):
        x, y = points[:, 0:1], points[:, 1:2]
        basis = np.hstack([np.sin(math.pi * x + phase[0]), np.sin(math.pi * y + phase[1])])
        return np.column_stack(
            [
                (basis * waves[0, 0]).sum(1) + (basis * waves[0, 1]).sum(1) * 0.5,
                (basis * waves[1, 0]).sum(1) + (basis * waves[1, 1]).sum(1) * 0.5,
            ]
        )

    return [s + field(s) for s in strokes]


def brush(rng):
    """A brush width as people pick it: mostly the default, the rest mostly between 8 and 30 px."""
    if rng.random() < 0.4:
        return DEFAULT_BRUSH
    return int(rng.integers(8, 31)) if rng.random() < 0.9 else int(rng.integers(5, 41))


def where(rng, pad):
    """A digit height and top-left corner as people write: mostly mid-sized and near the middle."""
    height = min(rng.uniform(0.4, 0.85), 1 - 2 * pad)
    room = 1 - height - 2 * pad
    left, top = pad + room * rng.beta(3, 3, size=2)
    return height, left, top


def as_drawn(strokes, width=DEFAULT_BRUSH):
    """A digit's strokes on the canvas as a person draws it by default: the default brush, the
    digit 60% of the canvas high, in the middle."""
    return render(place(unit_box(strokes), 0.6, 0.2, 0.2), CANVAS_SIZE, width, margin=0)


def varied(strokes, rng):
    """A digit's strokes on the canvas as any person might hand them in: their own slant,
    proportions and wobble, brush and size and place; two in five as a quick sketch (6-16
    points, half of them 8, joined by lines or curves), one in ten with pen lifts dropped."""
    strokes = unit_box(strokes)
    matrix = hand(rng)
    strokes = wobbled([(s - 0.5) @ matrix.T for s in strokes], rng)
    chance = rng.random()
    if chance < 0.4:  # a quick sketch: most often 8 points, as pen data sets resample digits
        strokes = sketched(strokes, 8 if rng.random() < 0.5 else rng.integers(6, 17), curve=rng.random() < 0.5)
    elif chance < 0.5:
        strokes = joined(strokes)
    width = brush(rng)
    return render(place(unit_box(strokes), *where(rng, width / 2 / CANVAS_SIZE + 0.01)), CANVAS_SIZE, width, margin=0)
