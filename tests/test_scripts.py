"""The command-line tools on real MNIST: the floors the shipped models and a quick run must hold."""

import json
import re
import statistics
import subprocess
import sys

import pytest

from lenet.config import PROJECT_ROOT, Settings

MODELS_DIR = Settings().models_dir

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

# lenet_bn learned real writers beside MNIST (README, Real handwriting): it gave up 0.3 point of
# MNIST for them, and holds every held-out writers' set at 97% or more.
FLOORS = {"lenet5": 0.993, "lenet_bn": 0.992}
HELD_OUT_FLOORS = {"lenet_bn": 0.97}


def script(*args, timeout=600):
    run = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_shipped_models_hold_their_accuracy_on_the_real_test_set(mnist, name):
    report = json.loads(script("evaluate.py", str(MODELS_DIR / f"{name}.keras"), "--json"))
    assert report["test_accuracy"] >= FLOORS[name]
    assert sum(sum(row) for row in report["confusion_matrix"]) == 10_000
    assert report["num_params"] == {"lenet5": 61_706, "lenet_bn": 455_146}[name]
    if name in HELD_OUT_FLOORS:  # writers it never trained on, each set as drawn or scanned
        read = {s: row["accuracy"] for s, row in report["held_out"].items() if "sketched" not in s}
        assert min(read.values()) >= HELD_OUT_FLOORS[name], read


def test_one_epoch_of_lenet5_from_the_command_line_reaches_98_percent(mnist, tmp_path):
    # The recipe, not one draw of it: the median of three seeds (under JAX on CPU one epoch gave
    # 97.90%, 98.24% and 98.24% for seeds 0, 1 and 2).
    accuracies = []
    for seed in (0, 1, 2):
        output = tmp_path / f"one-epoch-{seed}.keras"
        printed = script(
            "train.py",
            "--architecture",
            "lenet5",
            "--epochs",
            "1",
            "--seed",
            str(seed),
            "--quiet",
            "--output",
            str(output),
        )
        accuracies.append(float(re.search(r"test accuracy: ([0-9.]+)", printed).group(1)))
        assert output.exists() and output.with_suffix(".json").exists()
    assert statistics.median(accuracies) >= 0.98, accuracies
