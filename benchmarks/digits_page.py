"""What one run of the Your digits page costs the server: CPU seconds per run of the page with
`MODELS` trained versions in the catalog and a collection of `DIGITS` kept digits (MNIST test
digits, kept as the Draw page keeps them), driven by Streamlit's AppTest in this process.

    python -m benchmarks.digits_page [--models 10] [--digits 5000] [--runs 5]

The first run pays for loading the models and reading the digits; later runs are what a visitor
costs the server each time they click on the page (a tab, a selectbox). Medians of `--runs`.
"""

import argparse
import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from lenet.config import PROJECT_ROOT, Settings

OWNER = "b" * 16  # an owner id as the visitor cookie gives one


def prepare(data_dir, models, digits):
    """`models` trained versions (copies of the shipped ones) and one collection of `digits`."""
    from lenet.datasets.mnist import load_mnist
    from lenet.jobs.catalog import Catalog
    from lenet.people.collection import Collections, Quotas

    settings = dataclasses.replace(Settings.from_env(), data_dir=data_dir)
    settings.trained_dir.mkdir(parents=True, exist_ok=True)
    shipped = [m for m in Catalog(settings).models() if m.shipped]
    for i in range(models):
        source = shipped[i % len(shipped)]
        for suffix in (".keras", ".json"):
            shutil.copy(source.path.with_suffix(suffix), settings.trained_dir / f"{source.name}-run{i + 1}{suffix}")
        time.sleep(0.01)  # distinct modification times: newest first, as runs finish
    quotas = Quotas(per_collection=digits, per_owner=digits, total=digits)
    collection = Collections(settings.collections_dir, OWNER, quotas=quotas).get("my digits")
    test = load_mnist(settings.mnist_dir)[1]
    for image, label in zip(test[0][:digits], test[1][:digits]):
        collection._keep(int(label), image, None)  # within the quotas by construction; no per-keep count
    return settings


def measure(models=10, digits=5000, runs=5):
    from streamlit.testing.v1 import AppTest

    from app_pages.state import OWNER as OWNER_KEY

    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        prepare(data_dir, models, digits)
        os.environ["LENET_DATA_DIR"] = str(data_dir)
        os.environ["LENET_MAX_DIGITS_PER_COLLECTION"] = os.environ["LENET_MAX_DIGITS_PER_OWNER"] = str(digits)
        os.chdir(PROJECT_ROOT)
        app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=600)
        app.session_state[OWNER_KEY] = OWNER
        app.run()
        app.switch_page("app_pages/digits.py")
        costs = []
        for _ in range(runs + 1):
            cpu, wall = time.process_time(), time.perf_counter()
            app.run()
            costs.append((time.process_time() - cpu, time.perf_counter() - wall))
            if app.exception:
                raise RuntimeError(app.exception[0].message)
        shown = " ".join(str(e.value) for e in app.markdown)
        if f"{digits // 10}" not in shown and "kept" not in shown:
            raise RuntimeError("the page did not show the collection")
    first, later = costs[0], costs[1:]
    return {
        "models": models,
        "digits": digits,
        "first_run_cpu_s": round(first[0], 3),
        "first_run_wall_s": round(first[1], 3),
        "run_cpu_s_median": round(statistics.median(c for c, _ in later), 3),
        "run_wall_s_median": round(statistics.median(w for _, w in later), 3),
        "runs": runs,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--digits", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.models, args.digits, args.runs)
    print(" ".join(f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
