"""Two app replicas over one data folder behind nginx (`scripts/serve.py --replicas 2`), in
headless Chromium: each browser stays on its replica, and what one replica does (a kept digit,
an activation, a training run, a broken file) is what the other one shows."""

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request

import pytest
from appserver import CANVAS_BOX, chromium, clear_canvas, draw_strokes, free_port, wait_for_prediction
from conftest import ROOT, skip_or_fail, wait_for
from handwriting import paper, strokes_in_box

from lenet.config import Settings
from lenet.jobs.catalog import Catalog
from lenet.jobs.runs import RunStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 120_000  # generous: two replicas, a training job and Chromium share the machine
SHARED = "lenet5-shared"  # a second version to activate: the shipped LeNet-5 under a trained version's name


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """`scripts/serve.py --replicas 2` over a fresh data folder: (proxy URL, its `Settings`)."""
    if not shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin"):
        skip_or_fail("nginx is not installed (Debian/Ubuntu: apt-get install nginx)")
    folder = tmp_path_factory.mktemp("replicas")
    settings = dataclasses.replace(Settings.from_env(), data_dir=folder / "data", runs_db=None)
    settings.trained_dir.mkdir(parents=True)
    shipped = Catalog(settings).find("lenet5").path
    for suffix in (".keras", ".json"):  # the file and its card
        shutil.copy(shipped.with_suffix(suffix), settings.trained_dir / f"{SHARED}{suffix}")
    port = free_port()
    # Training open to all; without the real writers' sets a finished run is not also read on them (a minute).
    unset = ("LENET_TRAINING", "LENET_TRAINING_PASSWORD", "LENET_RUNS_DB", "HANDWRITING_DIR")
    env = {**{k: v for k, v in os.environ.items() if k not in unset}, "LENET_DATA_DIR": str(settings.data_dir)}
    log = open(folder / "serve.log", "w")
    command = [sys.executable, "scripts/serve.py", "--replicas", "2", "--port", str(port), "--address", "127.0.0.1"]
    command += ["--work-dir", str(folder / "serve")]  # the replicas' logs stay for a look after a failure
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or healthy(url), timeout=240, what="the proxy and its replicas")
        assert process.poll() is None, (folder / "serve.log").read_text()
        yield url, settings
    finally:
        process.send_signal(signal.SIGTERM)  # as Ctrl-C: serve.py stops nginx and both replicas
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def healthy(url):
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def visit(browser, url, replica=None, path="", cookies=()):
    """A new browser (pinned to `replica` by its cookie, else drawn by nginx) on `path`:
    (page, the replica's address that served it)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    pin = [{"name": "lenet_replica", "value": replica, "url": url}] if replica else []
    context.add_cookies([*pin, *cookies])
    page = context.new_page()
    served_by = page.goto(f"{url}/{path}", timeout=WAIT_MS).headers["x-replica"]
    return page, served_by


def pin_of(page):
    """The replica nginx named in this page's browser's `lenet_replica` cookie: r1, r2."""
    return next(c["value"] for c in page.context.cookies() if c["name"] == "lenet_replica")


def replica_of(page):
    """The replica this page's browser reaches now (nginx's X-Replica on a request of its own)."""
    return page.evaluate("async () => (await fetch('/_stcore/health')).headers.get('X-Replica')")


def draw(page, digit):
    """Draw `digit` and return what the page reads. The page answers after each stroke, so an early
    answer (the first stroke of a 7 reads as a 1) is not taken for the drawing's: it waits for the
    digit drawn, then, where the model reads another, for any answer."""
    page.locator("canvas.upper-canvas").first.wait_for(timeout=WAIT_MS)
    draw_strokes(page, strokes_in_box(digit, CANVAS_BOX))
    try:
        wait_for_prediction(page, str(digit))
    except AssertionError:
        pass  # the model reads another digit: that answer is the drawing's
    page.wait_for_function("() => document.body.innerText.includes('Read by')", timeout=WAIT_MS)
    return page.locator('[data-testid="stMetricValue"]').first.inner_text().strip()


def read_by(page):
    return re.findall(r"Read by ([\w.-]+)\.", page.locator("body").inner_text())


def name_collection(page, name):
    field = page.get_by_role("textbox", name="Whose digits")
    field.fill(name)
    field.press("Enter")
    page.wait_for_timeout(1500)  # the page reruns with the name


@pytest.fixture(scope="module")
def draw_pages(installation, browser):
    """A Draw page on each replica, open for the whole module: {replica address: page}."""
    url, _ = installation
    first, first_replica = visit(browser, url)  # no cookie: nginx draws a replica and names it in one
    drawn = pin_of(first)
    second, second_replica = visit(browser, url, replica="r2" if drawn == "r1" else "r1")
    pages = {first_replica: first, second_replica: second}
    for page in pages.values():
        page.get_by_text("Draw a digit on the black square").wait_for(timeout=WAIT_MS)
    return pages


def test_digits_kept_in_sessions_on_two_replicas_all_land(installation, draw_pages, browser, tmp_path):
    url, settings = installation
    assert len(draw_pages) == 2, f"both browsers reached one replica: {list(draw_pages)}"
    assert {replica: replica_of(page) for replica, page in draw_pages.items()} == {r: r for r in draw_pages}
    kept = {}
    for (replica, page), (name, digit) in zip(draw_pages.items(), [("Ana", 7), ("Ben", 4)]):
        name_collection(page, name)
        read = draw(page, digit)
        page.get_by_role("button", name="Keep this digit").click()
        page.get_by_text(f"Kept as a {read} in “{name}”").first.wait_for(timeout=WAIT_MS)
        kept[name] = (replica, read)
    page.screenshot(path=str(tmp_path / "draw-through-the-proxy.png"))
    # Both digits are in the one data folder, each in its own visitor's collection.
    landed = {p.parent.name for p in settings.collections_dir.rglob("[0-9]/*.png")}
    assert landed == {read for _, read in kept.values()}
    assert len({p.parents[2].name for p in settings.collections_dir.rglob("[0-9]/*.png")}) == 2  # two owners
    # Ana, on the other replica with her signed owner cookie, still has her digits: the key is shared.
    ana_page = next(iter(draw_pages.values()))
    owner = next(c for c in ana_page.context.cookies() if c["name"] == "lenet_owner")
    other = "r2" if pin_of(ana_page) == "r1" else "r1"
    page, served_by = visit(browser, url, replica=other, path="digits", cookies=[owner])
    assert served_by != kept["Ana"][0]
    page.get_by_role("combobox", name="Collection").click()
    assert "Ana" in page.get_by_role("option").all_inner_texts()
    page.context.close()


def test_an_upload_on_each_replica_is_read_and_its_pictures_shown(installation, draw_pages, browser, tmp_path):
    # The file goes up over HTTP, apart from the websocket, and the pictures come back from the
    # replica's /media: both must reach the replica that holds the session.
    url, _ = installation
    path = tmp_path / "photo-of-38.png"
    paper("38", size=(500, 260)).save(path)
    for replica in draw_pages:
        page, served_by = visit(browser, url, replica=pin_of(draw_pages[replica]))
        assert served_by == replica
        page.get_by_role("tab", name="Upload").click(timeout=WAIT_MS)
        page.locator('input[type="file"]').set_input_files(str(path))
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
                       .some(v => v.innerText.trim() === '38')""",
            timeout=WAIT_MS,
        )
        page.wait_for_function(
            "() => [...document.querySelectorAll('img')].some(i => i.src.includes('/media/') && i.naturalWidth > 0)",
            timeout=WAIT_MS,
        )
        page.context.close()


