"""A corpus of hostile and odd files, generated on the fly (nothing binary is committed).

`make_corpus(folder)` writes the files and returns `[(path, expected)]` where `expected` is
"error" (must be refused with a message), "" (an image holding no digit), a digit string
(must be read as exactly that), or None (any clean answer will do).
"""

import gzip
import io
import struct
import zipfile
import zlib

import numpy as np
from handwriting import draw, paper
from PIL import Image

from benchmarks.samples import dots_png, just_under_the_pixel_cap

ERROR = "error"


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def _png(width, height, idat, bit_depth=8, color_type=0):
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def huge_blank_png(side):
    """A real, valid, black `side` x `side` 1-bit PNG that compresses to a small file."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return _png(side, side, body, bit_depth=1)


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def digit_image(digits="7", mode="L"):
    """Dark-on-light, the way a photo of paper looks, in the requested mode."""
    image = paper(digits, size=(160 * len(str(digits)), 200), width=12)
    return image.convert(mode)


def frames(count, mode):
    """Distinct frames (identical ones would be merged by the encoder): a 3 sliding sideways."""
    still = np.asarray(digit_image("3", "L"))
    return [Image.fromarray(np.roll(still, i % 40, axis=1)).convert(mode) for i in range(count)]


def animated(fmt, count, mode):
    images = frames(count, mode)
    return encode(images[0], fmt, save_all=True, append_images=images[1:], duration=20, loop=0)


def exif_rotated_jpeg():
    # Stored lying on its side; the EXIF orientation tag (6: rotate 90 clockwise to view) stands it up.
    upright = digit_image("7", "RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", exif=exif.tobytes(), quality=92)


def palette_with_transparent_index():
    # Index 0 is transparent paper, index 1 black ink: a transparent background is not ink.
    alpha = np.asarray(draw("4", size=(200, 200), ink=(0, 0, 0, 255), background=(0, 0, 0, 0)))[..., 3]
    image = Image.fromarray((alpha > 127).astype(np.uint8), "P")
    image.putpalette([255, 255, 255, 0, 0, 0])
    return encode(image, "PNG", transparency=0)


def sixteen_bit_png():
    values = np.asarray(digit_image("5", "L"), dtype=np.uint16) * 257
    return encode(Image.fromarray(values), "PNG")  # uint16 becomes mode I;16


def float_tiff():
    return encode(Image.fromarray(np.asarray(digit_image("2", "L"), dtype=np.float32)), "TIFF")


def photo_3000x4000():
    rng = np.random.default_rng(0)
    ink = np.asarray(
        draw("9", size=(3000, 4000), width=160, ink=(255,), background=(0,), mode="L", boxes=[(800, 900, 2200, 3100)]),
        dtype=np.float32,
    )
    paper_level = 215 - np.linspace(0, 50, 3000)[None, :] + rng.normal(0, 3, (4000, 3000))
    return encode(Image.fromarray(np.clip(paper_level - ink * 0.75, 0, 255).astype(np.uint8)), "JPEG", quality=85)


def zip_of(entries, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def lying_zip(declared=1000, actual=50 * 2**20):
    """A zip whose one member's headers say `declared` bytes but which inflates to `actual`."""
    data = bytearray(zip_of({"7/lies.png": b"\0" * actual}))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def blank_pictures_zip(count, side=6300):
    """`count` blank `side`x`side` PNGs (each within every per-file limit), a small zip."""
    picture = huge_blank_png(side)
    return zip_of({f"0/{i}.png": picture for i in range(count)}, zipfile.ZIP_STORED)


def canvas_drawing(side=280, mode="RGBA"):
    """What the canvas sends: a white 7 on black, `side` x `side`."""
    ink = np.asarray(draw("7", size=(side, side), ink=(255,), background=(0,), mode="L"))
    return Image.fromarray(ink).convert(mode)


