"""Model files: `NAME.keras` with `NAME.json` beside it, written atomically, loaded safely.

The JSON holds everything needed to rebuild, compare and trust the model: architecture,
training config, per-epoch history, test scores, parameter count, training time, device,
data checksums, library versions and creation time.
"""

import datetime
import hashlib
import importlib.metadata
import platform
import zipfile
from pathlib import Path

import keras
import numpy as np

from lenet.config import INPUT_SHAPE, NUM_CLASSES
from lenet.datasets.mnist import SHA256
from lenet.errors import Refused
from lenet.storage import atomic_file, read_json, sha256_of, write_json


class ModelFileError(Refused):
    """A model file is missing, damaged or not a LeNet Studio digit model; the message names it."""

    def __init__(self, message):
        super().__init__(message, public="a model file it needed is missing or damaged")


def metadata_path(model_path):
    return Path(model_path).with_suffix(".json")


def build_metadata(result, data_source=None, name=None):
    """The JSON-ready description of a `TrainResult`."""
    return model_card(
        result.model,
        data_source,
        name=name,
        architecture=result.config.architecture,
        config=result.config.to_dict(),
        history=result.history,
        epochs_run=len(result.history),
        stopped_early=result.stopped_early,
        test_accuracy=result.test_accuracy,
        test_loss=result.test_loss,
        train_seconds=round(result.train_seconds, 2),
        device=result.device,
        precision=result.precision,
        jit_compile=result.jit_compile,
    )


def model_card(model, data_source=None, **fields):
    """`fields` and what every model file's metadata says: parameters, data, libraries, date."""
    return {
        **fields,
        "num_params": count_params(model),
        "data": {"source": data_source, "sha256": dict(SHA256)},
        "versions": library_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def count_params(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def library_versions():
    backend = keras.backend.backend()
    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": backend,
        "numpy": np.__version__,
    }
    try:
        versions[backend] = importlib.metadata.version("torch" if backend == "torch" else backend)
    except importlib.metadata.PackageNotFoundError:
        pass
    return versions


def save_model(model, path, metadata):
    """Write `path` (.keras) and its .json atomically; a crash leaves the old files intact."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Model files end in .keras, not {path.name!r}.")
    with atomic_file(path) as tmp_model:
        model.save(tmp_model)
        metadata = {**metadata, "name": metadata.get("name") or path.stem, "keras_sha256": sha256_of(tmp_model)}
        with atomic_file(metadata_path(path)) as tmp_meta:
            write_json(tmp_meta, metadata)
    return metadata


def write_model_files(path, model_bytes, metadata):
    """Write a model saved elsewhere (its .keras bytes and its card) at `path`, atomically and in
    `save_model`'s order: the card first, the model file last, so the catalog (which lists .keras
    files) shows the version only once both are whole."""
    path = Path(path)
    metadata = {**metadata, "name": path.stem, "keras_sha256": hashlib.sha256(model_bytes).hexdigest()}
    with atomic_file(metadata_path(path)) as tmp_meta:
        write_json(tmp_meta, metadata)
    with atomic_file(path) as tmp_model:
        Path(tmp_model).write_bytes(model_bytes)
    return metadata


def load_metadata(model_path):
    """The model's JSON metadata, or a minimal record when it has none or it is unreadable."""
    model_path = Path(model_path)
    return read_json(metadata_path(model_path)) or {
        "name": model_path.stem,
        "architecture": None,
        "test_accuracy": None,
    }


def load_model(path):
    """Load a digit model with Keras safe mode; raise `ModelFileError` naming a bad file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file {path} does not exist.")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a Keras model file (.keras): it is damaged or of another kind.")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for damaged or foreign archives
        first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path} could not be loaded as a Keras model: {first_line}") from None
    if tuple(model.input_shape[1:]) != INPUT_SHAPE or model.output_shape[-1] != NUM_CLASSES:
        raise ModelFileError(
            f"{path} is a Keras model but not a digit model: it takes {model.input_shape[1:]} "
            f"and gives {model.output_shape[-1]} outputs; expected {INPUT_SHAPE} and {NUM_CLASSES}."
        )
    return model
