"""MNIST loading: where it looks, what it verifies, and what it says when it can't."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from lenet.config import Settings
from lenet.datasets import mnist as data
from lenet.datasets.mnist import MnistCorrupt, MnistNotFound, load_mnist


def write_idx(path, array, compress=False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    """An empty Keras cache and no network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("MNIST_DIR", raising=False)

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_keras_download", offline)
    data._load_cached.cache_clear()
    yield
    data._load_cached.cache_clear()


def test_nothing_anywhere_gives_one_paragraph_with_three_ways(no_cache, tmp_path):
    with pytest.raises(MnistNotFound) as raised:
        load_mnist(tmp_path / "nowhere")
    message = str(raised.value)
    assert "\n" not in message
    assert "MNIST_DIR" in message and "Keras cache" in message and "download" in message
    assert "network is unreachable" in message


def test_download_is_not_tried_when_forbidden(no_cache, monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_keras_download", lambda: pytest.fail("download attempted"))
    with pytest.raises(MnistNotFound):
        load_mnist(tmp_path, download=False)


def test_a_folder_missing_some_files_says_which(no_cache, tmp_path):
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(10, np.uint8))
    with pytest.raises(MnistNotFound, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_a_wrong_file_is_named(no_cache, tmp_path):
    for name in data.SHA256:
        write_idx(tmp_path / f"{name}.gz", np.zeros((3, 28, 28) if "images" in name else 3, np.uint8), compress=True)
    with pytest.raises(MnistCorrupt) as raised:
        load_mnist(tmp_path)
    assert all(f"{name}.gz does not match" in str(raised.value) for name in data.SHA256)


def test_a_damaged_gzip_is_named(no_cache, tmp_path):
    for name in data.SHA256:
        (tmp_path / f"{name}.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(MnistCorrupt, match="cannot be read"):
        load_mnist(tmp_path)


@pytest.mark.mnist
def test_real_mnist_shapes_and_types(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert set(np.unique(y_test)) == set(range(10))
    assert x_train.max() == 255 and x_train.min() == 0


@pytest.mark.mnist
def test_raw_files_and_npz_and_keras_cache_all_verify(mnist, no_cache, tmp_path, monkeypatch):
    (x_train, y_train), (x_test, y_test) = mnist
    arrays = {
        "train-images-idx3-ubyte": x_train,
        "train-labels-idx1-ubyte": y_train,
        "t10k-images-idx3-ubyte": x_test,
        "t10k-labels-idx1-ubyte": y_test,
    }
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, array in arrays.items():
        write_idx(raw / name, array)
    (got_train, _), (got_test, got_labels) = load_mnist(raw)
    assert np.array_equal(got_test, x_test) and np.array_equal(got_labels, y_test)

    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data._load_cached.cache_clear()
    (_, _), (from_cache, _) = load_mnist(tmp_path / "empty")
    assert np.array_equal(from_cache, x_test)

    tampered = x_test.copy()
    tampered[0, 0, 0] ^= 1
    np.savez(cache / "mnist.npz", x_train=x_train, y_train=y_train, x_test=tampered, y_test=y_test)
    data._load_cached.cache_clear()
    with pytest.raises(MnistCorrupt, match="x_test"):
        load_mnist(tmp_path / "empty")


@pytest.mark.mnist
def test_mnist_dir_environment_variable_reaches_the_loader_through_settings(mnist, tmp_path, monkeypatch):
    _, source = data.load_mnist_with_source(Settings.from_env().mnist_dir, download=False)
    folder = Path(source).parent if source.endswith(".npz") else Path(source)
    monkeypatch.setenv("MNIST_DIR", str(folder))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    settings = Settings.from_env()
    assert settings.mnist_dir == folder
    data._load_cached.cache_clear()
    try:
        (_, _), (x_test, _) = load_mnist(settings.mnist_dir, download=False)
    finally:
        data._load_cached.cache_clear()
    assert np.array_equal(x_test, mnist[1][0])
