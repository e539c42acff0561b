"""Pictures for people: thumbnails of steps, feature-map grids, label renumbering."""

import numpy as np

from lenet.images import preprocess
from lenet.images.pictures import thumbnail
from lenet.nets.explain import feature_grid


def test_a_thumbnail_is_square_padded_black_and_centred():
    wide = np.full((10, 40), 200, np.uint8)
    small = thumbnail(wide, 80)
    assert small.shape == (80, 80) and small.dtype == np.uint8
    rows = np.flatnonzero(small.max(axis=1))
    assert small[0].max() == 0 and small[-1].max() == 0 and len(rows) == 20  # 10 of 40 wide: a quarter of the height
    assert abs((rows[0] + rows[-1]) / 2 - 39.5) <= 1


def test_a_small_image_is_enlarged_with_visible_pixels_and_a_large_one_reduced_smoothly():
    checker = (np.indices((4, 4)).sum(axis=0) % 2 * 255).astype(np.uint8)
    big = thumbnail(checker, 40)
    assert set(np.unique(big)) == {0, 255}  # nearest: no grey between the squares
    assert (big[:10, :10] == checker[0, 0]).all() and (big[:10, 10:20] == checker[0, 1]).all()
    fine = (np.indices((400, 400)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert np.abs(thumbnail(fine, 40).astype(int) - 127).max() <= 2  # averaged to grey
    assert thumbnail(np.ones((5, 5, 3), np.float32) * 300, 10).shape == (10, 10, 3)  # floats clipped, colour kept


def test_a_feature_grid_tiles_every_channel_scaled_by_the_layers_strongest():
    maps = np.zeros((4, 6, 5), np.float32)
    for channel in range(5):
        maps[..., channel] = channel + 1
    grid = feature_grid(maps, columns=3, gap=1)
    assert grid.shape == (2 * 4 + 1, 3 * 6 + 2) and grid.dtype == np.uint8
    assert grid[0, 0] == round(255 / 5) and grid[0, 2 * 7] == round(3 * 255 / 5)
    assert grid[5, 7] == round(5 * 255 / 5)  # second row, second tile: channel 4
    assert grid[4, 0] == 60 and grid[0, 6] == 60  # the gaps
    assert (grid[5:, 14:] == 60).all()  # no sixth channel: the cell stays empty
    assert feature_grid(maps, columns=3, cell=8).shape == (2 * 8 + 1, 3 * 12 + 2)


def test_keeping_some_pieces_renumbers_them_in_order():
    labels = np.array([[0, 1, 1, 0, 2], [3, 0, 0, 4, 4]], np.int32)
    kept = preprocess.renumber(labels, np.array([False, True, False, True, True]))
    assert kept.tolist() == [[0, 1, 1, 0, 0], [2, 0, 0, 3, 3]]
