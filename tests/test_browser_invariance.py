"""The invariance explorer in headless Chromium: draw a digit, open Invariance, sweep, compare."""

import os
import statistics
from pathlib import Path

import pytest
from appserver import CANVAS_BOX, chromium, draw_strokes, running_app
from handwriting import strokes_in_box

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Timestamps taken inside the page, so a delay excludes the test's round trips to the browser:
# the last pointer-down (the click), the last message sent to the server and the first one
# received after it (the server's answer begins), and the frame in which the open tab showed a
# drawn chart with a summary containing the text asked for.
WATCH = """() => {
    window.clickedAt = 0; window.sentAt = 0; window.answeredAt = 0;
    document.addEventListener('pointerdown', () => { window.clickedAt = performance.now(); }, true);
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        window.sentAt = performance.now(); window.answeredAt = 0;
        if (!this.watched) {
            this.watched = true;
            this.addEventListener('message', () => {
                if (!window.answeredAt) window.answeredAt = performance.now();
                window.lastMessageAt = performance.now();
            });
        }
        return send.call(this, data);
    };
}"""

SHOWN = """(text) => {
    const panel = [...document.querySelectorAll('[role="tabpanel"]')].find(p => p.offsetParent !== null
        && p.querySelector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'));
    const shown = panel && [...panel.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .some(c => c.innerText.includes(text));
    return shown ? [performance.now() - window.clickedAt, window.lastMessageAt - window.sentAt] : null;
}"""


def shown_after_click(page, text, timeout=30_000):
    """(click to chart and summary shown, message sent to the server's first answer) in ms, once
    the open tab's summary contains `text`."""
    return page.wait_for_function(SHOWN, arg=text, timeout=timeout, polling="raf").json_value()


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
        page.get_by_role("tab", name="Invariance").click()
        timings = {"open the tab (rotation)": shown_after_click(page, "reads 7")}
        for name, text in (("scale", "×"), ("shift x", "px"), ("noise", "%"), ("squeeze", "×"), ("thickness", "px")):
            page.get_by_role("radio", name=name, exact=True).click()
            timings[name] = shown_after_click(page, text)
        page.get_by_role("combobox", name="Compare with").click()
        page.get_by_role("option", name="lenet5").click()
        timings["compare with lenet5"] = shown_after_click(page, "lenet5 reads")
        shown, answered = zip(*timings.values())
        print(
            "\nclick to invariance chart shown (2-core AMD EPYC, lenet_bn): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, (ms, _) in timings.items())
            + f"; median {statistics.median(shown):.0f} ms, of which the server's first answer "
            f"{statistics.median(answered):.0f} ms after the widget's message"
        )
        shots = os.environ.get("LENET_SCREENSHOT_DIR")
        if shots:
            page.screenshot(path=str(Path(shots) / "invariance.png"), full_page=True)
