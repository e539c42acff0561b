"""Reading a picture: preprocessing plus a model, one `Reading` of its digits.

A `Reading` holds the page's steps once and each `Digit` with its box, model input, own steps
and probabilities. Steps are recorded only when asked for, at the size they are shown.
"""

import dataclasses

import numpy as np

from lenet.images.preprocess import prepare_digits


@dataclasses.dataclass(frozen=True)
class Digit:
    box: tuple  # (left, top, right, bottom) in the original picture's pixels
    input: np.ndarray  # (28, 28) float32, 0-255: what the model read
    crop: np.ndarray  # uint8 luminance of the digit as written, at most 160 px
    probabilities: np.ndarray  # (10,)
    steps: tuple = ()  # this digit's own preprocessing steps (`preprocess.Step`)

    @property
    def value(self):
        return int(self.probabilities.argmax())

    @property
    def confidence(self):
        return float(self.probabilities.max())


@dataclasses.dataclass(frozen=True)
class Reading:
    digits: tuple  # `Digit`s, left to right; empty when the picture holds none
    steps: tuple = ()  # the whole picture's preprocessing steps, shared by its digits

    @property
    def text(self):
        """The digit string, e.g. '2026' ('' when no digit was found)."""
        return "".join(str(d.value) for d in self.digits)

    @property
    def confidence(self):
        """Probability that the whole string is right, taking digits as independent."""
        return float(np.prod([d.confidence for d in self.digits])) if self.digits else 0.0

    @property
    def lowest_confidence(self):
        return min((d.confidence for d in self.digits), default=0.0)


def read(image, predictor, steps_size=None, one_digit=False):
    """Read the digits in `image` (Pillow image or array) with `predictor` (a `Predictor`).

    All digits go through the model in one batch. `steps_size` records the preprocessing
    steps as thumbnails of that size; `one_digit` takes all ink as one digit.
    Raises `ImageRefused` for a picture far beyond handwriting (thousands of marks).
    """
    page, prepared = prepare_digits(image, steps_size=steps_size, one_digit=one_digit)
    if not prepared:
        return Reading(digits=(), steps=page.steps)
    probabilities = predictor.predict(np.stack([p.input for p in prepared]))
    digits = tuple(Digit(box=p.box, input=p.input, crop=p.crop, probabilities=probs, steps=p.steps)
                   for p, probs in zip(prepared, probabilities))
    return Reading(digits=digits, steps=page.steps)
