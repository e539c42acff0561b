"""The inputs the benchmarks time: a drawing as the canvas sends it, a phone photo, and the
pictures that once stalled a server (the tests' hostile corpus uses them too)."""

import io

import numpy as np
from PIL import Image, ImageDraw

from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH


def canvas_drawing(size=CANVAS_SIZE, width=DEFAULT_BRUSH):
    """A 7 written on a 280x280 canvas, as the Draw page receives it (RGBA, white on transparent)."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    points = [(0.25 * size, 0.18 * size), (0.75 * size, 0.18 * size), (0.42 * size, 0.85 * size)]
    ImageDraw.Draw(image).line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
    return np.asarray(image)


def phone_photo(width=3000, height=4000):
    """A 7 in dark ink on unevenly lit grey paper: a 12 MP phone photo, JPEG-encoded."""
    ink = Image.new("L", (width, height), 0)
    points = [(0.3 * width, 0.3 * height), (0.7 * width, 0.3 * height), (0.45 * width, 0.7 * height)]
    ImageDraw.Draw(ink).line(points, fill=255, width=width // 20, joint="curve")
    rng = np.random.default_rng(0)
    paper = 215 - np.linspace(0, 50, width)[None, :] + rng.normal(0, 3, (height, width))
    photo = np.clip(paper - np.asarray(ink, np.float32) * 0.75, 0, 255).astype(np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(photo).save(encoded, "JPEG", quality=85)
    return encoded.getvalue()


def dots_png(count, spacing=10, dot=4):
    """White paper with a `count`-dot square grid of black dots: a few KB that once cost minutes."""
    side = int(round(count**0.5)) * spacing
    pattern = np.full((side, side), 255, np.uint8)
    for y in range(0, side, spacing):
        for x in range(0, side, spacing):
            pattern[y : y + dot, x : x + dot] = 0
    return _png(Image.fromarray(pattern).convert("1"))


def just_under_the_pixel_cap(mode="L"):
    """A 6300x6300 (39.7 MP) picture of a 7, as small a file as PNG makes it: tiny to send, large to decode."""
    ink = Image.new("L", (6300, 6300), 255)
    ImageDraw.Draw(ink).line([(1800, 1300), (4500, 1300), (2900, 5100)], fill=0, width=300, joint="curve")
    return _png(ink.convert(mode))


def _png(image):
    encoded = io.BytesIO()
    image.save(encoded, "PNG", optimize=True)
    return encoded.getvalue()
