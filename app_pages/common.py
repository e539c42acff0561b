"""What every page shares: the served model, the sidebar, and the result panels.

Streamlit code only; everything it shows is computed by `lenet`.
"""

import ctypes

import pandas as pd
import streamlit as st

from lenet import explain, models
from lenet.config import CLASS_NAMES
from lenet.inference import Predictor
from lenet.modelio import load_model
from lenet.reading import as_text

FOLLOW_ACTIVE = "__active__"
DEFAULT_THRESHOLD = 0.8


def keep_keras_state_between_runs():
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit does that to free models built in a script; this app builds none per run (the
    served models live in `st.cache_resource`). The call empties TensorFlow's kernel cache
    and runs a full garbage collection, which made the first answer after each stroke take
    30-50 ms instead of 1 ms. The hook is private, so a Streamlit that moved it is left alone.
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:
        return
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None


def hand_big_buffers_back_to_the_system():
    """Give every allocation over 1 MB its own memory mapping, returned to the system when freed.

    A decoded 12 MP photo is a 36 MB buffer, and Streamlit runs each script run in a new
    thread. glibc raises its mmap threshold after the first such buffer is freed and then
    serves the next ones from per-thread arenas, where they fragment: a server reading photos
    grew by tens of MB for every round of the same uploads (1195, 1233, 1282 MB in CI's
    hostile-file test; flat at 1144-1146 MB with a fixed threshold). Setting the threshold
    also turns glibc's dynamic adjustment off. Elsewhere than glibc this does nothing.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
keep_keras_state_between_runs()
hand_big_buffers_back_to_the_system()


@st.cache_resource(max_entries=6, show_spinner="Loading the model...")
def load_predictor(name, version):
    """One compiled, warmed-up predictor per model file version, shared by every session.

    `version` changes when the file is replaced, so a new version loads fresh. Only names
    from the model catalogue reach this function, never a path a user typed.
    """
    info = models.find_model(name)
    if info is None or info.version != version:
        raise FileNotFoundError(f"Model {name} changed or disappeared; reload the page.")
    return Predictor(load_model(info.path), name=info.name)


def chosen_model():
    """The `ModelInfo` this session uses: its own choice, else the server's active model."""
    choice = st.session_state.get("model_choice", FOLLOW_ACTIVE)
    info = models.find_model(choice) if choice != FOLLOW_ACTIVE else None
    return info or models.active_model()


def predictor():
    """The session's model as a `Predictor` (None when there is no model at all)."""
    info = chosen_model()
    if info is None:
        return None
    return load_predictor(info.name, info.version)


def threshold():
    return st.session_state.get("threshold", DEFAULT_THRESHOLD)


def model_sidebar():
    """The active model and a choice of any other catalogued model, on every page."""
    available = models.available_models()
    with st.sidebar:
        st.markdown("### Model")
        if not available:
            st.error("No model files found in models/. Train one with `python scripts/train.py`.")
            return
        names = [m.name for m in available]
        labels = {m.name: m.label() for m in available}
        options = [FOLLOW_ACTIVE] + names
        if st.session_state.get("model_choice") not in options:
            st.session_state["model_choice"] = FOLLOW_ACTIVE
        st.selectbox(
            "Model used on this page",
            options,
            key="model_choice",
            format_func=lambda name: "The active model (server-wide)" if name == FOLLOW_ACTIVE else labels[name],
            help="The active model serves everyone; you may try another one just for yourself.",
        )
        info = chosen_model()
        meta = info.metadata
        accuracy = meta.get("test_accuracy")
        st.caption(
            f"**{info.name}** · {meta.get('architecture') or 'unknown architecture'} · "
            + (f"test accuracy {accuracy:.2%}" if isinstance(accuracy, (int, float)) else "not scored")
        )


def probability_chart(probabilities):
    data = pd.DataFrame({"digit": list(CLASS_NAMES), "probability": [float(p) for p in probabilities]})
    st.bar_chart(data, x="digit", y="probability", height=220, y_label="probability", x_label="digit")


BIG_ANSWERS = "<style>[data-testid='stMetricValue'] {font-size: 4.5rem; line-height: 1.1;}</style>"


def prediction_metric(readings, min_confidence, model_name):
    """The big answer: the digit (or the number), with how sure the model is, and who read it."""
    text = as_text(readings)
    lowest = min(r.confidence for r in readings)
    sure = lowest >= min_confidence
    st.metric("Prediction", text, delta=f"{lowest:.0%} sure" if sure else "not sure", delta_color="normal" if sure else "off")
    note = f"Read by {model_name}."
    if not sure:
        note += f" Not sure: the top probability is {lowest:.0%}, under your threshold of {min_confidence:.0%}."
    st.caption(note)


def steps_strip(prepared):
    """'What the model sees': every preprocessing step as a small image."""
    st.image([explain.thumbnail(step.image) for step in prepared.steps],
             caption=[f"{step.name}" for step in prepared.steps], width=112)
    st.caption(" → ".join(f"{step.name} ({step.note})" if step.note else step.name for step in prepared.steps))


def network_panel(model_predictor, image, digit, probability=None):
    """Feature maps of each convolution stage and the occlusion saliency of the answer `digit`
    for the 28x28 model input `image` (`probability`: its already-known probability)."""
    saliency, legend = st.columns([1, 1.3])
    with saliency:
        heat = explain.occlusion_saliency(model_predictor, image, digit, base=probability)
        st.image(explain.saliency_overlay(image, heat, scale=6), width=168)
    with legend:
        st.markdown(f"**What drove the answer {digit}.** Each region of the input was covered in turn; "
                    "the brighter it glows, the more covering it lowered the probability of this answer.")
    st.markdown("**Feature maps.** Each tile is what one learned filter responds to; "
                "deeper layers see larger, more abstract parts of the digit.")
    for name, maps in model_predictor.feature_maps(image).items():
        grid = explain.feature_grid(maps, cell=28)
        st.image(grid, caption=f"{name}: {maps.shape[2]} maps of {maps.shape[0]}x{maps.shape[1]}",
                 width=min(440, grid.shape[1] * 2))


def result_panel(model_predictor, readings, key):
    """Everything about one reading (a digit, or one digit of a number)."""
    reading = readings[0]
    if len(readings) > 1:
        index = st.radio("Look at digit", range(len(readings)), horizontal=True, key=f"{key}_digit",
                         format_func=lambda i: f"#{i + 1}: {readings[i].digit}")
        reading = readings[index]
    tab_probabilities, tab_steps, tab_network = st.tabs(["Probabilities", "What the model sees", "Inside the network"])
    with tab_probabilities:
        probability_chart(reading.probabilities)
    with tab_steps:
        steps_strip(reading.prepared)
    with tab_network:
        network_panel(model_predictor, reading.prepared.input, reading.digit, reading.probabilities[reading.digit])
