"""MNIST, found wherever the user keeps it and verified before use.

`load_mnist()` looks, in order, at a folder passed in or named by `MNIST_DIR` (the four IDX
files, raw or gzipped, or a Keras `mnist.npz`), the Keras cache, and last a Keras download.
Whatever the source, the content is checked against the SHA-256 sums of the original IDX
files, so a damaged or different dataset is named instead of silently used.
"""

import functools
import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from keras.utils import get_file

from lenet.config import IMAGE_SIZE
from lenet.errors import Refused

# SHA-256 of each original (decompressed) IDX file.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# The npz key that holds each IDX file's content.
NPZ_KEYS = {
    "train-images-idx3-ubyte": "x_train",
    "train-labels-idx1-ubyte": "y_train",
    "t10k-images-idx3-ubyte": "x_test",
    "t10k-labels-idx1-ubyte": "y_test",
}
NPZ_NAME = "mnist.npz"
_MAX_IDX_BYTES = 60_000 * IMAGE_SIZE * IMAGE_SIZE + 16


class MnistNotFound(Refused):
    """No usable copy of MNIST anywhere; the message tells the user how to provide one."""

    def __init__(self, message):
        super().__init__(message, public="the server has no copy of MNIST")


class MnistCorrupt(Refused):
    """A copy of MNIST was found but a file is damaged or not MNIST; the message names it."""

    def __init__(self, message):
        super().__init__(message, public="the server's copy of MNIST is damaged")


def load_mnist(path=None, download=True):
    """Return `(x_train, y_train), (x_test, y_test)` as uint8 numpy arrays.

    Images are `(60000, 28, 28)` and `(10000, 28, 28)`, white ink (255) on black (0);
    labels are `(60000,)` and `(10000,)` with values 0-9.

    Args:
        path: a folder holding the four IDX files (raw or `.gz`) or `mnist.npz`
            (`Settings.mnist_dir`); looked at before the Keras cache.
        download: try a Keras download when no local copy is found.

    Raises:
        MnistCorrupt: a file was found but its content is not the original MNIST.
        MnistNotFound: no copy anywhere; the message says how to provide one.
    """
    return _load(path, download)["arrays"]


def locate(path=None):
    """Where `load_mnist(path)` would read MNIST from (a folder or an npz), without reading it
    or downloading; `MnistNotFound` saying how to provide it when no copy is here. The files'
    contents are checked when they are loaded, not here."""
    folder = Path(path).expanduser().resolve() if path else None
    tried = []
    for candidate in [folder, keras_cache_dir()] if folder else [keras_cache_dir()]:
        if not candidate.is_dir():
            tried.append(f"{candidate} does not exist")
        elif all(_idx_path(candidate, name) for name in SHA256) or (candidate / NPZ_NAME).is_file():
            return candidate
        else:
            tried.append(f"{candidate} holds neither the IDX files nor {NPZ_NAME}")
    raise MnistNotFound(_not_found_message(tried))


def download_mnist():
    """Download MNIST into the Keras cache (11 MB, checked); `MnistNotFound` in one sentence when it can't."""
    try:
        return _keras_download()
    except Exception as error:  # any network failure ends in the same sentence
        raise MnistNotFound(
            f"MNIST could not be downloaded ({_short(error)}): this server may have no internet "
            "connection; copy the files to it instead (see README, MNIST offline)."
        ) from None


def load_mnist_with_source(path=None, download=True):
    """Like `load_mnist`, and also return where the data was found (a folder or file)."""
    found = _load(path, download)
    return found["arrays"], found["source"]


def _load(path, download):
    folder = Path(path).expanduser().resolve() if path else None
    return _load_cached(folder, keras_cache_dir(), download)


