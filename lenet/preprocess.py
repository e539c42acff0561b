"""From any drawing or photo to the 28x28 input MNIST models expect, in small named steps.

MNIST digits were size-normalised to fit a 20x20 box (aspect ratio kept), anti-aliased, and
centred in 28x28 by their centre of mass, white ink on black. A plain resize of a drawing or
photo looks nothing like that; these steps make it look like that, and every intermediate
image is kept so the app can show "what the model sees".

Whole image:  to_grayscale -> to_white_on_black -> flatten_background -> ink_mask / remove_specks
Each digit:   crop_to_box -> normalize_stroke_width -> fit_in_box -> center_by_mass
"""

import dataclasses

import numpy as np
from PIL import Image, ImageFilter

from lenet.config import IMAGE_SIZE
from lenet.segment import Component, find_components, group_digits

BOX_SIZE = 20  # MNIST digits fit a 20x20 box
CENTER = 14.0  # where MNIST puts the centre of mass (row and column index, measured on the training set)
WORK_SIZE = 1024  # longest side for whole-image steps; far more detail than a 20 px digit needs
STROKE_SIZE = 80  # longest side at which stroke width is normalised (small filters suffice there)
# Stroke width as a fraction of the digit's longest side, measured at STROKE_SIZE on the MNIST
# test set: median 0.125, 1st-99th percentile 0.072-0.235. Only widths outside that band are
# changed, so digits that already look like MNIST pass untouched.
STROKE_LOW, STROKE_HIGH = 0.07, 0.24
# Widths outside the band are brought just inside MNIST's usual range, not to its median:
# the smallest change that makes them look like MNIST.
STROKE_THICKEN_TO, STROKE_THIN_TO = 0.11, 0.20
MIN_CONTRAST = 40  # ink must stand this many grey levels above the paper
MIN_DIGIT_FRACTION = 0.03  # a digit's longest side is at least this fraction of the image's
MIN_DIGIT_PIXELS = 6


@dataclasses.dataclass
class Step:
    name: str
    image: np.ndarray  # uint8, 2-D, white ink on black from "ink" on
    note: str = ""


@dataclasses.dataclass
class Page:
    """The whole image after the whole-image steps."""

    ink: np.ndarray  # float32 0-255, white ink on black, background removed, at working size
    mask: np.ndarray  # bool, ink pixels with specks removed
    components: list  # `segment.Component`s of `mask`
    scale: float  # working size / original size
    steps: list


@dataclasses.dataclass
class Prepared:
    """One digit ready for a model."""

    input: np.ndarray  # (28, 28) float32, 0-255, white on black, MNIST-normalised
    box: tuple  # (left, top, right, bottom) in original image pixels
    steps: list  # the page's steps, then this digit's


# ---------------------------------------------------------------------------- whole image


def to_grayscale(image):
    """A float32 0-255 luminance array from any Pillow image or numpy array.

    Transparency is composited onto the background colour the picture implies: black when
    its visible pixels are light (the app's canvas: white strokes on transparent), white when
    they are dark (black ink on a transparent PNG). A transparent background is never ink.
    """
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return np.clip(values * (255.0 / top), 0, 255)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        gray = np.asarray(image.convert("L"), dtype=np.float32)  # ITU-R 601 luminance, in C
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < 1.0:
            visible = alpha > 0.5
            background = 0.0 if not visible.any() or gray[visible].mean() >= 128 else 255.0
            gray = gray * alpha + background * (1.0 - alpha)
        return gray
    if image.mode != "L":
        image = image.convert("RGB").convert("L")  # CMYK, YCbCr, 1, RGB...
    return np.asarray(image, dtype=np.float32)


def _array_to_pil(array):
    array = np.asarray(array)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    modes = {2: "L", 3: "RGB", 4: "RGBA"}
    mode = "L" if array.ndim == 2 else modes.get(array.shape[2])
    if mode is None:
        raise ValueError(f"Cannot read an image array of shape {array.shape}.")
    return Image.fromarray(array, mode)


def to_working_size(gray):
    """Shrink very large images so the longest side is `WORK_SIZE`; returns (array, scale)."""
    height, width = gray.shape
    scale = min(1.0, WORK_SIZE / max(height, width))
    if scale == 1.0:
        return gray, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(gray, "F").resize(size, Image.Resampling.BOX), dtype=np.float32), scale


def to_white_on_black(gray):
    """MNIST polarity: if the paper (most pixels) is lighter than mid-grey, invert."""
    return 255.0 - gray if np.median(gray) > 127 else gray


