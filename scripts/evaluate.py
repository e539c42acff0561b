"""Score a model file on the 10,000 MNIST test images.

python scripts/evaluate.py models/lenet5.keras
python scripts/evaluate.py models/lenet5.keras --json
"""

import argparse

import _path  # noqa: F401

from lenet.cli import add_mnist_argument, print_json, run_main, settings_from_args
from lenet.datasets.mnist import load_mnist
from lenet.jobs.pipeline import held_out_sets
from lenet.nets.evaluation import evaluate_arrays, held_out_report
from lenet.nets.modelio import count_params, load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a .keras model file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_mnist_argument(parser)
    args = parser.parse_args()

    model = load_model(args.model)
    settings = settings_from_args(args)
    _, (x_test, y_test) = load_mnist(settings.mnist_dir)
    report = {"model": args.model, **evaluate_arrays(model, x_test, y_test), "num_params": count_params(model)}
    report["held_out"] = held_out_report(model, held_out_sets(settings, ((None, None), (x_test, y_test))))
    if args.json:
        print_json(report)
        return 0
    print_held_out(report["held_out"])
    print(f"{args.model}: {report['num_params']:,} parameters")
    print(
        f"test accuracy {report['test_accuracy']:.4f}  test loss {report['test_loss']:.4f}  "
        f"({report['num_errors']} errors in {report['num_images']} images)"
    )
    print("per-class accuracy: " + "  ".join(f"{d}: {a:.4f}" for d, a in enumerate(report["per_class_accuracy"])))
    print("confusion matrix (rows: true digit, columns: predicted):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for digit, row in enumerate(report["confusion_matrix"]):
        print(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
    return 0


def print_held_out(held_out):
    print("held-out writers (never trained on): set, digits, accuracy, its hardest digit, called 'not a digit'")
    for name, row in held_out.items():
        worst = min(range(10), key=lambda d: row["per_class"][d])
        print(
            f"  {name:<20}{row['digits']:>7,}  {row['accuracy']:>7.2%}   {worst}: {row['per_class'][worst]:>7.2%}"
            f"   {row['not_a_digit']:>6.2%}"
        )
    if len(held_out) == 1:
        print("  (the real writers' sets were not found: set HANDWRITING_DIR or pass --handwriting-dir)")


if __name__ == "__main__":
    run_main(main)