@functools.lru_cache(maxsize=4)
def _load_cached(folder, cache, download):
    # Cached: the arrays are read-only views of verified bytes, safe to share.
    tried = []
    if folder is not None:
        found = _from_folder(folder, tried)
        if found:
            return found
    found = _from_folder(cache, tried)
    if found:
        return found
    if download:
        try:
            npz = _keras_download()
        except Exception as error:  # any network failure ends in the same advice
            tried.append(f"a download failed ({_short(error)})")
        else:
            return {"arrays": _read_npz(npz), "source": str(npz)}
    raise MnistNotFound(_not_found_message(tried))


def keras_cache_dir():
    """Where Keras keeps downloaded datasets (`$KERAS_HOME/datasets`, default `~/.keras/datasets`)."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home).expanduser() / "datasets"


def _from_folder(folder, tried):
    if not folder.is_dir():
        tried.append(f"{folder} does not exist")
        return None
    idx = {name: _idx_path(folder, name) for name in SHA256}
    if all(idx.values()):
        return {"arrays": _read_idx_set(idx), "source": str(folder)}
    if (folder / NPZ_NAME).is_file():
        return {"arrays": _read_npz(folder / NPZ_NAME), "source": str(folder / NPZ_NAME)}
    missing = [name for name, found in idx.items() if not found]
    if len(missing) < len(idx):
        # Some IDX files are there: the user meant this folder, so say exactly what is missing.
        tried.append(f"{folder} lacks {', '.join(missing)} (raw or .gz)")
    else:
        tried.append(f"{folder} holds neither the IDX files nor {NPZ_NAME}")
    return None


def _idx_path(folder, name):
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    # Some mirrors spell the files with a dot: train-images.idx3-ubyte.
    dotted = name.replace("-idx", ".idx")
    for candidate in (folder / dotted, folder / f"{dotted}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx_set(paths):
    arrays, problems = {}, []
    for name, path in paths.items():
        try:
            arrays[name] = _read_idx(path, name)
        except MnistCorrupt as problem:
            problems.append(str(problem))
    if problems:
        raise MnistCorrupt(" ".join(problems))  # every bad file at once, not one per attempt
    return _pair(arrays)


def _read_idx(path, name):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            content = f.read(_MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise MnistCorrupt(f"MNIST file {path} cannot be read: {_short(error)}.") from None
    _verify(content, name, path)
    dims = content[3]
    shape = struct.unpack(f">{dims}I", content[4 : 4 + 4 * dims])
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[key] for name, key in NPZ_KEYS.items()}
    except Exception as error:  # zip, key and format errors all mean "not a usable npz"
        raise MnistCorrupt(f"MNIST file {path} is not a valid Keras mnist.npz: {_short(error)}.") from None
    for name, array in arrays.items():
        _verify(_idx_bytes(array), name, path, part=NPZ_KEYS[name])
    return _pair(arrays)


def _idx_bytes(array):
    """The IDX file whose content `array` is (the format MNIST is published in)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _verify(content, name, path, part=None):
    if hashlib.sha256(content).hexdigest() != SHA256[name]:
        what = f"{path} ({part})" if part else str(path)
        raise MnistCorrupt(
            f"MNIST file {what} does not match the original {name} (SHA-256 differs). "
            "It is damaged or not MNIST: replace it with a fresh copy."
        )


def _pair(arrays):
    train = (arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"])
    test = (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"])
    return train, test


def _keras_download():
    """Download `mnist.npz` into the Keras cache and return its path."""
    return Path(
        get_file(
            NPZ_NAME,
            origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
            file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
            cache_dir=str(keras_cache_dir().parent),
        )
    )


def _not_found_message(tried):
    return (
        "MNIST was not found ("
        + "; ".join(tried)
        + "). Provide it in one of three ways: set MNIST_DIR (or pass --mnist-dir) to a folder "
        "holding the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz) or a Keras mnist.npz; "
        f"copy mnist.npz into the Keras cache {keras_cache_dir()}; or connect to the internet "
        "and let Keras download it."
    )


def _short(error):
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
