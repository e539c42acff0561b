"""From any drawing or photo to the 28x28 inputs MNIST models expect, in small named steps.

MNIST digits were size-normalised to fit a 20x20 box (aspect ratio kept), anti-aliased, and
centred in 28x28 by their centre of mass, white ink on black. A plain resize of a drawing or
photo looks nothing like that; these steps make it look like that. A page is kept as one
float image and one label image of its ink pieces from the mask to the digits; each step can
be recorded, at display size, for the app's "what the model sees".

Whole image:  to_grayscale (at working size) -> to_white_on_black -> flatten_background
              -> ink_pieces -> remove_specks -> soft_ink
Each digit:   isolate -> normalize_stroke_width -> fit_in_box -> center_by_mass
"""

import dataclasses

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu
from skimage.segmentation import relabel_sequential

from lenet.config import IMAGE_SIZE
from lenet.images.files import ImageRefused
from lenet.images.pictures import thumbnail
from lenet.images.segment import TooManyDigits, group_digits

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
CROP_SIZE = 160  # longest side of the crop kept with each digit (what a person wrote)
# Work budget: handwriting has a few pieces per digit. A picture of thousands of separate
# marks (a dot pattern, a texture) is refused before any per-piece work, in milliseconds.
MAX_PIECES = 400
MAX_DIGITS = 40
EIGHT_NEIGHBOURS = np.ones((3, 3), bool)


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    image: np.ndarray  # uint8, at display size
    note: str = ""


class Steps:
    """Records steps as `size` px thumbnails, or nothing at all when `size` is None."""

    def __init__(self, size=None):
        self.size = size
        self.recorded = []

    def add(self, name, image, note=""):
        if self.size:
            self.recorded.append(Step(name, thumbnail(image, self.size), note))


@dataclasses.dataclass(frozen=True)
class Page:
    """The whole image after the whole-image steps, at working size, within the window of it
    that holds ink (`origin` is the window's left and top)."""

    gray: np.ndarray  # float32 0-255 luminance, as the picture looks
    ink: np.ndarray  # float32 0-255 white ink on black, paper removed (only pixels near `labels` count)
    labels: np.ndarray  # int32: piece i + 1 where ink is, 0 on paper
    boxes: np.ndarray  # (n, 4) left, top, right, bottom of each piece, in the window
    origin: tuple  # (left, top) of the window in the working-size page
    size: tuple  # (height, width) of the working-size page
    scale: float  # working size / original size
    steps: tuple


@dataclasses.dataclass(frozen=True)
class Prepared:
    """One digit ready for a model."""

    input: np.ndarray  # (28, 28) float32, 0-255, white on black, MNIST-normalised
    box: tuple  # (left, top, right, bottom) in the pixels of the picture handed in
    crop: np.ndarray  # uint8 luminance of the digit as written (longest side <= CROP_SIZE)
    steps: tuple  # this digit's own steps (after the page's)


# ---------------------------------------------------------------------------- whole image


def to_grayscale(image, max_side=WORK_SIZE):
    """A float32 0-255 luminance array of any Pillow image or numpy array, reduced so its
    longest side is at most `max_side`; returns `(array, scale)`.

    Reduction happens on the decoded pixels before anything else, so a large photo costs its
    decoded size once. Transparency is composited onto the background colour the picture
    implies: black when its visible pixels are light (the app's canvas: white strokes on
    transparent), white when they are dark (black ink on a transparent PNG).
    """
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image)
    sixteen_bit = image.mode.startswith("I;16")
    image = _plain_mode(image)
    scale = min(1.0, max_side / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    if image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        top = 65535.0 if sixteen_bit or values.max() > 255 else 255.0
        return np.clip(values * (255.0 / top), 0, 255), scale
    if image.mode == "RGBA":
        gray = np.asarray(image.convert("L"), dtype=np.float32)  # ITU-R 601 luminance, in C
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < 1.0:
            visible = alpha > 0.5
            background = 0.0 if not visible.any() or gray[visible].mean() >= 128 else 255.0
            gray = gray * alpha + background * (1.0 - alpha)
        return gray, scale
    return np.asarray(image.convert("L"), dtype=np.float32), scale


def _plain_mode(image):
    """L, RGB, RGBA, I or F: the modes Pillow resamples and converts without surprises."""
    if image.mode.startswith("I;16"):
        return image.convert("I")
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "PA", "La", "RGBa"):
        return image.convert("RGBA")
    if image.mode in ("L", "RGB", "RGBA", "I", "F"):
        return image
    return image.convert("L" if image.mode == "1" else "RGB")  # CMYK, YCbCr, ...


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


