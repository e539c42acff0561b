"""The same training run as a local job and as a Ray task: test accuracy of each, and how soon
each epoch's row reaches the app's runs database after the epoch ended on the worker.

    python scripts/benchmark_ray.py                      # starts a two-node cluster on 127.0.0.1
    RAY_ADDRESS=head:6379 python scripts/benchmark_ray.py --json

Both runs use one config (default: the Train page's quick demo, 3 epochs of 10,000 images) and
are scored on MNIST's test set alone (the real writers' sets are left out on both sides). With
no RAY_ADDRESS a cluster like the tests' is started (a head with no CPU, a node with one) and
ended afterwards by its processes' ids.
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import _path  # noqa: F401

from lenet.cli import add_mnist_argument, print_json, run_main, settings_from_args
from lenet.jobs import supervisor
from lenet.jobs.runs import RunStore
from lenet.nets.training import quick_demo_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def watch(store, run_id, poll_s=0.05):
    """Wait for the run to end; returns it and each epoch row's delay (seen here - logged there)."""
    seen, delays = 0, []
    while True:
        run = store.run(run_id)
        for row in store.metrics(run_id, after_seq=seen):
            seen = row.seq
            if row.kind == "epoch":
                delays.append(time.time() - row.logged)
        if not run.status.active:
            return run, delays
        time.sleep(poll_s)


def one_run(settings, config):
    store = RunStore.of(settings)
    started = time.time()
    run_id = supervisor.start_training(settings, config, store=store)
    run, delays = watch(store, run_id)
    if run.status.value != "finished":
        raise SystemExit(f"run {run_id} {run.status.value}: {run.error}\n{run.log_tail}")
    return {
        "where": f"{run.host}, {run.device}",
        "test_accuracy": run.test_accuracy,
        "wall_s": round(time.time() - started, 1),
        "epoch_row_delay_s": [round(d, 3) for d in delays],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_mnist_argument(parser)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lenet-ray-benchmark-"))
    (scratch / "no-handwriting").mkdir()
    os.environ["HANDWRITING_DIR"] = str(scratch / "no-handwriting")  # MNIST's test set alone, both sides
    settings = dataclasses.replace(settings_from_args(args), data_dir=scratch / "data", handwriting_dir=None)
    config = quick_demo_config()
    cluster = None
    if not os.environ.get("RAY_ADDRESS"):
        from raycluster import RayCluster

        cluster = RayCluster(scratch / "ray", dict(os.environ))
        cluster.start_head()
        cluster.start_worker()
    address = os.environ.get("RAY_ADDRESS") or cluster.address
    try:
        local = one_run(dataclasses.replace(settings, training="on"), config)
        on_ray = one_run(dataclasses.replace(settings, training="ray", ray_address=address), config)
    finally:
        if cluster:
            import ray

            ray.shutdown()
            cluster.stop()
    figures = {
        "config": config.to_dict(),
        "local": local,
        "ray": on_ray,
        "accuracy_gap_points": round(100 * (on_ray["test_accuracy"] - local["test_accuracy"]), 3),
    }
    if args.json:
        print_json(figures)
        return 0
    for name in ("local", "ray"):
        run = figures[name]
        print(
            f"{name:5s} {run['test_accuracy']:.4f} on MNIST's test set in {run['wall_s']} s on {run['where']}; "
            f"epoch rows seen {', '.join(f'{d:.2f}' for d in run['epoch_row_delay_s'])} s after the epoch ended"
        )
    print(f"ray - local: {figures['accuracy_gap_points']:+.2f} points")
    return 0


if __name__ == "__main__":
    run_main(main)
