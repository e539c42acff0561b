"""What the pages show about a reading: the answer, the probabilities, the preparation steps,
inside the network, how the answer holds as the digit is transformed, and the controls that
keep a digit. Also how refusals are shown."""

import contextlib
import hashlib
import logging

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import access, serving, state, visitor
from app_pages.uploads import STEP_SIZE
from lenet.config import CLASS_NAMES, NOT_A_DIGIT_BELOW
from lenet.errors import Refused
from lenet.images import pictures, transforms
from lenet.nets import explain, invariance
from lenet.people.collection import DEFAULT_NAME, READ, CollectionRefused, check_name
from lenet.people.memory import Memory

LOG = logging.getLogger("lenet.app")
BUG = "Something went wrong on the server while doing that; it has been logged. Try again, or reload the page."
BIG_ANSWERS = "<style>[data-testid='stMetricValue'] {font-size: 4.5rem; line-height: 1.1;}</style>"


@contextlib.contextmanager
def refusals_shown():
    """Show a `Refused` as its one line; log anything else as a bug and show one generic line."""
    try:
        yield
    except Refused as refusal:
        st.error(str(refusal))
    except Exception:  # a bug: the traceback goes to the server's log, not to the visitor
        LOG.exception("a page action failed")
        st.error(BUG)


def collections():
    """This browser's collections (and the class's, changeable by whoever may train)."""
    return visitor.collections(teacher=access.may_train())


def _remember_collection():
    # Widgets' own state is dropped on pages that don't show them; keep the name for the session.
    st.session_state[state.COLLECTION] = st.session_state["whose_digits"]


def whose_digits():
    """The collection this session keeps digits in: a name typed once, in the sidebar; None
    (with the reason shown) when the name can't name a collection."""
    name = st.session_state.get(state.COLLECTION, DEFAULT_NAME)
    with st.sidebar:
        st.text_input(
            "Whose digits",
            name,
            key="whose_digits",
            max_chars=40,
            on_change=_remember_collection,
            help="Digits you keep go into this collection; the Your digits page shows it and teaches it.",
        )
        st.toggle(
            "Learn from them at once",
            st.session_state.get(state.USE_MEMORY, True),
            key="memory_toggle",
            on_change=lambda: st.session_state.update({state.USE_MEMORY: st.session_state["memory_toggle"]}),
            help="A drawing like one you kept is read as you labelled it, from the next stroke on: the network's "
            "answer is blended with your nearest kept digits' (no training needed).",
        )
        try:
            return check_name(name)
        except CollectionRefused as refusal:
            st.error(str(refusal))
            return None


def session_memory(predictor, version):
    """The instant memory of this session's collection for `predictor`'s model (file `version`),
    rebuilt when a digit is kept or deleted; None when switched off or nothing is kept."""
    if not st.session_state.get(state.USE_MEMORY, True):
        return None
    try:
        collection = collections().get(st.session_state.get(state.COLLECTION, DEFAULT_NAME))
        key = (collection.folder, collection.version(), predictor.name, version)
    except (CollectionRefused, OSError):
        return None
    cached = st.session_state.get(state.MEMORY)
    if cached and cached[0] == key:
        return cached[1]
    # The class collection is the class's: it is not read back to everyone who keeps into it.
    readable = collection.exists() and collection.may(READ)
    images, labels = collection.arrays() if readable else ((), ())
    memory = Memory.of(predictor, images, labels) if len(labels) else None
    st.session_state[state.MEMORY] = (key, memory)
    return memory


def _keep_a_choice(key):
    # A second click on the chosen digit would deselect it, leaving no label: keep the choice.
    if st.session_state[key] is None:
        st.session_state[key] = st.session_state[f"{key}_was"]
    st.session_state[f"{key}_was"] = st.session_state[key]


def keep_controls(digit, key):
    """Under an answer: 'Wrong? It is a …' and 'Keep this digit' (into the session's collection)."""
    # A new drawing gets new widgets, so the choice starts at the new answer.
    key = f"{key}_{hashlib.md5(digit.input.tobytes()).hexdigest()[:10]}"
    # "Not a digit" offers no answer to confirm: nothing is chosen until the person picks one.
    answer = digit.value if digit.is_digit else None
    st.session_state.setdefault(f"{key}_label_was", answer)
    label = st.segmented_control(
        "Wrong? It is a …" if answer is not None else "It is a …",
        list(range(10)),
        default=answer,
        key=f"{key}_label",
        on_change=_keep_a_choice,
        args=(f"{key}_label",),
    )
    if st.button(
        "Keep this digit",
        key=f"{key}_keep",
        icon=":material/bookmark_add:",
        help="Keep it, with the label chosen above, to teach the model your hand (Your digits page).",
    ):
        chosen = answer if label is None else label
        if chosen is None:
            st.warning("Pick the digit it is above first: the model read no digit here.")
            return
        name = st.session_state.get(state.COLLECTION, DEFAULT_NAME)
        with refusals_shown():
            too_many = visitor.check_keep_rate()
            if too_many:
                st.error(too_many)
                return
            collection = collections().get(name)
            collection.add(chosen, digit.input, digit.crop)
            count = f" ({len(collection.digits())} kept)" if collection.may(READ) else ""
            st.toast(f"Kept as a {chosen} in “{collection.name}”{count}. See them on the Your digits page.")


