"""What every page shares: the settings, the served model, the sidebar and the result panels.

Streamlit code only; everything it shows is computed by `lenet`.
"""

import ctypes
import dataclasses
import hashlib

import numpy as np
import pandas as pd
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx, script_runner

from lenet.nets import explain
from lenet.jobs.catalog import Catalog
from lenet.people.collection import DEFAULT_NAME, CollectionRefused, Collections, check_name
from app_pages.access import may_train, settings
from lenet.config import CLASS_NAMES
from lenet.images.files import ImageRefused, open_image
from lenet.nets.inference import Predictor
from lenet.nets.modelio import ModelFileError, load_model
from lenet.images.pictures import draw_boxes
from lenet.images.reading import read

FOLLOW_ACTIVE = "__active__"
DEFAULT_THRESHOLD = 0.8
STEP_SIZE = 112  # px each preprocessing step is shown at
UPLOAD_WIDTH = 320  # px an uploaded picture is shown at
M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def configure_process():
    """Process-wide settings the app needs; `app.py` calls this once per script run (idempotent).

    1. Streamlit calls `keras.backend.clear_session()` after every script run, to free models
       built in a script. This app builds none per run (served models live in
       `st.cache_resource`); the call emptied TensorFlow's kernel cache and ran a full garbage
       collection, so the first answer after each stroke took 30-50 ms instead of 1 ms. The hook
       is private, so a Streamlit that moved it is left alone.
    2. glibc maps every allocation over 1 MB on its own, returned to the system when freed. A
       decoded 12 MP photo is a 36 MB buffer and each script run is a new thread: with glibc's
       dynamic threshold such buffers fragmented per-thread arenas, and a server reading photos
       grew by tens of MB a round of the same uploads (1195, 1233, 1282 MB in CI; flat at
       1144-1146 MB with a fixed threshold). Elsewhere than glibc this does nothing.
    """
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


def catalog():
    return Catalog(settings())


@st.cache_resource(max_entries=6, show_spinner="Loading the model...")
def load_predictor(path, version, name):
    """One compiled, warmed-up predictor per model file version, shared by every session.

    `version` changes when the file is replaced, so a new version loads fresh. Only paths from
    the model catalog reach this function, never one a user typed.
    """
    return Predictor(load_model(path), name=name)


def offer_model(name):
    """Make `name` this session's model from the next run on (the sidebar picker shows it)."""
    st.session_state["offer_model"] = name
    st.rerun()


def chosen_model():
    """The `ModelInfo` this session uses: its own choice, else the server's active model."""
    models = catalog()
    choice = st.session_state.get("model_choice", FOLLOW_ACTIVE)
    info = models.find(choice) if choice != FOLLOW_ACTIVE else None
    return info or models.active()


def serving(info=None):
    """`(ModelInfo, Predictor, problem)`: the session's model (or `info`) loaded; when its file
    can't be loaded, the first fallback that can (`Catalog.fallbacks`), and what went wrong."""
    wanted = info or chosen_model()
    if wanted is None:
        return None, None, None
    problem = None
    for candidate in [wanted, *catalog().fallbacks(wanted)]:
        try:
            return candidate, load_predictor(str(candidate.path), candidate.version, candidate.name), problem
        except ModelFileError as error:
            problem = problem or f"{wanted.name} can't be loaded ({error})"
    return None, None, problem


def predictor(info=None):
    """The session's model (or `info`'s, or a fallback) as a `Predictor`; None when none loads."""
    return serving(info)[1]


def model_problem(problem, served):
    """Tell whoever may fix it (may train) that a model file is broken and what serves instead."""
    if problem and may_train():
        instead = f"Serving {served.name} instead." if served else "No model can be loaded."
        st.warning(f"{problem}. {instead} Activate another version or retrain on the Train page.")


def threshold():
    return st.session_state.get("threshold", DEFAULT_THRESHOLD)


def collections():
    return Collections(settings().collections_dir)


