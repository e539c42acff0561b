"""The one place for paths, shapes and defaults.

Command-line flags, sidebar widgets and saved metadata all map onto the names here.
Every location can be moved with an environment variable, so the app, the scripts and a
training machine elsewhere can share one model folder and one runs database.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Shipped, read-only trained models (tracked in git).
MODELS_DIR = PROJECT_ROOT / "models"
# The model served when nobody chose another one.
DEFAULT_MODEL = "lenet5"

# MNIST conventions: 28x28 grayscale, white ink (255) on black (0).
IMAGE_SIZE = 28
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))

# The Draw page's canvas (the benchmark's drawing matches it).
CANVAS_SIZE = 280
DEFAULT_BRUSH = 18  # pixels

# Uploads: what a digit photo needs, and no more.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 48 MP phone photo is refused, a 12 MP one is fine
MAX_FRAMES = 10  # an animated GIF/WebP/TIFF with more frames is refused

# Training limits that keep one run within what a small machine can do.
MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096


def data_dir():
    """Writable folder for runs, trained model versions and caches (`LENET_DATA_DIR`)."""
    return Path(os.environ.get("LENET_DATA_DIR") or PROJECT_ROOT / "data")


def mnist_dir():
    """Folder named by `MNIST_DIR`, or None."""
    value = os.environ.get("MNIST_DIR")
    return Path(value).expanduser() if value else None
