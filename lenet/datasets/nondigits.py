"""Drawings that are not digits, for teaching a network to say so: scribbles, zigzags, shapes
and letters, as the Draw page's canvas would send them.

A network trained only on digits is sure of something whatever it is shown (a smiley read as a
9 at 90%). Trained beside these with a loss that asks for no preference among the ten digits
(outlier exposure, Hendrycks et al. 2019), it answers a non-digit with low confidence. Letters
that people's digits look like (O, I, l, Z, S, B, G, b, g, q...) are left out: teaching the
network to refuse them would teach it to refuse real 0s, 1s, 2s, 5s, 8s and 9s.
"""

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lenet.config import CANVAS_SIZE
from lenet.datasets import ink

# Letters and signs unlike any way of writing a digit: no O, C, U (open zeros), I, l, ! (ones), Z (two),
# S (five), b, G (six), B, & (eight), g, q, a (nines), Y, y, h (open fours).
LETTERS = "AEFHKMNPRVWXefkmnprtvwx#%@*+=<>"
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSansMono.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationSans-Bold.ttf",
)
# No blobs, dots or short dashes: scaled to a digit's box, one is a bold 1 (they taught the network to
# doubt thick 1s).
KINDS = ("scribble", "zigzag", "polygon", "star", "smiley", "spiral", "wave", "cross", "letter")


def scribble(rng):
    """A smooth line through 10-20 random points of a box: it crosses itself again and again
    (one through fewer points can be a 2, a 3 or a 6)."""
    return [ink.catmull_rom(rng.uniform(0, 1, (rng.integers(10, 21), 2)))]


def zigzag(rng):
    count = rng.integers(6, 12)  # fewer turns make a Z, N or M: a 2 or a 7
    x = np.linspace(0, 1, count)
    y = np.where(np.arange(count) % 2, 0.0, rng.uniform(0.3, 1.0)) + rng.normal(0, 0.05, count)
    return [np.column_stack([x, y])]


def polygon(rng):
    """A triangle, or a box with its diagonals (a closed box alone is how some people write 0)."""
    if rng.random() < 0.5:
        angles = np.linspace(0, 2 * math.pi, 4) + rng.uniform(0, math.pi)
        return [np.column_stack([np.cos(angles), np.sin(angles)])]
    box = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float)
    return [box, box[[0, 2]], box[[1, 3]]]


def star(rng):
    tips = rng.integers(5, 8)
    angles = np.linspace(0, 2 * math.pi, 2 * tips + 1)
    radius = np.where(np.arange(2 * tips + 1) % 2, rng.uniform(0.3, 0.5), 1.0)
    return [np.column_stack([radius * np.sin(angles), -radius * np.cos(angles)])]


def smiley(rng):
    """A face: a circle, two eyes, a mouth (a frown or a straight one too)."""
    face = np.linspace(0, 2 * math.pi, 40)
    eye = lambda x: np.array([[x, -0.3], [x + 0.02, -0.28]])
    bend = rng.uniform(-0.3, 0.3)
    mouth = np.column_stack([np.linspace(-0.45, 0.45, 12), 0.35 + bend * (1 - np.linspace(-1, 1, 12) ** 2)])
    return [np.column_stack([np.cos(face), np.sin(face)]), eye(-0.35), eye(0.3), mouth]


def spiral(rng):
    turns = rng.uniform(2.5, 4.0)  # fewer turns look like a 6 or a 0
    t = np.linspace(0, turns * 2 * math.pi, 80)
    return [np.column_stack([t * np.cos(t), t * np.sin(t)])]


def wave(rng):
    x = np.linspace(0, rng.uniform(5, 9) * math.pi, 80)  # one or two bends make an S, a 2 or a 5
    return [np.column_stack([x, np.sin(x) * rng.uniform(0.5, 2.0)])]


def cross(rng):
    """An X, a hash, an asterisk or a grid: crossing straight strokes."""
    count = rng.integers(4, 7)  # fewer crossing strokes can be a 1, a 4, a 7 with a bar
    return [rng.uniform(-1, 1, (2, 2)) for _ in range(count)]


def _letter(rng):
    """A letter or sign from a font, as a white glyph on a transparent canvas."""
    fonts = [name for name in FONTS if _font(name, 10)]
    size = int(rng.integers(110, 200))
    font = _font(fonts[rng.integers(len(fonts))], size) if fonts else ImageFont.load_default(size=size)
    image = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), ink.PAPER)
    ImageDraw.Draw(image).text(
        (CANVAS_SIZE / 2, CANVAS_SIZE / 2), LETTERS[rng.integers(len(LETTERS))], font=font, fill=ink.INK, anchor="mm"
    )
    return np.asarray(image.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BILINEAR))


def _font(name, size):
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return None


SHAPES = {
    "scribble": scribble,
    "zigzag": zigzag,
    "polygon": polygon,
    "star": star,
    "smiley": smiley,
    "spiral": spiral,
    "wave": wave,
    "cross": cross,
}


def drawing(index, seed=0):
    """(canvas, kind): non-digit drawing number `index`, drawn by its own seeded generator."""
    rng = np.random.default_rng([seed, index, 7])
    kind = KINDS[index % len(KINDS)]
    if kind == "letter":
        return _letter(rng), kind
    strokes = [s @ ink.hand(rng, aspect=(0.6, 1.6), turn=30).T for s in SHAPES[kind](rng)]
    width = ink.brush(rng)
    return ink.render(
        ink.place(ink.unit_box(strokes), *ink.where(rng, width / 2 / CANVAS_SIZE + 0.01)), CANVAS_SIZE, width, margin=0
    ), kind
