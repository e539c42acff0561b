"""Helpers the command-line scripts share: settings, config flags, friendly errors, JSON output."""

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

from lenet.config import Settings
from lenet.errors import Refused


def add_mnist_argument(parser):
    parser.add_argument("--mnist-dir", help="folder holding MNIST (default: $MNIST_DIR, the Keras cache, a download)")
    parser.add_argument("--handwriting-dir", help="folder holding the real writers' sets (default: $HANDWRITING_DIR)")


EPOCH_FIGURES = ("loss", "accuracy", "val_loss", "val_accuracy")


def add_ray_argument(parser):
    parser.add_argument(
        "--ray",
        action="store_true",
        help="run the job as a task on the Ray cluster at $RAY_ADDRESS, recorded in the runs database "
        "and saved as a version in DATA_DIR/models (as the app's jobs with LENET_TRAINING=ray)",
    )


def run_on_ray(settings, config, output=None, kind="train", inputs=None):
    """Run one job on the Ray cluster at `settings.ray_address` and wait for it, printing its
    epochs; Ctrl-C stops it (what it learned is kept). Copies the version to `output` if given."""
    from lenet.jobs import onray, supervisor
    from lenet.jobs.runs import RunStore

    settings = dataclasses.replace(settings, training="ray")
    store = RunStore.of(settings)
    supervisor.reconcile(store)
    run_id = onray.start(settings, store, config, kind=kind, inputs=inputs)
    print(f"run {run_id} submitted to the Ray cluster at {settings.ray_address}", flush=True)
    shown = 0
    while True:
        try:
            onray.wait(run_id, timeout=0.5)
        except KeyboardInterrupt:
            supervisor.stop(store, run_id)
            print("stopping after this batch...", file=sys.stderr, flush=True)
        run, rows = store.run(run_id), store.metrics(run_id, after_seq=shown)
        for row in rows:
            if row.kind == "epoch":
                print(
                    f"epoch {row.epoch}: "
                    + "  ".join(f"{k} {getattr(row, k):.4f}" for k in EPOCH_FIGURES if getattr(row, k) is not None)
                )
        shown = rows[-1].seq if rows else shown
        if not run.status.active:
            break
    if run.status.value == "failed":
        raise Refused(f"run {run_id} failed on {run.host or 'the cluster'}: {run.error}")
    print(f"run {run_id} {run.status.value} on {run.host}, {run.device}: test accuracy {run.test_accuracy:.4f}")
    saved = settings.trained_dir / f"{run.model_name}.keras"
    if output:
        shutil.copyfile(saved, output)
        shutil.copyfile(saved.with_suffix(".json"), Path(output).with_suffix(".json"))
        saved = output
    print(f"saved: {saved}")
    return 0


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
