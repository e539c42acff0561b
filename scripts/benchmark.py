"""Measure training speed and answer latency, the classic recipe against ours, in one run.

    python scripts/benchmark.py                # a table
    python scripts/benchmark.py --json         # one JSON object
    KERAS_BACKEND=jax python scripts/benchmark.py --json
    python scripts/benchmark.py --paper        # LeNet-5 of the 1998 paper beside ours (no training)
    KERAS_BACKEND=jax python scripts/benchmark.py --floors --json   # only the GPU floors (about a minute)

Seconds per epoch: one epoch of the classic recipe of the write-ups (float32 images, batch 32,
Adam 1e-3, no schedule, no XLA) and one of this project's default recipe, in turn, --rounds
times (medians). Time to 99%: a full run of each recipe in a child process, test accuracy
checked after every epoch on a paused clock. Then a drawing's way to an answer, preprocessing
of a canvas drawing and of a phone photo, the whole test set, the Gallery's first pass, a cold
start, and the peak memory of a training run; with --job-overhead, the default run as a
Train-page job against the same run through scripts/train.py. With --paper, only the
paper's LeNet-5 figures beside those of lenet5_1998 and lenet5 as trained here
(`benchmarks.paper`).
"""

import argparse
import os
import statistics

import _path  # noqa: F401
import keras

from benchmarks import paper, people, recipes, serving, teaching
from lenet.cli import add_mnist_argument, print_json, run_main, settings_from_args
from lenet.datasets.mnist import load_mnist
from lenet.jobs.catalog import Catalog
from lenet.nets.devices import describe_device
from lenet.nets.inference import Predictor
from lenet.nets.modelio import load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--classic-epochs",
        type=int,
        default=15,
        help="cap on the classic recipe's epochs (it stops earlier once at 99%%; default 15)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="timed epochs of each recipe, for seconds per epoch (default 5)"
    )
    parser.add_argument(
        "--job-overhead",
        action="store_true",
        help="also time the default run as a Train-page job against scripts/train.py (+2-3 min)",
    )
    parser.add_argument(
        "--people",
        action="store_true",
        help="only how the model reads people it never saw: held-out sets, per writer, non-digits",
    )
    parser.add_argument("--model", help="with --people: the model file (default: the default shipped model)")
    parser.add_argument(
        "--no-teach", action="store_true", help="with --people: skip the teach job per writer (minutes)"
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="only the default recipe twice (time to 99%%, a repeated run's wall time) and the test set",
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        help="only print LeCun et al. 1998's LeNet-5 figures beside the newest trained lenet5_1998 and lenet5",
    )
    parser.add_argument(
        "--paper-models", help="folder of the trained model files --paper reads (default: DATA_DIR/models)"
    )
    add_mnist_argument(parser)
    args = parser.parse_args()
    settings = settings_from_args(args)
    if args.paper:
        folder = args.paper_models or settings.trained_dir
        rows = paper.compare(folder)
        print_json(rows) if args.json else paper.print_comparison(rows, folder)
        return 0
    mnist_dir = settings.mnist_dir or ""
    if args.people:
        found = people.measure_people(settings, args.model or Catalog(settings).default_path, not args.no_teach)
        print_json(found) if args.json else print_people(found)
        return 0

    _, (x_test, y_test) = load_mnist(settings.mnist_dir)  # fail early, with the friendly message, if absent
    if args.floors:
        found = measure_floors(settings, mnist_dir, x_test)
        print_json(found) if args.json else print_floors(found)
        return 0
    default_epochs = recipes.recipes(args.classic_epochs)["default"].epochs
    epoch_times = {
        recipe: recipes.in_child("epochs", recipe, args.rounds, mnist_dir) for recipe in ("classic", "default")
    }
    classic_epoch_s, default_epoch_s = (statistics.median(epoch_times[k]) for k in ("classic", "default"))
    reports = {
        "classic": recipes.in_child("run", "classic", args.classic_epochs, mnist_dir, recipes.TARGET_ACCURACY),
        "default": recipes.in_child("run", "default", default_epochs, mnist_dir, ""),
        # Once more: what a repeated run costs (under JAX its programs come from the compile cache).
        "default_again": recipes.in_child("run", "default", default_epochs, mnist_dir, recipes.TARGET_ACCURACY),
    }
    classic, default, again = (recipes.summarize(reports[k]) for k in ("classic", "default", "default_again"))
    model_path = Catalog(settings).default_path
    model = load_model(model_path)
    predictor = Predictor(model)
    result = {
        "device": describe_device(),
        "backend": keras.backend.backend(),
        "classic_epoch_s": classic_epoch_s,
        "default_epoch_s": default_epoch_s,
        "epoch_speedup": classic_epoch_s / default_epoch_s,
        "epoch_times_s": epoch_times,
        "classic_time_to_99_s": classic["time_to_99_s"],
        "default_time_to_99_s": default["time_to_99_s"],
        "time_to_99_ratio": None,
        "classic_wall_to_99_s": classic["wall_to_99_s"],
        "default_wall_to_99_s": default["wall_to_99_s"],
        "default_repeat_wall_to_99_s": again["wall_to_99_s"],
        "default_recipe": reports["default"]["recipe"],
        # TensorFlow's kernels: the classic recipe gets TensorFlow's own choice for this CPU.
        "classic_tf_onednn": recipes.child_env("classic").get(
            "TF_ENABLE_ONEDNN_OPTS", os.environ.get("TF_ENABLE_ONEDNN_OPTS")
        ),
        "compile_s": reports["default"]["compile_s"],
        "repeat_compile_s": reports["default_again"]["compile_s"],
        "classic_best_test_accuracy": classic["best_test_accuracy"],
        "default_final_test_accuracy": reports["default"]["final_test_accuracy"],
        "default_precision": reports["default"]["precision"],
        "default_jit_compile": reports["default"]["jit_compile"],
        **serving.measure_latency(predictor, model),
        **serving.measure_preprocessing(),
        **serving.measure_test_set(predictor, x_test),
        **serving.measure_invariance(predictor),
        **serving.measure_gallery_first_pass(model_path, x_test, y_test),
        **serving.measure_cold_start(),
        **serving.measure_hostile_pictures(),
        **teaching.measure_teaching(),
        "train_peak_rss_mb": reports["default"]["peak_rss_mb"],
        "classic_train_peak_rss_mb": reports["classic"]["peak_rss_mb"],
        "epochs": {k: r["epochs"] for k, r in reports.items()},
    }
    if args.job_overhead:
        result.update(serving.measure_job_overhead(settings))
    if classic["time_to_99_s"] and default["time_to_99_s"]:
        result["time_to_99_ratio"] = default["time_to_99_s"] / classic["time_to_99_s"]
    elif default["time_to_99_s"]:
        # Classic never got there within its cap: the ratio is at most this.
        result["time_to_99_ratio_at_most"] = default["time_to_99_s"] / classic["trained_s"]
    if args.json:
        print_json(result)
    else:
        print_table(result)
    return 0


