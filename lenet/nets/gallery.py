"""The test set as a model reads it: predictions cached per model version, and the ways to
slice them (filters, sorting, disagreements between two models) and to picture them.
"""

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from lenet.images import pictures
from lenet.storage import atomic_file


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


def test_set_predictions(predictor, model_version, images, labels, cache_dir):
    """Predictions for the test set, read from `cache_dir` when this model version has them.

    The cache file is named by the model file's version (name, modification time, size), so a
    retrained or replaced model never reuses an old file. Written atomically.
    """
    path = Path(cache_dir) / f"test-predictions-{hashlib.sha256(model_version.encode()).hexdigest()[:20]}.npy"
    try:
        probabilities = np.load(path, allow_pickle=False)
        if probabilities.shape == (len(labels), 10):
            return Predictions(probabilities, labels)
    except (OSError, ValueError):
        pass
    probabilities = predictor.predict(images)
    with atomic_file(path) as tmp:
        np.save(tmp, probabilities)
    return Predictions(probabilities, labels)


def select(
    predictions,
    only_mistakes=False,
    true_class=None,
    predicted_class=None,
    confidence=(0.0, 1.0),
    least_sure_first=False,
):
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


def contact_sheet(images, indices, predictions, columns=10):
    """The chosen digits framed green (right) or red (wrong), each with 'index true->read'."""
    # ASCII captions: the default font has no arrow.
    captions = [f"#{i} {predictions.labels[i]}->{predictions.predicted[i]}" for i in indices]
    return pictures.contact_sheet([images[i] for i in indices], captions, predictions.correct[indices], columns)
