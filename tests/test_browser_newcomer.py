"""A newcomer's first ten minutes in headless Chromium, one test per thing that tripped them up:
a cold server shows its title at once; a page that needs MNIST says so before Start and takes a
folder; a quick demo run names its phases, draws curves within seconds and ends with its
outcome at the top; a smiley is not a digit; Gallery digits can be clicked; the canvas's undo
and clear are always in view."""

import re
import time

import numpy as np
import pytest
from appserver import chromium, draw_strokes, running_app

from benchmarks.not_digits import DRAWINGS
from lenet.config import Settings
from lenet.datasets import ink
from lenet.datasets import mnist as mnist_files

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def body(page):
    return page.locator("body").inner_text()


def answer(page):
    return page.locator('[data-testid="stMetricValue"]').first.inner_text().strip()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    started = time.perf_counter()
    page.goto(url, timeout=120_000)
    return page, started


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One server for the tests that need MNIST; its first page load is the cold start."""
    with running_app(tmp_path_factory.mktemp("newcomer") / "data") as url, chromium() as browser:
        yield url, browser


def test_a_cold_server_shows_its_title_and_pages_before_the_model_is_loaded(app):
    url, browser = app
    page, started = open_page(browser, url)
    page.get_by_role("heading", name="Draw & Upload").wait_for(timeout=60_000)
    title_s = time.perf_counter() - started
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=120_000)
    canvas_s = time.perf_counter() - started
    print(f"\ncold server: title after {title_s:.2f} s, the canvas after {canvas_s:.2f} s")
    assert page.get_by_role("link", name="Train").is_visible()


def test_the_canvas_undo_and_clear_are_in_view_without_hovering(app):
    url, browser = app
    page, _ = open_page(browser, url)
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=120_000)
    undo, clear = page.locator(".st-key-canvas_undo button"), page.locator(".st-key-canvas_clear button")
    undo.wait_for(timeout=10_000)  # visible without a hover, or this times out
    clear.wait_for(timeout=10_000)
    box = page.locator("canvas.upper-canvas").first.bounding_box()
    draw_strokes(page, [[(140, 40), (140, 240)]])  # a 1
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() === '1'", timeout=60_000
    )
    draw_strokes(page, [[(60, 30), (220, 30)]])  # a bar across the top: no longer a 1
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() !== '1'", timeout=60_000
    )
    undo.click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() === '1'", timeout=60_000
    )
    clear.click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() === '–'", timeout=60_000
    )
    brush = page.get_by_role("slider").first.bounding_box()
    assert brush["y"] > box["y"] + box["height"]  # the brush is under the canvas: no toolbar covers it


@pytest.mark.parametrize("kind", ["face", "house", "letter W", "spiral"])
def test_drawings_that_are_not_digits_are_said_to_be_none(app, kind):
    url, browser = app
    page, _ = open_page(browser, url)
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=120_000)
    strokes = ink.unit_box(DRAWINGS[kind](np.random.default_rng(0)))
    draw_strokes(page, [[(70 + 140 * x, 40 + 200 * y) for x, y in s] for s in strokes])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() !== '–'", timeout=60_000
    )
    page.wait_for_timeout(500)
    text = body(page)
    print(f"\n{kind}: {answer(page)!r}")
    assert answer(page) == "Not a digit" or "not sure" in text


@pytest.mark.mnist
def test_a_gallery_digit_can_be_clicked_to_look_closer(app, mnist):
    url, browser = app
    page, _ = open_page(browser, url)
    page.get_by_role("link", name="Gallery").click()
    grid = page.locator('[data-testid="stVegaLiteChart"]').first
    grid.wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"Look closer at")).wait_for(timeout=60_000)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 3 * 68 + 34, box["y"] + 34)  # the fourth digit of the first row
    page.get_by_text(re.compile(r"#3: true \d, read \d")).wait_for(timeout=60_000)


@pytest.mark.mnist
def test_a_quick_demo_names_its_phases_shows_curves_within_seconds_and_its_outcome_on_top(app, mnist):
    url, browser = app
    page, _ = open_page(browser, url)
    page.get_by_role("link", name="Train").click()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Start from").wait_for(timeout=120_000)
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Start from").click()
    page.get_by_role("option", name=re.compile("Quick demo")).click()
    page.wait_for_timeout(1000)
    page.get_by_text("Activate when done").click()  # a demo run need not replace what serves
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Start").click()
    started = time.perf_counter()
    seen, chart_s = set(), None
    while time.perf_counter() - started < 300:
        text = body(page)
        seen.update(re.findall(r"(Loading MNIST|Compiling the network|Preparing the [\w' ]+|epoch \d+ of \d+)", text))
        if chart_s is None and page.locator('[data-testid="stVegaLiteChart"]').count() >= 2 and "epoch" in text:
            chart_s = time.perf_counter() - started
        if re.search(r"Run 1 (finished|failed)", text):
            break
        assert not re.search(r"(Loading MNIST|Compiling the network)[^\n]*s left", text)  # no ETA without a rate
        page.wait_for_timeout(200)
    text = body(page)
    outcome = re.search(r"Run 1 finished: ([\d.]+)% on MNIST", text)
    print(
        f"\nquick demo: phases seen {sorted(seen)}; curves after {chart_s} s; outcome: {outcome and outcome.group(0)}"
    )
    assert outcome and float(outcome.group(1)) > 97
    assert text.index("Run 1 finished") < text.index("Past runs")  # at the top, where the eye is
    assert {"Compiling the network"} <= seen and any(s.startswith("epoch") for s in seen)
    assert chart_s is not None


@pytest.mark.mnist
def test_without_mnist_the_train_page_says_so_before_start_and_takes_a_folder(app, tmp_path, mnist):
    _, browser = app  # a server of its own, without MNIST; the module's browser
    env = {"MNIST_DIR": "", "KERAS_HOME": str(tmp_path / "keras")}
    with running_app(tmp_path / "data", extra_env=env) as url:
        page, _ = open_page(browser, url)
        page.get_by_role("link", name="Train").click()
        page.get_by_text("Training needs MNIST").wait_for(timeout=120_000)
        assert page.get_by_role("button", name="Start").is_disabled()
        page.get_by_role("button", name=re.compile("Download MNIST now")).click()
        page.get_by_text(re.compile("MNIST could not be downloaded")).wait_for(timeout=120_000)
        assert body(page).count("could not be downloaded") == 1  # one sentence, once
        field = page.get_by_placeholder("/path/on/the/server")
        field.fill(str(mnist_files.locate(Settings.from_env().mnist_dir)))  # where this machine keeps MNIST
        field.press("Enter")
        page.get_by_role("button", name="Use this folder").click()
        page.wait_for_function(
            "() => ![...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Start').disabled",
            timeout=60_000,
        )
        assert "Training needs MNIST" not in body(page)
