"""Each preprocessing step on crafted inputs, then the whole pipeline."""

import io

import numpy as np
import pytest
from handwriting import canvas_array, draw, paper
from PIL import Image
from scipy import ndimage as ndi

from lenet.images import preprocess as pp
from lenet.images.files import ImageRefused, open_image


def gray_of(image):
    return pp.to_grayscale(image)[0]


def one_digit(image, **options):
    """All ink of `image` prepared as one digit, or None when there is no digit."""
    _, digits = pp.prepare_digits(image, one_digit=True, **options)
    return digits[0] if digits else None


def center_of_mass(field):
    rows, cols = np.indices(field.shape)
    total = field.sum()
    return (rows * field).sum() / total, (cols * field).sum() / total


def ink_box(field, level=30):
    rows, cols = np.nonzero(field > level)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


# ------------------------------------------------------------------ to_grayscale


def test_canvas_transparent_background_is_not_ink():
    gray = gray_of(canvas_array(7))
    assert gray[0, 0] == 0 and gray.max() == 255


def test_black_ink_on_transparent_png_is_composited_onto_white():
    rgba = draw(7, ink=(0, 0, 0, 255), background=(0, 0, 0, 0))
    gray = gray_of(rgba)
    assert gray[0, 0] == 255 and gray.min() == 0


def test_half_transparent_ink_is_half_as_strong():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[2:8, 4:6, 3] = 255
    rgba[2:8, 6:7, 3] = 128
    gray = gray_of(rgba)
    assert gray[4, 4] == 255 and 120 < gray[4, 6] < 135 and gray[0, 0] == 0


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "P", "LA", "I;16", "F", "1"])
def test_every_mode_becomes_0_to_255_luminance(mode):
    base = paper("3", size=(80, 100)).convert("L")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base, np.uint16) * 257)
    elif mode == "F":
        image = Image.fromarray(np.asarray(base, np.float32))
    else:
        image = base.convert(mode)
    gray = gray_of(image)
    assert gray.dtype == np.float32 and gray.shape == (100, 80)
    assert gray.max() > 200 and gray.min() < 60  # paper light, ink dark, whatever the mode


def test_sixteen_bit_png_keeps_its_range():
    values = np.asarray(paper("5", size=(60, 60)).convert("L"), np.uint16) * 257
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    gray = gray_of(open_image(buffer.getvalue()))
    assert abs(gray.max() - values.max() / 257) < 1


def test_exif_rotated_jpeg_is_stood_upright():
    upright = np.zeros((120, 60), np.uint8)
    upright[10:30, 20:40] = 255  # a mark near the top
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # on its side: 60 x 120
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    gray = gray_of(open_image(buffer.getvalue()))
    assert gray.shape == (120, 60)
    assert gray[:60].mean() > gray[60:].mean()


# ------------------------------------------------------------------ polarity and paper


def test_dark_ink_on_light_paper_is_inverted():
    gray = gray_of(paper("1", size=(100, 100)))
    ink = pp.to_white_on_black(gray)
    assert np.median(ink) < 50 and ink.max() > 200


def test_white_on_black_is_left_alone():
    gray = gray_of(canvas_array(1))
    assert pp.to_white_on_black(gray) is gray


def test_uneven_lighting_becomes_black_background():
    ink = np.asarray(draw("0", size=(400, 400), width=12, ink=(255,), background=(0,), mode="L"), np.float32)
    shadow = np.linspace(20, 110, 400)[None, :].repeat(400, 0)  # paper from light to shadow (inverted)
    flat = pp.flatten_background(np.clip(ink * 0.6 + shadow, 0, 255))
    stroke = ink > 200
    assert np.percentile(flat[~stroke], 95) < 25  # the shadow is gone
    assert np.median(flat[stroke]) > 100  # the stroke is not


def test_faint_ink_is_kept_where_it_touches_strong_ink_only():
    flat = np.zeros((60, 60), np.float32)
    flat[10:50, 10:14] = 220  # a strong stroke
    flat[10:13, 14:40] = 90  # a faint bar joined to it (a light 7's top)
    flat[40:43, 30:50] = 90  # faint, alone: paper texture or a smudge
    labels = pp.ink_pieces(flat)
    assert labels.max() == 1 and labels[11, 30] == 1 and labels[41, 40] == 0


def test_paper_texture_alone_is_not_ink():
    rng = np.random.default_rng(0)
    texture = rng.normal(60, 6, (200, 200)).astype(np.float32)
    assert not pp.ink_pieces(pp.flatten_background(texture)).any()


def test_specks_are_dropped_but_the_digit_stays():
    mask = np.zeros((100, 100), bool)
    mask[20:80, 45:52] = True  # a stroke
    mask[5, 5] = mask[90, 90] = True  # dust
    labels, boxes = pp.remove_specks(ndi.label(mask, pp.EIGHT_NEIGHBOURS)[0])
    assert len(boxes) == 1 and labels[50, 48] == 1 and labels[5, 5] == 0
    assert boxes.tolist() == [[45, 20, 52, 80]]