# The bars as a Vega-Lite spec of our own: `st.bar_chart` builds it through Altair, whose
# validation cost ~30 ms of the server's CPU at every stroke (benchmarks/class_load.py).
PROBABILITY_SPEC = {
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "x": {"field": "digit", "type": "nominal", "title": "digit", "axis": {"labelAngle": 0}},
        "y": {"field": "probability", "type": "quantitative", "title": "probability", "scale": {"domain": [0, 1]}},
    },
}


def probability_chart(probabilities):
    data = pd.DataFrame({"digit": list(CLASS_NAMES), "probability": [float(p) for p in probabilities]})
    st.vega_lite_chart(data, PROBABILITY_SPEC, height=220, width="stretch")


def prediction_metric(reading, min_confidence, model_name):
    """The big answer: the digit (or the number), with how sure the model is, and who read it;
    "Not a digit" when no digit stands out, and how much the kept digits weighed in."""
    lowest = reading.lowest_confidence
    digits = [d for d in reading.digits if d.is_digit]
    if not digits:
        st.metric("Prediction", "Not a digit", delta="no digit stands out", delta_color="off")
        st.caption(
            f"Read by {model_name}: the most it gives any digit is {lowest:.0%}. It was taught to answer "
            "scribbles, shapes and letters with no preference among the ten."
        )
        return
    sure = lowest >= min_confidence
    text = "".join(str(d.value) if d.is_digit else "?" for d in reading.digits)
    st.metric(
        "Prediction", text, delta=f"{lowest:.0%} sure" if sure else "not sure", delta_color="normal" if sure else "off"
    )
    note = f"Read by {model_name}."
    if not sure:
        note += f" Not sure: the top probability is {lowest:.0%}, under your threshold of {min_confidence:.0%}."
    remembered = max(d.remembered for d in reading.digits)
    if reading.memory_size:
        note += f" Read with your {reading.memory_size} kept digits" + (
            f", which decided {remembered:.0%} of it."
            if remembered >= 0.05
            else ": none is like this one, so the network alone decided."
        )
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
        st.markdown(
            f"**What drove the answer {digit}.** Each region of the input was covered in turn; "
            "the brighter it glows, the more covering it lowered the probability of this answer."
        )
    st.markdown(
        "**Feature maps.** Each tile is what one learned filter responds to; "
        "deeper layers see larger, more abstract parts of the digit."
    )
    for name, maps in model_predictor.feature_maps(image).items():
        grid = explain.feature_grid(maps, cell=28)
        st.image(
            grid,
            caption=f"{name}: {maps.shape[2]} maps of {maps.shape[0]}x{maps.shape[1]}",
            width=min(440, grid.shape[1] * 2),
        )


DEFAULT_TRANSFORM = "rotation"
NO_COMPARISON = ""


# A fragment of its own: choosing another transformation or model reruns the sweep alone, not
# the saliency and feature maps of the panel around it.
@st.fragment
def invariance_panel(model_predictor, image, key, columns=6):
    """LeNet's invariance demos for the 28x28 model input `image`: one transformation swept at a
    time, the answer and its probability along the sweep as a chart (two models' curves when
    comparing), and the transformed inputs as a strip of `columns` thumbnails a row."""
    name = st.segmented_control(
        "Transformation", list(transforms.TRANSFORMS), default=DEFAULT_TRANSFORM, key=f"{key}_inv_transform"
    )
    others = [m for m in serving.catalog().models() if m.name != model_predictor.name]
    other = st.columns([1, 1])[0].selectbox(
        "Compare with",
        [NO_COMPARISON, *(m.name for m in others)],
        key=f"{key}_inv_compare",
        format_func=lambda n: n or "no other model",
        help="Put another catalogued model's curve on the same chart.",
    )
    with refusals_shown():
        sweeps = [invariance.explore(model_predictor, image, name or DEFAULT_TRANSFORM)]
        if other:
            info = next(m for m in others if m.name == other)
            other_predictor = serving.load_predictor(str(info.path), info.version, info.name)
            sweeps.append(invariance.explore(other_predictor, image, sweeps[0].transform))
        st.altair_chart(sweep_chart(sweeps), width="stretch", key=f"{key}_inv_chart")
        st.caption(" ".join(s.summary() for s in sweeps))
        sweep_strip(sweeps[0], columns)


