"""Scores computed from predicted probabilities: accuracy, loss, confusion, rejects.

Everything here is plain numpy on `(N, 10)` probabilities and `(N,)` labels, so the app,
the scripts and the tests share one definition of each number.
"""

import numpy as np

from lenet.config import NOT_A_DIGIT_BELOW, NUM_CLASSES
from lenet.nets.inference import Predictor


def predict_probabilities(model_or_predictor, images):
    """Probabilities for `images` through the compiled fast path."""
    predictor = (
        model_or_predictor
        if isinstance(model_or_predictor, Predictor)
        else Predictor(model_or_predictor, warm_up=False)
    )
    return predictor.predict(images)


def evaluate_arrays(model_or_predictor, images, labels):
    """Test metrics of a model on `images` (uint8, 0-255) with true `labels`."""
    return scores(predict_probabilities(model_or_predictor, images), labels)


def scores(probabilities, labels):
    """`test_accuracy`, `test_loss`, `per_class_accuracy`, `confusion_matrix` and `num_errors`."""
    labels = np.asarray(labels)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    return {
        "test_accuracy": float((predicted == labels).mean()),
        "test_loss": cross_entropy(probabilities, labels),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": matrix.tolist(),
        "num_errors": int((predicted != labels).sum()),
        "num_images": int(len(labels)),
    }


def held_out_report(model_or_predictor, sets):
    """How a model reads each held-out set: `{name: {"accuracy", "digits", "per_class",
    "not_a_digit"}}` for `sets` = `{name: (images, labels)}` (MNIST's test set, the real
    writers it never trained on); `not_a_digit` is the share it would call no digit at all."""
    report = {}
    for name, (images, labels) in sets.items():
        probabilities = predict_probabilities(model_or_predictor, images)
        found = scores(probabilities, labels)
        report[name] = {
            "accuracy": round(found["test_accuracy"], 4),
            "digits": found["num_images"],
            "per_class": [round(a, 4) for a in found["per_class_accuracy"]],
            "not_a_digit": round(float((probabilities.max(axis=1) < NOT_A_DIGIT_BELOW).mean()), 4),
        }
    return report


def cross_entropy(probabilities, labels):
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())


def confusion_matrix(labels, predicted, num_classes=NUM_CLASSES):
    """Counts `[true, predicted]`."""
    flat = np.asarray(labels) * num_classes + np.asarray(predicted)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def precision_recall(matrix):
    """Per-class precision and recall from a confusion matrix (0 where a class never occurs)."""
    matrix = np.asarray(matrix)
    hits = matrix.diagonal().astype(float)
    precision = hits / np.maximum(matrix.sum(axis=0), 1)
    recall = hits / np.maximum(matrix.sum(axis=1), 1)
    return precision, recall


def error_reject_curve(probabilities, labels):
    """Error rate against the fraction of inputs rejected for low confidence.

    As in LeCun et al. (1990), the error rate counts wrong answers among the accepted inputs
    as a fraction of all inputs, so rejecting more never raises it, and rejecting
    everything leaves no error. Inputs are rejected least-confident first.

    Returns `(rejected_fraction, error_rate, threshold)`, one point per number of rejects from
    none to all; `threshold` is the lowest accepted confidence (inf when all are rejected).
    """
    confidence = probabilities.max(axis=1)
    wrong = probabilities.argmax(axis=1) != np.asarray(labels)
    order = np.argsort(-confidence, kind="stable")  # most confident first
    n = len(order)
    accepted = np.arange(n, -1, -1)
    errors_among_most_confident = np.concatenate([[0], np.cumsum(wrong[order])])
    error_rate = errors_among_most_confident[accepted] / max(n, 1)
    rejected = 1 - accepted / max(n, 1)
    lowest_accepted = np.concatenate([[np.inf], confidence[order]])
    return rejected, error_rate, lowest_accepted[accepted]


def error_at_threshold(probabilities, labels, threshold):
    """`(rejected_fraction, error_rate)` when answers under `threshold` confidence are rejected."""
    if len(labels) == 0:
        return 0.0, 0.0
    accepted = probabilities.max(axis=1) >= threshold
    wrong = probabilities.argmax(axis=1) != np.asarray(labels)
    return float(1 - accepted.mean()), float((wrong & accepted).mean())