def to_white_on_black(gray):
    """MNIST polarity: if the paper (most pixels) is lighter than mid-grey, invert."""
    # Every other row and column tell the paper's level as well as all pixels, four times faster.
    return 255.0 - gray if np.median(gray[::2, ::2]) > 127 else gray


def flatten_background(ink):
    """Subtract the paper's level so shadows and uneven light become black.

    The level is a grey-level opening of a 48 px copy with an 11 px window (strokes up to a
    fifth of the image wide vanish from it, slow changes of the paper remain), never brighter
    than the brightest paper, the pixels under Otsu's threshold of the whole image: without
    that cap the wide parts of a bold digit that fills its frame were taken for paper and cut
    out as holes. Tiny images (scans of a few dozen pixels) have too few pixels to model the
    paper: the mean of those under the threshold is its level. On a clean drawing nothing changes.
    """
    height, width = ink.shape
    small_side, window = 48, 11
    scale = small_side / max(height, width)
    if scale >= 1.0:
        return np.clip(ink - np.float32(_paper(ink).mean()), 0, None)
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(_u8(ink)).resize(small_size, Image.Resampling.BOX))
    opened = ndi.grey_opening(small, size=(window, window), mode="nearest")
    if not opened.any():
        return ink  # black paper (a drawing): nothing to subtract
    # Every other pixel tells the paper's levels as well as all of them, four times faster.
    opened = np.minimum(opened, np.percentile(_paper(ink[::2, ::2]), 99)).astype(np.uint8)
    smooth = (
        Image.fromarray(opened).filter(ImageFilter.GaussianBlur(2)).resize((width, height), Image.Resampling.BILINEAR)
    )
    return np.clip(ink - np.asarray(smooth, dtype=np.float32), 0, None)


def _paper(ink):
    """The pixels darker than Otsu's threshold: the paper (after `to_white_on_black`)."""
    values = _u8(ink)
    if values.min() == values.max():
        return values.ravel()
    return values[values <= threshold_otsu(values)]


def ink_pieces(flat, paper_outside=0):
    """A label image of the ink: hysteresis around Otsu's threshold, 8-connected pieces.

    Pixels above the threshold are ink; fainter ones (above half of it) are ink too when
    they touch those, which keeps light strokes such as a thin bar of a 7 while paper
    texture, never touching real ink, stays out. No ink when nothing contrasts with the paper.
    `paper_outside` counts black (0) pixels of the page around `flat`, a window of it: they
    weigh in Otsu's threshold and the contrast as if they were here.
    """
    none = np.zeros(flat.shape, np.int32)
    if flat.size == 0 or flat.max() < MIN_CONTRAST:
        return none
    values = _u8(flat)
    histogram = np.bincount(values.ravel(), minlength=256)
    histogram[0] += paper_outside
    threshold = max(threshold_otsu(hist=(histogram, np.arange(256))), MIN_CONTRAST / 2)
    strong = values > threshold
    ink_sum, ink_count = flat[strong].sum(), strong.sum()
    paper_mean = (flat.sum() - ink_sum) / max(histogram.sum() - ink_count, 1)
    if ink_count and ink_sum / ink_count - paper_mean < MIN_CONTRAST:
        return none  # only paper texture: no digit
    labels, count = ndi.label(values > threshold / 2, structure=EIGHT_NEIGHBOURS)
    touches_strong = np.zeros(count + 1, bool)
    touches_strong[labels[strong]] = True
    touches_strong[0] = False
    return labels if touches_strong[1:].all() else renumber(labels, touches_strong)


def remove_specks(labels):
    """Drop pieces far smaller than the largest (dust, paper texture); returns (labels, boxes)."""
    if not labels.any():
        return labels, np.zeros((0, 4), np.int64)
    areas = np.bincount(labels.ravel())[1:]
    sides = _boxes(labels)
    longest = np.maximum(sides[:, 2] - sides[:, 0], sides[:, 3] - sides[:, 1])
    keep = (areas >= max(4, 0.02 * areas.max())) | (longest >= 0.25 * longest.max())
    if keep.all():
        return labels, sides
    labels = renumber(labels, np.concatenate([[False], keep]))
    return labels, sides[keep]


