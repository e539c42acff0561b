"""The invariance explorer's transformations, each on its own, and a sweep read in one batch."""

import numpy as np
import pytest
from conftest import draw_digit
from scipy import ndimage as ndi

from lenet.images import transforms
from lenet.images.preprocess import stroke_width
from lenet.images.transforms import TransformRefused
from lenet.nets.invariance import explore


@pytest.fixture
def three():
    return draw_digit(3).astype(np.float32)


def ink_box(image, level=64):
    rows, cols = np.nonzero(image > level)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_shift_moves_the_centre_of_mass_by_the_amount(three):
    before = np.array(ndi.center_of_mass(three))
    after = np.array(ndi.center_of_mass(transforms.shift(three, 3, -2)))
    np.testing.assert_allclose(after - before, [-2, 3], atol=0.05)  # (rows, columns): 2 up, 3 right


def test_rotate_zero_is_the_identity_and_quarter_turns_go_counter_clockwise(three):
    np.testing.assert_allclose(transforms.rotate(three, 0), three, atol=1e-3)
    dot = np.zeros((28, 28), np.float32)
    dot[13:16, 13:16] = 255  # a centre of mass to turn about
    dot[14, 23] = 255  # ink right of it
    turned = transforms.rotate(dot, 90)
    assert turned[:, 18:].max() < 1  # nothing is left to the right
    assert turned[:8, 12:17].max() > 100  # it went to the top
    np.testing.assert_allclose(transforms.rotate(transforms.rotate(three, 30), -30).sum(), three.sum(), rtol=0.05)


def test_scale_and_squeeze_change_size_about_the_centre_of_mass(three):
    height, width = ink_box(three)
    small_height, small_width = ink_box(transforms.scale(three, 0.5))
    assert small_height == pytest.approx(height / 2, abs=2) and small_width == pytest.approx(width / 2, abs=2)
    np.testing.assert_allclose(ndi.center_of_mass(transforms.scale(three, 0.5)), ndi.center_of_mass(three), atol=0.5)
    narrow_height, narrow_width = ink_box(transforms.squeeze(three, 0.5))
    assert narrow_height == height and narrow_width == pytest.approx(width / 2, abs=2)
    np.testing.assert_allclose(transforms.scale(three, 1.0), three, atol=1e-3)


def test_thicken_adds_ink_and_a_negative_radius_takes_it_away(three):
    width = stroke_width(three > 127)
    thick, thin = transforms.thicken(three, 1.5), transforms.thicken(three, -1)
    assert thick.sum() > three.sum() > thin.sum()
    assert stroke_width(thick > 127) > width > stroke_width(thin > 127)
    np.testing.assert_array_equal(transforms.thicken(three, 0), three)
    assert transforms.disk(1).sum() == 5 and transforms.disk(1.5).sum() == 9


def test_noise_flips_exactly_the_asked_fraction(three):
    noisy = transforms.salt_and_pepper(three, 0.1, np.random.default_rng(1))
    changed = noisy != three
    assert changed.sum() == round(0.1 * 784)
    assert set(np.unique(noisy[changed])) <= {0.0, 255.0}
    assert ((three[changed] >= 128) == (noisy[changed] == 0)).all()  # ink became paper, paper ink
    np.testing.assert_array_equal(transforms.salt_and_pepper(three, 0.0, np.random.default_rng(1)), three)


def test_a_sweeps_noise_is_repeatable_and_nested(three):
    batch = transforms.sweep(three, "noise", [0.05, 0.1])
    np.testing.assert_array_equal(batch, transforms.sweep(three, "noise", [0.05, 0.1]))
    first, second = batch[0] != three, batch[1] != three
    assert (second[first]).all()  # what 5% flipped, 10% flipped too


@pytest.mark.parametrize("name", sorted(transforms.TRANSFORMS))
def test_a_sweep_is_one_batch_and_its_identity_point_is_the_digit(three, name):
    chosen = transforms.transform(name)
    batch = transforms.sweep(three, name)
    assert batch.shape == (len(chosen.amounts), 28, 28) and batch.dtype == np.float32
    assert batch.min() >= 0 and batch.max() <= 255
    assert chosen.identity in chosen.amounts
    np.testing.assert_allclose(batch[chosen.amounts.index(chosen.identity)], three, atol=1e-3)
    assert len({a for a in chosen.amounts}) == len(chosen.amounts)
    assert not all(np.allclose(b, three, atol=1) for b in batch)  # the sweep changes the digit


def test_an_empty_picture_or_an_unknown_name_is_refused_in_one_line(three):
    with pytest.raises(TransformRefused, match="no digit to transform") as refusal:
        transforms.sweep(np.zeros((28, 28), np.float32), "rotation")
    assert "\n" not in str(refusal.value)
    with pytest.raises(TransformRefused, match="rotation"):
        transforms.sweep(three, "twirl")


class Counting:
    name = "counting"

    def __init__(self):
        self.calls = []

    def predict(self, images):
        self.calls.append(len(images))
        probabilities = np.full((len(images), 10), 0.01, np.float32)
        probabilities[:, 3] = np.linspace(0.2, 0.9, len(images))  # a 3 that grows surer
        probabilities[: len(images) // 4, 5] = 0.95  # read as a 5 at the low end
        return probabilities


def test_explore_reads_the_whole_sweep_in_one_model_call(three):
    predictor = Counting()
    sweep = explore(predictor, three, "rotation")
    amounts = transforms.transform("rotation").amounts
    assert predictor.calls == [len(amounts)]
    assert sweep.answer == 3 and sweep.model == "counting"
    low, high = sweep.holds()
    assert low == amounts[len(amounts) // 4] and high == amounts[-1]
    rows = sweep.rows()
    assert len(rows) == len(amounts) and rows[0]["digit"] == "5" and rows[-1]["digit"] == "3"


@pytest.mark.mnist
def test_the_shipped_model_reads_a_test_digit_through_small_shifts_and_turns(default_predictor, mnist):
    _, (x_test, y_test) = mnist
    for index in range(5):
        image = x_test[index].astype(np.float32)
        for name, (low, high) in {"shift x": (-3, 3), "shift y": (-3, 3), "rotation": (-15, 15)}.items():
            sweep = explore(default_predictor, image, name)
            assert sweep.answer == y_test[index]
            held_low, held_high = sweep.holds()
            assert held_low <= low and held_high >= high, (index, name, sweep.answers)
