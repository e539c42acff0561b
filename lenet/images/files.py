"""Opening untrusted image files: only the formats a digit photo comes in, only safe sizes.

`open_image()` returns a decoded Pillow image or raises `ImageRefused` whose message is one
short sentence a user can act on. Nothing is decoded before the checks that keep a hostile
file from costing memory: byte size, format, pixel count and frame count.
"""

import contextlib
import io
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lenet.config import (
    CANVAS_SIZE,
    DECODE_BUDGET_BYTES,
    DECODE_WAIT_S,
    MAX_DECODED_SIDE,
    MAX_FILE_BYTES,
    MAX_FRAMES,
    MAX_IMAGE_PIXELS,
)
from lenet.errors import Refused

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff")

# A phone's canvas is drawn at its pixel density (up to 4 on today's screens): 1120x1120 at most,
# whose PNG of strokes is a few hundred KB.
MAX_CANVAS_SCALE = 4
MAX_CANVAS_BYTES = 2 * 1024 * 1024

# Pillow warns past this many pixels and refuses at twice as many; we refuse at the warning.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

# Leading bytes of common non-images, to say what a refused file is.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a zip archive"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML document (SVG?)"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
)


class ImageRefused(Refused, ValueError):
    """The file is not an image this app reads; the message says why in one sentence."""


