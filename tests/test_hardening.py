"""Hostile files through the real upload page, server settings, and where models may come from."""

import ctypes
import gc
import io
import tracemalloc

import pytest
import tomllib
from conftest import ROOT
from handwriting import paper
from hostile import (
    ERROR,
    blank_pictures_zip,
    canvas_dots,
    canvas_drawing,
    encode,
    forged_canvases,
    lying_zip,
    make_corpus,
    zip_of,
)
from streamlit.testing.v1 import AppTest

from app_pages.uploads import read_canvas
from lenet.config import CANVAS_SIZE, MAX_FILE_BYTES, Settings
from lenet.images.files import ImageRefused, open_canvas
from lenet.jobs.catalog import Catalog
from lenet.people import collection as collection_module
from lenet.people.collection import Collections


def rss_mb():
    """Resident memory after handing freed heap back to the system (glibc keeps it otherwise)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture
def app(settings, monkeypatch):
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()


def upload_one(app, path):
    app.file_uploader(key="uploads").set_value((path.name, path.read_bytes(), "application/octet-stream")).run()


def upload_tab(app):
    return next(tab for tab in app.tabs if "Upload" in tab.label)


def check_answer(app, path, expected):
    assert not app.exception, (path.name, app.exception)
    messages = " ".join(e.value for e in app.error) + " ".join(i.value for i in app.info)
    if expected == ERROR:
        assert app.error and path.name in app.error[0].value, path.name
    elif expected == "":
        assert "no digit" in messages, path.name
    elif expected is not None:
        assert upload_tab(app).metric[0].value == expected, path.name


@pytest.mark.slow
def test_every_hostile_file_gets_a_message_and_the_app_keeps_serving(app, tmp_path):
    corpus = make_corpus(tmp_path)
    assert len(corpus) >= 50
    footprints = []
    for _ in range(3):  # the first round warms caches and code paths; later ones must not grow
        for path, expected in corpus:
            upload_one(app, path)
            check_answer(app, path, expected)
        app.file_uploader(key="uploads").set_value(None).run()
        footprints.append(rss_mb())
    grown = footprints[-1] - footprints[0]
    print(
        f"\n{len(corpus)} files, three rounds; resident memory after each: "
        + ", ".join(f"{m:.0f}" for m in footprints)
        + " MB"
    )
    assert grown < 64
    good = io.BytesIO()
    paper("42", size=(400, 240)).save(good, "PNG")
    app.file_uploader(key="uploads").set_value(("after.png", good.getvalue(), "image/png")).run()
    assert upload_tab(app).metric[0].value == "42"


def test_a_keras_model_uploaded_as_a_picture_is_refused_not_loaded(app):
    model_bytes = (ROOT / "models" / "lenet5.keras").read_bytes()
    app.file_uploader(key="uploads").set_value(("lenet5.png", model_bytes, "image/png")).run()
    assert not app.exception
    assert "zip archive, not an image" in app.error[0].value


def test_server_settings_fit_a_public_digit_app():
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = settings["server"]
    assert server["maxUploadSize"] * 2**20 == MAX_FILE_BYTES  # the server refuses what the reader would
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True  # Streamlit's CORS protection on: no cross-origin access
    assert settings["browser"]["gatherUsageStats"] is False
    assert settings["client"]["showErrorDetails"] == "none"  # no tracebacks shown to strangers


def test_models_come_only_from_the_model_folders(settings, tmp_path):
    models = Catalog(settings)
    outside = tmp_path / "evil.keras"
    outside.write_bytes((ROOT / "models" / "lenet5.keras").read_bytes())
    for name in ("evil", str(outside), "../evil", "../../models/lenet5", "/etc/passwd"):
        assert models.find(name) is None
        with pytest.raises(ValueError):
            models.activate(name)
        with pytest.raises(ValueError):
            models.delete(name)
    settings.data_dir.mkdir()
    settings.active_file.write_text('{"name": "../evil"}')
    assert models.active().name == Settings().default_model
    names = {m.name for m in models.models()}
    assert "evil" not in names and {"lenet5", "lenet_bn"} <= names
    assert all(models.contains(m.path) for m in models.models())
    with pytest.raises(ValueError, match="shipped"):
        models.delete("lenet_bn")


# ---------------------------------------------------------------------------- the canvas and zips


@pytest.mark.parametrize(("name", "data"), forged_canvases(), ids=[name for name, _ in forged_canvases()])
def test_a_forged_canvas_image_is_refused_in_one_line(name, data):
    with pytest.raises(ImageRefused) as refused:
        open_canvas(data)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 160


def test_the_canvas_image_is_read_at_the_canvas_size_from_any_screen_density():
    for side in (CANVAS_SIZE, 2 * CANVAS_SIZE, int(2.625 * CANVAS_SIZE)):
        pixels = open_canvas(encode(canvas_drawing(side), "PNG"))
        assert pixels.shape == (CANVAS_SIZE, CANVAS_SIZE, 4) and pixels[..., 0].max() == 255


class Canvas:  # what st_canvas returns, as far as the page reads it
    def __init__(self, data):
        self.image_bytes = data


def test_the_draw_page_reads_the_canvas_through_the_gate(default_predictor):
    image, reading = read_canvas(Canvas(encode(canvas_drawing(), "PNG")), default_predictor)
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE, 4) and reading.text == "7"
    assert read_canvas(Canvas(canvas_dots()), default_predictor) == (None, None)  # thousands of marks: one line
    assert read_canvas(Canvas(forged_canvases()[0][1]), default_predictor) == (None, None)
    assert read_canvas(Canvas(None), default_predictor) == (None, None)  # nothing drawn yet


def traced_peak_mb(work):
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_a_zip_whose_header_lies_about_a_size_is_stopped_without_inflating_it(tmp_path):
    mine = Collections(tmp_path, "1" * 16).get("mine")
    archive = lying_zip(declared=1000, actual=50 * 2**20)
    (added, skipped), peak_mb = traced_peak_mb(lambda: mine.add_zip(archive))
    assert added == 0 and len(skipped) == 1 and "lies.png" in skipped[0], skipped
    assert peak_mb < 8, peak_mb  # it once inflated the whole 50 MB (500 MB: 1 GB of server memory)


def test_a_zip_of_large_blank_pictures_stops_at_its_pixel_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(collection_module, "MAX_ZIP_PIXELS", 100_000_000)  # two 39.7 MP pictures, not ten
    unpacked, decoded = counted(monkeypatch, "_unpacked"), counted(monkeypatch, "digit_in")
    mine = Collections(tmp_path, "2" * 16).get("mine")
    added, skipped = mine.add_zip(blank_pictures_zip(300))
    assert added == 0 and "megapixels together" in skipped[-1] and len(skipped) == 3
    # All 300 were once unpacked and decoded: minutes of a core. Now the third's header stops it.
    assert (len(unpacked), len(decoded)) == (3, 2), (len(unpacked), len(decoded))


def counted(monkeypatch, name):
    """The calls of `collection_module.NAME` from now on, as a list that grows."""
    calls, real = [], getattr(collection_module, name)
    monkeypatch.setattr(collection_module, name, lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_a_zip_stops_when_its_uploader_has_gone(tmp_path):
    mine = Collections(tmp_path, "3" * 16).get("mine")
    seven = encode(canvas_drawing(mode="L"), "PNG")
    added, skipped = mine.add_zip(zip_of({f"7/{i}.png": seven for i in range(50)}), cancelled=lambda: True)
    assert added == 0 and skipped == ["the rest (50 files): not read, the page was closed."]
