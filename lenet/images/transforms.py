"""The same digit shifted, scaled, rotated, squeezed, thickened and noised: LeNet's invariance demos.

Each transformation is a small named step on one 28x28 model input (float32, 0-255, white on
black) that returns another; `sweep` applies one of them over a range of amounts and stacks
the results into one batch, so a model reads the whole sweep in a single call. Geometric steps
turn about the digit's centre of mass, so scaling or rotating does not also move it.
"""

import dataclasses

import numpy as np
from scipy import ndimage as ndi

from lenet.config import IMAGE_SIZE
from lenet.errors import Refused

# The noise of a sweep is drawn from this seed at every amount: the same drawing gives the same
# curve, and the pixels flipped at 10% include those flipped at 5%, so the curve is smooth.
NOISE_SEED = 0
MIN_INK = 255.0  # less than one white pixel's worth of ink is no digit to transform


class TransformRefused(Refused, ValueError):
    """A sweep that can't be made (no ink, an unknown transformation); the message says why."""


def _center(image):
    if image.sum() == 0:
        return np.array([(IMAGE_SIZE - 1) / 2] * 2)
    return np.array(ndi.center_of_mass(image))


def _affine(image, matrix):
    """`image` through `matrix` (output offset -> input offset, in (row, column)) about its centre of mass."""
    center = _center(image)
    matrix = np.asarray(matrix, np.float64)
    out = ndi.affine_transform(image, matrix, offset=center - matrix @ center, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0, 255).astype(np.float32)


def shift(image, dx, dy):
    """Move the digit `dx` pixels right and `dy` pixels down (ink pushed past the edge is lost)."""
    return np.clip(ndi.shift(image, (dy, dx), order=1, mode="constant", cval=0.0), 0, 255).astype(np.float32)


def scale(image, factor):
    """Grow (`factor` > 1) or shrink the digit about its centre of mass."""
    return _affine(image, np.eye(2) / factor)


def rotate(image, degrees):
    """Turn the digit `degrees` counter-clockwise (as it looks) about its centre of mass."""
    theta = np.deg2rad(degrees)
    cos, sin = np.cos(theta), np.sin(theta)
    # Rows grow downwards: an output offset (row, column) is read from the input turned back by theta.
    return _affine(image, [[cos, sin], [-sin, cos]])


def squeeze(image, factor):
    """Change the digit's width by `factor` (< 1 narrower, > 1 wider), its height kept."""
    return _affine(image, [[1.0, 0.0], [0.0, 1.0 / factor]])


def disk(radius):
    """A boolean footprint of the pixels within `radius` of the centre (radius 1: a plus, 1.5: 3x3)."""
    reach = int(np.floor(abs(radius)))
    rows, cols = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    return rows**2 + cols**2 <= radius**2


def thicken(image, radius):
    """Fatten strokes by `radius` pixels on each side (grey dilation); a negative radius thins
    them (grey erosion); 0 leaves the digit as it is."""
    if abs(radius) < 1:  # a disk under one pixel is the pixel itself
        return np.asarray(image, np.float32).copy()
    morphology = ndi.grey_dilation if radius > 0 else ndi.grey_erosion
    return morphology(image, footprint=disk(radius), mode="constant", cval=0.0).astype(np.float32)


def salt_and_pepper(image, amount, rng):
    """Flip the fraction `amount` of the pixels, chosen by `rng`: ink becomes paper, paper ink."""
    flat = np.asarray(image, np.float32).ravel().copy()
    chosen = rng.permutation(flat.size)[: round(amount * flat.size)]
    flat[chosen] = np.where(flat[chosen] >= 128, 0.0, 255.0)
    return flat.reshape(np.shape(image))


@dataclasses.dataclass(frozen=True)
class Transform:
    name: str
    label: str  # the chart's axis title
    identity: float  # the amount that leaves the digit as it is
    amounts: tuple  # the sweep's default amounts
    apply: object  # (image, amount) -> image
    unit: str = ""  # how an amount is written: " px", "°", "×" (a factor), "%" (a fraction)

    def show(self, amount):
        """An amount as a person reads it: '+3 px', '-30°', '×0.8', '12%'."""
        if self.unit == "%":
            return f"{amount:.0%}"
        if self.unit == "×":
            return f"×{amount:g}"
        return (f"{amount:+g}" if amount else "0").replace("-", "−") + self.unit


def _steps(low, high, step):
    return tuple(float(v) for v in np.round(np.arange(low, high + step / 2, step), 6))


TRANSFORMS = {
    t.name: t
    for t in (
        Transform("shift x", "shift right (pixels)", 0.0, _steps(-10, 10, 1), lambda im, a: shift(im, a, 0), " px"),
        Transform("shift y", "shift down (pixels)", 0.0, _steps(-10, 10, 1), lambda im, a: shift(im, 0, a), " px"),
        Transform("scale", "scale (factor)", 1.0, _steps(0.4, 1.6, 0.05), scale, "×"),
        Transform("rotation", "rotation (degrees, counter-clockwise)", 0.0, _steps(-90, 90, 7.5), rotate, "°"),
        Transform("squeeze", "width (factor, height kept)", 1.0, _steps(0.3, 1.7, 0.05), squeeze, "×"),
        Transform(
            "thickness",
            "stroke thickness (pixels added per side)",
            0.0,
            (-1.5, -1.0, 0.0, 1.0, 1.5, 2.0, 2.5, 3.0),  # a disk of radius 0.5 is one pixel: no change
            thicken,
            " px",
        ),
        Transform(
            "noise",
            "salt-and-pepper noise (fraction of pixels flipped)",
            0.0,
            _steps(0, 0.2, 0.01),
            lambda im, a: salt_and_pepper(im, a, np.random.default_rng(NOISE_SEED)),
            "%",
        ),
    )
}


def transform(name):
    """The `Transform` called `name`; `TransformRefused` naming the known ones otherwise."""
    if name not in TRANSFORMS:
        raise TransformRefused(f"No transformation called {name!r}; there are {', '.join(TRANSFORMS)}.")
    return TRANSFORMS[name]


def sweep(image, name, amounts=None):
    """`(N, 28, 28)` float32: `image` transformed by `name` at each of `amounts` (default: the
    transformation's own range), one batch for one model call."""
    image = np.asarray(image, np.float32)
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"Expected one {IMAGE_SIZE}x{IMAGE_SIZE} image, got {image.shape}.")
    if image.sum() < MIN_INK:
        raise TransformRefused("There is no digit to transform: the picture is empty. Draw a digit first.")
    chosen = transform(name)
    amounts = chosen.amounts if amounts is None else amounts
    return np.stack([chosen.apply(image, float(a)) for a in amounts]).astype(np.float32)
