"""Pictures that explain an answer: feature-map grids and occlusion saliency.

All numpy and Pillow, so the app only has to show the arrays returned here.
"""

import math

import numpy as np
from PIL import Image
from skimage.util import montage

OCCLUSION_PATCH = 6
OCCLUSION_STRIDE = 2


def feature_grid(maps, columns=None, gap=1, cell=None):
    """Tile the channels of one `(H, W, C)` feature map into a uint8 grid image.

    Each channel is scaled to 0-255 by the layer's largest activation, so strong and weak
    channels of a layer stay comparable. `cell` upsamples each tile (nearest) to that size.
    """
    maps = np.asarray(maps, np.float32)
    height, width, channels = maps.shape
    columns = columns or math.ceil(math.sqrt(channels * width / height))
    top = maps.max()
    scaled = np.clip(maps / top, 0, 1) * 255 if top > 0 else np.zeros_like(maps)
    if cell and cell != height:
        factor = max(1, round(cell / height))
        scaled = scaled.repeat(factor, axis=0).repeat(factor, axis=1)
    grid = montage(
        np.moveaxis(scaled, -1, 0), fill=60, grid_shape=(math.ceil(channels / columns), columns), padding_width=gap
    )
    inner = grid[gap:-gap, gap:-gap] if gap else grid  # montage frames the grid too; only the gaps between tiles
    return np.round(inner).astype(np.uint8)


def occlusion_saliency(predictor, image, digit, patch=OCCLUSION_PATCH, stride=OCCLUSION_STRIDE, base=None):
    """How much covering each region with black lowers the probability of `digit`.

    Slides a `patch` x `patch` black square over the 28x28 input in steps of `stride`, runs
    all occluded copies in one batch, and spreads each drop in probability over the pixels
    the patch covered. Returns a `(28, 28)` float array in [0, 1] (1: the most decisive).
    `base`, the probability of `digit` for the uncovered image, saves a forward pass when known.
    Backend-agnostic: it needs only forward passes, so it works for every architecture.
    """
    image = np.asarray(image, np.float32)
    size = image.shape[0]
    corners = [(y, x) for y in range(0, size - patch + 1, stride) for x in range(0, size - patch + 1, stride)]
    batch = np.repeat(image[None], len(corners), axis=0)
    for i, (y, x) in enumerate(corners):
        batch[i, y : y + patch, x : x + patch] = 0
    if base is None:
        base = predictor.predict(image[None])[0, digit]
    drops = np.clip(base - predictor.predict(batch)[:, digit], 0, None)
    heat = np.zeros((size, size), np.float32)
    counts = np.zeros((size, size), np.float32)
    for drop, (y, x) in zip(drops, corners):
        heat[y : y + patch, x : x + patch] += drop
        counts[y : y + patch, x : x + patch] += 1
    heat /= np.maximum(counts, 1)
    return heat / heat.max() if heat.max() > 0 else heat


def heat_colors(heat):
    """A black-red-yellow-white colour map of values in [0, 1], as uint8 RGB."""
    heat = np.clip(np.asarray(heat, np.float32), 0, 1)
    red = np.clip(heat * 3, 0, 1)
    green = np.clip(heat * 3 - 1, 0, 1)
    blue = np.clip(heat * 3 - 2, 0, 1)
    return (np.stack([red, green, blue], axis=-1) * 255).astype(np.uint8)


def saliency_overlay(image, heat, scale=8):
    """The input in grey with the saliency in colour on top, enlarged `scale` times."""
    gray = np.clip(np.asarray(image, np.float32), 0, 255)[..., None].repeat(3, axis=-1) * 0.45
    colored = heat_colors(heat).astype(np.float32)
    alpha = np.clip(heat, 0, 1)[..., None] * 0.85
    blended = (gray * (1 - alpha) + colored * alpha).astype(np.uint8)
    return np.asarray(
        Image.fromarray(blended).resize((image.shape[1] * scale, image.shape[0] * scale), Image.Resampling.NEAREST)
    )
