"""Helpers the command-line scripts share: settings, config flags, friendly errors, JSON output."""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from lenet.config import Settings
from lenet.errors import Refused


def add_mnist_argument(parser):
    parser.add_argument("--mnist-dir", help="folder holding MNIST (default: $MNIST_DIR, the Keras cache, a download)")
    parser.add_argument("--handwriting-dir", help="folder holding the real writers' sets (default: $HANDWRITING_DIR)")


def settings_from_args(args):
    """The installation's `Settings` from the environment, with `--mnist-dir` and
    `--handwriting-dir` if given."""
    settings = Settings.from_env()
    for name in ("mnist_dir", "handwriting_dir"):
        if getattr(args, name, None):
            settings = dataclasses.replace(settings, **{name: Path(getattr(args, name))})
    return settings


def add_config_arguments(parser, config_class, skip=()):
    """One flag per config field (`batch_size` -> `--batch-size`), with its default and help;
    fields in `skip` are set by the script itself."""
    for field in [f for f in dataclasses.fields(config_class) if f.name not in skip]:
        flag = "--" + field.name.replace("_", "-")
        help_text = field.metadata.get("help", "")
        if field.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default, help=help_text)
        else:
            kind = {"int": int, "float": float, "str": str}.get(field.type, field.type)
            parser.add_argument(
                flag,
                type=kind,
                default=field.default,
                choices=field.metadata.get("choices"),
                help=f"{help_text} (default: {field.default})",
            )


def config_from_args(config_class, args, **fixed):
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_class) if f.name not in fixed}
    values.update(fixed)
    try:
        return config_class(**values)
    except Refused as error:
        sys.exit(f"error: {error}")


def run_main(main):
    """Run `main()`, turning the library's expected failures into one line on stderr."""
    try:
        sys.exit(main())
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def print_json(value):
    json.dump(value, sys.stdout, indent=1)
    sys.stdout.write("\n")
