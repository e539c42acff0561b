"""Grouping ink pieces (their boxes) into digits, left to right."""

import numpy as np
import pytest

from lenet.images.segment import TooManyDigits, group_digits


def boxes_of(digits, boxes):
    return [sorted(tuple(boxes[i]) for i in digit) for digit in digits]


def test_the_bar_of_a_five_joins_its_body():
    body, bar = (10, 30, 40, 100), (22, 10, 55, 16)  # the bar detached, to the upper right
    digits = group_digits([body, bar])
    assert len(digits) == 1 and sorted(digits[0]) == [0, 1]


def test_the_halves_of_a_broken_seven_join():
    assert len(group_digits([(10, 10, 60, 50), (25, 55, 35, 100)])) == 1


def test_separate_digits_stay_separate_and_ordered():
    boxes = [(300, 10, 340, 100), (10, 10, 50, 100), (150, 10, 190, 100)]
    assert [list(d) for d in group_digits(boxes)] == [[1], [2], [0]]


def test_a_far_away_fragment_is_not_glued_to_a_digit():
    assert len(group_digits([(10, 10, 50, 100), (200, 40, 215, 50)])) == 2


def test_a_near_fragment_joins_the_nearest_full_digit():
    boxes = [(10, 10, 50, 100), (150, 10, 190, 100), (55, 40, 62, 50)]  # a dot just right of the first
    digits = group_digits(boxes)
    assert boxes_of(digits, boxes) == [[(10, 10, 50, 100), (55, 40, 62, 50)], [(150, 10, 190, 100)]]


def test_overlap_is_transitive_through_a_chain_of_pieces():
    boxes = [(0, 0, 10, 50), (4, 0, 14, 50), (8, 0, 18, 50), (40, 0, 50, 50)]  # 0 and 2 overlap too little
    assert [sorted(d) for d in group_digits(boxes)] == [[0, 1, 2], [3]]


def test_too_many_digits_are_refused_with_the_count():
    boxes = [(20 * i, 0, 20 * i + 10, 30) for i in range(60)]
    with pytest.raises(TooManyDigits, match="60 digits found; up to 40"):
        group_digits(boxes, max_digits=40)


def test_ten_thousand_pieces_are_grouped_each_into_exactly_one_digit():
    # (How long it takes is scripts/benchmark.py's business: a sweep, near-linear.)
    rng = np.random.default_rng(0)
    left, top = rng.integers(0, 100_000, 10_000), rng.integers(0, 100, 10_000)
    boxes = np.stack([left, top, left + 8, top + 30], axis=1)
    digits = group_digits(boxes)
    assert sorted(np.concatenate(digits)) == list(range(10_000))
    centers = [(boxes[d][:, 0].min() + boxes[d][:, 2].max()) / 2 for d in digits]
    assert centers == sorted(centers)
