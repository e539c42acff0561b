"""How long teaching takes: `scripts/teach.py` on 50 drawn digits (5 of each, the first ones the
NumberPad writer drew, as canvas drawings), as a person's first collection, from process start
to the taught model saved."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from lenet.config import PROJECT_ROOT, Settings
from lenet.datasets import handwriting, ink


def measure_teaching(per_class=5):
    """The teach script's own figures (fine-tune seconds, with the held-out folds) and its wall time."""
    writer = handwriting.load("numberpad", Settings.from_env().handwriting_dir)
    with tempfile.TemporaryDirectory() as folder:
        digits = Path(folder) / "digits"
        for label in range(10):
            (digits / str(label)).mkdir(parents=True)
            for index in [i for i, y in enumerate(writer.labels) if y == label][:per_class]:
                Image.fromarray(ink.as_drawn(writer.strokes[index])).save(digits / str(label) / f"{index}.png")
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "scripts/teach.py", str(digits), "--output", str(Path(folder) / "taught.keras"), "--json"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"scripts/teach.py failed:\n{run.stderr[-2000:]}")
    figures = json.loads(run.stdout)
    return {
        "teach_digits": figures["digits"],
        "teach_fine_tune_s": figures["fine_tune_s"],
        "teach_with_held_out_s": figures["total_s"],
        "teach_wall_s": wall,
        "teach_mnist_before": figures["mnist_before"],
        "teach_mnist_after": figures["mnist_after"],
    }