def test_an_activation_on_one_replica_reads_the_next_stroke_on_the_other(installation, draw_pages, browser):
    url, settings = installation
    (here, draw_here), (there, draw_there) = draw_pages.items()
    for page in draw_pages.values():
        clear_canvas(page, timeout=WAIT_MS / 1000)
        assert draw(page, 7) == "7" and read_by(page)[:1] == [settings.default_model]
    # A finished run whose model is the second version, activated on the Train page of one replica.
    store = RunStore.of(settings)
    run_id = store.create_run({"architecture": "lenet5", "epochs": 1})
    store.update(run_id, status="finished", model_name=SHARED)
    train, served_by = visit(browser, url, replica=pin_of(draw_here), path="train")
    assert served_by == here
    train.get_by_role("button", name="Activate", exact=True).click(timeout=WAIT_MS)
    train.get_by_text("Active: serving the Draw page").wait_for(timeout=WAIT_MS)
    assert Catalog(settings).active_name() == SHARED
    # The open Draw page on the other replica reads its next stroke with it, without a reload.
    loaded = draw_there.evaluate("performance.timeOrigin")
    clear_canvas(draw_there, timeout=WAIT_MS / 1000)
    draw_there.get_by_text("Draw a digit on the black square").wait_for(timeout=WAIT_MS)
    assert draw(draw_there, 7) == "7"
    assert read_by(draw_there)[:1] == [SHARED]
    assert draw_there.evaluate("performance.timeOrigin") == loaded
    train.context.close()


