"""Export a catalogued model for another runtime and check it on the MNIST test set.

python scripts/export.py lenet_bn --format onnx
python scripts/export.py lenet5 --format tflite --output lenet5.tflite --json
python scripts/export.py lenet_bn --format saved_model --output exported/lenet_bn

NAME is a model of the catalogue (models/ and the data folder's trained versions), never a
path. The exported file reads the 10,000 MNIST test images in its own runtime (onnxruntime,
the LiteRT interpreter, TensorFlow) and the figure is printed beside the Keras model's. The
packages each format needs are in requirements-export.txt; exporting needs Keras's TensorFlow
backend. Exit status 2, with one line on stderr, when the export is refused.
"""

import argparse
import shutil
import sys
from pathlib import Path

import _path  # noqa: F401

from lenet.cli import add_mnist_argument, print_json, run_main, settings_from_args
from lenet.jobs.exports import export_version
from lenet.nets.export import FORMATS


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="a catalogued model's name, e.g. lenet_bn")
    parser.add_argument("--format", choices=list(FORMATS), default="onnx", help="what to export to (default: onnx)")
    parser.add_argument(
        "--output", help="where to write it (default: NAME.onnx, NAME.tflite or the folder NAME_saved_model)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_mnist_argument(parser)
    args = parser.parse_args()

    result = export_version(settings_from_args(args), args.name, args.format)
    default = result.file_name.removesuffix(".zip") if args.format == "saved_model" else result.file_name
    output = Path(args.output or default)
    write(result.path, output, args.format)
    if args.json:
        print_json({**result.to_dict(), "output": str(output)})
        return 0
    print(f"wrote {output} ({result.bytes / 1e6:.2f} MB)")
    print(result.line())
    return 0


def write(cached, output, format_name):
    output.parent.mkdir(parents=True, exist_ok=True)
    if format_name == "saved_model":  # a folder, kept in the cache as a zip of it
        shutil.rmtree(output, ignore_errors=True)
        shutil.unpack_archive(cached, output, "zip")
    else:
        shutil.copyfile(cached, output)


if __name__ == "__main__":
    sys.exit(run_main(main))
