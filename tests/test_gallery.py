"""Gallery logic on a small fixture, and the Gallery page with and without real MNIST."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from lenet.config import Settings
from lenet.datasets import mnist as data
from lenet.nets import gallery
from lenet.nets.evaluation import confusion_matrix, error_reject_curve, precision_recall


@pytest.fixture
def fixture_predictions():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 200)
    logits = rng.normal(0, 1, (200, 10))
    logits[np.arange(200), labels] += rng.uniform(0, 4, 200)  # mostly right, sometimes not
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return gallery.Predictions(probabilities.astype(np.float32), labels)


def test_filters_return_exactly_the_right_subsets(fixture_predictions):
    p = fixture_predictions
    predicted, confidence = p.probabilities.argmax(1), p.probabilities.max(1)
    assert set(gallery.select(p, only_mistakes=True)) == {i for i in range(200) if predicted[i] != p.labels[i]}
    assert set(gallery.select(p, true_class=3)) == {i for i in range(200) if p.labels[i] == 3}
    assert set(gallery.select(p, predicted_class=7)) == {i for i in range(200) if predicted[i] == 7}
    assert set(gallery.select(p, confidence=(0.2, 0.5))) == {i for i in range(200) if 0.2 <= confidence[i] <= 0.5}
    both = gallery.select(p, only_mistakes=True, true_class=4, predicted_class=9)
    assert set(both) == {i for i in range(200) if p.labels[i] == 4 and predicted[i] == 9}
    ordered = gallery.select(p, least_sure_first=True)
    assert list(confidence[ordered]) == sorted(confidence)


def test_confusion_matrix_matches_a_plain_count(fixture_predictions):
    p = fixture_predictions
    reference = np.zeros((10, 10), int)
    for t, q in zip(p.labels, p.predicted):
        reference[t, q] += 1
    np.testing.assert_array_equal(confusion_matrix(p.labels, p.predicted), reference)
    precision, recall = precision_recall(reference)
    for digit in range(10):
        if reference[:, digit].sum():
            assert precision[digit] == pytest.approx(reference[digit, digit] / reference[:, digit].sum())
        if reference[digit].sum():
            assert recall[digit] == pytest.approx(reference[digit, digit] / reference[digit].sum())


def test_error_reject_curve_falls_to_zero(fixture_predictions):
    p = fixture_predictions
    rejected, error, threshold = error_reject_curve(p.probabilities, p.labels)
    assert rejected[0] == 0 and rejected[-1] == 1
    assert error[0] == pytest.approx((p.predicted != p.labels).mean())
    assert np.all(np.diff(error) <= 1e-12) and error[-1] == 0
    assert np.all(np.diff(rejected) > 0)


def test_disagreements_say_who_is_right(fixture_predictions):
    first = fixture_predictions
    flipped = first.probabilities.copy()
    flipped[:5] = np.roll(flipped[:5], 1, axis=1)
    second = gallery.Predictions(flipped, first.labels)
    indices, right = gallery.disagreements(first, second)
    assert set(indices) <= set(range(5))
    for index, who in zip(indices, right):
        expected = "first" if first.correct[index] else "second" if second.correct[index] else "neither"
        assert who == expected


def test_predictions_are_cached_on_disk_per_model_version(tmp_path, fixture_predictions):
    calls = []

    class Counting:
        def predict(self, images):
            calls.append(len(images))
            return fixture_predictions.probabilities

    images = np.zeros((200, 28, 28), np.uint8)
    first = gallery.test_set_predictions(Counting(), "m.keras:1:10", images, fixture_predictions.labels, tmp_path)
    again = gallery.test_set_predictions(Counting(), "m.keras:1:10", images, fixture_predictions.labels, tmp_path)
    assert calls == [200]
    np.testing.assert_array_equal(first.probabilities, again.probabilities)
    gallery.test_set_predictions(Counting(), "m.keras:2:10", images, fixture_predictions.labels, tmp_path)
    assert calls == [200, 200]


def gallery_page(tmp_path, monkeypatch, **env):
    monkeypatch.setenv("LENET_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    data._load_cached.cache_clear()
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    return app.switch_page("app_pages/gallery.py").run()


def test_without_mnist_the_page_explains_and_the_app_still_works(tmp_path, monkeypatch):
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    app = gallery_page(tmp_path, monkeypatch, MNIST_DIR=str(empty), KERAS_HOME=str(tmp_path / "keras"))
    assert not app.exception
    message = " ".join(i.value for i in app.info)
    assert "MNIST_DIR" in message and "Keras cache" in message
    app.switch_page("app_pages/draw.py").run()
    assert not app.exception and app.metric[0].label == "Prediction"


@pytest.mark.mnist
@pytest.mark.slow
def test_the_page_lists_as_many_mistakes_as_evaluate_counts(tmp_path, monkeypatch, mnist):
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "evaluate.py"),
            str(Settings().models_dir / f"{Settings().default_model}.keras"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = json.loads(run.stdout)["num_errors"]
    app = gallery_page(tmp_path, monkeypatch)
    assert not app.exception
    assert any(m.label == "Mistakes" and m.value == f"{errors:,} of 10,000" for m in app.metric)
    app.toggle(key="g_mistakes").set_value(True).run()
    assert f"**{errors:,} images** match" in app.caption[0].value
    app.selectbox(key="g_true").set_value(9).run()
    app.selectbox(key="g_predicted").set_value(4).run()
    assert not app.exception
