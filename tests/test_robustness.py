"""Real MNIST digits made to look like users' input must still be read.

Photos: dark ink on uneven paper, 3-10x larger, off-centre, slightly rotated, blurred,
JPEG-compressed. Strips: 2-6 digits side by side with random gaps, read as one number.
"""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from lenet.images.reading import read

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

N_PHOTOS = 1000
N_STRIPS = 300


def as_photo(digit, rng):
    """One MNIST digit as a phone photo of a digit written on paper."""
    scale = rng.uniform(3, 10)
    side = int(28 * scale)
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    big = big.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
    width, height = int(side * rng.uniform(1.6, 2.6)), int(side * rng.uniform(1.4, 2.2))
    ink = np.zeros((height, width), np.float32)
    left, top = rng.integers(0, width - side + 1), rng.integers(0, height - side + 1)
    ink[top : top + side, left : left + side] = np.asarray(big, np.float32)
    # Uneven paper: a light level with a slope and a shadow, plus texture.
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    paper = rng.uniform(190, 235) + rng.uniform(-30, 30) * xx + rng.uniform(-20, 20) * yy
    paper -= rng.uniform(0, 35) * np.exp(-(((xx - rng.uniform()) ** 2 + (yy - rng.uniform()) ** 2) / 0.1))
    paper += rng.normal(0, 3, paper.shape)
    darkness = rng.uniform(0.65, 0.85)
    photo = Image.fromarray(np.clip(paper - ink * darkness * paper / 255, 0, 255).astype(np.uint8))
    photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.6) * scale))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=int(rng.integers(60, 90)))
    return Image.open(io.BytesIO(buffer.getvalue()))


def strip(digits, rng):
    gaps = [np.zeros((28, int(rng.integers(0, 13))), np.uint8) for _ in digits]
    parts = [np.zeros((28, 8), np.uint8)]
    for digit, gap in zip(digits, gaps):
        parts += [digit, gap]
    return np.concatenate(parts + [np.zeros((28, 8), np.uint8)], axis=1)


def test_photos_of_digits_read_within_one_and_a_half_points_of_clean(mnist, default_predictor):
    _, (x_test, y_test) = mnist
    rng = np.random.default_rng(2026)
    picks = rng.choice(len(x_test), N_PHOTOS, replace=False)
    clean = (default_predictor.predict(x_test[picks]).argmax(axis=1) == y_test[picks]).mean()
    right = 0
    for index in picks:
        reading = read(as_photo(x_test[index], rng), default_predictor)
        right += reading.text == str(y_test[index])
    photo_accuracy = right / N_PHOTOS
    print(f"clean {clean:.4f}  photos {photo_accuracy:.4f}")
    assert photo_accuracy >= clean - 0.015


def test_strips_of_digits_read_as_the_exact_number(mnist, default_predictor):
    _, (x_test, y_test) = mnist
    rng = np.random.default_rng(7)
    exact = 0
    for _ in range(N_STRIPS):
        picks = rng.choice(len(x_test), int(rng.integers(2, 7)), replace=False)
        text = read(strip(x_test[picks], rng), default_predictor).text
        exact += text == "".join(str(d) for d in y_test[picks])
    print(f"exact strings {exact / N_STRIPS:.4f}")
    assert exact / N_STRIPS >= 0.95