def _remember_collection():
    # Widgets' own state is dropped on pages that don't show them; keep the name for the session.
    st.session_state["collection"] = st.session_state["whose_digits"]


def whose_digits():
    """The collection this session keeps digits in: a name typed once, in the sidebar; None
    (with the reason shown) when the name can't name a collection."""
    name = st.session_state.get("collection", DEFAULT_NAME)
    with st.sidebar:
        st.text_input("Whose digits", name, key="whose_digits", max_chars=40, on_change=_remember_collection,
                      help="Digits you keep go into this collection; the Your digits page shows it and teaches it.")
        try:
            return check_name(name)
        except CollectionRefused as refusal:
            st.error(str(refusal))
            return None


def keep_controls(digit, key):
    """Under an answer: 'Wrong? It is a …' and 'Keep this digit' (into the session's collection)."""
    # A new drawing gets new widgets, so the choice starts at the new answer.
    key = f"{key}_{hashlib.md5(digit.input.tobytes()).hexdigest()[:10]}"
    label = st.segmented_control("Wrong? It is a …", list(range(10)), default=digit.value, key=f"{key}_label")
    if st.button("Keep this digit", key=f"{key}_keep", icon=":material/bookmark_add:",
                 help="Keep it, with the label chosen above, to teach the model your hand (Your digits page)."):
        name = st.session_state.get("collection", DEFAULT_NAME)
        try:
            collection = collections().get(name)
            collection.add(digit.value if label is None else label, digit.input, digit.crop)
        except CollectionRefused as refusal:
            st.error(str(refusal))
            return
        st.toast(f"Kept as a {digit.value if label is None else label} in “{collection.name}” "
                 f"({len(collection.digits())} kept). See them on the Your digits page.")


def model_sidebar():
    """The active model and a choice of any other catalogued model, on every page."""
    available = catalog().models()
    with st.sidebar:
        st.markdown("### Model")
        if not available:
            st.error("No model files found in models/. Train one with `python scripts/train.py`.")
            return
        labels = {m.name: m.label() for m in available}
        options = [FOLLOW_ACTIVE, *labels]
        if "offer_model" in st.session_state:  # a page chose for this session (a model it just taught)
            st.session_state["model_choice"] = st.session_state.pop("offer_model")
        if st.session_state.get("model_choice") not in options:
            st.session_state["model_choice"] = FOLLOW_ACTIVE
        st.selectbox(
            "Model used on this page", options, key="model_choice",
            format_func=lambda name: "The active model (server-wide)" if name == FOLLOW_ACTIVE else labels[name],
            help="The active model serves everyone; you may try another one just for yourself.",
        )
        info, _, problem = serving()
        if info is not None:
            score = f"test accuracy {info.test_accuracy:.2%}" if info.test_accuracy is not None else "not scored"
            st.caption(f"**{info.name}** · {info.metadata.get('architecture') or 'unknown architecture'} · {score}")
        model_problem(problem, info)


def config_form(config_class, key_prefix, skip=()):
    """Widgets for every field of a config dataclass, from its field metadata (the command-line
    flags come from the same metadata) but those in `skip`; returns the values chosen, by name."""
    values = {}
    fields = [f for f in dataclasses.fields(config_class) if f.name not in skip]
    for field in [f for f in fields if not f.metadata.get("advanced")]:
        values[field.name] = _field_widget(field, key_prefix)
    with st.expander("More settings"):
        for field in [f for f in fields if f.metadata.get("advanced")]:
            values[field.name] = _field_widget(field, key_prefix)
    return values


