"""The model catalog: shipped models, trained versions, which one is active, and their cards.

Only files inside the two model folders are ever listed, loaded or deleted: `models/` in the
project (shipped, never written by the app) and `DATA_DIR/models` (versions trained here).
The active model is named in `DATA_DIR/active.json`, replaced atomically, so every process
serving the app sees one consistent choice and switches without a restart.
"""

import dataclasses
import functools
from pathlib import Path

from lenet.errors import Refused
from lenet.nets.modelio import load_metadata, metadata_path
from lenet.storage import read_json, write_json_atomic

# A finished run replaces the served model by itself only if it reads MNIST's test set at most
# this much worse (a tenth of a point): a 1,000-image run must never replace a 99.4% model.
ACTIVATION_MARGIN = 0.001
KEEP_PREVIOUS = 10  # models once active, remembered to fall back on


class CatalogRefused(Refused, ValueError):
    """A model that can't be found, activated or deleted; the message says why."""


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    name: str  # file stem, unique across both folders
    path: Path
    shipped: bool
    version: str  # changes whenever the file is replaced; a cache key
    modified: float

    @property
    def metadata(self):
        return _metadata(self.path, self.version)

    @property
    def test_accuracy(self):
        value = self.metadata.get("test_accuracy")
        return value if isinstance(value, (int, float)) else None

    def label(self):
        """'lenet_bn · 99.55% · shipped': the name first and whole (a taught version's is long), then its score."""
        score = f"{self.test_accuracy:.2%}" if self.test_accuracy is not None else "not scored"
        return f"{self.name} · {score}" + (" · shipped" if self.shipped else "")


@functools.lru_cache(maxsize=1024)
def _metadata(path, version):
    # Keyed by the file's version: a replaced model's card is read again, an unchanged one never.
    return load_metadata(path)


class Catalog:
    """The models one installation can serve, from its `Settings`."""

    def __init__(self, settings):
        self.settings = settings

    @property
    def default_path(self):
        return self.settings.models_dir / f"{self.settings.default_model}.keras"

    def models(self):
        """Shipped models first (the default one leading), then trained versions, newest first."""
        shipped = sorted(_scan(self.settings.models_dir, True), key=lambda m: m.name != self.settings.default_model)
        trained = sorted(_scan(self.settings.trained_dir, False), key=lambda m: m.modified, reverse=True)
        return shipped + trained

    def find(self, name):
        """The catalogued model called `name`, or None. Names, never paths, come from users."""
        return next((m for m in self.models() if m.name == name), None)

    def _active_record(self):
        return read_json(self.settings.active_file, {})

    def active_name(self):
        name = self._active_record().get("name")
        return name if isinstance(name, str) else None

    def active(self):
        """The model served to every session: the activated one, else the default shipped model."""
        name = self.active_name()
        chosen = self.find(name) if name else None
        return chosen or self.find(self.settings.default_model) or next(iter(self.models()), None)

    def activate(self, name):
        """Make the catalogued model `name` the served one; returns its `ModelInfo`."""
        info = self.find(name)
        if info is None:
            raise CatalogRefused(f"No model called {name!r} among the shipped and trained models.")
        record = self._active_record()
        previous = [
            n for n in [record.get("name"), *record.get("previous", [])] if isinstance(n, str) and n != info.name
        ]
        write_json_atomic(self.settings.active_file, {"name": info.name, "previous": previous[:KEEP_PREVIOUS]})
        return info

    def fallbacks(self, info):
        """What to serve, in order, when `info`'s file can't be loaded: the models active before
        it, newest first, then the default shipped model, then the other shipped ones."""
        previous = [self.find(name) for name in self._active_record().get("previous", []) if isinstance(name, str)]
        shipped = [m for m in self.models() if m.shipped]
        ordered = [m for m in [*previous, *shipped] if m is not None and m.name != info.name]
        return list(dict.fromkeys(ordered))

    def prune(self, keep, keep_taught=None):
        """Delete all but the newest `keep` versions of stopped runs (partial models) and, when
        `keep_taught` is given, all but each owner's newest `keep_taught` taught versions (the
        owner of the collection taught). The active model, the models it would fall back on,
        shipped models and finished training runs are never touched. Returns the names deleted."""
        record = self._active_record()
        spared = {n for n in [record.get("name"), *record.get("previous", [])] if isinstance(n, str)}
        trained = [m for m in self.models() if not m.shipped and m.name not in spared]
        doomed = [m for m in trained if m.metadata.get("partial")][keep:]
        if keep_taught is not None:
            by_owner = {}
            for info in trained:
                if info.metadata.get("kind") == "taught" and not info.metadata.get("partial"):
                    by_owner.setdefault(str(info.metadata.get("collection", "")).split("/")[0], []).append(info)
            doomed += [info for versions in by_owner.values() for info in versions[keep_taught:]]
        for info in doomed:
            for path in (info.path, metadata_path(info.path)):
                path.unlink(missing_ok=True)
        return [m.name for m in doomed]

    def activate_unless_worse(self, name, accuracy, margin=ACTIVATION_MARGIN):
        """Activate `name` if its MNIST test `accuracy` is at least the active model's less
        `margin`; returns one line saying what happened, for the run's page."""
        active = self.active()
        if active and active.test_accuracy is not None and accuracy < active.test_accuracy - margin:
            return f"kept {active.name}, {active.test_accuracy:.2%}: this run scored {accuracy:.2%}"
        self.activate(name)
        return f"activated: {name} ({accuracy:.2%}) now serves everyone"

    def delete(self, name):
        """Remove a trained version; the active model and shipped models are never deleted."""
        info = self.find(name)
        if info is None:
            raise CatalogRefused(f"No model called {name!r}.")
        if info.shipped:
            raise CatalogRefused(f"{name} is shipped with the app and cannot be deleted.")
        if name == self.active().name:
            raise CatalogRefused(f"{name} is the active model; activate another one before deleting it.")
        for path in (info.path, metadata_path(info.path)):
            path.unlink(missing_ok=True)

    def contains(self, path):
        path = Path(path).resolve()
        return any(
            path.is_relative_to(folder.resolve()) for folder in (self.settings.models_dir, self.settings.trained_dir)
        )


def _scan(folder, shipped):
    if not folder.is_dir():
        return []
    infos = []
    for path in folder.glob("*.keras"):
        if path.name.startswith("."):
            continue  # a save in progress
        try:
            stat = path.stat()
        except OSError:
            continue  # deleted while listing
        infos.append(
            ModelInfo(path.stem, path, shipped, f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}", stat.st_mtime)
        )
    return infos