def test_a_dot_pattern_is_refused_in_milliseconds_not_read_as_a_hundred_ones():
    pattern = np.full((1000, 1000), 255, np.uint8)
    for y in range(0, 1000, 10):
        for x in range(0, 1000, 10):
            pattern[y : y + 4, x : x + 4] = 0
    with pytest.raises(ImageRefused, match="10,000 separate marks"):
        pp.prepare_digits(pattern)


# ------------------------------------------------------------------ one digit


@pytest.mark.parametrize(
    "box",
    [(5, 5, 60, 75), (200, 190, 275, 275), (120, 120, 140, 150), (0, 0, 280, 280)],
    ids=["top-left corner", "bottom-right corner", "tiny", "huge"],
)
def test_any_size_and_place_becomes_a_centered_20px_digit(box):
    prepared = one_digit(canvas_array(2, boxes=[box], width=max(3, (box[2] - box[0]) // 10)))
    field = prepared.input
    assert field.shape == (28, 28) and field.max() == pytest.approx(255, abs=1)
    assert max(ink_box(field)) in range(18, 22)
    row, col = center_of_mass(field)
    assert abs(row - 14) <= 0.6 and abs(col - 14) <= 0.6


def test_aspect_ratio_is_kept():
    prepared = one_digit(canvas_array(1, boxes=[(100, 20, 180, 260)], width=20))
    height, width = ink_box(prepared.input)
    assert height >= 18 and width < 12  # a 1 stays tall and narrow


def test_thin_and_fat_brushes_give_mnist_like_strokes():
    widths = {}
    for brush in (5, 40):
        field = one_digit(canvas_array(0, width=brush)).input
        widths[brush] = pp.stroke_width(field > 127)
    # MNIST test digits measured the same way: 1st-99th percentile 2.0-5.0 px, median 2.7.
    assert 2.0 <= widths[5] <= 5.0 and 2.0 <= widths[40] <= 5.0, widths
    assert abs(widths[5] - widths[40]) < 2.5


def test_steps_are_recorded_at_display_size_only_when_asked():
    page, (digit,) = pp.prepare_digits(paper("6", size=(300, 300)), steps_size=28)
    steps = page.steps + digit.steps
    assert [step.name for step in steps] == [
        "grayscale",
        "white on black",
        "background removed",
        "cropped",
        "stroke width",
        "20x20 box",
        "model input",
    ]
    assert all(step.image.dtype == np.uint8 and step.image.shape == (28, 28) for step in steps)
    np.testing.assert_array_equal(steps[-1].image, np.clip(digit.input, 0, 255).astype(np.uint8))
    page, (digit,) = pp.prepare_digits(paper("6", size=(300, 300)))
    assert page.steps == () and digit.steps == ()


def test_box_is_in_original_pixels_even_for_large_photos():
    image = paper("4", size=(3000, 2000), width=80)
    prepared = one_digit(image)
    left, top, right, bottom = prepared.box
    assert right - left > 500 and bottom - top > 800 and right <= 3000 and bottom <= 2000


# ------------------------------------------------------------------ no digit


@pytest.mark.parametrize(
    "image",
    [np.zeros((280, 280, 4), np.uint8), np.full((200, 200), 255, np.uint8), np.full((200, 200), 0, np.uint8)],
    ids=["empty canvas", "white paper", "black"],
)
def test_blank_is_no_digit(image):
    assert one_digit(image) is None
    assert pp.prepare_digits(image)[1] == []


def test_a_few_stray_pixels_are_no_digit():
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[100:103, 50:53] = 255
    canvas[200:202, 220:222] = 255
    assert pp.prepare_digits(canvas)[1] == []


# ------------------------------------------------------------------ several digits


def test_digits_side_by_side_are_read_left_to_right():
    _, prepared = pp.prepare_digits(canvas_array("2026", size=(800, 280), width=16))
    lefts = [p.box[0] for p in prepared]
    assert len(prepared) == 4 and lefts == sorted(lefts)


@pytest.mark.parametrize("side, width", [(200, 44), (64, 14), (16, 4)])
def test_bold_digits_that_fill_the_frame_keep_every_stroke(side, width):
    # Scans crop digits to their box: a bold 0 or 8 fills the frame, its strokes a fifth of it wide.
    for digit in "08":
        drawn = draw(
            digit,
            size=(side, side),
            width=width,
            ink=(20,),
            background=(235,),
            mode="L",
            boxes=[(width / 2, width / 2, side - width / 2, side - width / 2)],
        )
        gray = np.asarray(drawn, np.float32)
        stroke = gray < 128
        flat = pp.flatten_background(pp.to_white_on_black(gray))
        kept = pp.ink_pieces(flat) > 0
        assert kept[stroke].mean() > 0.97, f"{digit} at {side} px: holes where the stroke is widest"
        assert flat[stroke].min() > 100
