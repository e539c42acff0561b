"""Opening untrusted image files: only the formats a digit photo comes in, only safe sizes.

`open_image()` returns a decoded Pillow image or raises `ImageRefused` whose message is one
short sentence a user can act on. Nothing is decoded before the checks that keep a hostile
file from costing memory: byte size, format, pixel count and frame count.
"""

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from lenet.config import MAX_FILE_BYTES, MAX_FRAMES, MAX_IMAGE_PIXELS

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff")

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


class ImageRefused(ValueError):
    """The file is not an image this app reads; the message says why in one sentence."""


def open_image(source):
    """Decode `source` (bytes, a path or a binary file object) into a Pillow image.

    Only PNG, JPEG, GIF, BMP, WebP and TIFF are decoded. The first frame is used; files with
    more than `MAX_FRAMES` frames are refused. EXIF orientation is applied.

    Raises:
        ImageRefused: empty, too large, not an image, unsupported, truncated or corrupt,
            too many pixels (a decompression bomb), or too many frames.
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
            image.load()
            return ImageOps.exif_transpose(image)
    except ImageRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRefused(f"The image has too many pixels; up to {MAX_IMAGE_PIXELS // 1_000_000} megapixels are read.") from None
    except UnidentifiedImageError:
        raise ImageRefused(_not_an_image(data)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, MemoryError) as error:
        # Pillow signals truncated and malformed data with any of these.
        detail = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise ImageRefused(f"The image is truncated or corrupt ({detail}).") from None


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