def measure_floors(settings, mnist_dir, x_test):
    """What the GPU floors ask, in one short run: the default recipe from a cold compile cache and
    again from a warm one (training seconds and wall seconds from process start to 99%), and the
    shipped default model reading the 10,000 test images."""
    default_epochs = recipes.recipes(1)["default"].epochs
    runs = {
        name: recipes.in_child("run", "default", default_epochs, mnist_dir, recipes.TARGET_ACCURACY)
        for name in ("first", "again")
    }
    summaries = {name: recipes.summarize(report) for name, report in runs.items()}
    predictor = Predictor(load_model(Catalog(settings).default_path))
    return {
        "device": describe_device(),
        "backend": keras.backend.backend(),
        "recipe": runs["first"]["recipe"],
        "precision": runs["first"]["precision"],
        **{f"{name}_{key}": summary[key] for name, summary in summaries.items() for key in summary},
        "first_compile_s": runs["first"]["compile_s"],
        "again_compile_s": runs["again"]["compile_s"],
        "epochs": {name: report["epochs"] for name, report in runs.items()},
        **serving.measure_test_set(predictor, x_test, repeats=5),
    }


def print_floors(found):
    print(f"{found['device']} ({found['backend']}), {found['recipe']}, {found['precision']}")
    for name in ("first", "again"):
        print(
            f"  {name}: 99% after {found[f'{name}_time_to_99_s']} s of training, "
            f"{found[f'{name}_wall_to_99_s']} s from process start (compile {found[f'{name}_compile_s']} s)"
        )
    print(f"  10,000 test images: {found['test_set_predict_s']:.3f} s")