def _field_widget(field, key_prefix):
    meta, key = field.metadata, f"{key_prefix}{field.name}"
    label, help_text, default = meta.get("label", field.name), meta.get("help"), field.default
    shown = lambda value: meta.get("zero", "0") if value == 0 else f"{value:g}" if isinstance(value, float) else f"{value:,}"
    if "choices" in meta:
        choices = list(meta["choices"])
        return st.selectbox(label, choices, index=choices.index(default), key=key, help=help_text)
    if field.type in (bool, "bool"):
        return st.toggle(label, default, key=key, help=help_text)
    if "options" in meta:
        options = list(dict.fromkeys([*meta["options"], default]))  # the default is always offered
        options = options if 0 in meta["options"] else sorted(options)
        return st.select_slider(label, options, default, key=key, help=help_text, format_func=shown)
    if field.type in (int, "int") and meta.get("max", 1e9) - meta.get("min", 0) <= 100:
        return st.slider(label, meta.get("min", 0), meta["max"], default, key=key, help=help_text)
    return st.number_input(label, meta.get("min"), meta.get("max"), default, key=key, help=help_text)


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Reading the picture...")
def read_upload(data, model_path, model_version, model_name, _cancelled=None):
    """(picture to show, reading, refusal message) for one uploaded file's bytes, remembered per
    file content and model version for every session. Only what the page shows is kept, at the
    size it is shown: a 12 MP photo would otherwise cost tens of MB as long as it is cached.
    `_cancelled()` says the session went away: a picture still waiting to be decoded is dropped."""
    try:
        image = open_image(data, cancelled=_cancelled)
        reading = read(image, load_predictor(model_path, model_version, model_name), steps_size=STEP_SIZE)
    except ImageRefused as refusal:
        return None, None, str(refusal)
    shown = image.convert("RGB")
    shown.thumbnail((2 * UPLOAD_WIDTH, 2 * UPLOAD_WIDTH))  # still sharp on high-density screens
    scale = shown.width / image.width
    boxes = [tuple(round(v * scale) for v in d.box) for d in reading.digits]
    return np.asarray(draw_boxes(shown, boxes, [d.value for d in reading.digits])), reading, None



def session_gone():
    """A check whether this run's browser session has gone (its tab closed), for work that waits."""
    context = get_script_run_ctx()
    if context is None or not runtime.exists():
        return lambda: False
    server, session_id = runtime.get_instance(), context.session_id
    return lambda: not server.is_active_session(session_id)


# ---------------------------------------------------------------------------- panels


def probability_chart(probabilities):
    data = pd.DataFrame({"digit": list(CLASS_NAMES), "probability": [float(p) for p in probabilities]})
    st.bar_chart(data, x="digit", y="probability", height=220, y_label="probability", x_label="digit")


BIG_ANSWERS = "<style>[data-testid='stMetricValue'] {font-size: 4.5rem; line-height: 1.1;}</style>"


def prediction_metric(reading, min_confidence, model_name):
    """The big answer: the digit (or the number), with how sure the model is, and who read it."""
    lowest = reading.lowest_confidence
    sure = lowest >= min_confidence
    st.metric("Prediction", reading.text, delta=f"{lowest:.0%} sure" if sure else "not sure",
              delta_color="normal" if sure else "off")
    note = f"Read by {model_name}."
    if not sure:
        note += f" Not sure: the top probability is {lowest:.0%}, under your threshold of {min_confidence:.0%}."
    st.caption(note)


def steps_strip(steps):
    """'What the model sees': every preprocessing step as a small image."""
    st.image([step.image for step in steps], caption=[step.name for step in steps], width=STEP_SIZE)
    st.caption(" → ".join(f"{step.name} ({step.note})" if step.note else step.name for step in steps))


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


def result_panel(model_predictor, reading, key):
    """Everything about one digit of a reading: probabilities, steps, inside the network."""
    digits = reading.digits
    index = 0
    if len(digits) > 1:
        index = st.radio("Look at digit", range(len(digits)), horizontal=True, key=f"{key}_digit",
                         format_func=lambda i: f"#{i + 1}: {digits[i].value}")
    digit = digits[index]
    keep_controls(digit, key)
    tab_probabilities, tab_steps, tab_network = st.tabs(["Probabilities", "What the model sees", "Inside the network"])
    with tab_probabilities:
        probability_chart(digit.probabilities)
    with tab_steps:
        steps_strip(reading.steps + digit.steps)
    with tab_network:
        network_panel(model_predictor, digit.input, digit.value, digit.probabilities[digit.value])