def flatten_background(ink):
    """Subtract a smooth estimate of the paper so shadows and uneven light become black.

    The estimate is a grey-level opening of a 48 px copy with an 11 px window: strokes up to
    a fifth of the image wide vanish from it, slow changes of the paper remain. On a clean
    drawing the estimate is black and nothing changes.
    """
    height, width = ink.shape
    small_side, window = 48, 11
    scale = small_side / max(height, width)
    if scale >= 1.0:
        # Tiny images: not enough pixels to model the paper; take its darkest level.
        return np.clip(ink - np.percentile(ink, 5), 0, None)
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(_u8(ink)).resize(small_size, Image.Resampling.BOX))
    opened = _grey_filter(_grey_filter(small, window, np.min), window, np.max)
    if not opened.any():
        return ink  # black paper (a drawing): nothing to subtract
    smooth = Image.fromarray(opened).filter(ImageFilter.GaussianBlur(2)).resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(ink - np.asarray(smooth, dtype=np.float32), 0, None)


def _grey_filter(image, window, reduce):
    """Minimum or maximum over a `window` x `window` square around each pixel (edges repeated)."""
    half = window // 2
    padded = np.pad(image, half, mode="edge")
    rows = reduce(np.lib.stride_tricks.sliding_window_view(padded, window, axis=0), axis=-1)
    return reduce(np.lib.stride_tricks.sliding_window_view(rows, window, axis=1), axis=-1)


