"""The real app in headless Chromium: draw digits with the mouse, upload a file, read the answers."""

import io
import os
import statistics
import time
from pathlib import Path

import pytest
from PIL import Image

from appserver import chromium, running_app
from handwriting import paper, strokes_in_box

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANVAS_BOX = (75, 35, 205, 245)  # where on the 280x280 canvas the test writes


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app") / "data") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text("Draw a digit on the black square").wait_for(timeout=90_000)
        yield page


def prediction(page, index=0):
    return page.locator('[data-testid="stMetricValue"]').nth(index).inner_text().strip()


def wait_for_prediction(page, expected, index=0, timeout=30.0):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if prediction(page, index) == expected:
            return time.perf_counter()
        page.wait_for_timeout(5)
    raise AssertionError(f"the page shows {prediction(page, index)!r}, expected {expected!r}")


def draw_with_mouse(page, digit):
    """Draw the digit stroke by stroke; return the time the last stroke ended."""
    canvas = page.locator("canvas.upper-canvas").first.bounding_box()
    for stroke in strokes_in_box(digit, CANVAS_BOX):
        page.mouse.move(canvas["x"] + stroke[0][0], canvas["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(canvas["x"] + x, canvas["y"] + y, steps=4)
        page.mouse.up()
    return time.perf_counter()


def clear_canvas(page):
    page.locator("canvas.upper-canvas").first.hover()
    page.get_by_role("button", name="Reset canvas & history").click(force=True)
    wait_for_prediction(page, "–")


def test_drawing_digits_with_the_mouse_reads_them(page):
    delays = []
    for digit in (1, 0, 7, 4, 2):
        clear_canvas(page)
        stroke_end = draw_with_mouse(page, digit)
        delays.append(wait_for_prediction(page, str(digit)) - stroke_end)
    print(f"\nstroke end to prediction shown: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms over {len(delays)} digits")
    shots = os.environ.get("LENET_SCREENSHOT_DIR")
    if shots:
        page.get_by_role("tab", name="What the model sees").first.click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(Path(shots) / "draw-page.png"))


def test_digits_side_by_side_are_read_as_a_number(page):
    clear_canvas(page)
    canvas = page.locator("canvas.upper-canvas").first.bounding_box()
    for digit, box in ((4, (20, 60, 120, 220)), (2, (160, 60, 260, 220))):
        for stroke in strokes_in_box(digit, box):
            page.mouse.move(canvas["x"] + stroke[0][0], canvas["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(canvas["x"] + x, canvas["y"] + y, steps=4)
            page.mouse.up()
    wait_for_prediction(page, "42")


def test_uploading_through_the_real_file_input(page, tmp_path):
    path = tmp_path / "photo-of-38.png"
    paper("38", size=(500, 260)).save(path)
    page.get_by_role("tab", name="Upload").click()
    page.locator('input[type="file"]').set_input_files(str(path))
    wait_for_prediction(page, "38", index=1)
    assert page.get_by_text("photo-of-38.png").first.is_visible()
