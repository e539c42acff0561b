"""Connected components and grouping pieces into digits."""

import numpy as np

from lenet.segment import Component, find_components, find_runs, group_digits


def test_runs_cover_exactly_the_ink():
    mask = np.zeros((5, 8), bool)
    mask[1, 2:5] = mask[3, 0] = mask[3, 7] = True
    assert find_runs(mask).tolist() == [[1, 2, 5], [3, 0, 1], [3, 7, 8]]


def test_diagonal_neighbours_are_connected():
    mask = np.eye(6, dtype=bool)
    assert len(find_components(mask)) == 1


def test_separate_blobs_are_separate_components_largest_first():
    mask = np.zeros((20, 40), bool)
    mask[2:18, 2:6] = True
    mask[5:10, 20:35] = True
    mask[15:17, 30:32] = True
    components = find_components(mask)
    assert [c.area for c in components] == [75, 64, 4]
    assert components[0].box == (20, 5, 35, 10)


def test_u_shape_joins_through_its_bottom():
    mask = np.zeros((10, 10), bool)
    mask[0:9, 1] = mask[0:9, 8] = mask[8, 1:9] = True
    assert len(find_components(mask)) == 1


def test_paint_restores_the_mask():
    rng = np.random.default_rng(0)
    mask = rng.random((30, 30)) > 0.6
    painted = np.zeros_like(mask)
    for component in find_components(mask):
        component.paint(painted)
    np.testing.assert_array_equal(painted, mask)


def box(left, top, right, bottom):
    mask = np.zeros((bottom, right), bool)
    mask[top:bottom, left:right] = True
    return Component(find_runs(mask))


def test_the_bar_of_a_five_joins_its_body():
    body = box(10, 30, 40, 100)
    bar = box(22, 10, 55, 16)  # detached, to the upper right
    digits = group_digits([body, bar])
    assert len(digits) == 1 and digits[0].box == (10, 10, 55, 100)


def test_the_halves_of_a_broken_seven_join():
    top = box(10, 10, 60, 50)
    bottom = box(25, 55, 35, 100)
    assert len(group_digits([top, bottom])) == 1


def test_separate_digits_stay_separate_and_ordered():
    pieces = [box(300, 10, 340, 100), box(10, 10, 50, 100), box(150, 10, 190, 100)]
    digits = group_digits(pieces)
    assert [d.box[0] for d in digits] == [10, 150, 300]


def test_a_far_away_fragment_is_not_glued_to_a_digit():
    digits = group_digits([box(10, 10, 50, 100), box(200, 40, 215, 50)])
    assert len(digits) == 2