@pytest.mark.mnist
def test_a_run_started_on_one_replica_is_watched_live_on_the_other(installation, draw_pages, browser, mnist, tmp_path):
    url, settings = installation
    here, there = draw_pages
    pins = {replica: pin_of(page) for replica, page in draw_pages.items()}
    starter, served_by = visit(browser, url, replica=pins[here], path="train")
    assert served_by == here
    sidebar = starter.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Start from").click(timeout=WAIT_MS)
    starter.get_by_role("option", name=re.compile("Quick demo")).click()
    starter.wait_for_timeout(1000)
    starter.get_by_text("Activate when done").click()  # a demo run need not replace what serves
    starter.wait_for_timeout(500)
    starter.get_by_role("button", name="Start", exact=True).click()
    run = wait_for(lambda: RunStore.of(settings).active_run(), timeout=60, what="the run to be recorded")
    # The other replica's Train page, opened while the job runs, follows it to its end.
    watcher, served_by = visit(browser, url, replica=pins[there], path="train")
    assert served_by == there
    loaded = watcher.evaluate("performance.timeOrigin")
    running = re.compile(rf"Run {run.id}: lenet5, (queued|running)")
    watcher.get_by_text(running).wait_for(timeout=WAIT_MS)
    watcher.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 2"
        " && /epoch \\d+ of 3/.test(document.body.innerText)",
        timeout=WAIT_MS,
    )
    watcher.screenshot(path=str(tmp_path / "train-watched-on-the-other-replica.png"))
    finished = re.compile(rf"Run {run.id} finished: [\d.]+% on MNIST")
    watcher.get_by_text(finished).wait_for(timeout=4 * WAIT_MS)
    assert watcher.evaluate("performance.timeOrigin") == loaded  # followed live, not reloaded
    starter.get_by_text(finished).wait_for(timeout=WAIT_MS)
    assert RunStore.of(settings).run(run.id).status.value == "finished"
    starter.context.close()
    watcher.context.close()


def shown(page, words):
    """The text of the first alert (st.warning, st.error...) that contains `words`, once it is there."""
    alert = page.locator('[data-testid^="stAlertContent"]').filter(has_text=words).first
    alert.wait_for(timeout=WAIT_MS)
    return alert.inner_text().strip()


def test_a_broken_model_file_and_database_read_the_same_on_both_replicas(installation, draw_pages, browser, tmp_path):
    url, settings = installation
    Catalog(settings).activate(SHARED)
    wait_for(lambda: RunStore.of(settings).active_run() is None, what="no run in progress")
    (settings.trained_dir / f"{SHARED}.keras").write_bytes(b"not a Keras file " * 64)
    settings.runs_path.write_bytes(b"not a database " * 512)
    pins = {replica: pin_of(page) for replica, page in draw_pages.items()}
    model_warnings, database_errors = {}, {}
    for replica, pin in pins.items():
        page, served_by = visit(browser, url, replica=pin)
        assert served_by == replica
        model_warnings[replica] = shown(page, "can't be loaded")
        assert draw(page, 7) == "7" and read_by(page)[:1] == [settings.default_model]  # the fallback reads
        page.screenshot(path=str(tmp_path / f"broken-model-{pin}.png"))
        page.goto(f"{url}/train", timeout=WAIT_MS)
        database_errors[replica] = shown(page, "can't be read")
        page.context.close()
    (first, *_), (second, *_) = model_warnings.values(), database_errors.values()
    assert len(set(model_warnings.values())) == 1, model_warnings
    assert first.startswith(f"{SHARED} can't be loaded") and f"Serving {settings.default_model} instead" in first
    assert len(set(database_errors.values())) == 1, database_errors
    assert "runs database runs.sqlite can't be read" in second and "move the file aside" in second
