"""Train a registered architecture on MNIST and save it as a model file with metadata.

python scripts/train.py --architecture lenet5 --epochs 1
python scripts/train.py --architecture lenet_bn --epochs 30 --output models/lenet_bn.keras
python scripts/train.py --architecture lenet5_1998            # the paper's network, its own recipe
python scripts/train.py --architecture lenet_bn --start-from models/lenet_bn.keras --epochs 5   # a second cycle
RAY_ADDRESS=head:6379 python scripts/train.py --ray --epochs 3   # the job as a task on a Ray cluster

An architecture with a recipe of its own (lenet5_1998) starts from it; flags still override it.
"""

import argparse
import datetime

import _path  # noqa: F401

from lenet.cli import (
    add_config_arguments,
    add_mnist_argument,
    add_ray_argument,
    config_from_args,
    run_main,
    run_on_ray,
    settings_from_args,
)
from lenet.jobs.pipeline import train_and_save
from lenet.nets.training import TrainConfig, default_config


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, TrainConfig)
    parser.add_argument("--output", help="model file to write (default: DATA_DIR/models/ARCH-TIME.keras)")
    parser.add_argument(
        "--start-from", metavar="MODEL", help="a trained model file of the same architecture to start from"
    )
    add_mnist_argument(parser)
    add_ray_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    chosen, _ = parser.parse_known_args()
    parser.set_defaults(**default_config(chosen.architecture).to_dict())
    args = parser.parse_args()
    train_config = config_from_args(TrainConfig, args)
    settings = settings_from_args(args)
    if args.ray:
        if args.start_from:
            parser.error("--start-from trains here, from a file on this machine; it is not sent to a Ray cluster")
        return run_on_ray(settings, train_config, args.output)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = args.output or settings.trained_dir / f"{train_config.architecture}-{stamp}.keras"
    verbose = 0 if args.quiet else 1
    result, _ = train_and_save(settings, train_config, output, verbose=verbose, start_from=args.start_from)
    print(
        f"test accuracy: {result.test_accuracy:.4f}  test loss: {result.test_loss:.4f}  "
        f"({len(result.history)} epochs in {result.train_seconds:.1f} s on {result.device}, {result.precision}, "
        f"{result.recipe})"
    )
    print(f"saved: {output}")
    return 0


if __name__ == "__main__":
    run_main(main)
