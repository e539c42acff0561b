"""Run the training jobs that the app queues, on this machine (say, one with a GPU).

    # app server:     LENET_TRAINING=queue LENET_DATA_DIR=/shared/lenet streamlit run app.py
    # GPU machine:    LENET_DATA_DIR=/shared/lenet MNIST_DIR=/data/mnist python scripts/worker.py

Both see the same data folder (model versions, active model, runs database). Runs started from
the Train page wait as 'queued' until this worker claims them; their progress streams back
through the database as if they ran next to the app.
"""

import argparse

import _path  # noqa: F401

from lenet.cli import run_main, settings_from_args
from lenet.jobs import supervisor
from lenet.nets.devices import describe_device


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="run the next queued run, if any, then exit")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the queue (default 2)")
    args = parser.parse_args()

    print(f"training worker on {describe_device()}; waiting for queued runs", flush=True)
    supervisor.work(settings_from_args(args), poll_s=args.poll, once=args.once)
    return 0


if __name__ == "__main__":
    run_main(main)
