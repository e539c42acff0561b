"""The one place for paths, shapes, limits and defaults.

Constants describe the problem (MNIST's 28x28 digits) and the limits that keep a small server
safe. `Settings` is where this installation keeps its files and who may train: built once at
the edge (the app, a script) from the environment and Streamlit secrets, then passed in.
Command-line flags, sidebar widgets and saved metadata all map onto the names here.
"""

import dataclasses
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# MNIST conventions: 28x28 grayscale, white ink (255) on black (0).
IMAGE_SIZE = 28
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))

# The network a new training run builds unless told otherwise.
DEFAULT_ARCHITECTURE = "lenet5"

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

TRAINING_MODES = ("on", "queue", "off")


def parse_training_mode(value):
    """'on' (jobs run here), 'queue' (a worker elsewhere runs them) or 'off', from a setting."""
    mode = str(value or "on").strip().lower()
    if mode in ("off", "0", "false", "no"):
        return "off"
    return "queue" if mode in ("queue", "worker", "remote") else "on"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where this installation keeps its files, and who may train on it.

    Every field maps onto an environment variable (`LENET_DATA_DIR`, ...) and, for the server's
    training policy, onto a Streamlit secret; `environment()` gives the variables that rebuild
    the same settings in a child process (a training job).
    """

    data_dir: Path = PROJECT_ROOT / "data"  # runs, trained versions, collections, caches
    models_dir: Path = PROJECT_ROOT / "models"  # shipped models, read-only
    default_model: str = "lenet5"  # the shipped model served until another is activated
    mnist_dir: Path | None = None  # a folder holding MNIST, looked at before the Keras cache
    runs_db: Path | None = None  # the runs database (default: DATA_DIR/runs.sqlite)
    runs_journal: str = "wal"  # 'delete' where the database sits on a network filesystem
    training: str = "on"  # on | queue | off
    training_password: str | None = None
    keep_versions: int = 5  # stopped or failed runs' model versions kept, newest first

    def __post_init__(self):
        if self.training not in TRAINING_MODES:
            raise ValueError(f"training must be one of {', '.join(TRAINING_MODES)}, not {self.training!r}.")
        if self.keep_versions < 1:
            raise ValueError(f"keep_versions must be at least 1, not {self.keep_versions}.")

    @classmethod
    def from_env(cls, environ=None, secrets=None):
        """Settings from environment variables, the training policy also from `secrets` (a mapping)."""
        env = os.environ if environ is None else environ
        secrets = secrets or {}
        path = lambda name: Path(env[name]).expanduser() if env.get(name) else None
        return cls(
            data_dir=path("LENET_DATA_DIR") or cls.data_dir,
            mnist_dir=path("MNIST_DIR"),
            runs_db=path("LENET_RUNS_DB"),
            runs_journal="delete" if env.get("LENET_RUNS_JOURNAL", "").strip().lower() == "delete" else "wal",
            training=parse_training_mode(env.get("LENET_TRAINING") or secrets.get("training")),
            training_password=env.get("LENET_TRAINING_PASSWORD") or secrets.get("training_password") or None,
            keep_versions=int(env.get("LENET_KEEP_VERSIONS") or secrets.get("keep_versions") or cls.keep_versions),
        )

    def environment(self):
        """Environment variables that rebuild these settings (the password stays out)."""
        values = {"LENET_DATA_DIR": self.data_dir, "MNIST_DIR": self.mnist_dir, "LENET_RUNS_DB": self.runs_db,
                  "LENET_RUNS_JOURNAL": self.runs_journal, "LENET_TRAINING": self.training,
                  "LENET_KEEP_VERSIONS": self.keep_versions}
        return {name: str(value) for name, value in values.items() if value is not None}

    # Where things live in the data folder.
    trained_dir = property(lambda self: self.data_dir / "models", doc="trained model versions")
    active_file = property(lambda self: self.data_dir / "active.json", doc="names the model served to everyone")
    runs_path = property(lambda self: self.runs_db or self.data_dir / "runs.sqlite", doc="the runs database")
    logs_dir = property(lambda self: self.data_dir / "runs", doc="one log per training job")
    cache_dir = property(lambda self: self.data_dir / "cache", doc="derived files, safe to delete")
