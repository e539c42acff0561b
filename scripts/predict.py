"""Read the digits in image files.

    python scripts/predict.py photo.jpg drawing.png
    python scripts/predict.py --json --model models/lenet_bn.keras *.png

`--json` prints one list with one object per path: {"path", "digits", "confidence"}, where
digits is the string read ("" when the image holds no digit), or {"path", "error"} when
the file can't be read. Exit status 1 if any file failed.
"""

import argparse

import _path  # noqa: F401

from lenet.cli import print_json, run_main, settings_from_args
from lenet.images.files import ImageRefused, open_image
from lenet.images.reading import read
from lenet.jobs.catalog import Catalog
from lenet.nets.inference import Predictor
from lenet.nets.modelio import load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, GIF, BMP, WebP, TIFF)")
    parser.add_argument("--model", help="a .keras model file (default: the default shipped model)")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    args = parser.parse_args()

    predictor = Predictor(load_model(args.model or Catalog(settings_from_args(args)).default_path))
    results = []
    for path in args.images:
        try:
            image = open_image(path)
            reading = read(image, predictor)
        except ImageRefused as refusal:
            results.append({"path": path, "error": str(refusal)})
            continue
        scale = max(image.info["original_size"]) / max(image.size)  # boxes in the file's own pixels
        results.append(
            {
                "path": path,
                "digits": reading.text,
                "confidence": round(reading.confidence, 4),
                "per_digit": [
                    {"digit": d.value, "confidence": round(d.confidence, 4), "box": [round(v * scale) for v in d.box]}
                    for d in reading.digits
                ],
            }
        )
    if args.json:
        print_json(results)
    else:
        for result in results:
            if "error" in result:
                print(f"{result['path']}: error: {result['error']}")
            elif result["digits"]:
                print(f"{result['path']}: {result['digits']}  (confidence {result['confidence']:.3f})")
            else:
                print(f"{result['path']}: no digit found")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    run_main(main)
