"""The one place for paths, shapes, limits and defaults.

Constants describe the problem (MNIST's 28x28 digits) and the limits that keep a small server
safe. `Settings` is where this installation keeps its files and who may train: built once at
the edge (the app, a script) from the environment and Streamlit secrets, then passed in.
Command-line flags, sidebar widgets and saved metadata all map onto the names here.
"""

import dataclasses
import os
import warnings
from pathlib import Path

from lenet.errors import InvalidSetting

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# MNIST conventions: 28x28 grayscale, white ink (255) on black (0).
IMAGE_SIZE = 28
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))
MNIST_TRAIN_IMAGES = 60_000
# The label a drawing that is not a digit carries in training data (the network still has ten outputs).
NOT_A_DIGIT = NUM_CLASSES
# An answer whose top probability is under this is "not a digit": the network learned to spread
# its answer over all ten for drawings that are none. Set before any measurement, never tuned:
# half the probability on one digit is a preference no digit the network knows falls below.
NOT_A_DIGIT_BELOW = 0.5

# The network a new training run builds unless told otherwise.
DEFAULT_ARCHITECTURE = "lenet5"

# The Draw page's canvas (the benchmark's drawing matches it).
CANVAS_SIZE = 280
DEFAULT_BRUSH = 18  # pixels

# Uploads: what a digit photo needs, and no more.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 48 MP phone photo is refused, a 12 MP one is fine
MAX_FRAMES = 10  # an animated GIF/WebP/TIFF with more frames is refused
# Decoded pictures are reduced at once to this longest side: twice the preprocessing's working
# size, and sharper than any screen shows an upload.
MAX_DECODED_SIDE = 2048
# The most memory that pictures being decoded may hold at once, in the whole process: a
# 40-megapixel upload decodes to 40-160 MB, and each decoded picture costs about as much again
# while it is reduced; more at once wait their turn. Four 40-megapixel uploads at once: peak
# 1.14 GB (VmHWM) with 128 MB.
DECODE_BUDGET_BYTES = 128 * 1024 * 1024
DECODE_WAIT_S = 60  # a picture that waits longer for its turn is refused (the server is busy)

# Training limits that keep one run within what a small machine can do.
MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096

TRAINING_MODES = ("on", "ray", "off")


def option(default, label, help, **limits):
    """A config field with what a command-line flag and a sidebar widget need to present it.

    `label` names its widget; `choices`, `min` and `max` are checked; `options` lists the values
    a slider offers (the default always among them); `zero` names what 0 means; `advanced`
    puts the widget in the sidebar's folded section.
    """
    return dataclasses.field(default=default, metadata={"label": label, "help": help, **limits})


