"""The inputs the benchmarks time: a drawing as the canvas sends it, and a phone photo."""

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
