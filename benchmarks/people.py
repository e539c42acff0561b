"""How a model reads people it never saw: every held-out set, each held-out writer untaught and
after keeping a few digits (instant memory, and a teach job), and what it says to drawings that
are not digits against what it says to real writers' digits.

    python scripts/benchmark.py --people [--model models/lenet_bn.keras]
"""

import numpy as np

from benchmarks import not_digits, writers
from lenet.config import NOT_A_DIGIT_BELOW
from lenet.datasets import derived
from lenet.datasets.mnist import load_mnist
from lenet.jobs.pipeline import held_out_sets
from lenet.nets.evaluation import held_out_report
from lenet.nets.inference import Predictor
from lenet.nets.modelio import load_model
from lenet.people.teach import TeachConfig, teach

NOT_SURE_BELOW = 0.8  # the Draw page's default "not sure" threshold (app_pages/state.DEFAULT_THRESHOLD)
KEPT = (1, 3, 5)  # digits of each class a writer keeps before the rest are read


def measure_people(settings, model_path, teach_writers=True):
    model = load_model(model_path)
    predictor = Predictor(model)
    mnist = load_mnist(settings.mnist_dir)
    sets = held_out_sets(settings, mnist)
    result = {"model": str(model_path), "held_out": held_out_report(predictor, sets)}
    people = writers.writer_digits(settings.cache_dir, settings.handwriting_dir, "test")
    result["per_writer"] = {k: _pooled(writers.per_writer(predictor, people, k)) for k in KEPT}
    if teach_writers:  # those who wrote more than 5 of every digit: 5 kept, the rest read
        enough = [w for w in people if np.bincount(w[2], minlength=10).min() > 5]
        taught = lambda x, y: Predictor(
            teach(model, x, y, mnist, TeachConfig(), stop=lambda: True).model, warm_up=False
        )
        found = writers.per_writer(predictor, enough, 5, teach=taught)
        result["taught_5"] = {
            **_pooled(found),
            "lowest_writer": min(r["taught"] for r in found["per_writer"]),
            "per_writer": found["per_writer"],
        }
    real = [(predictor.predict(x), y) for name, (x, y) in sets.items() if name != "mnist"]
    probabilities, labels = np.concatenate([p for p, _ in real]), np.concatenate([y for _, y in real])
    result["not_digits"] = not_digit_rates(predictor, probabilities)
    result["confidence"] = confidence_bins(probabilities, labels)
    return result


# 'not a digit', 'not sure', sure, all but certain
CONFIDENCE_BINS = (0.0, NOT_A_DIGIT_BELOW, NOT_SURE_BELOW, 0.99, 1.01)


def confidence_bins(probabilities, labels):
    """Whether the confidence shown is honest: of the held-out real writers' digits, the share
    answered with each band of top probability, and how often those answers are right."""
    top, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    rows = []
    for low, high in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:]):
        band = (top >= low) & (top < high)
        rows.append(
            {
                "from": low,
                "to": min(high, 1.0),
                "share": float(band.mean()),
                "right": float(right[band].mean()) if band.any() else None,
            }
        )
    return rows


def not_digit_rates(predictor, real_probabilities):
    """Of 200 drawings that are not digits, and of every held-out real digit (its probabilities
    given): the share read as 'not a digit' (top probability under 0.5) and as 'not a digit' or
    'not sure' (under 0.8)."""
    drawings = np.stack([derived.model_input(canvas) for canvas, _ in not_digits.drawings(200)])
    strangers = predictor.predict(drawings).max(axis=1)
    real = real_probabilities.max(axis=1)
    kinds = np.array([kind for _, kind in not_digits.drawings(200)])
    return {
        "non_digits": {
            "not_a_digit": float((strangers < NOT_A_DIGIT_BELOW).mean()),
            "not_a_digit_or_not_sure": float((strangers < NOT_SURE_BELOW).mean()),
            "by_kind": {k: float((strangers[kinds == k] < NOT_SURE_BELOW).mean()) for k in np.unique(kinds)},
        },
        "real_digits": {
            "digits": int(len(real)),
            "not_a_digit": float((real < NOT_A_DIGIT_BELOW).mean()),
            "not_a_digit_or_not_sure": float((real < NOT_SURE_BELOW).mean()),
        },
    }


def _pooled(found):
    return {key: value for key, value in found.items() if key != "per_writer"}