def otsu_threshold(values):
    """The grey level that best splits `values` into two classes (Otsu 1979)."""
    histogram = np.bincount(np.clip(values, 0, 255).astype(np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256) + 0.5
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(histogram * levels)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(levels[np.argmax(between)])


def ink_mask(flat):
    """Ink pixels, by hysteresis around Otsu's threshold.

    Pixels above the threshold are ink; fainter ones (above half of it) are ink too when
    they touch those, which keeps light strokes such as a thin bar of a 7 while paper
    texture, never touching real ink, stays out. No ink when nothing contrasts with the paper.
    """
    return _ink_pieces(flat)[0]


def _ink_pieces(flat):
    """`ink_mask` and its connected components, labelled once."""
    empty = np.zeros(flat.shape, bool), []
    if flat.max() < MIN_CONTRAST:
        return empty
    threshold = max(otsu_threshold(flat), MIN_CONTRAST / 2)
    strong = flat > threshold
    if strong.any() and flat[strong].mean() - flat[~strong].mean() < MIN_CONTRAST:
        return empty  # only paper texture: no digit
    strong_before = np.zeros((flat.shape[0], flat.shape[1] + 1), np.int64)
    np.cumsum(strong, axis=1, out=strong_before[:, 1:])
    kept = []
    for component in find_components(flat > threshold / 2):
        rows, starts, ends = component.runs.T
        if (strong_before[rows, ends] - strong_before[rows, starts]).any():
            kept.append(component)
    return _paint(flat.shape, kept), kept


def remove_specks(mask, components=None):
    """Drop components far smaller than the largest (dust, paper texture); return (mask, components)."""
    components = find_components(mask) if components is None else components
    if not components:
        return mask, []
    largest = max(c.area for c in components)
    longest = max(c.longest_side for c in components)
    kept = [c for c in components if c.area >= max(4, 0.02 * largest) or c.longest_side >= 0.25 * longest]
    if len(kept) == len(components):
        return mask, components
    return _paint(mask.shape, kept), kept


def _paint(shape, components):
    mask = np.zeros(shape, bool)
    for component in components:
        component.paint(mask)
    return mask


def soft_ink(flat, mask):
    """Ink with its anti-aliased edges, strokes at full strength, everything off the ink black."""
    if not mask.any():
        return np.zeros_like(flat)
    level = np.percentile(flat[mask], 75)
    return np.clip(flat * (255.0 / max(level, 1.0)), 0, 255) * dilate(mask)


def dilate(mask):
    """The mask grown by one pixel in all eight directions."""
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    wide = grown.copy()
    wide[:, 1:] |= grown[:, :-1]
    wide[:, :-1] |= grown[:, 1:]
    return wide


def clean_page(image):
    """Run the whole-image steps; the result holds the ink, its mask, components and steps."""
    gray = to_grayscale(image)
    steps = [Step("grayscale", _u8(gray), f"{gray.shape[1]}x{gray.shape[0]}")]
    gray, scale = to_working_size(gray)
    ink = to_white_on_black(gray)
    steps.append(Step("white on black", _u8(ink), "inverted" if ink is not gray else "already white on black"))
    flat = flatten_background(ink)
    mask, components = remove_specks(*_ink_pieces(flat))
    cleaned = soft_ink(flat, mask)
    steps.append(Step("background removed", _u8(cleaned), f"{len(components)} ink pieces"))
    return Page(ink=cleaned, mask=mask, components=components, scale=scale, steps=steps)


# ---------------------------------------------------------------------------- one digit


def crop_to_box(ink, box):
    left, top, right, bottom = box
    return ink[top:bottom, left:right]


def stroke_width(mask):
    """Mean stroke width in pixels: twice the area over the boundary length."""
    area = mask.sum()
    if area == 0:
        return 0.0
    mask = np.pad(mask, 1)  # pixels on the array's edge are boundary too
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    boundary = (mask & ~inner).sum()
    return float(2 * area / max(boundary, 1))


def normalize_stroke_width(digit):
    """Bring stroke width into MNIST's range, at `STROKE_SIZE` px so small filters suffice.

    Returns the digit scaled so its longest side is `STROKE_SIZE`, thinned (grey erosion) or
    thickened (grey dilation) when its strokes are far thinner or fatter than MNIST's.
    """
    height, width = digit.shape
    scale = STROKE_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(digit, "F").resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR)
    current = stroke_width(np.asarray(image) > 127) / STROKE_SIZE
    if STROKE_LOW <= current <= STROKE_HIGH or current == 0:
        return np.clip(np.asarray(image, dtype=np.float32), 0, 255), current
    target = STROKE_THICKEN_TO if current < STROKE_LOW else STROKE_THIN_TO
    # A k x k min/max filter changes the width by k - 1 pixels.
    change = min(round(abs(current - target) * STROKE_SIZE), STROKE_SIZE // 5)
    kernel = 2 * max(1, change // 2) + 1
    padded = Image.fromarray(np.pad(np.asarray(image), kernel), "F")
    adjusted = padded.filter(ImageFilter.MinFilter(kernel) if current > target else ImageFilter.MaxFilter(kernel))
    return np.clip(np.asarray(adjusted, dtype=np.float32), 0, 255), current


def fit_in_box(digit, box_size=BOX_SIZE):
    """Scale so the longest side is `box_size` (aspect kept, anti-aliased) on a 28x28 black field."""
    rows, cols = np.nonzero(digit > 8)
    if len(rows):
        digit = digit[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = digit.shape
    scale = box_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(digit, "F").resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    small = np.clip(small, 0, 255)
    if small.max() > 0:
        small *= 255.0 / small.max()  # MNIST strokes reach full white
    field = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    top, left = (IMAGE_SIZE - size[1]) // 2, (IMAGE_SIZE - size[0]) // 2
    field[top : top + size[1], left : left + size[0]] = small
    return field


def center_by_mass(field):
    """Shift by whole pixels so the centre of mass lands where MNIST's does."""
    total = field.sum()
    if total == 0:
        return field
    rows, cols = np.indices(field.shape)
    dy = int(round(CENTER - (rows * field).sum() / total))
    dx = int(round(CENTER - (cols * field).sum() / total))
    shifted = np.zeros_like(field)
    src = field[max(0, -dy) : IMAGE_SIZE - max(0, dy), max(0, -dx) : IMAGE_SIZE - max(0, dx)]
    shifted[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return shifted


def prepare_component(page, component):
    """Run the per-digit steps on one digit (a `Component` or merged group) of a cleaned page."""
    piece = _isolate(page, component)
    steps = list(page.steps)
    steps.append(Step("cropped", _u8(piece), f"{piece.shape[1]}x{piece.shape[0]} px"))
    normalized, width = normalize_stroke_width(piece)
    steps.append(Step("stroke width", _u8(normalized), f"width {width:.2f} of size"))
    field = fit_in_box(normalized)
    steps.append(Step("20x20 box", _u8(field), "scaled, aspect kept"))
    centered = center_by_mass(field)
    steps.append(Step("model input", _u8(centered), "28x28, centred by mass"))
    left, top, right, bottom = component.box
    box = tuple(int(round(v / page.scale)) for v in (left, top, right, bottom))
    return Prepared(input=centered, box=box, steps=steps)


def _isolate(page, component):
    """The digit's ink inside its box, without pieces of neighbouring digits that reach in."""
    left, top, right, bottom = component.box
    own = np.zeros((bottom - top, right - left), bool)
    component.paint(own, offset=(top, left))
    return crop_to_box(page.ink, component.box) * dilate(own)


def is_digit_sized(page, component):
    height, width = page.ink.shape
    return component.longest_side >= max(MIN_DIGIT_PIXELS, MIN_DIGIT_FRACTION * max(height, width))


def prepare_digits(image):
    """Every digit in `image`, left to right, each ready for a model (empty when there is none)."""
    page = clean_page(image)
    groups = [g for g in group_digits(page.components) if is_digit_sized(page, g)]
    return [prepare_component(page, group) for group in groups]


def prepare(image):
    """The single-digit case: all ink in `image` as one digit, or None when there is no digit."""
    page = clean_page(image)
    if not page.components:
        return None
    whole = Component.union(page.components)
    if not is_digit_sized(page, whole):
        return None
    return prepare_component(page, whole)


def _u8(array):
    return np.clip(array, 0, 255).astype(np.uint8)
