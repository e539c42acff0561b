"""The test set as a model reads it: predictions cached per model version, and the ways to
slice them (filters, sorting, disagreements between two models) and to picture them.
"""

import dataclasses
import hashlib
import os
import tempfile

import numpy as np
from PIL import Image, ImageDraw

from lenet.config import data_dir

RIGHT, WRONG = (46, 160, 67), (215, 58, 73)


@dataclasses.dataclass(frozen=True)
class Predictions:
    """A model's answers on a labelled image set."""

    probabilities: np.ndarray  # (N, 10) float32
    labels: np.ndarray  # (N,)

    @property
    def predicted(self):
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self):
        return self.probabilities.max(axis=1)

    @property
    def correct(self):
        return self.predicted == self.labels


def cache_path(model_version):
    key = hashlib.sha256(model_version.encode()).hexdigest()[:20]
    return data_dir() / "cache" / f"test-predictions-{key}.npy"


def test_set_predictions(predictor, model_version, images, labels):
    """Predictions for the test set, read from the disk cache when this model version has them.

    The cache file is named by the model file's version (name, modification time, size), so a
    retrained or replaced model never reuses an old file. Written atomically.
    """
    path = cache_path(model_version)
    try:
        probabilities = np.load(path, allow_pickle=False)
        if probabilities.shape == (len(labels), 10):
            return Predictions(probabilities, labels)
    except (OSError, ValueError):
        pass
    probabilities = predictor.predict(images)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".predictions.", suffix=".npy", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        np.save(f, probabilities)
    os.replace(tmp, path)
    return Predictions(probabilities, labels)


def select(predictions, only_mistakes=False, true_class=None, predicted_class=None,
           confidence=(0.0, 1.0), least_sure_first=False):
    """Indices of the images passing every filter, in index order or least sure first."""
    keep = np.ones(len(predictions.labels), bool)
    if only_mistakes:
        keep &= ~predictions.correct
    if true_class is not None:
        keep &= predictions.labels == true_class
    if predicted_class is not None:
        keep &= predictions.predicted == predicted_class
    low, high = confidence
    keep &= (predictions.confidence >= low) & (predictions.confidence <= high)
    indices = np.flatnonzero(keep)
    if least_sure_first:
        indices = indices[np.argsort(predictions.confidence[indices], kind="stable")]
    return indices


def disagreements(first, second):
    """Indices where two models' answers differ, and for each which one is right."""
    differ = np.flatnonzero(first.predicted != second.predicted)
    right = np.where(first.correct[differ], "first", np.where(second.correct[differ], "second", "neither"))
    return differ, right


def page_of(indices, page, per_page):
    pages = max(1, -(-len(indices) // per_page))
    page = min(max(1, page), pages)
    return indices[(page - 1) * per_page : page * per_page], pages


def contact_sheet(images, indices, predictions, columns=10, scale=2, border=3):
    """One picture of the chosen digits, each framed green (right) or red (wrong), with its index
    and 'true->predicted' under it."""
    cell = 28 * scale + 2 * border
    caption = 14
    rows = max(1, -(-len(indices) // columns))
    sheet = Image.new("RGB", (columns * (cell + 4), rows * (cell + caption + 4)), (255, 255, 255))
    pen = ImageDraw.Draw(sheet)
    for position, index in enumerate(indices):
        r, c = divmod(position, columns)
        x, y = c * (cell + 4), r * (cell + caption + 4)
        right = bool(predictions.correct[index])
        pen.rectangle((x, y, x + cell - 1, y + cell - 1), fill=RIGHT if right else WRONG)
        digit = Image.fromarray(images[index]).resize((28 * scale, 28 * scale), Image.Resampling.NEAREST)
        sheet.paste(digit, (x + border, y + border))
        label = f"#{index} {predictions.labels[index]}->{predictions.predicted[index]}"  # ASCII: the default font has no arrow
        pen.text((x + 1, y + cell), label, fill=(40, 40, 40) if right else WRONG, font_size=10)
    return sheet
