"""Pictures for people: thumbnails, boxes drawn on a photo, contact sheets of digits.

All numpy and Pillow in, numpy or Pillow out; the app only shows what is made here.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageOps

RIGHT, WRONG = (46, 160, 67), (215, 58, 73)


def thumbnail(image, size=112):
    """A square `size` px view of an image (uint8, or float 0-255): padded with black, small
    images enlarged with visible pixels (nearest), large ones reduced smoothly."""
    image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
    resample = Image.Resampling.NEAREST if max(image.size) < size else Image.Resampling.BOX
    return np.asarray(ImageOps.pad(image, (size, size), resample, color=0))


def draw_boxes(image, boxes, labels, color=(255, 64, 64)):
    """A copy of `image` (Pillow) with each box outlined and labelled, for showing a number read."""
    canvas = image.convert("RGB").copy()
    pen = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 250))
    for (left, top, right, bottom), label in zip(boxes, labels):
        pen.rectangle((left, top, right, bottom), outline=color, width=line)
        pen.text((left + line, max(0, top - 12 * line)), str(label), fill=color, font_size=max(12, 10 * line))
    return canvas


def contact_sheet(images, captions, right, columns=10, scale=2, border=3, font_size=10):
    """One picture of 28x28 digits, each framed green (`right`) or red, with its caption under it."""
    cell = 28 * scale + 2 * border
    caption_height = font_size + 4
    rows = max(1, -(-len(images) // columns))
    sheet = Image.new("RGB", (columns * (cell + 4), rows * (cell + caption_height + 4)), (255, 255, 255))
    pen = ImageDraw.Draw(sheet)
    for position, (image, caption, ok) in enumerate(zip(images, captions, right)):
        r, c = divmod(position, columns)
        x, y = c * (cell + 4), r * (cell + caption_height + 4)
        pen.rectangle((x, y, x + cell - 1, y + cell - 1), fill=RIGHT if ok else WRONG)
        digit = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).resize(
            (28 * scale, 28 * scale), Image.Resampling.NEAREST
        )
        sheet.paste(digit, (x + border, y + border))
        pen.text((x + 1, y + cell), caption, fill=(40, 40, 40) if ok else WRONG, font_size=font_size)
    return sheet
