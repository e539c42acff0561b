"""The device recipe (`lenet.nets.device_loop`): it learns, calls callbacks as `fit` does, stops, keeps
the best epoch, and caches what it compiles. The suite runs under TensorFlow, so its runs happen
in JAX processes of their own (tests/device_loop_run.py), in every pass."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lenet.config import PROJECT_ROOT
from lenet.nets import devices
from lenet.nets.training import TrainConfig, training_inputs

HELPER = PROJECT_ROOT / "tests" / "device_loop_run.py"


def run_under_jax(cache_dir, *options):
    """The helper's JSON report, from a fresh process with KERAS_BACKEND=jax."""
    paths = [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(paths)}
    run = subprocess.run(
        [sys.executable, str(HELPER), str(cache_dir), *options],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("xla-cache")


@pytest.fixture(scope="module")
def report(cache_dir):
    return run_under_jax(cache_dir)


def test_the_runs_happen_under_jax(report):
    assert report["backend"] == "jax"
    assert sum(report["call_lengths"]) == 10  # 480 images in batches of 48
    if not report["on_gpu"]:
        # On a CPU an epoch takes several calls, the last one shorter.
        assert len(report["call_lengths"]) > 1 and report["call_lengths"][-1] < report["call_lengths"][0]


def test_a_validation_set_of_any_size_is_scored_in_equal_batches_with_the_padding_weighted_0(report):
    # It once padded the weights twice and refused any set that was not a whole number of batches.
    found = report["validation_batches"]
    batch = found["count"] - 1
    assert found["shapes"] == [[2, batch, 28, 28], [2, batch], [2, batch]]
    assert found["weight_sum"] == found["count"] and found["labels_kept"]


def test_it_learns(report):
    learn = report["learn"]
    assert learn["recipe"].startswith("device")
    assert len(learn["history"]) == 4
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(learn["history"][-1])
    assert learn["history"][-1]["loss"] < learn["history"][0]["loss"]
    assert learn["test_accuracy"] > 0.5  # chance is 0.1


def test_callbacks_are_called_in_keras_order_with_its_step_indices(report):
    calls = [call[:2] for call in report["learn"]["calls"]]
    expected = [["train_begin"]]
    for epoch in range(4):
        expected.append(["epoch_begin", epoch])
        start = 0
        for length in report["call_lengths"]:
            expected += [["batch_begin", start], ["batch_end", start + length - 1]]
            start += length
        expected.append(["epoch_end", epoch])
    expected.append(["train_end"])
    assert calls == expected
    batch_end = next(call for call in report["learn"]["calls"] if call[0] == "batch_end")
    epoch_end = next(call for call in report["learn"]["calls"] if call[0] == "epoch_end")
    assert batch_end[2] == ["accuracy", "loss"]
    assert epoch_end[2] == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_stop_ends_after_the_current_call_and_keeps_its_steps(report):
    stop = report["stop"]
    # Stopped during the second epoch, after its first call: 10 steps, then that call's.
    assert stop["epochs_run"] == 2
    assert stop["iterations"] == 10 + report["call_lengths"][0]
    assert stop["moved_since_first_epoch"] > 0  # the partial epoch's steps are in the weights


def test_best_epoch_is_restored_even_after_a_callback_spoils_the_weights(report):
    restore = report["restore_best"]
    # Weights zeroed after the third epoch are read back: the fourth epoch is the worst.
    assert restore["val_accuracy"][-1] < max(restore["val_accuracy"][:-1])
    assert restore["best_epoch"] < 3
    assert restore["difference_from_best"] == 0
    assert restore["difference_from_last"] > 0


def test_compiled_programs_are_cached_and_a_fresh_process_reuses_them(report, cache_dir):
    assert any(cache_dir.iterdir())
    warm = run_under_jax(cache_dir, "--warm")
    cold_s, warm_s = report["learn"]["compile_seconds"], warm["learn"]["compile_seconds"]
    assert warm_s < cold_s / 2, (cold_s, warm_s)
    assert warm["learn"]["history"] == report["learn"]["history"]  # same programs, same numbers


def test_the_device_pipeline_needs_jax():
    if devices.backend() == "jax":
        assert devices.uses_device_loop("device")
    else:
        with pytest.raises(ValueError, match="KERAS_BACKEND=jax"):
            devices.uses_device_loop("device")


def test_auto_the_default_picks_the_device_recipe_only_under_jax_on_a_gpu():
    assert TrainConfig().pipeline == "auto"
    assert devices.uses_device_loop("auto") == (devices.backend() == "jax" and len(devices.gpu_names()) == 1)
    if devices.backend() == "tensorflow":
        # Today's recipe: the in-memory tf.data pipeline that 'memory' gives.
        images, labels = np.zeros((8, 28, 28), np.uint8), np.zeros(8, np.uint8)
        assert training_inputs(TrainConfig(), images, labels)["shuffle"] is False