def print_people(found):
    print(f"{found['model']}: held-out writers (never trained on)")
    for name, row in found["held_out"].items():
        print(f"  {name:<20}{row['digits']:>7,}  {row['accuracy']:>7.2%}  'not a digit' {row['not_a_digit']:.2%}")
    for kept, row in found["per_writer"].items():
        print(
            f"  {kept} kept of each digit, {row['writers']} writers, {row['digits_read']} read: untaught "
            f"{row['untaught']:.2%}, instant memory {row['memory']:.2%}"
        )
    if "taught_5" in found:
        row = found["taught_5"]
        print(
            f"  5 kept, taught ({row['writers']} writers with 6+ of every digit): {row['taught']:.2%} "
            f"(lowest writer {row['lowest_writer']:.2%}); memory {row['memory']:.2%}"
        )
    rates = found["not_digits"]
    print(
        f"  200 non-digits: 'not a digit' {rates['non_digits']['not_a_digit']:.1%}, or 'not sure' "
        f"{rates['non_digits']['not_a_digit_or_not_sure']:.1%}; real digits ({rates['real_digits']['digits']:,}): "
        f"{rates['real_digits']['not_a_digit']:.2%} / {rates['real_digits']['not_a_digit_or_not_sure']:.2%}"
    )
    print("  real digits by the confidence shown: share, and how often those answers are right")
    for row in found["confidence"]:
        right = "-" if row["right"] is None else f"{row['right']:.1%}"
        print(f"    {row['from']:.0%} to {row['to']:.0%}: {row['share']:6.2%} of digits, {right} right")


def print_table(result):
    def seconds(value):
        return f"{value:.1f} s" if value is not None else "not reached"

    rows = [
        ("device (backend)", f"{result['device']} ({result['backend']})"),
        ("default recipe", result["default_recipe"]),
        (
            "compile: first run / repeated run",
            f"{seconds(result['compile_s'])} / {seconds(result['repeat_compile_s'])}",
        ),
        (
            "seconds per 60k-image epoch: classic / default",
            f"{result['classic_epoch_s']:.2f} / {result['default_epoch_s']:.2f}  (x{result['epoch_speedup']:.1f})",
        ),
        (
            "time to 99% test accuracy: classic / default",
            f"{seconds(result['classic_time_to_99_s'])} / {seconds(result['default_time_to_99_s'])}",
        ),
        (
            "wall time from process start to 99%: classic / default / default again",
            f"{seconds(result['classic_wall_to_99_s'])} / {seconds(result['default_wall_to_99_s'])} / "
            f"{seconds(result['default_repeat_wall_to_99_s'])}",
        ),
        (
            "time to 99% ratio (default / classic)",
            f"{result['time_to_99_ratio']:.2f}"
            if result["time_to_99_ratio"]
            else f"<= {result.get('time_to_99_ratio_at_most', float('nan')):.2f}",
        ),
        ("default recipe final test accuracy", f"{result['default_final_test_accuracy']:.4f}"),
        ("drawing to answer p50 / p95", f"{result['latency_ms_p50']:.2f} / {result['latency_ms_p95']:.2f} ms"),
        ("model.predict p50 (for contrast)", f"{result['predict_ms_p50']:.1f} ms"),
        (
            "preprocessing p50: canvas / 12 MP photo JPEG",
            f"{result['preprocess_canvas_ms_p50']:.2f} / {result['preprocess_photo_ms_p50']:.0f} ms",
        ),
        ("10,000 test images", f"{result['test_set_predict_s']:.2f} s"),
        (
            "invariance sweep (inputs + one model call): median / slowest transformation",
            f"{result['invariance_sweep_ms_p50']:.1f} / {result['invariance_sweep_ms_slowest']:.1f} ms",
        ),
        ("Gallery's first pass (load, read 10,000, cache)", f"{result['gallery_first_pass_s']:.2f} s"),
        ("cold start to first answer", f"{result['cold_start_s']:.1f} s"),
        ("peak memory of a training run", f"{result['train_peak_rss_mb']:.0f} MB"),
        (
            "teaching 50 digits: fine-tune / with held-out folds / process start to saved",
            f"{result['teach_fine_tune_s']:.1f} / {result['teach_with_held_out_s']:.1f} / "
            f"{result['teach_wall_s']:.1f} s",
        ),
        (
            "hostile pictures: 10,000 dots / 65,536 dots / 39.7 MP PNG",
            f"{result['dots_10000_s']:.2f} / {result['dots_65536_s']:.2f} / {result['png_39_7_megapixels_s']:.2f} s",
        ),
    ]
    if "job_run_s" in result:
        rows.append(
            (
                "default run: Train-page job / scripts/train.py",
                f"{result['job_run_s']:.1f} / {result['script_run_s']:.1f} s  (overhead {result['job_overhead']:+.0%})",
            )
        )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    run_main(main)
