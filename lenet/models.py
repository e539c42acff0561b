"""The model catalogue: shipped models, trained versions, and which one is active.

Only files inside the two model folders are ever listed or loaded: `models/` in the project
(shipped, never written by the app) and `DATA_DIR/models` (versions trained here). The active
model is named in `DATA_DIR/active.json`, replaced atomically, so every process serving the
app sees one consistent choice and switches without a restart.
"""

import dataclasses
import json
from pathlib import Path

from lenet.config import DEFAULT_MODEL, MODELS_DIR, data_dir
from lenet.modelio import load_metadata, write_json_atomic


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    name: str  # file stem, unique across both folders
    path: Path
    shipped: bool
    version: str  # changes whenever the file is replaced; a cache key

    @property
    def metadata(self):
        return load_metadata(self.path)

    def label(self):
        meta = self.metadata
        accuracy = meta.get("test_accuracy")
        score = f"{accuracy:.2%}" if isinstance(accuracy, (int, float)) else "not scored"
        kind = "shipped" if self.shipped else "trained"
        return f"{self.name} ({meta.get('architecture') or '?'}, {score}, {kind})"


def trained_dir():
    return data_dir() / "models"


def active_file():
    return data_dir() / "active.json"


def default_model_path():
    return MODELS_DIR / f"{DEFAULT_MODEL}.keras"


def _info(path, shipped):
    stat = path.stat()
    return ModelInfo(path.stem, path, shipped, f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}")


def _scan(folder, shipped):
    if not folder.is_dir():
        return []
    infos = []
    for path in sorted(folder.glob("*.keras")):
        if path.name.startswith("."):
            continue  # a save in progress
        try:
            infos.append(_info(path, shipped))
        except OSError:
            continue  # deleted while listing
    return infos


def available_models():
    """Shipped models first (the default one leading), then trained versions, newest first."""
    shipped = sorted(_scan(MODELS_DIR, True), key=lambda m: m.name != DEFAULT_MODEL)
    trained = sorted(_scan(trained_dir(), False), key=lambda m: m.path.stat().st_mtime if m.path.exists() else 0, reverse=True)
    return shipped + trained


def find_model(name):
    """The catalogued model called `name`, or None. Names, never paths, come from users."""
    return next((m for m in available_models() if m.name == name), None)


def active_model():
    """The model served to every session: the activated one, else the default shipped model."""
    try:
        with open(active_file()) as f:
            name = json.load(f).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    chosen = find_model(name) if name else None
    return chosen or find_model(DEFAULT_MODEL) or next(iter(available_models()), None)


def activate(name):
    """Make the catalogued model `name` the served one; returns its `ModelInfo`."""
    info = find_model(name)
    if info is None:
        raise ValueError(f"No model called {name!r} in {MODELS_DIR} or {trained_dir()}.")
    write_json_atomic(active_file(), {"name": info.name})
    return info


def is_inside_model_folders(path):
    path = Path(path).resolve()
    return any(path.is_relative_to(folder.resolve()) for folder in (MODELS_DIR, trained_dir()))
