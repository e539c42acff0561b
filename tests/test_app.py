"""The app's pages under Streamlit's AppTest: they load, read uploads, and refuse politely."""

import io

import numpy as np
import pytest
from conftest import ROOT
from handwriting import paper
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from app_pages.state import OWNER
from app_pages.uploads import read_upload
from benchmarks.samples import phone_photo
from lenet.config import Settings
from lenet.images.preprocess import prepare_digits
from lenet.jobs.catalog import Catalog
from lenet.people.collection import Collections

PAGES = ["app_pages/draw.py", "app_pages/train.py", "app_pages/gallery.py", "app_pages/about.py"]
TIMEOUT = 120


@pytest.fixture
def app(settings, monkeypatch):
    monkeypatch.chdir(ROOT)  # pages are named relative to the app, as `streamlit run` sees them
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def upload(app, *files):
    app.file_uploader(key="uploads").set_value(list(files) if len(files) > 1 else files[0])
    return app.run()


def upload_tab(app):
    return next(tab for tab in app.tabs if "Upload" in tab.label)


def shown_text(app):
    parts = [e.value for kind in ("error", "warning", "info", "markdown", "caption") for e in getattr(app, kind)]
    return " ".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_without_exception(app, page):
    app.switch_page(page).run()
    assert not app.exception
    assert app.title[0].value


def test_draw_page_asks_for_a_digit_and_shows_the_active_model(app):
    assert not app.exception
    assert app.metric[0].label == "Prediction" and app.metric[0].value == "–"
    assert "Draw a digit" in shown_text(app)
    assert "test accuracy" in " ".join(c.value for c in app.sidebar.caption)


@pytest.mark.mnist
def test_uploading_a_real_mnist_digit_reads_it(app, mnist):
    _, (x_test, y_test) = mnist
    index = 0  # a 7
    upload(app, ("mnist-test-0.png", png_bytes(Image.fromarray(x_test[index])), "image/png"))
    assert not app.exception
    assert upload_tab(app).metric[0].value == str(y_test[index])


def test_uploading_a_photo_of_a_number_reads_all_digits(app):
    upload(app, ("number.png", png_bytes(paper("305", size=(600, 260))), "image/png"))
    assert not app.exception
    assert upload_tab(app).metric[0].value == "305"


def test_a_phone_photo_is_remembered_only_at_the_size_it_is_shown(app):
    # A 12 MP photo and its full-size first step held 24 MB in every session that uploaded one.
    photo = phone_photo()
    upload(app, ("photo.jpg", photo, "image/jpeg"))
    assert upload_tab(app).metric[0].value == "7"
    info = Catalog(Settings.from_env()).active()
    shown, reading, refusal = read_upload(photo, str(info.path), info.version, info.name)  # from the page's cache
    assert refusal is None and max(shown.shape[:2]) <= 640
    steps = reading.steps + reading.digits[0].steps
    assert len(steps) == 7 and all(step.image.shape[:2] == (112, 112) for step in steps)
    assert reading.digits[0].input.shape == (28, 28) and max(reading.digits[0].crop.shape) <= 160


def test_a_blank_upload_says_no_digit(app):
    upload(app, ("blank.png", png_bytes(Image.new("RGB", (300, 300), "white")), "image/png"))
    assert not app.exception
    assert "no digit" in shown_text(app)


@pytest.mark.parametrize(
    "name,data",
    [("notes.png", b"not an image at all"), ("page.jpg", b"<!doctype html><html></html>"), ("empty.png", b"")],
)
def test_a_hostile_upload_gets_a_message_not_an_exception(app, name, data):
    upload(app, (name, data, "image/png"))
    assert not app.exception
    assert name in app.error[0].value


def test_many_uploads_make_a_table_with_messages_and_a_csv(app):
    files = [
        ("three.png", png_bytes(paper("3", size=(200, 240))), "image/png"),
        ("blank.png", png_bytes(Image.new("L", (100, 100), 255)), "image/png"),
        ("broken.png", b"\x89PNG\r\n\x1a\n broken", "image/png"),
    ]
    upload(app, *files)
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["file"]) == ["three.png", "blank.png", "broken.png"]
    assert list(table["digits"]) == ["3", "", ""]
    assert "no digit" in table["message"][1] and "corrupt" in table["message"][2]
    assert any("broken.png" in w.value for w in app.warning)


