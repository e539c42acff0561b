"""Running the real app for browser tests: `streamlit run app.py` on a free port, and Chromium."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT, skip_or_fail

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(data_dir, extra_env=None, timeout=90):
    """Start the app as a user would and yield its URL; stop it afterwards."""
    port = free_port()
    env = {**os.environ, "LENET_DATA_DIR": str(data_dir), **(extra_env or {})}
    log = open(data_dir.parent / f"streamlit-{port}.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start: see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not path:
        skip_or_fail("Chromium is not installed (Debian/Ubuntu: apt-get install chromium)")
    return path


@contextlib.contextmanager
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


CANVAS_BOX = (75, 35, 205, 245)  # where on the 280x280 canvas the tests write


def draw_strokes(page, strokes):
    """Draw strokes (lists of canvas pixel points) on the Draw page's canvas with the mouse."""
    canvas = page.locator("canvas.upper-canvas").first.bounding_box()
    for stroke in strokes:
        page.mouse.move(canvas["x"] + stroke[0][0], canvas["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(canvas["x"] + x, canvas["y"] + y, steps=4)
        page.mouse.up()


def prediction(page, index=0):
    return page.locator('[data-testid="stMetricValue"]').nth(index).inner_text().strip()


def wait_for_prediction(page, expected, index=0, timeout=30.0):
    """Wait until answer `index` shows `expected`; an AssertionError naming what it shows if not."""
    try:
        page.wait_for_function(
            """([expected, index]) => {
                const value = document.querySelectorAll('[data-testid="stMetricValue"]')[index];
                return value && value.innerText.trim() === expected;
            }""",
            arg=[expected, index],
            timeout=timeout * 1000,
            polling="raf",
        )
    except Exception:
        raise AssertionError(f"the page shows {prediction(page, index)!r}, expected {expected!r}") from None


def clear_canvas(page, timeout=60.0):
    """Press Clear and wait for the empty canvas's answer ("–")."""
    page.locator(".st-key-canvas_clear button").click()
    wait_for_prediction(page, "–", timeout=timeout)