def open_image(source, max_side=MAX_DECODED_SIDE, cancelled=None):
    """Decode `source` (bytes, a path or a binary file object) into a Pillow image whose longest
    side is at most `max_side` (`image.info["original_size"]` keeps the file's own size).

    Only PNG, JPEG, GIF, BMP, WebP and TIFF are decoded. The first frame is used; files with
    more than `MAX_FRAMES` frames are refused. EXIF orientation is applied. JPEGs are decoded
    at a reduced scale directly; other formats are decoded whole, within the process's decode
    budget (`DECODE_BUDGET`), then reduced. `cancelled()`, when given, is asked while waiting
    for the budget: a picture whose reader went away is not decoded at all.

    Raises:
        ImageRefused: empty, too large, not an image, unsupported, truncated or corrupt,
            too many pixels (a decompression bomb), too many frames, or the server too busy.
    """
    data = _read_bytes(source)
    if not data:
        raise ImageRefused("The file is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise ImageRefused(f"The file is {len(data) / 1e6:.1f} MB; images up to {MAX_FILE_BYTES // 2**20} MB are read.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            _check_size(image)
            _check_frames(image)
            image.seek(0)
            original_size = image.size
            if image.format == "JPEG":
                image.draft(image.mode, (max_side, max_side))  # scaled in the DCT: a fraction of the memory
            with DECODE_BUDGET.hold(_decoded_bytes(image), cancelled):
                image.load()
                image = _reduced(ImageOps.exif_transpose(image), max_side)
            image.info["original_size"] = original_size
            return image
    except ImageRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRefused(
            f"The image has too many pixels; up to {MAX_IMAGE_PIXELS // 1_000_000} megapixels are read."
        ) from None
    except UnidentifiedImageError:
        raise ImageRefused(_not_an_image(data)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, MemoryError) as error:
        # Pillow signals truncated and malformed data with any of these.
        detail = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise ImageRefused(f"The image is truncated or corrupt ({detail}).") from None


def image_pixels(data):
    """The pixel count an image file's header declares, reading no pixels (a zip's budget);
    `ImageRefused` for a file that is not an image of the formats read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                return image.size[0] * image.size[1]
    except UnidentifiedImageError:
        raise ImageRefused(_not_an_image(data)) from None
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError, TypeError) as error:
        raise ImageRefused(f"The image is truncated, corrupt or too large ({type(error).__name__}).") from None


def open_canvas(data, side=CANVAS_SIZE):
    """The drawing canvas's picture (the PNG bytes of its data URL) as an RGBA array of
    `side` x `side`, through the same checks as any upload: PNG only, no larger than the canvas
    at a screen's pixel density (up to `MAX_CANVAS_SCALE` times `side`) and square.
    A high-density screen's larger picture is reduced to `side`.

    Raises `ImageRefused` for anything a canvas would not send.
    """
    if not data:
        raise ImageRefused("The drawing is empty (0 bytes).")
    if len(data) > MAX_CANVAS_BYTES:
        raise ImageRefused(f"The drawing is {len(data) / 1e6:.1f} MB; a canvas sends at most a few hundred KB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("PNG",))
            width, height = image.size
            if width != height or not side <= width <= MAX_CANVAS_SCALE * side:
                raise ImageRefused(
                    f"The drawing is {width}x{height} pixels; the canvas is {side}x{side} "
                    f"(up to {MAX_CANVAS_SCALE}x that on a high-density screen)."
                )
            image = image.convert("RGBA")
    except ImageRefused:
        raise
    except UnidentifiedImageError:
        raise ImageRefused("The drawing is not a PNG picture, as the canvas sends.") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise ImageRefused(f"The drawing is truncated or corrupt ({type(error).__name__}).") from None
    if width != side:
        image = image.resize((side, side), Image.Resampling.BOX)
    return np.asarray(image)


class DecodeBudget:
    """Bytes of decoded pictures the process may hold at once; a decode waits for its share."""

    def __init__(self, total):
        self.total, self.used = total, 0
        self.changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, size, cancelled=None):
        size = min(size, self.total)  # a picture larger than the budget goes alone
        deadline = time.monotonic() + DECODE_WAIT_S
        with self.changed:
            while self.used + size > self.total:
                if (cancelled and cancelled()) or time.monotonic() > deadline:
                    raise ImageRefused("The server is busy reading other large pictures; try again in a moment.")
                self.changed.wait(0.25)
            self.used += size
        try:
            yield
        finally:
            with self.changed:
                self.used -= size
                self.changed.notify_all()


DECODE_BUDGET = DecodeBudget(DECODE_BUDGET_BYTES)


def _decoded_bytes(image):
    """Memory the decoded picture takes, and its converted copy where reducing needs one."""
    width, height = image.size
    per_pixel = {"1": 1, "L": 1, "P": 1, "LA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2, "RGB": 3, "YCbCr": 3}.get(
        image.mode, 4
    )
    conversion = 4 if image.mode in ("1", "P", "PA", "CMYK", "YCbCr") else 0
    return width * height * (per_pixel + conversion)


def _reduced(image, max_side):
    if max(image.size) <= max_side:
        return image
    if image.mode in ("1", "P", "PA"):
        # Pillow resamples these with the nearest pixel only, which breaks thin strokes.
        image = image.convert(
            "RGBA" if image.mode == "PA" or "transparency" in image.info else "L" if image.mode == "1" else "RGB"
        )
    image.thumbnail((max_side, max_side), Image.Resampling.BOX, reducing_gap=2.0)  # in place: no full-size copy
    return image


def _read_bytes(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[: MAX_FILE_BYTES + 1])
    if isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as f:
                return f.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise ImageRefused(f"The file cannot be read ({error.strerror or error}).") from None
    return source.read(MAX_FILE_BYTES + 1)


def _check_size(image):
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRefused("The image has no pixels.")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageRefused(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"up to {MAX_IMAGE_PIXELS // 1_000_000} megapixels are read."
        )


def _check_frames(image):
    # Seek frame by frame and stop early: counting all frames of a hostile GIF costs time.
    if not getattr(image, "is_animated", False):
        return
    try:
        image.seek(MAX_FRAMES)
    except EOFError:
        return
    raise ImageRefused(f"The image is an animation with more than {MAX_FRAMES} frames; upload a single still image.")


# Leading bytes of the formats we read: such a file that fails to open is damaged, not foreign.
_IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def _not_an_image(data):
    if data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "The image is truncated or corrupt (it starts like an image but cannot be decoded)."
    head = data[:512].lstrip().lower()
    for signature, what in _SIGNATURES:
        if head.startswith(signature.lower()):
            return f"This is {what}, not an image; upload a PNG, JPEG, GIF, BMP, WebP or TIFF file."
    if _looks_like_text(data[:4096]):
        return "This is a text file, not an image; upload a PNG, JPEG, GIF, BMP, WebP or TIFF file."
    return "This is not an image in a supported format (PNG, JPEG, GIF, BMP, WebP or TIFF)."


def _looks_like_text(head):
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3  # a character cut off by the 4 KB sample
    return True