def soft_ink(flat, mask):
    """Ink with its anti-aliased edges at full strength: scaled so strokes reach white.

    Only pixels next to the ink `mask` are kept when a digit is cut out (`prepare_digit`), so
    the page keeps the scaled image and its labels rather than masking all of it here.
    """
    if not mask.any():
        return np.zeros_like(flat)
    level = np.percentile(flat[mask], 75)
    return np.clip(flat * (255.0 / max(level, 1.0)), 0, 255)


def near(mask):
    """The mask grown by one pixel in all eight directions (what anti-aliasing touches)."""
    return ndi.binary_dilation(mask, EIGHT_NEIGHBOURS)


def clean_page(image, steps=None):
    """Run the whole-image steps on a Pillow image or array; `steps` (a `Steps`) records them.

    Pieces are found within the window of the page that is not pure black (all of a photo,
    the drawn part of a canvas), so an empty canvas border costs nothing.
    """
    steps = steps or Steps()
    gray, scale = to_grayscale(image)
    steps.add("grayscale", gray, f"{round(gray.shape[1] / scale)}x{round(gray.shape[0] / scale)}")
    ink = to_white_on_black(gray)
    steps.add("white on black", ink, "inverted" if ink is not gray else "already white on black")
    flat = flatten_background(ink)
    window = _lit_window(flat)
    labels, boxes = remove_specks(ink_pieces(flat[window], paper_outside=flat.size - flat[window].size))
    if len(boxes) > MAX_PIECES:
        raise ImageRefused(
            f"The picture has {len(boxes):,} separate marks, more than handwriting has; up to {MAX_PIECES} are read."
        )
    ink = soft_ink(flat[window], labels > 0)
    if steps.size:
        shown = np.zeros_like(flat)
        shown[window] = ink * near(labels > 0)
        steps.add("background removed", shown, f"{len(boxes)} ink pieces")
    return Page(
        gray=gray[window],
        ink=ink,
        labels=labels,
        boxes=boxes,
        origin=(window[1].start, window[0].start),
        size=flat.shape,
        scale=scale,
        steps=tuple(steps.recorded),
    )


def _lit_window(flat):
    """Slices of the smallest window holding every pixel above 0 (an empty window if none)."""
    rows, cols = np.flatnonzero(flat.any(axis=1)), np.flatnonzero(flat.any(axis=0))
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def renumber(labels, keep):
    """`labels` with only the labels where `keep` (indexed by label) is true, numbered 1, 2, ..."""
    return relabel_sequential(np.where(keep[labels], labels, 0))[0]


