"""The invariance explorer on the pages, under AppTest: a chart of the sweep, its inputs, two models."""

import json

import pytest
from conftest import ROOT
from handwriting import paper
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest
from test_app import png_bytes, upload, upload_tab

from lenet.images import transforms


@pytest.fixture
def app(settings, monkeypatch):
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def invariance_charts(app):
    return [e for e in app.get("vega_lite_chart") if "probability of the digit read" in e.proto.spec]


def chart_data(app):
    """The invariance chart's points (one dict per model and amount) and its x-axis titles."""
    (chart,) = invariance_charts(app)
    frames = [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
    points = next(f for f in frames if "model" in f.columns)
    spec = json.loads(chart.proto.spec)
    titles = {layer["encoding"]["x"].get("title") for layer in spec["layer"] if "x" in layer["encoding"]}
    return points.to_dict("records"), titles


def strip_caption(app):
    """The caption of the picture of transformed inputs."""
    return next((i.caption for e in app.get("image") for i in e.proto.imgs if "read at each amount" in i.caption), "")


def captions(app):
    return " ".join(c.value for c in app.caption)


def open_invariance(app, key="upload"):
    app.session_state[f"{key}_tabs"] = "Invariance"  # what clicking the tab does
    return app.run()


def test_the_invariance_tab_charts_a_sweep_of_an_uploaded_drawing(app):
    upload(app, ("three.png", png_bytes(paper("3", size=(200, 240))), "image/png"))
    assert not invariance_charts(app)  # nothing is swept while the tab is closed
    open_invariance(app)
    assert not app.exception
    assert [t.label for t in upload_tab(app).tabs][-1] == "Invariance"
    rows, titles = chart_data(app)
    rotation = transforms.transform("rotation")
    assert [r["amount"] for r in rows] == list(rotation.amounts)
    assert {r["model"] for r in rows} == {"lenet_bn"} and rotation.label in titles
    at_zero = next(r for r in rows if r["amount"] == 0)
    assert at_zero["digit"] == "3" and at_zero["probability"] > 0.5
    assert "lenet_bn reads 3" in captions(app)
    assert strip_caption(app) == "What lenet_bn read at each amount (rotation)."

    picker = next(b for b in app.get("button_group") if "Transformation" in str(b.proto.label))
    picker.set_value("scale").run()
    rows, titles = chart_data(app)
    assert not app.exception and [r["amount"] for r in rows] == list(transforms.transform("scale").amounts)


def test_compare_models_puts_both_curves_on_one_chart(app):
    upload(app, ("three.png", png_bytes(paper("3", size=(200, 240))), "image/png"))
    open_invariance(app)
    app.selectbox(key="upload_inv_compare").set_value("lenet5").run()
    assert not app.exception
    rows, _ = chart_data(app)
    assert {r["model"] for r in rows} == {"lenet_bn", "lenet5"}
    assert "lenet_bn reads 3" in captions(app) and "lenet5 reads" in captions(app)


@pytest.mark.mnist
@pytest.mark.slow
def test_the_gallerys_closer_look_sweeps_a_test_digit(app, mnist):
    _, (_, y_test) = mnist
    app.switch_page("app_pages/gallery.py").run()
    index = int(app.selectbox(key="g_look").value)
    app.session_state["g_look_tabs"] = "Invariance"
    app.run()
    assert not app.exception
    picker = next(b for b in app.get("button_group") if "Transformation" in str(b.proto.label))
    picker.set_value("shift x").run()
    rows, titles = chart_data(app)
    assert [r["amount"] for r in rows] == list(transforms.transform("shift x").amounts)
    assert next(r for r in rows if r["amount"] == 0)["digit"] == str(y_test[index])
    assert "What lenet_bn read at each amount (shift x)." == strip_caption(app)
