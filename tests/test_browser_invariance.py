"""The invariance explorer in headless Chromium: draw a digit, open Invariance, sweep, compare."""

import os
import statistics
from pathlib import Path

import pytest
from appserver import CANVAS_BOX, chromium, draw_strokes, running_app
from handwriting import strokes_in_box

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Timestamps taken inside the page, so a delay excludes the test's round trips to the browser:
# the last pointer-down (the click), the last message sent to the server and the last one
# received from it (the end of the rerun's output), and the frame in which a new sweep summary
# showed under a drawn chart.
WATCH = """() => {
    window.clickedAt = 0; window.sentAt = 0; window.receivedAt = 0;
    document.addEventListener('pointerdown', () => { window.clickedAt = performance.now(); }, true);
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        window.sentAt = performance.now();
        if (!this.watched) {
            this.watched = true;
            this.addEventListener('message', () => { window.receivedAt = performance.now(); });
        }
        return send.call(this, data);
    };
}"""

SUMMARY = """() => {
    const shown = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .filter(c => c.offsetParent !== null && c.innerText.startsWith('lenet_bn reads'));
    return shown.length ? shown[0].innerText : '';
}"""

SHOWN = (
    """([text, previous]) => {
    const summary = ("""
    + SUMMARY
    + """)();
    const chart = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg')]
        .some(c => c.getBoundingClientRect().width > 0);
    return chart && summary !== previous && summary.includes(text)
        ? [performance.now() - window.clickedAt, window.receivedAt - window.sentAt] : null;
}"""
)


def shown_after(page, click, text, timeout=30_000):
    """(click to a new chart and summary shown, message sent to the server's last answer) in ms,
    once the visible summary changed and contains `text`."""
    previous = page.evaluate(SUMMARY)
    click()
    return page.wait_for_function(SHOWN, arg=[text, previous], timeout=timeout, polling="raf").json_value()


def test_a_drawing_swept_and_compared_in_the_browser(settings):
    with running_app(settings.data_dir) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.goto(url, timeout=120_000)
        page.get_by_text("Draw a digit on the black square").wait_for(timeout=90_000)
        draw_strokes(page, strokes_in_box(7, CANVAS_BOX))
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() === '7'", timeout=30_000
        )
        page.evaluate(WATCH)
        timings = {
            "open the tab (rotation)": shown_after(page, page.get_by_role("tab", name="Invariance").click, "reads 7")
        }
        for name, text in (("scale", "×"), ("shift x", "px"), ("noise", "%"), ("squeeze", "×"), ("thickness", "px")):
            timings[name] = shown_after(page, page.get_by_role("radio", name=name, exact=True).click, text)
        page.get_by_role("combobox", name="Compare with").click()
        # The first comparison loads lenet5 (once per server); then a sweep of both models.
        timings["compare with lenet5"] = shown_after(
            page, page.get_by_role("option", name="lenet5").click, "lenet5 reads"
        )
        timings["both models, rotation"] = shown_after(
            page, page.get_by_role("radio", name="rotation", exact=True).click, "°"
        )
        shown, answered = zip(*timings.values())
        print(
            "\nclick to invariance chart shown (2-core AMD EPYC, lenet_bn): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, (ms, _) in timings.items())
            + f"; median {statistics.median(shown):.0f} ms, of which the server's last message came "
            f"{statistics.median(answered):.0f} ms after the widget's"
        )
        shots = os.environ.get("LENET_SCREENSHOT_DIR")
        if shots:
            page.screenshot(path=str(Path(shots) / "invariance.png"), full_page=True)
