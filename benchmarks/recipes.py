"""Training recipes timed against each other, each in a child process of its own.

    python -m benchmarks.recipes run RECIPE EPOCHS MNIST_DIR STOP_AT   # one JSON line
    python -m benchmarks.recipes epochs RECIPE ROUNDS MNIST_DIR          # one JSON line

A child process gives each recipe a clean backend, its own peak memory and the process settings
its users get: the classic recipe runs with TensorFlow's own choice of kernels for the CPU
(`child_env`), ours with the project's. Both recipes run in the same invocation of the benchmark
so their ratio holds on a noisy machine. Test accuracy is checked after every epoch on a paused
clock, so checking costs neither recipe.
"""

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import keras

from lenet.config import PROJECT_ROOT, Settings
from lenet.datasets.mnist import load_mnist
from lenet.nets.devices import describe_device, enable_compilation_cache, tensorflow_onednn_default
from lenet.nets.evaluation import evaluate_arrays
from lenet.nets.training import TrainConfig, build_for_training, classic_config, steps_per_epoch, train, training_inputs

TARGET_ACCURACY = 0.99


def recipes(classic_epochs):
    """The two recipes compared, as training configs on all 60,000 training images."""
    return {
        "classic": classic_config(epochs=classic_epochs),
        # The default recipe exactly, but for the held-out split: every
        # epoch is the same 60,000 MNIST images as the classic recipe's.
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
        self.epochs.append(
            {
                "epoch": epoch + 1,
                "seconds": seconds,
                "test_accuracy": accuracy,
                "since_start_s": time.time() - PROCESS_STARTED,
            }
        )
        if self.stop_at and accuracy >= self.stop_at:
            self.model.stop_training = True


def as_recipe_data(recipe, data):
    """The classic recipe fed float32 images, as the write-ups did; ours keeps uint8."""
    if recipe != "classic":
        return data
    (x_train, y_train), test = data
    return (x_train.astype("float32"), y_train), test


def run_recipe_here(recipe, epochs, mnist_dir, stop_at=None):
    """Train one recipe in this process; what the parent needs, as plain data."""
    config = dataclasses.replace(recipes(epochs)[recipe], epochs=epochs)
    enable_compilation_cache(Settings.from_env().cache_dir / "xla")
    data = as_recipe_data(recipe, load_mnist(mnist_dir))
    clock = EpochClock(*data[1], stop_at=stop_at)
    result = train(config, data, callbacks=[clock])
    return {
        "name": recipe,
        "config": config.to_dict(),
        "epochs": clock.epochs,
        "final_test_accuracy": result.test_accuracy,
        "device": describe_device(),
        "precision": result.precision,
        "jit_compile": result.jit_compile,
        "recipe": result.recipe,
        "compile_s": result.compile_seconds if result.compile_seconds is not None else first_epoch_excess(clock.epochs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def first_epoch_excess(epochs):
    """Compile time where `fit` compiles inside its first epoch: how much longer that epoch took."""
    if len(epochs) < 2:
        return None
    return max(0.0, epochs[0]["seconds"] - statistics.median(e["seconds"] for e in epochs[1:]))


def epoch_times_here(recipe, rounds, mnist_dir):
    """Seconds per 60k-image epoch of `recipe`: `rounds` timed epochs after an untimed one
    (tracing and compilation)."""
    config = recipes(1)[recipe]
    keras.utils.set_random_seed(config.seed)
    (x_train, y_train), _ = as_recipe_data(recipe, load_mnist(mnist_dir))
    trainer, _ = build_for_training(config, steps_per_epoch(config, len(x_train)))
    inputs = training_inputs(config, x_train, y_train)
    times = []
    for round_number in range(rounds + 1):
        started = time.perf_counter()
        trainer.fit(**inputs, epochs=1, verbose=0)
        if round_number:  # round 0 warms up
            times.append(time.perf_counter() - started)
    return times


def child_env(recipe):
    """The classic recipe gets TensorFlow's own oneDNN default for this CPU, as its users do;
    `ONEDNN_MAX_CPU_ISA=AVX2` on a newer CPU then gives what an AVX2-only CPU gets."""
    if recipe == "classic" and "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
        return {"TF_ENABLE_ONEDNN_OPTS": tensorflow_onednn_default()}
    return {}


def in_child(command, recipe, *args):
    """Run `python -m benchmarks.recipes COMMAND RECIPE ARGS` and return its JSON report."""
    args = (command, recipe, *args)
    env = {**os.environ, **child_env(recipe), "LENET_PROCESS_STARTED": str(time.time())}
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.recipes", *map(str, args)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    if run.returncode != 0:
        raise RuntimeError(f"benchmarks.recipes {' '.join(map(str, args))} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def summarize(report):
    """Time to 99% test accuracy (training seconds, and wall time since the process started),
    total training time, best accuracy."""
    elapsed, time_to_target, wall_to_target = 0.0, None, None
    for epoch in report["epochs"]:
        elapsed += epoch["seconds"]
        if time_to_target is None and epoch["test_accuracy"] >= TARGET_ACCURACY:
            time_to_target, wall_to_target = elapsed, epoch["since_start_s"]
    return {
        "time_to_99_s": time_to_target,
        "wall_to_99_s": wall_to_target,
        "trained_s": elapsed,
        "best_test_accuracy": max(e["test_accuracy"] for e in report["epochs"]),
    }


# The parent's clock reading when it launched this process: wall time counts from there.
PROCESS_STARTED = float(os.environ.get("LENET_PROCESS_STARTED") or time.time())

if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "epochs":
        report = epoch_times_here(rest[0], int(rest[1]), rest[2] or None)
    else:
        recipe, epochs, mnist_dir, stop_at = rest
        report = run_recipe_here(recipe, int(epochs), mnist_dir or None, float(stop_at) if stop_at else None)
    print(json.dumps(report))
