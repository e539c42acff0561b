"""Uploaded pictures read once per file content and model version, kept at the size shown."""

import dataclasses

import numpy as np
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app_pages.serving import load_predictor
from lenet.images.files import ImageRefused, open_canvas
from lenet.images.pictures import draw_boxes
from lenet.images.reading import read, read_file

STEP_SIZE = 112  # px each preprocessing step is shown at
UPLOAD_WIDTH = 320  # px an uploaded picture is shown at


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Reading the picture...")
def read_upload(data, model_path, model_version, model_name, _cancelled=None):
    """(picture to show, reading, refusal message) for one uploaded file's bytes, remembered per
    file content and model version for every session. Only what the page shows is kept, at the
    size it is shown: a 12 MP photo would otherwise cost tens of MB as long as it is cached.
    `_cancelled()` says the session went away: a picture still waiting to be decoded is dropped."""
    try:
        reading = read_file(
            data, load_predictor(model_path, model_version, model_name), steps_size=STEP_SIZE, cancelled=_cancelled
        )
    except ImageRefused as refusal:
        return None, None, str(refusal)
    shown = reading.picture.convert("RGB")
    shown.thumbnail((2 * UPLOAD_WIDTH, 2 * UPLOAD_WIDTH))  # still sharp on high-density screens
    scale = shown.width / reading.size[0]
    boxes = [tuple(round(v * scale) for v in d.box) for d in reading.digits]
    picture = np.asarray(draw_boxes(shown, boxes, [d.value for d in reading.digits]))
    return picture, dataclasses.replace(reading, picture=None), None


def read_canvas(canvas, predictor, memory=None):
    """(picture, reading) of the drawing canvas, its bytes through the same gate as uploads
    (`open_canvas`: PNG, the canvas's size) rather than the component's own decoder; a
    refusal is shown in one line and gives (None, None), as an empty canvas does."""
    data = canvas.image_bytes
    if data is None:
        return None, None
    try:
        image = open_canvas(data)
        return image, read(image, predictor, steps_size=STEP_SIZE, memory=memory)
    except ImageRefused as refusal:
        st.error(str(refusal))
        return None, None


def session_gone():
    """A check whether this run's browser session has gone (its tab closed), for work that waits."""
    context = get_script_run_ctx()
    if context is None or not runtime.exists():
        return lambda: False
    server, session_id = runtime.get_instance(), context.session_id
    return lambda: not server.is_active_session(session_id)