def test_a_wrong_answer_is_corrected_and_kept_in_the_sessions_collection(app):
    upload(app, ("mine.png", png_bytes(paper("1", size=(200, 240))), "image/png"))
    tab = upload_tab(app)
    choice = next(c for c in tab.get("button_group") if "Wrong? It is a" in str(c.proto.label))
    assert not app.exception
    app.sidebar.text_input(key="whose_digits").input("Ana").run()
    choice.set_value(7).run()  # say it is a 7, say, as a continental writer would
    next(b for b in upload_tab(app).button if b.label == "Keep this digit").click().run()
    assert not app.exception
    kept = Collections(Settings.from_env().collections_dir, app.session_state[OWNER]).get("Ana")
    assert kept.counts()[7] == 1 and len(list((kept.folder / ".crops").glob("*.png"))) == 1


def a_hash_sign():
    """A # drawn on paper: no digit, and read as none by the shipped model."""
    picture = Image.new("RGB", (240, 240), (235, 232, 225))
    pen = ImageDraw.Draw(picture)
    for v in (70, 120, 170):
        pen.line([(v, 30), (v, 210)], fill=(25, 25, 30), width=10)
        pen.line([(30, v), (210, v)], fill=(25, 25, 30), width=10)
    return picture


def test_not_a_digit_offers_no_answer_to_keep_until_the_person_picks_one(app):
    upload(app, ("hash.png", png_bytes(a_hash_sign()), "image/png"))
    assert not app.exception
    assert "Not a digit" in " ".join(m.value for m in upload_tab(app).get("metric"))
    choice = next(c for c in upload_tab(app).get("button_group") if "It is a" in str(c.proto.label))
    assert "Wrong?" not in str(choice.proto.label) and choice.value is None  # not the argmax, 0
    app.sidebar.text_input(key="whose_digits").input("Ana").run()
    next(b for b in upload_tab(app).button if b.label == "Keep this digit").click().run()
    assert any("Pick the digit it is" in w.value for w in app.warning)
    kept = Collections(Settings.from_env().collections_dir, app.session_state[OWNER]).get("Ana")
    assert sum(kept.counts().values()) == 0
    choice = next(c for c in upload_tab(app).get("button_group") if "It is a" in str(c.proto.label))
    choice.set_value(4).run()
    next(b for b in upload_tab(app).button if b.label == "Keep this digit").click().run()
    assert not app.exception and kept.counts()[4] == 1


def test_your_digits_shows_a_collection_and_refuses_to_teach_too_few(app):
    collection = Collections(Settings.from_env().collections_dir, app.session_state[OWNER]).get("my digits")
    prepared = prepare_digits(np.asarray(paper("4", size=(200, 240))))[1][0]
    for _ in range(3):
        collection.add(4, prepared.input, prepared.crop)
    app.switch_page("app_pages/digits.py").run()
    assert not app.exception
    assert "**4** · 3 kept" in shown_text(app)
    assert "at least 5 are needed" in shown_text(app)
    assert app.dataframe[0].value["mistakes"].notna().all()  # how each model reads them


def test_about_page_puts_the_papers_lenet5_beside_ours(app):
    app.switch_page("app_pages/about.py").run()
    assert not app.exception
    table = next(frame.value for frame in app.dataframe if "connections" in frame.value)
    rows = table.set_index("network")
    assert rows.loc["LeNet-5 in the paper", "test error"] == "0.95%"
    assert rows.loc["lenet5_1998", "parameters"] == rows.loc["LeNet-5 in the paper", "parameters"] == "60,000"
    assert rows.loc["lenet5_1998", "connections"] == "340,908"


def test_the_model_card_counts_a_second_cycle_with_the_first():
    from types import SimpleNamespace

    from app_pages.about import card_rows

    first = {"name": "lenet_bn", "epochs_run": 45, "train_seconds": 4383.1}
    card = {"architecture": "lenet_bn", "epochs_run": 3, "train_seconds": 107.8, "started_from": first}
    rows = card_rows(SimpleNamespace(name="lenet_bn", shipped=True, metadata=card))
    assert rows["epochs"] == "45 + 3 (a second cycle from lenet_bn)"
    assert rows["training time"] == "4491 s"
    assert card_rows(SimpleNamespace(name="x", shipped=False, metadata={"epochs_run": 3}))["epochs"] == 3
