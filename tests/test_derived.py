"""Derived training arrays: made once per version of what made them, then read from the cache."""

import numpy as np
from scipy import ndimage as ndi

from lenet.datasets import derived


def test_starter_digits_are_made_once_and_a_smaller_set_is_the_start_of_a_larger(tmp_path):
    images, labels = derived.starter_digits(tmp_path, 3)
    assert images.shape == (30, 28, 28) and images.dtype == np.uint8
    assert list(labels[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]  # the digits take turns
    (made,) = tmp_path.glob("starter-*.npz")
    stamp = made.stat().st_mtime_ns
    again, _ = derived.starter_digits(tmp_path, 3)
    assert made.stat().st_mtime_ns == stamp and np.array_equal(again, images)  # read, not made again
    smaller, _ = derived.starter_digits(tmp_path, 2)
    assert np.array_equal(smaller, images[:20])
    assert derived.starter_digits(tmp_path, 0) is None


def test_starter_inputs_look_like_mnist_digits(tmp_path):
    images, _ = derived.starter_digits(tmp_path, 2)
    for image in images:
        assert image.max() == 255 and 40 < (image > 128).sum() < 400
        row, col = ndi.center_of_mass(image.astype(float))
        assert abs(row - 14) <= 1.5 and abs(col - 14) <= 1.5


def test_a_damaged_cache_file_is_made_again(tmp_path):
    built = []
    make = lambda: built.append(1) or {"x": np.arange(3)}
    assert list(derived.cached(tmp_path, "thing", {"n": 3}, (), make)["x"]) == [0, 1, 2]
    (path,) = tmp_path.glob("thing-*.npz")
    path.write_bytes(b"not a zip")
    assert list(derived.cached(tmp_path, "thing", {"n": 3}, (), make)["x"]) == [0, 1, 2]
    assert len(built) == 2
    derived.cached(tmp_path, "thing", {"n": 4}, (), make)  # other parameters: another file
    assert len(list(tmp_path.glob("thing-*.npz"))) == 2
