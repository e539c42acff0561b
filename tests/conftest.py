"""Shared fixtures: real MNIST when it is there (always in CI), tiny generated digits otherwise."""

import os
import sys
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app_pages.access import throttle
from lenet.config import PROJECT_ROOT as ROOT  # noqa: F401 (test modules import it from here)
from lenet.config import Settings
from lenet.datasets.mnist import MnistNotFound, load_mnist
from lenet.jobs.catalog import Catalog
from lenet.nets.inference import Predictor
from lenet.nets.modelio import load_model

# CI sets this: what would be skipped on a laptop (no MNIST, no Chromium) must fail there.
IN_CI = os.environ.get("LENET_CI") == "1"


def skip_or_fail(reason):
    if IN_CI:
        pytest.fail(f"{reason} (LENET_CI=1: CI must run this test)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST from MNIST_DIR or the Keras cache; never downloads during tests."""
    try:
        return load_mnist(Settings.from_env().mnist_dir, download=False)
    except MnistNotFound as error:
        skip_or_fail(f"real MNIST not found: {error}")


@pytest.fixture(scope="session")
def handwriting_dir():
    """The folder of the real writers' sets (HANDWRITING_DIR); CI points it at ../shared/handwriting."""
    folder = Settings.from_env().handwriting_dir
    if folder is None or not folder.is_dir():
        skip_or_fail("the real writers' handwriting sets were not found (set HANDWRITING_DIR)")
    return folder


@pytest.fixture(autouse=True)
def main_module():
    """Streamlit's AppTest runs a page as `__main__` and leaves it there: a process spawned later
    (a pool preparing digits, a database writer) would then run that page as its own main, fail,
    and break its pool. Each test gets back the `__main__` it started with."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session", autouse=True)
def derived_dir(tmp_path_factory):
    """One cache of derived arrays for the whole test session, for every app and job the tests
    start: the real writers' held-out digits are prepared once (a minute), not by every job."""
    folder = tmp_path_factory.mktemp("derived")
    previous = os.environ.get("LENET_CACHE_DIR")
    os.environ["LENET_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("LENET_CACHE_DIR", None)
    else:
        os.environ["LENET_CACHE_DIR"] = previous


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """This test's installation: a fresh data folder (derived arrays shared by the session),
    training on, no password. The environment says the same, for the app under AppTest and for
    the job processes it starts."""
    monkeypatch.setenv("LENET_DATA_DIR", str(tmp_path / "data"))
    for name in ("LENET_TRAINING", "LENET_TRAINING_PASSWORD", "LENET_RUNS_DB", "LENET_KEEP_VERSIONS"):
        monkeypatch.delenv(name, raising=False)
    throttle.clear()  # wrong passwords of earlier tests (one server-wide count) don't carry over
    return Settings.from_env()


def draw_digit(digit, size=28, scale=1.0, shift=(0, 0), angle=0.0, width=None, rng=None):
    """A digit glyph in MNIST convention (white on black, uint8), from Pillow's font."""
    canvas = Image.new("L", (112, 112), 0)
    font = ImageFont.load_default(size=int(96 * scale))
    ImageDraw.Draw(canvas).text(
        (56 + shift[0], 56 + shift[1]),
        str(digit),
        fill=255,
        font=font,
        anchor="mm",
        stroke_width=width or 0,
        stroke_fill=255,
    )
    if angle:
        canvas = canvas.rotate(angle, resample=Image.Resampling.BILINEAR)
    return np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))


def tiny_digits(n, seed=0):
    """`n` generated 28x28 digits with labels: a learnable stand-in for MNIST."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.stack(
        [
            draw_digit(d, scale=rng.uniform(0.8, 1.1), shift=tuple(rng.integers(-6, 7, 2)), angle=rng.uniform(-10, 10))
            for d in labels
        ]
    )
    return images.astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_data():
    """((x_train, y_train), (x_test, y_test)) of generated digits, shaped like MNIST."""
    return tiny_digits(600, seed=1), tiny_digits(200, seed=2)


@pytest.fixture(scope="session")
def default_predictor():
    return Predictor(load_model(Catalog(Settings()).default_path))


def wait_for(predicate, timeout=180, what="the condition"):
    """`predicate()`'s first true value, polled every 0.1 s, or an AssertionError after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def ended(store, run_id):
    """The run once it is no longer active, else None (for `wait_for`)."""
    run = store.run(run_id)
    return run if not run.status.active else None
