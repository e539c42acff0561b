"""Derived training arrays: made once per version of what made them, then read from the cache."""

import numpy as np

from lenet.config import NOT_A_DIGIT
from lenet.datasets import derived, nondigits


def test_arrays_are_made_once_per_parameters_and_a_damaged_file_is_made_again(tmp_path):
    built = []
    make = lambda: built.append(1) or {"x": np.arange(3)}
    assert list(derived.cached(tmp_path, "thing", {"n": 3}, (), make)["x"]) == [0, 1, 2]
    (path,) = tmp_path.glob("thing-*.npz")
    stamp = path.stat().st_mtime_ns
    assert list(derived.cached(tmp_path, "thing", {"n": 3}, (), make)["x"]) == [0, 1, 2]
    assert len(built) == 1 and path.stat().st_mtime_ns == stamp  # read, not made again
    path.write_bytes(b"not a zip")
    assert list(derived.cached(tmp_path, "thing", {"n": 3}, (), make)["x"]) == [0, 1, 2]
    assert len(built) == 2
    derived.cached(tmp_path, "thing", {"n": 4}, (), make)  # other parameters: another file
    assert len(list(tmp_path.glob("thing-*.npz"))) == 2


def test_not_digits_are_inked_model_inputs_of_every_kind_with_their_label(tmp_path):
    images, labels = derived.not_digits(tmp_path, 2 * len(nondigits.KINDS))
    assert images.shape == (2 * len(nondigits.KINDS), 28, 28) and images.dtype == np.uint8
    assert set(labels) == {NOT_A_DIGIT}
    assert (images.reshape(len(images), -1).max(axis=1) > 0).all()
    again, _ = derived.not_digits(tmp_path, 2 * len(nondigits.KINDS))
    assert np.array_equal(again, images)
    assert {nondigits.drawing(i)[1] for i in range(len(nondigits.KINDS))} == set(nondigits.KINDS)
