"""Teach a model someone's handwriting: fine-tune it on a folder of their digits.

    python scripts/teach.py my-digits/ --output models-mine/lenet5-mine.keras
    python scripts/teach.py my-digits/ --output mine.keras --model models/lenet_bn.keras --json
    RAY_ADDRESS=head:6379 python scripts/teach.py my-digits/ --output mine.keras --ray

FOLDER is in the ImageFolder layout Keras reads: subfolders 0 ... 9 of images (PNG, JPEG, GIF,
BMP, WebP, TIFF), each read as an upload is, all its ink one digit. The fine-tune is the one
the app's "Teach the model my digits" runs: the kept digits varied and mixed with MNIST
replayed beside them. It prints the figures before and after: MNIST's test accuracy, and the
accuracy on the folder's digits that each fine-tune did not see (cross-validated).
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import _path  # noqa: F401

from lenet.cli import (
    add_config_arguments,
    add_mnist_argument,
    add_ray_argument,
    config_from_args,
    print_json,
    run_main,
    run_on_ray,
    settings_from_args,
)
from lenet.jobs.catalog import Catalog
from lenet.jobs.pipeline import teach_and_save
from lenet.people.collection import read_image_folder
from lenet.people.teach import TeachConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="digits in the ImageFolder layout: FOLDER/0/*.png ... FOLDER/9/*.png")
    parser.add_argument("--output", required=True, help="the taught model file to write (.keras)")
    parser.add_argument("--model", help="the model to start from (default: the default shipped model)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    add_config_arguments(parser, TeachConfig, skip=("collection", "base_model"))
    add_mnist_argument(parser)
    add_ray_argument(parser)
    args = parser.parse_args()
    config = config_from_args(TeachConfig, args, collection=args.folder, base_model=args.model or "")
    settings = settings_from_args(args)
    x_own, y_own, skipped = read_image_folder(args.folder)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    base_path = args.model or Catalog(settings).default_path
    if args.ray:  # recorded as a run: named after the folder, as a collection is
        config = dataclasses.replace(config, collection=Path(args.folder).resolve().name)
        return run_on_ray(settings, config, args.output, kind="teach", inputs=(base_path, x_own, y_own))
    result, _ = teach_and_save(settings, base_path, x_own, y_own, config, args.output)
    figures = {**result.figures(), "output": args.output, "skipped": len(skipped)}
    if args.json:
        print_json(figures)
        return 0
    after = f"{result.own_after:.2%}" if result.own_after is not None else result.held_out
    print(
        f"{result.digits} digits of {', '.join(map(str, result.classes))} taught in {result.fine_tune_s:.1f} s "
        f"({result.total_s:.1f} s with the held-out figures)"
    )
    print(f"your digits, not seen by the fine-tune ({result.held_out}): {result.own_before:.2%} -> {after}")
    print(f"MNIST test set: {result.mnist_before:.2%} -> {result.mnist_after:.2%}")
    print(f"saved: {args.output}")
    return 0


if __name__ == "__main__":
    run_main(main)
