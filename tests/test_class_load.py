"""The class-load benchmark's client (`benchmarks/class_load.py`) against the real app: it speaks
Streamlit's websocket protocol as the browser does, so a Streamlit upgrade that changes the
protocol fails here rather than making the benchmark report nonsense."""

import asyncio

import numpy as np
import pytest
from appserver import running_app
from handwriting import STROKES

from benchmarks.class_load import Session, canvas_messages

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("class-load") / "data") as url:
        yield url


def strokes_of(digit):
    return [np.asarray(stroke, np.float64) for stroke in STROKES[digit]]


def test_the_protocol_client_draws_digits_and_gets_the_answers_a_browser_gets(url):
    async def draw_two():
        session = Session(url)
        await session.open()
        assert session.canvas_id.endswith("-canvas") and session.fragment_id
        runs = []
        for digit in (7, 4):
            for value in canvas_messages(strokes_of(digit)):
                runs.append(await session.rerun(value))
        await session.close()
        return runs

    runs = asyncio.run(draw_two())
    assert not [run.error for run in runs if run.error]
    assert all(run.answer is not None and run.finished >= run.answer >= run.sent for run in runs)
    assert runs[len(canvas_messages(strokes_of(7))) - 1].text == "7" and runs[-1].text == "4"
    # Only the open tab (the probabilities, a chart) is drawn: no pictures of the closed ones.
    assert not [picture for run in runs for picture in run.pictures]


def test_a_visitor_on_the_network_tab_gets_its_pictures_with_every_stroke(url):
    async def draw_twice():
        session = Session(url, tab="Inside the network")
        await session.open()
        value = canvas_messages(strokes_of(7))[-1]
        first = await session.rerun(value)  # the tabs appear with the first answer
        assert session.tabs_id and session.tabs_id.endswith("-draw_tabs")
        second = await session.rerun(value)
        await session.close()
        return first, second

    first, second = asyncio.run(draw_twice())
    assert not first.error and not second.error and second.text == "7"
    assert not first.pictures
    # The saliency and one picture per convolution stage's feature maps.
    assert len(second.pictures) >= 3 and all(p.startswith("/media/") for p in second.pictures)
