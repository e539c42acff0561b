"""Hand-drawn digits as pen strokes, for tests that need a person's digit without MNIST.

Each digit is a list of strokes; each stroke a list of (x, y) points in a unit box (x to the
right, y down). The browser test draws the same strokes with the mouse.
"""

import math

import numpy as np
from PIL import Image, ImageDraw


def _ellipse(cx, cy, rx, ry, start=-90, end=270, n=28):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, n)]


STROKES = {
    0: [_ellipse(0.5, 0.5, 0.3, 0.45)],
    1: [[(0.55, 0.05), (0.45, 0.95)]],
    2: [_ellipse(0.5, 0.3, 0.3, 0.25, start=200, end=380, n=12) + [(0.6, 0.6), (0.2, 0.95), (0.85, 0.95)]],
    3: [_ellipse(0.48, 0.27, 0.28, 0.22, start=200, end=450, n=14) + _ellipse(0.48, 0.71, 0.3, 0.24, start=-90, end=150, n=14)],
    4: [[(0.55, 0.05), (0.15, 0.62), (0.88, 0.62)], [(0.66, 0.3), (0.66, 0.95)]],
    5: [[(0.3, 0.06), (0.8, 0.06)], [(0.3, 0.06), (0.26, 0.45)] + _ellipse(0.5, 0.67, 0.3, 0.26, start=-120, end=150, n=16)],
    6: [[(0.7, 0.05), (0.42, 0.3), (0.27, 0.55)] + _ellipse(0.5, 0.7, 0.24, 0.24, start=180, end=540, n=20)],
    7: [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)]],
    8: [_ellipse(0.5, 0.27, 0.22, 0.22, start=90, end=450, n=18) + _ellipse(0.5, 0.72, 0.27, 0.23, start=-90, end=270, n=18)],
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
    return [(cell * i + (cell - side * 0.7) / 2, (height - side) / 2, cell * i + (cell + side * 0.7) / 2, (height + side) / 2)
            for i in range(count)]


def canvas_array(digits, **kwargs):
    """RGBA numpy array as `streamlit-drawable-canvas` returns it: white strokes, transparent paper."""
    return np.asarray(draw(digits, **kwargs))


def paper(digits, size=(600, 450), width=14):
    """Dark ink on light paper, RGB."""
    return draw(digits, size=size, width=width, ink=(25, 25, 30), background=(235, 232, 225), mode="RGB")
