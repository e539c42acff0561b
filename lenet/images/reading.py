"""Reading a picture: preprocessing plus a model, one `Reading` of its digits.

`read_file` is the one way from a file's bytes or path to a `Reading` (the page's uploads, the
command line, kept digits); `read` reads a picture already in memory (the canvas). A `Reading`
holds the page's steps once and each `Digit` with its box, model input, own steps and
probabilities. Steps are recorded only when asked for, at the size they are shown.
"""

import dataclasses

import numpy as np

from lenet.config import NOT_A_DIGIT_BELOW
from lenet.images.files import open_image
from lenet.images.preprocess import prepare_digits


@dataclasses.dataclass(frozen=True)
class Digit:
    box: tuple  # (left, top, right, bottom) in the picture's pixels (`read_file`: the file's own)
    input: np.ndarray  # (28, 28) float32, 0-255: what the model read
    crop: np.ndarray  # uint8 luminance of the digit as written, at most 160 px
    probabilities: np.ndarray | None  # (10,); None when read without a model (preparation only)
    steps: tuple = ()  # this digit's own preprocessing steps (`preprocess.Step`)
    remembered: float = 0.0  # how much a memory of kept digits weighed in the answer (0: none, 1: all)

    @property
    def value(self):
        return int(self.probabilities.argmax())

    @property
    def confidence(self):
        return float(self.probabilities.max())

    @property
    def is_digit(self):
        """False when no digit stands out: the network was taught to answer what is not a
        digit (scribbles, shapes, letters) with no preference among the ten."""
        return self.confidence >= NOT_A_DIGIT_BELOW


@dataclasses.dataclass(frozen=True)
class Reading:
    digits: tuple  # `Digit`s, left to right; empty when the picture holds none
    steps: tuple = ()  # the whole picture's preprocessing steps, shared by its digits
    picture: object = None  # `read_file`: the decoded picture (Pillow, longest side <= 2048 px)
    size: tuple | None = None  # `read_file`: the file's own (width, height)
    memory_size: int = 0  # kept digits in the memory the reading consulted (0: none)

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


def read(image, predictor, steps_size=None, one_digit=False, memory=None):
    """Read the digits in `image` (Pillow image or array) with `predictor` (a `Predictor`, or
    None to prepare the digits only); boxes are in `image`'s pixels.

    All digits go through the model in one batch. `steps_size` records the preprocessing
    steps as thumbnails of that size; `one_digit` takes all ink as one digit. `memory` (a
    `lenet.people.memory.Memory` of someone's kept digits) blends their vote into each answer.
    Raises `ImageRefused` for a picture far beyond handwriting (thousands of marks).
    """
    page, prepared = prepare_digits(image, steps_size=steps_size, one_digit=one_digit)
    if not prepared:
        return Reading(digits=(), steps=page.steps)
    inputs = np.stack([p.input for p in prepared])
    probabilities, say = [None] * len(prepared), np.zeros(len(prepared))
    if predictor is not None and memory is not None and len(memory):
        probabilities, say = memory.blend(*predictor.predict_and_embed(inputs))
    elif predictor is not None:
        probabilities = predictor.predict(inputs)
    digits = tuple(
        Digit(box=p.box, input=p.input, crop=p.crop, probabilities=probs, steps=p.steps, remembered=float(s))
        for p, probs, s in zip(prepared, probabilities, say)
    )
    return Reading(digits=digits, steps=page.steps, memory_size=len(memory) if memory is not None else 0)


def read_file(source, predictor=None, steps_size=None, one_digit=False, cancelled=None):
    """Read the digits in an image file (bytes, a path or a binary file object) as `read` does,
    with boxes in the file's own pixels; the `Reading` keeps the decoded picture and its size.

    Raises `ImageRefused` with a one-line reason for anything that is not a readable picture
    (see `lenet.images.files.open_image`; `cancelled()` ends a wait for decoding memory).
    """
    picture = open_image(source, cancelled=cancelled)
    reading = read(picture, predictor, steps_size=steps_size, one_digit=one_digit)
    size = picture.info["original_size"]
    scale = max(size) / max(picture.size)
    digits = tuple(dataclasses.replace(d, box=tuple(round(v * scale) for v in d.box)) for d in reading.digits)
    return dataclasses.replace(reading, digits=digits, picture=picture, size=size)
