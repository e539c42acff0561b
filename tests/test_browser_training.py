"""Training from the sidebar in headless Chromium: start, watch it live, activate, read with it."""

import re
import statistics
import time

import pytest
from appserver import chromium, running_app
from handwriting import strokes_in_box

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.mnist]


def slider(page, label):
    return (
        page.locator('[data-testid="stSlider"]').filter(has=page.get_by_text(label, exact=True)).get_by_role("slider")
    )


def test_train_from_the_sidebar_watch_it_activate_it_and_read_with_it(tmp_path, mnist):
    with running_app(tmp_path / "data") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/train")
        page.get_by_role("button", name="Start", exact=True).wait_for(timeout=90_000)

        # A small run: 30,000 images, 3 epochs, a few seconds of training. (1,000 images for one
        # epoch train in a fifth of a second here: over before the page's 1 s poll could show it.)
        images = slider(page, "Training images")
        images.focus()
        images.press("ArrowLeft")
        epochs = slider(page, "Epochs")
        epochs.focus()
        epochs.press("Home")
        epochs.press("ArrowRight")
        epochs.press("ArrowRight")
        page.get_by_text("Activate when done").click()
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Start", exact=True).click()

        # Live: progress text with steps, charts with points, the age of the last point.
        ages, saw_chart_while_running = [], False
        deadline = time.time() + 240
        while time.time() < deadline:
            body = page.locator("body").inner_text()
            if re.search(r"Run 1: lenet5, (running|stopping)", body) and "step" in body:
                saw_chart_while_running |= page.locator('[data-testid="stVegaLiteChart"]').count() >= 2
                ages += [float(a) for a in re.findall(r"Last point logged ([\d.]+) s ago", body)]
            if (
                "Past runs" in body
                and "Run 1: lenet5" not in body
                and page.get_by_role("button", name="Activate", exact=True).count()
            ):
                break
            page.wait_for_timeout(250)
        else:
            page.screenshot(path=str(tmp_path / "train-timeout.png"), full_page=True)
            raise AssertionError(f"the run did not finish in time; the page said: {body[-1500:]}")
        assert saw_chart_while_running, "no chart while the run was going"
        assert ages, "no progress shown while the run was going"
        print(f"\nage of the newest point when rendered: median {statistics.median(ages):.2f} s over {len(ages)} looks")

        page.get_by_role("button", name="Activate", exact=True).click()
        page.get_by_text("Active: serving the Draw page").wait_for(timeout=30_000)

        page.get_by_role("link", name="Draw & Upload").click()
        page.get_by_text("Draw a digit on the black square").wait_for(timeout=60_000)
        assert "lenet5-run1" in page.locator('[data-testid="stSidebar"]').inner_text()
        canvas = page.locator("canvas.upper-canvas").first.bounding_box()
        for stroke in strokes_in_box(7, (75, 35, 205, 245)):
            page.mouse.move(canvas["x"] + stroke[0][0], canvas["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(canvas["x"] + x, canvas["y"] + y, steps=4)
            page.mouse.up()
        page.wait_for_function(
            """() => { const v = document.querySelector('[data-testid="stMetricValue"]');
                       return v && v.innerText.trim() === '7'; }""",
            timeout=30_000,
        )
