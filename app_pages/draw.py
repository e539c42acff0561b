"""Draw & Upload: draw digits or upload pictures of them and watch the network read them."""

import base64
import io

import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from app_pages import common
from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH
from lenet.explain import draw_boxes, with_thumbnail_steps
from lenet.imagefile import EXTENSIONS, ImageRefused, open_image
from lenet.reading import as_text, overall_confidence, read_digits

UPLOAD_WIDTH = 320  # px an uploaded picture is shown at


def remember_threshold():
    # Widgets' own state is dropped on pages that don't show them; keep the value for the Gallery.
    st.session_state["threshold"] = st.session_state["threshold_slider"]


def reading_settings():
    with st.sidebar:
        st.markdown("### Reading")
        st.slider("Not sure below", 0.0, 1.0, common.threshold(), 0.05, key="threshold_slider",
                  on_change=remember_threshold, help="Answers whose top probability is lower are marked 'not sure'.")


@st.fragment
def draw_section(model_predictor):
    canvas_column, result_column = st.columns([1, 1.4], gap="large")
    with canvas_column:
        brush = st.slider("Brush size", 5, 40, DEFAULT_BRUSH, key="brush")
        canvas = st_canvas(
            stroke_width=brush, stroke_color="#FFFFFF", background_color="#000000",
            width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
            return_image_data=True, update_streamlit=True, key="canvas",
        )
        st.caption("White ink on black, like MNIST. Undo, redo and clear are in the canvas toolbar. "
                   "Write several digits side by side to make a number.")
    with result_column:
        image = canvas.image_data
        readings = read_digits(image, model_predictor) if image is not None else []
        if not readings:
            st.metric("Prediction", "–")
            st.info("Draw a digit on the black square.")
            return
        common.prediction_metric(readings, common.threshold(), model_predictor.name)
        if len(readings) > 1:
            st.image(draw_boxes(_rgb(image), [r.box for r in readings], [r.digit for r in readings]),
                     caption=f"{len(readings)} digits read left to right", width=CANVAS_SIZE)
        common.result_panel(model_predictor, readings, key="draw")


def _rgb(canvas_rgba):
    from PIL import Image

    return Image.fromarray(canvas_rgba).convert("RGB")


def read_upload(upload, model_predictor):
    """(picture to show, readings, refusal message) for one uploaded file; remembered per file
    and model. Only what the page shows is remembered, at the size it is shown: a 12 MP photo
    and its full-size first step would otherwise hold 24 MB for as long as the session lives."""
    cache = st.session_state.setdefault("upload_results", {})
    key = (upload.file_id, id(model_predictor))
    if key not in cache:
        try:
            image = open_image(upload.getvalue())
        except ImageRefused as refusal:
            cache[key] = (None, [], str(refusal))
        else:
            readings = read_digits(image, model_predictor)
            shown = image.convert("RGB")
            shown.thumbnail((2 * UPLOAD_WIDTH, 2 * UPLOAD_WIDTH))  # still sharp on high-density screens
            scale = shown.width / image.width
            boxes = [tuple(round(v * scale) for v in r.box) for r in readings]
            shown = draw_boxes(shown, boxes, [r.digit for r in readings])
            cache[key] = (shown, with_thumbnail_steps(readings), None)
    return cache[key]


def forget_other_uploads(uploads, model_predictor):
    # Only the files on screen are remembered: memory returns to what it was when they go.
    keep = {(u.file_id, id(model_predictor)) for u in uploads}
    cache = st.session_state.get("upload_results", {})
    for key in list(cache):
        if key not in keep:
            del cache[key]


def upload_section(model_predictor):
    uploads = st.file_uploader(
        "Upload pictures of digits (PNG, JPEG, GIF, BMP, WebP, TIFF)", type=list(EXTENSIONS),
        accept_multiple_files=True, key="uploads",
        help="A photo of digits written on paper works: the app removes the paper and reads each digit.",
    )
    forget_other_uploads(uploads or [], model_predictor)
    if not uploads:
        st.info("Upload one picture to see every step, or many to get a table.")
        return
    if len(uploads) == 1:
        single_upload(uploads[0], model_predictor)
    else:
        many_uploads(uploads, model_predictor)


def single_upload(upload, model_predictor):
    shown, readings, refusal = read_upload(upload, model_predictor)
    if refusal:
        st.error(f"**{upload.name}**: {refusal}")
        return
    picture, result = st.columns([1, 1.4], gap="large")
    with picture:
        st.image(shown, caption=upload.name, width=UPLOAD_WIDTH)
    with result:
        if not readings:
            st.metric("Prediction", "–")
            st.info(f"**{upload.name}**: no digit found in this picture.")
            return
        common.prediction_metric(readings, common.threshold(), model_predictor.name)
        common.result_panel(model_predictor, readings, key="upload")


def many_uploads(uploads, model_predictor):
    rows = []
    for upload in uploads:
        shown, readings, refusal = read_upload(upload, model_predictor)
        rows.append({
            "file": upload.name,
            "digits": as_text(readings) if not refusal else "",
            "confidence": round(overall_confidence(readings), 4) if readings else None,
            "thumbnail": _thumbnail(shown) if shown is not None else None,
            "message": refusal or ("" if readings else "no digit found"),
        })
    table = pd.DataFrame(rows)
    st.dataframe(
        table, hide_index=True, width="stretch",
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
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


st.title("Draw & Upload")
st.html(common.BIG_ANSWERS)
reading_settings()
served = common.predictor()
if served is None:
    st.error("There is no model to read with: the models/ folder is empty. Train one with `python scripts/train.py`.")
    st.stop()
draw_tab, upload_tab = st.tabs([":material/draw: Draw", ":material/upload: Upload"])
with draw_tab:
    draw_section(served)
with upload_tab:
    upload_section(served)
