"""Catalogued model versions exported for other runtimes, checked on MNIST, cached per version.

`export_version` takes a model's name, never a path: only catalogued models are exported,
loaded in safe mode. The exported file reads the MNIST test set in its own runtime, beside the
Keras model through the app's own fast path, and both figures are kept with the file in the
data folder's cache (`cache/exports`), keyed by the model's version: asking again for the
same version and format costs nothing, and a replaced file is exported afresh. One export runs
at a time on the host, however many app replicas serve it (a lock file in the cache), so a burst
of requests can't take a small server's cores.
"""

import dataclasses
import hashlib
import shutil
import tempfile
import time
from pathlib import Path

from lenet.datasets.mnist import load_mnist
from lenet.jobs.catalog import Catalog
from lenet.nets import export
from lenet.nets.evaluation import evaluate_arrays, scores
from lenet.nets.modelio import load_model
from lenet.storage import atomic_file, file_lock, read_json, write_json_atomic

# An exported file reads the test set within this of the Keras model (a twentieth of a point)
# or it is not offered: a larger gap means the conversion changed what the model computes.
CHECK_TOLERANCE = 0.0005
LOCK_WAIT_S = 120


@dataclasses.dataclass(frozen=True)
class Exported:
    model: str
    version: str
    format: str
    path: Path  # the file in the cache (a SavedModel: a zip of its folder)
    bytes: int
    test_accuracy: float  # the exported file reading the 10,000 MNIST test images
    keras_test_accuracy: float  # the Keras model on the same images
    export_seconds: float
    check_seconds: float

    @property
    def difference_points(self):
        """Exported minus Keras accuracy, in percentage points."""
        return round((self.test_accuracy - self.keras_test_accuracy) * 100, 4)

    @property
    def file_name(self):
        stem = f"{self.model}_saved_model" if self.format == "saved_model" else self.model
        return stem + export.export_format(self.format).suffix

    def line(self):
        """One line for a person: what reads the test set how well."""
        label = export.export_format(self.format).label
        return (
            f"{label} file of {self.model} reads the MNIST test set at {self.test_accuracy:.2%} "
            f"(Keras model {self.keras_test_accuracy:.2%}, {self.difference_points:+.2f} points)"
        )

    def to_dict(self):
        return {**dataclasses.asdict(self), "path": str(self.path), "difference_points": self.difference_points}


def _cache_paths(settings, info, name, key=None):
    """The exported file and its record in the cache; `key='*'` gives patterns for every version."""
    key = key or hashlib.sha256(info.version.encode()).hexdigest()[:12]
    folder = settings.cache_dir / "exports"
    return folder / f"{info.name}.{key}{export.export_format(name).suffix}", folder / f"{info.name}.{key}.{name}.json"


def _catalogued(settings, model_name):
    info = Catalog(settings).find(model_name)
    if info is None:
        raise export.ExportRefused(
            f"No model called {model_name!r} among the shipped and trained models; only those can be exported."
        )
    return info


def cached_export(settings, model_name, name):
    """The `Exported` already made for this model version and format, or None; does no work."""
    export.export_format(name)
    info = _catalogued(settings, model_name)
    artifact, record = _cache_paths(settings, info, name)
    fields = read_json(record)
    if not fields or fields.get("version") != info.version or not artifact.is_file():
        return None
    known = {f.name for f in dataclasses.fields(Exported)}
    return Exported(**{**{k: v for k, v in fields.items() if k in known}, "path": artifact})


def export_version(settings, model_name, name):
    """Export the catalogued model `model_name` as format `name` and read MNIST with the file;
    the cached result when this version was exported before. Raises a `Refused` (a model
    outside the catalogue, a package not installed, no MNIST, a file that reads worse)."""
    cached = cached_export(settings, model_name, name)  # an unknown format or model is refused here
    export.require(name)
    if cached:
        return cached
    with file_lock(settings.cache_dir / "exports" / ".lock", LOCK_WAIT_S) as held:
        if not held:
            raise export.ExportRefused("Another export is running on this server; try again in a minute.")
        return cached_export(settings, model_name, name) or _export(settings, _catalogued(settings, model_name), name)


def _export(settings, info, name):
    _, (x_test, y_test) = load_mnist(settings.mnist_dir, download=False)
    model = load_model(info.path)
    artifact, record = _cache_paths(settings, info, name)
    with tempfile.TemporaryDirectory(prefix="lenet-export-") as work:
        exported = Path(work) / f"{info.name}{'' if name == 'saved_model' else export.export_format(name).suffix}"
        started = time.perf_counter()
        export.export_model(model, exported, name)
        export_seconds = time.perf_counter() - started
        started = time.perf_counter()
        accuracy = scores(export.exported_probabilities(exported, name, x_test), y_test)["test_accuracy"]
        check_seconds = time.perf_counter() - started
        keras_accuracy = evaluate_arrays(model, x_test, y_test)["test_accuracy"]
        if abs(accuracy - keras_accuracy) > CHECK_TOLERANCE:
            raise export.ExportRefused(
                f"The {export.export_format(name).label} file of {info.name} reads MNIST at {accuracy:.2%}, "
                f"the Keras model at {keras_accuracy:.2%}: the conversion changed the model, so it is not offered."
            )
        for pattern in _cache_paths(settings, info, name, key="?" * 12):
            for old in pattern.parent.glob(pattern.name):
                old.unlink(missing_ok=True)  # earlier versions' exports of this model
        with atomic_file(artifact) as tmp:
            if name == "saved_model":
                shutil.make_archive(str(Path(tmp).with_suffix("")), "zip", exported)
            else:
                shutil.copyfile(exported, tmp)
    result = Exported(
        model=info.name,
        version=info.version,
        format=name,
        path=artifact,
        bytes=artifact.stat().st_size,
        test_accuracy=accuracy,
        keras_test_accuracy=keras_accuracy,
        export_seconds=round(export_seconds, 2),
        check_seconds=round(check_seconds, 2),
    )
    write_json_atomic(record, {k: v for k, v in result.to_dict().items() if k != "path"})
    return result
