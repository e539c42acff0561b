"""Measurements behind `scripts/benchmark.py`: training speed, time to 99%, answer latency.

Each training recipe runs in a child process of its own (a clean TensorFlow, and its own peak
memory); both run in the same invocation so their ratio holds on a noisy machine. Test
accuracy is checked after every epoch on a paused clock, so checking costs neither recipe.
"""

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

import keras
import numpy as np

from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH, PROJECT_ROOT
from lenet.evaluation import evaluate_arrays

TARGET_ACCURACY = 0.99
IMAGES_PER_EPOCH = 60_000


def recipes(classic_epochs):
    """The two recipes compared, as training configs on all 60,000 training images."""
    from lenet.training import TrainConfig, classic_config

    return {
        "classic": classic_config(epochs=classic_epochs),
        # The default recipe exactly, but for the held-out split: every epoch is 60,000 images.
        "default": TrainConfig(validation_split=0.0),
    }


class EpochClock(keras.callbacks.Callback):
    """Training seconds of each epoch and the test accuracy after it, the clock paused while testing."""

    def __init__(self, x_test, y_test, stop_at=None):
        super().__init__()
        self.x_test, self.y_test, self.stop_at = x_test, y_test, stop_at

    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.epoch_started
        # The trainer wraps the network with augmentation; score the network itself.
        network = next((layer for layer in self.model.layers if isinstance(layer, keras.Model)), self.model)
        accuracy = evaluate_arrays(network, self.x_test, self.y_test)["test_accuracy"]
        self.epochs.append({"epoch": epoch + 1, "seconds": seconds, "test_accuracy": accuracy})
        if self.stop_at and accuracy >= self.stop_at:
            self.model.stop_training = True