def _boxes(labels):
    """(n, 4) boxes (left, top, right, bottom; right and bottom exclusive) of labels 1..n."""
    return np.array([(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in ndi.find_objects(labels)], np.int64)


# ---------------------------------------------------------------------------- one digit


def stroke_width(mask):
    """Mean stroke width in pixels: twice the area over the boundary length."""
    area = mask.sum()
    if area == 0:
        return 0.0
    # Pixels on the array's edge are boundary too (erosion sees paper beyond it).
    boundary = mask & ~ndi.binary_erosion(mask, border_value=0)
    return float(2 * area / max(boundary.sum(), 1))


def normalize_stroke_width(digit):
    """Bring stroke width into MNIST's range, at `STROKE_SIZE` px so small filters suffice.

    Returns the digit scaled so its longest side is `STROKE_SIZE`, thinned (grey erosion) or
    thickened (grey dilation) when its strokes are far thinner or fatter than MNIST's, and
    the width it had.
    """
    height, width = digit.shape
    scale = STROKE_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = np.asarray(
        Image.fromarray(np.asarray(digit, np.float32), "F").resize(
            size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
        )
    )
    current = stroke_width(image > 127) / STROKE_SIZE
    if STROKE_LOW <= current <= STROKE_HIGH or current == 0:
        return np.clip(image, 0, 255), current
    target = STROKE_THICKEN_TO if current < STROKE_LOW else STROKE_THIN_TO
    # A k x k min/max filter changes the width by k - 1 pixels.
    change = min(round(abs(current - target) * STROKE_SIZE), STROKE_SIZE // 5)
    kernel = 2 * max(1, change // 2) + 1
    padded = np.pad(image, kernel)
    morphology = ndi.grey_erosion if current > target else ndi.grey_dilation
    return np.clip(morphology(padded, size=(kernel, kernel)), 0, 255), current


def fit_in_box(digit, box_size=BOX_SIZE):
    """Scale so the longest side is `box_size` (aspect kept, anti-aliased) on a 28x28 black field."""
    found = ndi.find_objects((digit > 8).astype(np.int8))
    if found:
        digit = digit[found[0]]
    height, width = digit.shape
    scale = box_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.clip(
        np.asarray(
            Image.fromarray(np.asarray(digit, np.float32), "F").resize(size, Image.Resampling.LANCZOS), dtype=np.float32
        ),
        0,
        255,
    )
    if small.max() > 0:
        small *= 255.0 / small.max()  # MNIST strokes reach full white
    field = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    top, left = (IMAGE_SIZE - size[1]) // 2, (IMAGE_SIZE - size[0]) // 2
    field[top : top + size[1], left : left + size[0]] = small
    return field


def center_by_mass(field):
    """Shift by whole pixels so the centre of mass lands where MNIST's does."""
    if field.sum() == 0:
        return field
    row, col = ndi.center_of_mass(field)
    return ndi.shift(field, (round(CENTER - row), round(CENTER - col)), order=0, mode="constant")


def prepare_digit(page, pieces, steps=None):
    """Run the per-digit steps on the pieces (label indices from 0) of one digit of a page."""
    steps = steps or Steps()
    left, top, right, bottom = _union_box(page.boxes[pieces])
    window = (slice(top, bottom), slice(left, right))
    own = np.zeros(len(page.boxes) + 1, bool)
    own[np.asarray(pieces) + 1] = True
    # Only this digit's pieces: ink of a neighbour that reaches into the box is left out.
    piece = page.ink[window] * near(own[page.labels[window]])
    steps.add("cropped", piece, f"{right - left}x{bottom - top} px")
    normalized, width = normalize_stroke_width(piece)
    steps.add("stroke width", normalized, f"width {width:.2f} of size")
    field = fit_in_box(normalized)
    steps.add("20x20 box", field, "scaled, aspect kept")
    centered = center_by_mass(field)
    steps.add("model input", centered, "28x28, centred by mass")
    x, y = page.origin
    box = tuple(int(round(v / page.scale)) for v in (left + x, top + y, right + x, bottom + y))
    return Prepared(input=centered, box=box, crop=_crop(page.gray[window]), steps=tuple(steps.recorded))


def is_digit_sized(page, pieces):
    left, top, right, bottom = _union_box(page.boxes[pieces])
    return max(right - left, bottom - top) >= max(MIN_DIGIT_PIXELS, MIN_DIGIT_FRACTION * max(page.size))


def prepare_digits(image, steps_size=None, one_digit=False):
    """The page and every digit in `image`, left to right, each ready for a model.

    `steps_size`: record every step as a thumbnail of that many pixels (None: record none).
    `one_digit`: all ink is one digit (a picture known to hold one, as in a collection).
    Raises `ImageRefused` when the picture holds far more marks or digits than handwriting.
    """
    page = clean_page(image, Steps(steps_size))
    if one_digit:
        groups = [np.arange(len(page.boxes))] if len(page.boxes) else []
    else:
        try:
            groups = group_digits(page.boxes, MAX_DIGITS)
        except TooManyDigits as error:
            raise ImageRefused(
                f"The picture holds {error.found} digit-sized marks; up to {error.limit} digits are read."
            ) from None
    return page, [prepare_digit(page, group, Steps(steps_size)) for group in groups if is_digit_sized(page, group)]


def _union_box(boxes):
    return int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()), int(boxes[:, 3].max())


def _crop(gray):
    factor = -(-max(gray.shape) // CROP_SIZE)
    return np.asarray(Image.fromarray(_u8(gray)).reduce(factor)) if factor > 1 else _u8(gray)


def _u8(array):
    return np.clip(array, 0, 255).astype(np.uint8)