def canvas_dots(side=280, spacing=5):
    grid = np.zeros((side, side), np.uint8)
    grid[::spacing, ::spacing] = 255
    return encode(Image.fromarray(grid).convert("RGBA"), "PNG")


def forged_canvases():
    """`[(name, bytes)]` a forged canvas message could carry instead of the canvas's own PNG."""
    drawing = canvas_drawing()
    return [
        ("targa", encode(drawing, "TGA")),
        ("pcx", encode(drawing.convert("RGB"), "PCX")),
        ("icon", encode(drawing.resize((64, 64)), "ICO")),
        ("jpeg", encode(drawing.convert("RGB"), "JPEG")),
        ("bmp", encode(drawing, "BMP")),
        ("gif", encode(drawing.convert("P"), "GIF")),
        ("png-8900x8900", huge_blank_png(8900)),
        ("png-280x300", encode(drawing.resize((280, 300)), "PNG")),
        ("png-28x28", encode(drawing.resize((28, 28)), "PNG")),
        ("png-1200x1200", encode(drawing.resize((1200, 1200)), "PNG")),
        ("truncated", encode(drawing, "PNG")[:300]),
        ("empty", b""),
        ("html", b"<!doctype html><script>alert(1)</script>"),
        ("padded-3MB", encode(drawing, "PNG") + bytes(3 * 2**20)),
    ]


