"""Hostile files through the real upload page, server settings, and where models may come from."""

import ctypes
import gc
import io

import pytest
import tomllib
from conftest import ROOT
from handwriting import paper
from hostile import ERROR, make_corpus
from streamlit.testing.v1 import AppTest

from lenet.config import MAX_FILE_BYTES, Settings
from lenet.jobs.catalog import Catalog


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
