"""Reading digits: preprocessing plus a model, one `Reading` per digit found."""

import dataclasses

import numpy as np

from lenet.preprocess import prepare_digits


@dataclasses.dataclass
class Reading:
    digit: int
    confidence: float
    box: tuple  # (left, top, right, bottom) in the original image's pixels
    probabilities: np.ndarray  # (10,)
    prepared: object  # `preprocess.Prepared`: the model input and the steps that made it


def read_digits(image, predictor):
    """The digits in `image` (Pillow image or array), left to right; empty when there is none.

    `predictor` is a `lenet.inference.Predictor`; all digits go through it in one batch.
    """
    prepared = prepare_digits(image)
    if not prepared:
        return []
    probabilities = predictor.predict(np.stack([p.input for p in prepared]))
    return [
        Reading(int(p.argmax()), float(p.max()), item.box, p, item)
        for p, item in zip(probabilities, prepared)
    ]


def as_text(readings):
    """The digit string, e.g. '2026' ('' when no digit was found)."""
    return "".join(str(r.digit) for r in readings)


def overall_confidence(readings):
    """Probability that the whole string is right, taking digits as independent."""
    return float(np.prod([r.confidence for r in readings])) if readings else 0.0