def make_corpus(folder):
    good_png = encode(digit_image("7"), "PNG")
    good_jpeg = encode(digit_image("7", "RGB"), "JPEG", quality=90)
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><text y="20">7</text></svg>'
    pdf = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("digit.png", good_png)
    files = [
        ("empty.png", b"", ERROR),
        ("empty.jpg", b"", ERROR),
        ("text.png", b"this is just a note, not a picture\n", ERROR),
        ("text.jpg", b"1234567\n", ERROR),
        ("utf16.png", "not an image".encode("utf-16"), ERROR),
        ("json.png", b'{"digit": 7}', ERROR),
        ("html.png", html, ERROR),
        ("html.jpg", html, ERROR),
        ("svg.png", svg, ERROR),
        ("svg.jpg", svg, ERROR),
        ("xml-svg.png", b'<?xml version="1.0"?>' + svg, ERROR),
        ("pdf.png", pdf, ERROR),
        ("pdf.jpg", pdf, ERROR),
        ("postscript.png", b"%!PS-Adobe-3.0\n/Times findfont\n", ERROR),
        ("gzip.png", gzip.compress(good_png), ERROR),
        ("gzip.jpg", gzip.compress(good_jpeg), ERROR),
        ("zip.png", zipped.getvalue(), ERROR),
        ("elf.png", b"\x7fELF\x02\x01\x01" + bytes(200), ERROR),
        ("nul-bytes.png", bytes(1024), ERROR),
        ("random-bytes.jpg", np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(), ERROR),
        ("truncated.png", good_png[: len(good_png) // 2], ERROR),
        ("truncated.jpg", good_jpeg[: len(good_jpeg) // 2], ERROR),
        ("png-signature-only.png", good_png[:8], ERROR),
        ("png-header-only.png", good_png[:33], ERROR),
        ("corrupt-idat.png", _png(200, 160, b"\x78\x9c" + bytes(range(256)) * 4), ERROR),
        ("jpeg-soi-only.jpg", b"\xff\xd8\xff", ERROR),
        ("gif-header-only.gif", b"GIF89a\x10\x00\x10\x00", ERROR),
        ("bomb-50000.png", _png(50000, 50000, zlib.compress(b"\x00" * 1000)), ERROR),
        (
            "bomb-gif.gif",
            b"GIF89a"
            + struct.pack("<HH", 65535, 65535)
            + b"\x00\x00\x00"
            + b",\x00\x00\x00\x00"
            + struct.pack("<HH", 65535, 65535)
            + b"\x00\x02\x02D\x01\x00;",
            ERROR,
        ),
        (
            "bomb-bmp.bmp",
            b"BM"
            + struct.pack("<IHHI", 0, 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0, 0, 0, 0, 0)
            + bytes(64),
            ERROR,
        ),
        ("huge-20000x20000.png", huge_blank_png(20000), ERROR),
        ("too-large-11MB.png", good_png + bytes(11 * 2**20), ERROR),
        ("animated-300-frames.gif", animated("GIF", 300, "P"), ERROR),
        ("animated-webp-40-frames.webp", animated("WEBP", 40, "RGB"), ERROR),
        (
            "multipage-30.tiff",
            encode(digit_image("3"), "TIFF", save_all=True, append_images=[digit_image("3")] * 29),
            ERROR,
        ),
        ("icon.png", encode(digit_image("7", "RGBA").resize((64, 64)), "ICO"), ERROR),
        ("targa.png", encode(digit_image("7"), "TGA"), ERROR),
        ("pcx.jpg", encode(digit_image("7"), "PCX"), ERROR),
        ("html-then-png.png", html + good_png, ERROR),
        # Odd but legitimate: each must be read.
        ("cmyk.jpg", encode(digit_image("7", "CMYK"), "JPEG", quality=92), "7"),
        ("sixteen-bit.png", sixteen_bit_png(), "5"),
        ("float.tiff", float_tiff(), "2"),
        ("exif-rotated.jpg", exif_rotated_jpeg(), "7"),
        ("palette-transparent.png", palette_with_transparent_index(), "4"),
        (
            "gray-alpha.png",
            encode(draw("1", size=(200, 200), ink=(255, 255), background=(0, 0), mode="LA"), "PNG"),
            "1",
        ),
        ("bilevel.png", encode(digit_image("7").point(lambda v: 255 if v > 128 else 0).convert("1"), "PNG"), "7"),
        ("single-frame.gif", encode(digit_image("3", "P"), "GIF"), "3"),
        ("digit.bmp", encode(digit_image("0", "RGB"), "BMP"), "0"),
        ("digit.webp", encode(digit_image("8", "RGB"), "WEBP", quality=90), "8"),
        ("digit.tiff", encode(digit_image("6", "RGB"), "TIFF"), "6"),
        ("polyglot-png-zip.png", good_png + zipped.getvalue(), "7"),
        ("polyglot-png-html.png", good_png + html, "7"),
        ("photo-3000x4000.jpg", photo_3000x4000(), "9"),
        ("number-2026.png", encode(digit_image("2026", "RGB"), "PNG"), "2026"),
        ("short-gif-3-frames.gif", animated("GIF", 3, "P"), "3"),
        ("dots-10000.png", dots_png(10_000), ERROR),  # once: 94 s of server time, read as a 100-digit "111...1"
        ("dots-65536.png", dots_png(65_536), ERROR),
        ("39.7-megapixels.png", just_under_the_pixel_cap(), "7"),
        # Images with no digit.
        ("fully-transparent.png", encode(Image.new("RGBA", (200, 200), (0, 0, 0, 0)), "PNG"), ""),
        ("one-pixel.png", encode(Image.new("L", (1, 1), 255), "PNG"), ""),
        ("all-white.jpg", encode(Image.new("RGB", (300, 300), (255, 255, 255)), "JPEG"), ""),
        ("all-black.png", encode(Image.new("L", (300, 300), 0), "PNG"), ""),
        ("stray-pixels.png", encode(_stray_pixels(), "PNG"), ""),
        (
            "noise.png",
            encode(Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64), dtype=np.uint8)), "PNG"),
            None,
        ),
    ]
    corpus = []
    for name, data, expected in files:
        path = folder / name
        path.write_bytes(data)
        corpus.append((path, expected))
    return corpus


def _stray_pixels():
    image = np.full((300, 300), 240, np.uint8)
    image[50, 60] = image[200, 210] = image[120, 30] = 10
    return Image.fromarray(image)
