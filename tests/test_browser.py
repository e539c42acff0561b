"""The real app in headless Chromium: draw digits with the mouse, upload a file, read the answers."""

import os
import statistics
from pathlib import Path

import pytest
from appserver import CANVAS_BOX, chromium, clear_canvas, draw_strokes, running_app, wait_for_prediction
from handwriting import paper, strokes_in_box

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app") / "data") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text("Draw a digit on the black square").wait_for(timeout=90_000)
        page.evaluate(WATCH_LATENCY)
        yield page


# Timestamps taken inside the page, so the delay excludes the test's round trips to the browser:
# the last pointer-up, the last message sent to the server (the canvas sends its drawing
# after a debounce of its own), and the frame in which the shown prediction changed.
WATCH_LATENCY = """() => {
    window.lastPointerUp = 0;
    window.lastSend = 0;
    window.predictionChangedAt = 0;
    document.addEventListener('pointerup', () => { window.lastPointerUp = performance.now(); }, true);
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) { window.lastSend = performance.now(); return send.call(this, data); };
    let shown = null;
    const tick = () => {
        const value = document.querySelector('[data-testid="stMetricValue"]');
        const text = value ? value.innerText.trim() : null;
        if (text !== shown) { shown = text; window.predictionChangedAt = performance.now(); }
        requestAnimationFrame(tick);
    };
    tick();
}"""


def draw_with_mouse(page, digit, box=CANVAS_BOX):
    draw_strokes(page, strokes_in_box(digit, box))


def stroke_to_answer_ms(page):
    """(stroke end to answer shown, drawing sent to answer shown) in milliseconds."""
    return page.evaluate(
        "() => [window.predictionChangedAt - window.lastPointerUp, window.predictionChangedAt - window.lastSend]"
    )


def test_drawing_digits_with_the_mouse_reads_them(page):
    delays = []
    for digit in (1, 0, 7, 4, 2):
        clear_canvas(page)
        draw_with_mouse(page, digit)
        wait_for_prediction(page, str(digit))
        delays.append(stroke_to_answer_ms(page))
        page.wait_for_timeout(300)  # let the rest of the panel settle before the next drawing
    total, after_send = zip(*delays)
    print(
        f"\nstroke end to prediction shown: median {statistics.median(total):.0f} ms (max {max(total):.0f}); "
        f"from the canvas sending the drawing: median {statistics.median(after_send):.0f} ms; {len(delays)} digits"
    )
    shots = os.environ.get("LENET_SCREENSHOT_DIR")
    if shots:
        page.get_by_role("tab", name="What the model sees").first.click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(Path(shots) / "draw-page.png"))


def test_a_stroke_draws_only_the_open_tab_and_a_click_on_another_draws_it(page):
    # The saliency and feature maps cost most of a stroke: they are drawn when looked at.
    clear_canvas(page)
    draw_with_mouse(page, 3)
    wait_for_prediction(page, "3")
    page.wait_for_timeout(1000)  # the rest of the panel has arrived
    assert page.get_by_text("What drove the answer 3").count() == 0
    assert page.locator('[data-testid="stVegaLiteChart"]').first.is_visible()  # the probabilities
    page.get_by_role("tab", name="Inside the network").first.click()
    page.get_by_text("What drove the answer 3").first.wait_for(timeout=30_000)
    assert page.get_by_text("Feature maps.").first.is_visible()
    page.get_by_role("tab", name="Probabilities").first.click()  # as the other tests expect it
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)


def test_digits_side_by_side_are_read_as_a_number(page):
    clear_canvas(page)
    draw_with_mouse(page, 4, box=(20, 60, 120, 220))
    draw_with_mouse(page, 2, box=(160, 60, 260, 220))
    wait_for_prediction(page, "42")


def test_uploading_through_the_real_file_input(page, tmp_path):
    path = tmp_path / "photo-of-38.png"
    paper("38", size=(500, 260)).save(path)
    page.get_by_role("tab", name="Upload").click()
    page.locator('input[type="file"]').set_input_files(str(path))
    wait_for_prediction(page, "38", index=1)
    assert page.get_by_text("photo-of-38.png").first.is_visible()
