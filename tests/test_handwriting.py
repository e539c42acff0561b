"""The real writers' sets: verified on load, split by writer, refused clearly when missing or damaged."""

import shutil

import numpy as np
import pytest

from lenet.datasets import derived, handwriting

pytestmark = pytest.mark.handwriting


@pytest.mark.parametrize("name", list(handwriting.SOURCES))
def test_every_set_loads_with_labels_and_writers(name, handwriting_dir):
    digits = handwriting.load(name, handwriting_dir)
    assert len(digits) > 800 and set(np.unique(digits.labels)) == set(range(10))
    assert len(digits.writers) == len(digits) and all(w.startswith(f"{name}/") for w in digits.writers[:5])
    if handwriting.SOURCES[name].kind == "pen":
        first = digits.strokes[0]
        assert first and all(stroke.ndim == 2 and stroke.shape[1] == 2 for stroke in first)
    else:
        assert digits.images.dtype == np.uint8 and digits.images.max() == 255


def test_no_writer_is_in_two_parts_and_the_split_never_changes(handwriting_dir):
    for name in ("unipen", "uji", "usps"):
        digits = handwriting.load(name, handwriting_dir)
        parts = handwriting.split_of(name, digits.writers)
        owners = {}
        for writer, part in zip(digits.writers, parts):
            assert owners.setdefault(writer, part) == part
        assert {"train", "validation", "test"} == set(parts)
        assert 0.1 < (parts == "test").mean() < 0.35  # about a fifth of the writers held out
        assert np.array_equal(parts, handwriting.split_of(name, digits.writers))
    for name in ("numberpad", "optdigits"):  # one writer, or none known: never trained on
        assert set(handwriting.split_of(name, handwriting.load(name, handwriting_dir).writers)) == {"test"}


def test_a_missing_or_damaged_set_is_named_in_one_line(tmp_path, handwriting_dir):
    with pytest.raises(handwriting.HandwritingNotFound, match="HANDWRITING_DIR"):
        handwriting.load("uji", None)
    with pytest.raises(handwriting.HandwritingNotFound, match="does not exist"):
        handwriting.load("uji", tmp_path / "nowhere")
    with pytest.raises(handwriting.HandwritingNotFound, match="can't be read"):
        handwriting.load("uji", tmp_path)
    broken = tmp_path / handwriting.SOURCES["uji"].file
    shutil.copy(handwriting_dir / broken.name, broken)
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    with pytest.raises(handwriting.HandwritingNotFound, match="SHA-256") as refused:
        handwriting.load("uji", tmp_path)
    assert "\n" not in str(refused.value) and "handwriting sets" in refused.value.public


@pytest.mark.slow
def test_held_out_pen_digits_become_model_inputs_as_drawn_and_sketched(tmp_path, handwriting_dir):
    found = derived.writers(tmp_path, handwriting_dir, "validation")
    for name in ("uji", "uji sketched", "usps"):
        images, labels = found[name]
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28) and len(images) == len(labels)
        assert (images.reshape(len(images), -1).max(axis=1) >= 250).mean() > 0.99  # every digit found, inked
    assert np.array_equal(found["uji"][1], found["uji sketched"][1])
    assert not np.array_equal(found["uji"][0], found["uji sketched"][0])