def sweep_chart(sweeps):
    """The probability of the digit read at each amount, each point coloured and labelled by
    that digit; one line per model (dashed for the second)."""
    data = pd.DataFrame([row for sweep in sweeps for row in sweep.rows()])
    chosen = transforms.transform(sweeps[0].transform)
    digits = alt.Scale(domain=list(CLASS_NAMES), scheme="tableau10")
    several = len(sweeps) > 1
    x = alt.X("amount:Q", title=chosen.label, scale=alt.Scale(zero=False, nice=False))
    y = alt.Y("probability:Q", title="probability of the digit read", scale=alt.Scale(domain=[0, 1.08]))
    models = alt.StrokeDash("model:N", title="model", legend=alt.Legend() if several else None)
    line = alt.Chart(data).mark_line(color="#d0d0d0").encode(x=x, y=y, strokeDash=models, detail="model:N")
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=60)
        .encode(
            x=x,
            y=y,
            color=alt.Color("digit:N", scale=digits, title="digit read"),
            shape=alt.Shape("model:N", legend=None),
            tooltip=["model", "amount", "digit", alt.Tooltip("probability:Q", format=".1%")],
        )
    )
    labels = (
        alt.Chart(data)
        .mark_text(dy=-10, fontSize=11, fontWeight="bold")
        .encode(x=x, y=y, text="digit:N", color=alt.Color("digit:N", scale=digits, legend=None))
    )
    unchanged = alt.Chart(pd.DataFrame({"amount": [chosen.identity]})).mark_rule(color="#cccccc").encode(x=x)
    # Under this line the page answers "Not a digit": no digit stands out.
    not_a_digit = (
        alt.Chart(pd.DataFrame({"probability": [NOT_A_DIGIT_BELOW], "note": ["below: not a digit"]}))
        .mark_rule(color="#8a8a8a", strokeDash=[4, 3], strokeWidth=1)
        .encode(y="probability:Q", tooltip=["note"])
    )
    return (unchanged + not_a_digit + line + points + labels).properties(height=260)


def sweep_strip(sweep, columns):
    """The transformed inputs the model read, in one picture: each with its amount and answer,
    framed green where the answer is the untransformed digit's, red where it changed."""
    # Plain numbers: the picture's font lacks the minus sign and the degree; the chart has the units.
    captions = [f"{a:g}: {d}" for a, d in zip(sweep.amounts, sweep.answers)]
    sheet = pictures.contact_sheet(sweep.images, captions, sweep.answers == sweep.answer, columns=columns)
    st.image(sheet, width="content", caption=f"What {sweep.model} read at each amount ({sweep.transform}).")


def result_panel(model_predictor, reading, key):
    """Everything about one digit of a reading: probabilities, steps, inside the network, invariance."""
    digits = reading.digits
    index = 0
    if len(digits) > 1:
        index = st.radio(
            "Look at digit",
            range(len(digits)),
            horizontal=True,
            key=f"{key}_digit",
            format_func=lambda i: f"#{i + 1}: {digits[i].value}",
        )
    digit = digits[index]
    keep_controls(digit, key)
    # Tabs that know which one is open: only the open one is drawn. A stroke then costs the
    # server the answer and one tab, not the saliency, feature maps and pictures of tabs
    # nobody looks at (half the CPU of a stroke; benchmarks/class_load.py). A click on a tab
    # reruns this fragment and draws that one.
    tab_probabilities, tab_steps, tab_network, tab_invariance = st.tabs(
        ["Probabilities", "What the model sees", "Inside the network", "Invariance"],
        key=f"{key}_tabs",
        on_change="rerun",
    )
    if tab_probabilities.open:
        with tab_probabilities:
            probability_chart(digit.probabilities)
    if tab_steps.open:
        with tab_steps:
            steps_strip(reading.steps + digit.steps)
    if tab_network.open:
        with tab_network:
            network_panel(model_predictor, digit.input, digit.value, digit.probabilities[digit.value])
    if tab_invariance.open:
        with tab_invariance:
            invariance_panel(model_predictor, digit.input, key)
