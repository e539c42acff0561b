"""The model each session reads with: the catalog, compiled predictors shared by all sessions,
fallbacks when a file is broken, and the sidebar's model picker."""

import streamlit as st

from app_pages import state
from app_pages.access import may_train
from lenet.jobs.catalog import Catalog
from lenet.nets.inference import Predictor
from lenet.nets.modelio import ModelFileError, load_model


def catalog():
    return Catalog(state.settings())


# Your digits compares up to this many models; the cache holds them and two more (the active
# model and a session's own choice), so one run of that page never evicts what the next needs.
MODELS_COMPARED = 8


@st.cache_resource(max_entries=MODELS_COMPARED + 2, show_spinner="Loading the model...")
def load_predictor(path, version, name):
    """One compiled, warmed-up predictor per model file version, shared by every session.

    `version` changes when the file is replaced, so a new version loads fresh. Only paths from
    the model catalog reach this function, never one a user typed.
    """
    return Predictor(load_model(path), name=name)


def offer_model(name):
    """Make `name` this session's model from the next run on (the sidebar picker shows it)."""
    st.session_state[state.OFFERED_MODEL] = name
    st.rerun()


def chosen_model():
    """The `ModelInfo` this session uses: its own choice, else the server's active model."""
    models = catalog()
    choice = st.session_state.get(state.MODEL_CHOICE, state.FOLLOW_ACTIVE)
    info = models.find(choice) if choice != state.FOLLOW_ACTIVE else None
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


def model_sidebar():
    """The active model and a choice of any other catalogued model, on every page."""
    available = catalog().models()
    with st.sidebar:
        st.markdown("### Model")
        if not available:
            st.error("No model files found in models/. Train one with `python scripts/train.py`.")
            return
        labels = {m.name: m.label() for m in available}
        options = [state.FOLLOW_ACTIVE, *labels]
        if state.OFFERED_MODEL in st.session_state:  # a page chose for this session (a model it just taught)
            st.session_state[state.MODEL_CHOICE] = st.session_state.pop(state.OFFERED_MODEL)
        if st.session_state.get(state.MODEL_CHOICE) not in options:
            st.session_state[state.MODEL_CHOICE] = state.FOLLOW_ACTIVE
        st.selectbox(
            "Model used on this page",
            options,
            key=state.MODEL_CHOICE,
            format_func=lambda name: "The active model (server-wide)" if name == state.FOLLOW_ACTIVE else labels[name],
            help="The active model serves everyone; you may try another one just for yourself.",
        )
        info, _, problem = serving()
        if info is not None:
            score = f"test accuracy {info.test_accuracy:.2%}" if info.test_accuracy is not None else "not scored"
            architecture = info.metadata.get("architecture") or "unknown architecture"
            named = (
                info.name if architecture == info.name else f"{info.name} · {architecture}"
            )  # not "lenet_bn · lenet_bn"
            st.caption(f"**{named}** · {score}")
        model_problem(problem, info)