class Config:
    """Base of the flat, validated run configs (`TrainConfig`, `TeachConfig`): every field is an
    `option`, checked on creation, saved as plain data beside what it produced."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            meta = field.metadata
            if "choices" in meta and value not in meta["choices"]:
                raise InvalidSetting(f"{field.name} must be one of {', '.join(meta['choices'])}, not {value!r}.")
            if "min" in meta and not meta["min"] <= value:
                raise InvalidSetting(f"{field.name} must be at least {meta['min']}, not {value}.")
            if "max" in meta and not value <= meta["max"]:
                raise InvalidSetting(f"{field.name} must be at most {meta['max']}, not {value}.")

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Build from saved or user-supplied values; keys this version doesn't know are named in
        a warning (a model saved by another version) and left out."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            warnings.warn(f"{cls.__name__} does not know {', '.join(unknown)}; left out.", stacklevel=2)
        return cls(**{k: v for k, v in values.items() if k in known})


def parse_training_mode(value):
    """'on' (jobs run here as processes), 'ray' (jobs run on the Ray cluster at `RAY_ADDRESS`) or
    'off', from a setting. The former 'queue' is 'ray' now: the one way to train elsewhere."""
    mode = str(value or "on").strip().lower()
    if mode in ("off", "0", "false", "no"):
        return "off"
    return "ray" if mode in ("ray", "cluster", "queue", "worker", "remote") else "on"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where this installation keeps its files, and who may train on it.

    Every field maps onto an environment variable (`LENET_DATA_DIR`, ...) and, for the server's
    training policy, onto a Streamlit secret; `environment()` gives the variables that rebuild
    the same settings in a child process (a training job).
    """

    data_dir: Path = PROJECT_ROOT / "data"  # runs, trained versions, collections, caches
    models_dir: Path = PROJECT_ROOT / "models"  # shipped models, read-only
    default_model: str = "lenet_bn"  # the shipped model served until another is activated
    mnist_dir: Path | None = None  # a folder holding MNIST, looked at before the Keras cache
    handwriting_dir: Path | None = None  # the real writers' sets (lenet.datasets.handwriting)
    derived_dir: Path | None = None  # derived arrays and compiled programs (default: DATA_DIR/cache)
    runs_db: Path | None = None  # the runs database (default: DATA_DIR/runs.sqlite)
    runs_journal: str = "wal"  # 'delete' where the database sits on a network filesystem
    training: str = "on"  # on | ray | off
    ray_address: str | None = None  # the Ray cluster jobs go to with training 'ray': auto, host:6379, ray://host:10001
    training_password: str | None = None
    keep_versions: int = 5  # stopped or failed runs' model versions kept, newest first
    keep_taught: int = 3  # taught versions kept per owner of the collection taught, newest first
    folder_field: bool = True  # whoever may train may name a data folder on the server (Train page)
    class_collection: str | None = None  # a collection everyone may keep digits in (off by default)
    max_digits_per_collection: int = 2000
    max_digits_per_owner: int = 5000  # one visitor's collections together
    max_digits_total: int = 50_000  # every collection on the server
    keeps_per_minute: int = 30  # one session's kept digits
    keeps_per_address: int = 300  # every session from one address (a class behind one NAT shares one)
    trusted_proxy: bool = False  # a proxy in front sets X-Forwarded-For: the client's address comes from it

    def __post_init__(self):
        if self.training not in TRAINING_MODES:
            raise InvalidSetting(f"training must be one of {', '.join(TRAINING_MODES)}, not {self.training!r}.")
        counts = ("keep_versions", "keep_taught", "max_digits_per_collection", "max_digits_per_owner")
        for name in (*counts, "max_digits_total"):
            if getattr(self, name) < 1:
                raise InvalidSetting(f"{name} must be at least 1, not {getattr(self, name)}.")

    @classmethod
    def from_env(cls, environ=None, secrets=None):
        """Settings from environment variables, the training policy also from `secrets` (a mapping)."""
        env = os.environ if environ is None else environ
        secrets = secrets or {}
        path = lambda name: Path(env[name]).expanduser() if env.get(name) else None
        number = lambda name, secret: int(env.get(name) or secrets.get(secret) or getattr(cls, secret))
        return cls(
            data_dir=path("LENET_DATA_DIR") or cls.data_dir,
            mnist_dir=path("MNIST_DIR"),
            handwriting_dir=path("HANDWRITING_DIR"),
            derived_dir=path("LENET_CACHE_DIR"),
            runs_db=path("LENET_RUNS_DB"),
            runs_journal="delete" if env.get("LENET_RUNS_JOURNAL", "").strip().lower() == "delete" else "wal",
            training=parse_training_mode(env.get("LENET_TRAINING") or secrets.get("training")),
            ray_address=(env.get("RAY_ADDRESS") or secrets.get("ray_address") or "").strip() or None,
            training_password=env.get("LENET_TRAINING_PASSWORD") or secrets.get("training_password") or None,
            keep_versions=int(env.get("LENET_KEEP_VERSIONS") or secrets.get("keep_versions") or cls.keep_versions),
            keep_taught=number("LENET_KEEP_TAUGHT", "keep_taught"),
            folder_field=str(env.get("LENET_FOLDER_FIELD") or secrets.get("folder_field") or "on").lower()
            not in ("off", "0", "false", "no"),
            class_collection=env.get("LENET_CLASS_COLLECTION") or secrets.get("class_collection") or None,
            max_digits_per_collection=number("LENET_MAX_DIGITS_PER_COLLECTION", "max_digits_per_collection"),
            max_digits_per_owner=number("LENET_MAX_DIGITS_PER_OWNER", "max_digits_per_owner"),
            max_digits_total=number("LENET_MAX_DIGITS_TOTAL", "max_digits_total"),
            keeps_per_minute=number("LENET_KEEPS_PER_MINUTE", "keeps_per_minute"),
            keeps_per_address=number("LENET_KEEPS_PER_ADDRESS", "keeps_per_address"),
            trusted_proxy=str(env.get("LENET_TRUSTED_PROXY") or secrets.get("trusted_proxy") or "off").lower()
            in ("on", "1", "true", "yes"),
        )

    def environment(self):
        """Environment variables that rebuild these settings (the password stays out)."""
        values = {
            "LENET_DATA_DIR": self.data_dir,
            "MNIST_DIR": self.mnist_dir,
            "HANDWRITING_DIR": self.handwriting_dir,
            "LENET_CACHE_DIR": self.derived_dir,
            "LENET_RUNS_DB": self.runs_db,
            "LENET_RUNS_JOURNAL": self.runs_journal,
            "LENET_TRAINING": self.training,
            "RAY_ADDRESS": self.ray_address,
            "LENET_KEEP_VERSIONS": self.keep_versions,
            "LENET_KEEP_TAUGHT": self.keep_taught,
            "LENET_CLASS_COLLECTION": self.class_collection,
        }
        return {name: str(value) for name, value in values.items() if value is not None}

    # Where things live in the data folder.
    trained_dir = property(lambda self: self.data_dir / "models", doc="trained model versions")
    active_file = property(lambda self: self.data_dir / "active.json", doc="names the model served to everyone")
    runs_path = property(lambda self: self.runs_db or self.data_dir / "runs.sqlite", doc="the runs database")
    logs_dir = property(lambda self: self.data_dir / "runs", doc="one log per training job")
    cache_dir = property(lambda self: self.derived_dir or self.data_dir / "cache", doc="derived files, safe to delete")
    owner_key = property(lambda self: self.data_dir / "owner.key", doc="signs visitors' owner cookies; keep private")
    cookie_key = property(
        lambda self: self.data_dir / "cookie.key",
        doc="Streamlit's cookie secret, the same for every replica (scripts/serve.py)",
    )
    collections_dir = property(lambda self: self.data_dir / "collections", doc="people's kept digits, by collection")
    password_waits = property(
        lambda self: self.data_dir / "password-waits.json",
        doc="wrong training passwords per client (hashed), counted by every app process alike",
    )
    address_keeps = property(
        lambda self: self.data_dir / "address-keeps.json",
        doc="when each address (hashed) kept digits in the last minute, counted by every app process alike",
    )
