"""Draw & Upload: draw digits or upload pictures of them and watch the network read them."""

import base64
import hashlib
import io

import pandas as pd
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from app_pages import panels, serving, state, uploads
from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH
from lenet.images.files import EXTENSIONS
from lenet.images.pictures import draw_boxes


def remember_threshold():
    # Widgets' own state is dropped on pages that don't show them; keep the value for the Gallery.
    st.session_state[state.THRESHOLD] = st.session_state["threshold_slider"]


def reading_settings():
    with st.sidebar:
        st.markdown("### Reading")
        st.slider(
            "Not sure below",
            0.0,
            1.0,
            state.threshold(),
            0.05,
            key="threshold_slider",
            on_change=remember_threshold,
            help="Answers whose top probability is lower are marked 'not sure'.",
        )


CANVAS_START = "canvas_start"  # the drawing the canvas is (re)loaded with: Undo and Clear set it
CANVAS_NOW = "canvas_now"  # the canvas's drawing as last sent, strokes in order


def _reload_canvas(objects):
    # A changed initial drawing makes the canvas redraw and send itself back; the count keeps
    # two clears in a row apart (the same drawing twice would not reload).
    count = (st.session_state.get(CANVAS_START) or {}).get("reloads", 0) + 1
    st.session_state[CANVAS_START] = {"objects": objects, "reloads": count}


def _undo():
    drawing = st.session_state.get(CANVAS_NOW) or {}
    _reload_canvas(list(drawing.get("objects", []))[:-1])


def _clear():
    _reload_canvas([])


@st.fragment
def draw_section():
    # The model is looked up at every stroke, not taken from the last full page run, so a
    # newly activated version answers the very next drawing. A timer that re-read the shown
    # answer as soon as a version went live (a fragment with `run_every`) was tried and
    # dropped: under load its ticks were merged with the canvas's own updates and a stroke was
    # lost (20 sessions on 2 cores: a drawn 9 never answered). A lost stroke is worse than an
    # answer that says, truthfully, which model read it.
    info, model_predictor, _ = serving.serving()
    if model_predictor is None:
        st.error("No model can be loaded to read with right now.")
        return
    canvas_column, result_column = st.columns([1, 1.4], gap="large")
    with canvas_column:
        # The canvas first, its controls under it in plain view (the component's own toolbar
        # shows only on hover and then covers what is under the canvas).
        canvas_slot = st.container()
        undo, clear = st.columns(2)
        undo.button("Undo", icon=":material/undo:", key="canvas_undo", on_click=_undo, width="stretch")
        clear.button("Clear", icon=":material/delete:", key="canvas_clear", on_click=_clear, width="stretch")
        brush = st.slider("Brush size", 5, 40, DEFAULT_BRUSH, key="brush")
        st.caption("White ink on black, like MNIST. Write several digits side by side to make a number.")
        with canvas_slot:
            canvas = st_canvas(
                stroke_width=brush,
                stroke_color="#FFFFFF",
                background_color="#000000",
                width=CANVAS_SIZE,
                height=CANVAS_SIZE,
                drawing_mode="freedraw",
                initial_drawing=st.session_state.get(CANVAS_START),
                return_image_data=True,
                update_streamlit=True,
                key="canvas",
            )
        st.session_state[CANVAS_NOW] = canvas.json_data
    with result_column:
        memory = panels.session_memory(model_predictor, info.version)
        image, reading = uploads.read_canvas(canvas, model_predictor, memory)  # the uploads' gate, not the component's
        if not reading or not reading.digits:
            st.metric("Prediction", "–")
            st.info("Draw a digit on the black square.")
            return
        panels.prediction_metric(reading, state.threshold(), model_predictor.name)
        if len(reading.digits) > 1:
            st.image(
                draw_boxes(Image.fromarray(image), [d.box for d in reading.digits], [d.value for d in reading.digits]),
                caption=f"{len(reading.digits)} digits read left to right",
                width=CANVAS_SIZE,
            )
        panels.result_panel(model_predictor, reading, key="draw")


def read_uploaded(upload, info):
    return uploads.read_upload(
        upload.getvalue(), str(info.path), info.version, info.name, _cancelled=uploads.session_gone()
    )


def upload_section(info):
    uploads = st.file_uploader(
        "Upload pictures of digits (PNG, JPEG, GIF, BMP, WebP, TIFF)",
        type=list(EXTENSIONS),
        accept_multiple_files=True,
        key="uploads",
        help="A photo of digits written on paper works: the app removes the paper and reads each digit.",
    )
    if not uploads:
        st.info("Upload one picture to see every step, or many to get a table.")
        return
    if len(uploads) == 1:
        single_upload(uploads[0], info)
    else:
        many_uploads(uploads, info)


def single_upload(upload, info):
    shown, reading, refusal = read_uploaded(upload, info)
    if refusal:
        st.error(f"**{upload.name}**: {refusal}")
        return
    picture, result = st.columns([1, 1.4], gap="large")
    with picture:
        st.image(shown, caption=upload.name, width=uploads.UPLOAD_WIDTH)
    with result:
        if not reading.digits:
            st.metric("Prediction", "–")
            st.info(f"**{upload.name}**: no digit found in this picture.")
            return
        panels.prediction_metric(reading, state.threshold(), info.name)
        panels.result_panel(serving.predictor(info), reading, key="upload")


def many_uploads(uploads, info):
    rows, seen = [], set()
    for upload in uploads:
        content = hashlib.sha256(upload.getvalue()).hexdigest()
        if content in seen:  # the same file uploaded again: read and listed once
            continue
        seen.add(content)
        shown, reading, refusal = read_uploaded(upload, info)
        found = reading is not None and reading.digits
        rows.append(
            {
                "file": upload.name,
                "digits": reading.text if reading else "",
                "confidence": round(reading.confidence, 4) if found else None,
                "thumbnail": _thumbnail(shown) if shown is not None else None,
                "message": refusal or ("" if found else "no digit found"),
            }
        )
    table = pd.DataFrame(rows)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
            "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.2f"),
        },
    )
    refused = table[table["message"].str.len() > 0]
    for row in refused.itertuples():
        st.warning(f"**{row.file}**: {row.message}")
    csv = table.drop(columns=["thumbnail"]).to_csv(index=False).encode()
    st.download_button("Download as CSV", csv, file_name="digits.csv", mime="text/csv", key="download_csv")


def _thumbnail(image):
    small = Image.fromarray(image)
    small.thumbnail((64, 64))
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


st.title("Draw & Upload")
st.html(panels.BIG_ANSWERS)
reading_settings()
panels.whose_digits()
served, _, _ = serving.serving()
if served is None:
    st.error("There is no model to read with: the models/ folder is empty. Train one with `python scripts/train.py`.")
    st.stop()
draw_tab, upload_tab = st.tabs([":material/draw: Draw", ":material/upload: Upload"])
with draw_tab:
    draw_section()
with upload_tab:
    upload_section(served)
