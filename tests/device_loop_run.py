"""The device recipe observed under JAX, for tests/test_device_loop.py (which runs under TensorFlow).

    KERAS_BACKEND=jax python tests/device_loop_run.py CACHE_DIR          # every observation
    KERAS_BACKEND=jax python tests/device_loop_run.py CACHE_DIR --warm   # the first run's again

Prints one JSON object. Every run trains the same small config on tiny generated digits, so the
programs compiled by the first come from the compilation cache in CACHE_DIR for the others.
"""

import json
import sys

import keras
import numpy as np
from conftest import tiny_digits

from lenet.nets import devices
from lenet.nets.device_loop import EVAL_BATCH_SIZE, _validation_batches, call_lengths, fit_on_device
from lenet.nets.training import TrainConfig, build_for_training, split_data, steps_per_epoch, train

# 480 images to fit in batches of 48: 10 steps an epoch, more than one compiled call on a CPU.
CONFIG = TrainConfig(
    architecture="lenet5", epochs=4, batch_size=48, learning_rate=3e-3, validation_split=0.2, pipeline="device"
)
DATA = tiny_digits(600, seed=1), tiny_digits(200, seed=2)


class Recorder(keras.callbacks.Callback):
    """Every hook Keras's `fit` calls, in order, and the network's weights after each epoch."""

    def on_train_begin(self, logs=None):
        self.calls, self.weights = [["train_begin"]], []

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(["epoch_begin", epoch])

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(["batch_begin", batch])

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(["batch_end", batch, sorted(logs)])

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(["epoch_end", epoch, sorted(logs)])
        self.weights.append(network_of(self.model).get_weights())

    def on_train_end(self, logs=None):
        self.calls.append(["train_end"])


class StopInSecondEpoch(keras.callbacks.Callback):
    """Presses Stop at the first progress report of the second epoch."""

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


class ZeroWeightsAfterThirdEpoch(keras.callbacks.Callback):
    """Spoils the weights, so the fourth epoch is worse than the best one and must not be kept."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])


def network_of(trainer):
    return next((layer for layer in trainer.layers if isinstance(layer, keras.Model)), trainer)


def largest_difference(weights, others):
    return max(float(np.abs(a - b).max()) for a, b in zip(weights, others))


def learn():
    recorder = Recorder()
    result = train(CONFIG, DATA, callbacks=[recorder])
    return {
        "test_accuracy": result.test_accuracy,
        "history": result.history,
        "recipe": result.recipe,
        "compile_seconds": result.compile_seconds,
        "calls": recorder.calls,
    }


def stop():
    keras.utils.set_random_seed(CONFIG.seed)
    (x_fit, y_fit), validation = split_data(CONFIG, *DATA[0])
    trainer, _ = build_for_training(CONFIG, steps_per_epoch(CONFIG, len(DATA[0][0])))
    recorder = Recorder()
    fit = fit_on_device(trainer, CONFIG, x_fit, y_fit, validation, [recorder, StopInSecondEpoch()])
    return {
        "epochs_run": len(fit.history),
        "iterations": int(trainer.optimizer.iterations.value),
        "moved_since_first_epoch": largest_difference(network_of(trainer).get_weights(), recorder.weights[0]),
        "compile_seconds": fit.compile_seconds,
    }


def restore_best():
    recorder = Recorder()
    result = train(CONFIG, DATA, callbacks=[recorder, ZeroWeightsAfterThirdEpoch()])
    val_accuracy = [row["val_accuracy"] for row in result.history]
    best = int(np.argmax(val_accuracy))
    return {
        "val_accuracy": val_accuracy,
        "best_epoch": best,
        "difference_from_best": largest_difference(result.model.get_weights(), recorder.weights[best]),
        "difference_from_last": largest_difference(result.model.get_weights(), recorder.weights[-1]),
    }


def validation_batches():
    """A validation set one image longer than a batch (MNIST's 10% and the validation writers are
    9,684 images): in equal batches, the padding weighted 0."""
    count = EVAL_BATCH_SIZE + 1
    images, labels = np.full((count, 28, 28), 7, np.uint8), np.arange(count) % 10
    batches = [np.asarray(b) for b in _validation_batches(images, labels)]
    return {
        "shapes": [list(b.shape) for b in batches],
        "weight_sum": float(batches[2].sum()),
        "labels_kept": bool((batches[1].reshape(-1)[:count] == labels).all()),
        "count": count,
    }


if __name__ == "__main__":
    cache_dir, *options = sys.argv[1:]
    devices.enable_compilation_cache(cache_dir)
    report = {
        "backend": keras.backend.backend(),
        "on_gpu": bool(devices.gpu_names()),
        "call_lengths": call_lengths(steps_per_epoch(CONFIG, len(DATA[0][0]))),
        "learn": learn(),
        "validation_batches": validation_batches(),
    }
    if "--warm" not in options:
        report.update(stop=stop(), restore_best=restore_best())
    print(json.dumps(report))
