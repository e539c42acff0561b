"""How fast the app answers: a drawing to its answer, preprocessing, the whole test set, the
Gallery's first pass, a cold start, and a training run as a job against the same run as a script."""

import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.samples import canvas_drawing, dots_png, just_under_the_pixel_cap, phone_photo
from lenet.config import PROJECT_ROOT
from lenet.images import transforms
from lenet.images.files import ImageRefused, open_image
from lenet.images.preprocess import prepare_digits
from lenet.images.reading import read
from lenet.jobs import supervisor
from lenet.jobs.runs import RunStore
from lenet.nets import gallery
from lenet.nets.inference import Predictor
from lenet.nets.invariance import explore
from lenet.nets.modelio import load_model
from lenet.nets.training import TrainConfig


def _times_ms(work, repeats, warm_up=1):
    for _ in range(warm_up):
        work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure_latency(predictor, model, repeats=300):
    """Canvas image to prediction (preprocessing + compiled model call), and model.predict for contrast."""
    image = canvas_drawing()
    times = _times_ms(lambda: read(image, predictor), repeats, warm_up=10)
    model_input = read(image, predictor).digits[0].input[None, ..., None]
    predict_times = _times_ms(lambda: model.predict(model_input, verbose=0), 30)
    return {
        "latency_ms_p50": float(np.percentile(times, 50)),
        "latency_ms_p95": float(np.percentile(times, 95)),
        "predict_ms_p50": float(np.percentile(predict_times, 50)),
    }


def measure_preprocessing(canvas_repeats=200, photo_repeats=7):
    """Median time from an image to the model's 28x28 input: a canvas drawing, and a phone photo
    from its JPEG bytes (decoding included, as an upload is read)."""
    canvas, photo = canvas_drawing(), phone_photo()
    assert len(prepare_digits(open_image(photo))[1]) == 1  # the photo is read as one digit
    return {
        "preprocess_canvas_ms_p50": statistics.median(_times_ms(lambda: prepare_digits(canvas), canvas_repeats)),
        "preprocess_photo_ms_p50": statistics.median(
            _times_ms(lambda: prepare_digits(open_image(photo)), photo_repeats)
        ),
    }


def measure_test_set(predictor, x_test, repeats=3):
    predictor.predict(x_test[:1000])
    return {"test_set_predict_s": statistics.median(_times_ms(lambda: predictor.predict(x_test), repeats, 0)) / 1000}


def measure_invariance(predictor, repeats=30):
    """A drawing's invariance sweep, each transformation: the transformed inputs and one batched
    model call (the Invariance tab's server work before the chart is drawn); median and the slowest."""
    image = read(canvas_drawing(), predictor).digits[0].input
    medians = {
        name: statistics.median(_times_ms(lambda n=name: explore(predictor, image, n), repeats, warm_up=2))
        for name in transforms.TRANSFORMS
    }
    return {
        "invariance_sweep_ms_p50": statistics.median(medians.values()),
        "invariance_sweep_ms_slowest": max(medians.values()),
    }


def measure_hostile_pictures(repeats=3):
    """Server time for the pictures that once stalled it: dot patterns (refused) and a
    39.7-megapixel PNG (read), from the bytes to the answer or the refusal."""

    def seconds(data):
        def work():
            try:
                prepare_digits(open_image(data))
            except ImageRefused:
                pass

        return statistics.median(_times_ms(work, repeats)) / 1000

    return {
        "dots_10000_s": seconds(dots_png(10_000)),
        "dots_65536_s": seconds(dots_png(65_536)),
        "png_39_7_megapixels_s": seconds(just_under_the_pixel_cap("RGB")),
    }


def measure_gallery_first_pass(model_path, x_test, y_test):
    """The Gallery's first visit for a model version: load it, read all 10,000 digits, cache them."""
    with tempfile.TemporaryDirectory() as empty_cache:
        started = time.perf_counter()
        predictor = Predictor(load_model(model_path))
        gallery.test_set_predictions(predictor, f"benchmark:{time.time()}", x_test, y_test, empty_cache)
        return {"gallery_first_pass_s": time.perf_counter() - started}


def measure_cold_start(repeats=3):
    """Process start to an answer printed: `scripts/predict.py` reading a canvas drawing
    (interpreter, imports, model load, warm-up, one reading)."""
    with tempfile.TemporaryDirectory() as folder:
        drawing = Path(folder) / "drawing.png"
        Image.fromarray(canvas_drawing()).save(drawing)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "scripts/predict.py", str(drawing)], cwd=PROJECT_ROOT, capture_output=True, text=True
            )
            if run.returncode != 0:
                raise RuntimeError(f"cold start failed:\n{run.stderr[-2000:]}")
            times.append(time.perf_counter() - started)
    return {"cold_start_s": statistics.median(times)}


def measure_job_overhead(settings, rounds=2):
    """Wall time of the default LeNet-5 run as a Train-page job and as `scripts/train.py`, in turn.

    Both include starting Python, importing the backend, loading MNIST, training, testing and
    saving; the job adds the runs database, per-step metrics and its heartbeat.
    """
    times = {"job": [], "script": []}
    with tempfile.TemporaryDirectory() as folder:
        settings = dataclasses.replace(settings, data_dir=Path(folder), runs_db=None, training="on")
        store = RunStore.of(settings)
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "scripts/train.py", "--quiet", "--output", str(Path(folder) / "script.keras")],
                cwd=PROJECT_ROOT,
                env={**os.environ, **settings.environment()},
                check=True,
                capture_output=True,
            )
            times["script"].append(time.perf_counter() - started)
            started = time.perf_counter()
            run_id = supervisor.start_training(settings, TrainConfig(), store=store)
            while store.run(run_id).status.active:
                time.sleep(0.05)
            times["job"].append(time.perf_counter() - started)
            assert store.run(run_id).status.value == "finished", store.run(run_id).log_tail
    job, script = statistics.median(times["job"]), statistics.median(times["script"])
    return {"job_run_s": job, "script_run_s": script, "job_overhead": job / script - 1, "job_times_s": times}