def train_worker(recipe, epochs, mnist_dir, stop_at=None):
    """Run one recipe (in this process) and return what the parent needs, as plain data."""
    import resource

    from lenet.data import load_mnist
    from lenet.devices import describe_device
    from lenet.training import train

    config = recipes(epochs)[recipe]
    config = dataclasses.replace(config, epochs=epochs)
    data = as_recipe_data(recipe, load_mnist(mnist_dir))
    clock = EpochClock(*data[1], stop_at=stop_at)
    result = train(config, callbacks=[clock], data=data)
    return {
        "recipe": recipe,
        "config": config.to_dict(),
        "epochs": clock.epochs,
        "final_test_accuracy": result.test_accuracy,
        "device": describe_device(),
        "precision": result.precision,
        "jit_compile": result.jit_compile,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def as_recipe_data(recipe, data):
    """The classic recipe fed float32 images, as the write-ups did; ours keeps uint8."""
    if recipe != "classic":
        return data
    (x_train, y_train), test = data
    return (x_train.astype("float32"), y_train), test


def epoch_timing_worker(rounds, mnist_dir):
    """Seconds per 60k-image epoch of each recipe, one epoch of each in turn.

    Alternating epochs in one process exposes both recipes to the same moments of a noisy
    machine; each trainer runs one untimed epoch first (tracing and compilation).
    """
    from lenet.data import load_mnist
    from lenet.training import build_for_training, steps_per_epoch, training_inputs

    trainers = {}
    for name, config in recipes(1).items():
        keras.utils.set_random_seed(config.seed)
        (x_train, y_train), _ = as_recipe_data(name, load_mnist(mnist_dir))
        trainer, _ = build_for_training(config, steps_per_epoch(config, len(x_train)))
        trainers[name] = (trainer, training_inputs(config, x_train, y_train))
    times = {name: [] for name in trainers}
    for round_number in range(rounds + 1):
        order = list(trainers) if round_number % 2 else list(trainers)[::-1]
        for name in order:
            trainer, inputs = trainers[name]
            started = time.perf_counter()
            trainer.fit(**inputs, epochs=1, verbose=0)
            if round_number:  # round 0 warms up
                times[name].append(time.perf_counter() - started)
    return times


def run_recipe(recipe, epochs, mnist_dir, stop_at=None):
    """Train one recipe in a child process; its JSON report comes back on stdout."""
    command = [sys.executable, "-m", "lenet.benchmark", recipe, str(epochs), mnist_dir or "", str(stop_at or "")]
    run = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, env=os.environ.copy())
    if run.returncode != 0:
        raise RuntimeError(f"the {recipe} recipe failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def summarize_recipe(report):
    """Time to 99% test accuracy (training seconds only), total training time, best accuracy."""
    epochs = report["epochs"]
    elapsed, time_to_target = 0.0, None
    for epoch in epochs:
        elapsed += epoch["seconds"]
        if time_to_target is None and epoch["test_accuracy"] >= TARGET_ACCURACY:
            time_to_target = elapsed
    return {
        "time_to_99_s": time_to_target,
        "trained_s": elapsed,
        "best_test_accuracy": max(e["test_accuracy"] for e in epochs),
    }


def canvas_drawing(size=CANVAS_SIZE, width=DEFAULT_BRUSH):
    """A 7 written on a 280x280 canvas, as the Draw page receives it (RGBA, white on transparent)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    points = [(0.25 * size, 0.18 * size), (0.75 * size, 0.18 * size), (0.42 * size, 0.85 * size)]
    ImageDraw.Draw(image).line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
    return np.asarray(image)


def phone_photo(width=3000, height=4000):
    """A 7 in dark ink on unevenly lit grey paper: a 12 MP phone photo, JPEG-encoded."""
    import io

    from PIL import Image, ImageDraw

    ink = Image.new("L", (width, height), 0)
    points = [(0.3 * width, 0.3 * height), (0.7 * width, 0.3 * height), (0.45 * width, 0.7 * height)]
    ImageDraw.Draw(ink).line(points, fill=255, width=width // 20, joint="curve")
    rng = np.random.default_rng(0)
    paper = 215 - np.linspace(0, 50, width)[None, :] + rng.normal(0, 3, (height, width))
    photo = np.clip(paper - np.asarray(ink, np.float32) * 0.75, 0, 255).astype(np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(photo).save(encoded, "JPEG", quality=85)
    return encoded.getvalue()


def measure_preprocessing(canvas_repeats=200, photo_repeats=7):
    """Median time from an image to the model's 28x28 input: a canvas drawing, and a phone photo
    from its JPEG bytes (decoding included, as an upload is read)."""
    from lenet.imagefile import open_image
    from lenet.preprocess import prepare_digits

    def median_ms(work, repeats):
        work()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    canvas, photo = canvas_drawing(), phone_photo()
    assert len(prepare_digits(open_image(photo))) == 1  # the photo is read as one digit
    return {
        "preprocess_canvas_ms_p50": median_ms(lambda: prepare_digits(canvas), canvas_repeats),
        "preprocess_photo_ms_p50": median_ms(lambda: prepare_digits(open_image(photo)), photo_repeats),
    }


def measure_job_overhead(mnist_dir, rounds=2):
    """Wall time of the default LeNet-5 run as a Train-page job and as `scripts/train.py`, in turn.

    Both include starting Python, importing TensorFlow, loading MNIST, training, testing and
    saving; the job adds the runs database, per-step metrics and its heartbeat.
    """
    import tempfile

    from lenet import jobs
    from lenet.runs import RunStore
    from lenet.training import TrainConfig

    times = {"job": [], "script": []}
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "LENET_DATA_DIR": folder, **({"MNIST_DIR": mnist_dir} if mnist_dir else {})}
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run([sys.executable, "scripts/train.py", "--quiet", "--output", os.path.join(folder, "script.keras")],
                           cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
            times["script"].append(time.perf_counter() - started)

            previous = {name: os.environ.get(name) for name in ("LENET_DATA_DIR", "MNIST_DIR")}
            os.environ.update({k: v for k, v in env.items() if k in previous})
            try:
                store = RunStore()
                started = time.perf_counter()
                run_id = jobs.start_training(TrainConfig(), store=store, mode="on")
                while store.run(run_id)["status"] in ("queued", "running"):
                    time.sleep(0.05)
                times["job"].append(time.perf_counter() - started)
                assert store.run(run_id)["status"] == "finished", store.run(run_id)["log_tail"]
            finally:
                for name, value in previous.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
    job, script = statistics.median(times["job"]), statistics.median(times["script"])
    return {"job_run_s": job, "script_run_s": script, "job_overhead": job / script - 1, "job_times_s": times}


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def measure_latency(predictor, model, repeats=300):
    """Canvas image to prediction (preprocessing + compiled model call), and model.predict for contrast."""
    from lenet.reading import read_digits

    image = canvas_drawing()
    for _ in range(10):
        read_digits(image, predictor)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read_digits(image, predictor)
        times.append((time.perf_counter() - started) * 1000)
    prepared = read_digits(image, predictor)[0].prepared.input[None, ..., None]
    model.predict(prepared, verbose=0)
    predict_times = []
    for _ in range(30):
        started = time.perf_counter()
        model.predict(prepared, verbose=0)
        predict_times.append((time.perf_counter() - started) * 1000)
    return {
        "latency_ms_p50": percentile(times, 50),
        "latency_ms_p95": percentile(times, 95),
        "predict_ms_p50": percentile(predict_times, 50),
    }


def measure_test_set(predictor, x_test, repeats=3):
    predictor.predict(x_test[:1000])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor.predict(x_test)
        times.append(time.perf_counter() - started)
    return {"test_set_predict_s": statistics.median(times)}


def measure_gallery_first_pass(model_path, x_test, y_test):
    """The Gallery's first visit for a model version: load it, read all 10,000 digits, cache them."""
    import tempfile

    from lenet import gallery
    from lenet.inference import Predictor
    from lenet.modelio import load_model

    previous = os.environ.get("LENET_DATA_DIR")
    with tempfile.TemporaryDirectory() as empty_cache:
        os.environ["LENET_DATA_DIR"] = empty_cache
        try:
            started = time.perf_counter()
            predictor = Predictor(load_model(model_path))
            gallery.test_set_predictions(predictor, f"benchmark:{time.time()}", x_test, y_test)
            seconds = time.perf_counter() - started
        finally:
            if previous is None:
                os.environ.pop("LENET_DATA_DIR", None)
            else:
                os.environ["LENET_DATA_DIR"] = previous
    return {"gallery_first_pass_s": seconds}


COLD_START = """
import time, sys
from lenet.inference import Predictor
from lenet.modelio import load_model
from lenet.models import default_model_path
from lenet.reading import read_digits
from lenet.benchmark import canvas_drawing
predictor = Predictor(load_model(default_model_path()))
read_digits(canvas_drawing(), predictor)
print("ready", flush=True)
"""


def measure_cold_start(repeats=3):
    """Process start to first prediction ready: interpreter, imports, model load, warm-up, one reading."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", COLD_START], cwd=PROJECT_ROOT, capture_output=True, text=True)
        if "ready" not in run.stdout:
            raise RuntimeError(f"cold start failed:\n{run.stderr[-2000:]}")
        times.append(time.perf_counter() - started)
    return {"cold_start_s": statistics.median(times)}


def run_epoch_timing(rounds, mnist_dir):
    command = [sys.executable, "-m", "lenet.benchmark", "epochs", str(rounds), mnist_dir or ""]
    run = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, env=os.environ.copy())
    if run.returncode != 0:
        raise RuntimeError(f"epoch timing failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if sys.argv[1] == "epochs":
        report = epoch_timing_worker(int(sys.argv[2]), sys.argv[3] or None)
    else:
        recipe, epochs, mnist_dir, stop_at = sys.argv[1:5]
        report = train_worker(recipe, int(epochs), mnist_dir or None, float(stop_at) if stop_at else None)
    print(json.dumps(report))
