"""Train: pick a network in the sidebar, press Start, watch it learn, put the result to work."""

import pandas as pd
import streamlit as st

from app_pages import access, forms, panels, preconditions, runview, serving, state
from app_pages.runview import store
from lenet.errors import Refused
from lenet.jobs import exports, supervisor
from lenet.jobs.runs import RunInProgress, RunsUnavailable, Status
from lenet.nets.export import FORMATS
from lenet.nets.training import TrainConfig, lenet1998_config, quick_demo_config

# ---------------------------------------------------------------------------- sidebar


def password_gate():
    st.caption(access.reason())
    attempt = st.text_input("Password", type="password", key="training_password")
    if st.button("Unlock training", key="unlock"):
        unlocked, message = access.unlock(attempt)
        if unlocked:
            st.rerun()
        st.error(message)


def presets():
    """Settings to start from: a run to watch, the defaults, LeNet-5 as in 1998, the shipped model's own recipe."""
    shipped = serving.catalog().find(state.settings().default_model)
    recipe = TrainConfig.from_dict(shipped.metadata["config"]) if shipped and shipped.metadata.get("config") else None
    found = {
        "Default settings": TrainConfig(),
        "Quick demo: about 10 s, over 97%": quick_demo_config(),
        "LeNet-5 as in 1998 (20 epochs, about 4 min)": lenet1998_config(),
    }
    if recipe:
        found[f"The recipe of the shipped {shipped.name}"] = recipe
    return found


def apply_preset():
    chosen = presets()[st.session_state["t_preset"]]
    for name, value in chosen.to_dict().items():
        st.session_state[f"t_{name}"] = value


def controls(active):
    """The sidebar: every setting of a run, Start and Stop. Returns nothing; acts on clicks."""
    settings = state.settings()
    with st.sidebar:
        st.markdown("### Training")
        if settings.training == "off":
            st.info(access.reason(settings))
            return
        if not access.may_train(settings):
            password_gate()
            return
        start, stop = st.columns(2)  # above the settings, so Start is in view on a small screen
        st.selectbox("Start from", list(presets()), key="t_preset", on_change=apply_preset)
        values = forms.config_form(TrainConfig, "t_")
        activate = st.checkbox(
            "Activate when done",
            True,
            key="t_activate",
            help="Serve the new model on the Draw page for everyone once it finishes, if it reads MNIST no worse.",
        )
        ready = preconditions.mnist_ready("Training") and (
            not values["writers"] or preconditions.handwriting_ready("This run")
        )
        if start.button(
            "Start", type="primary", key="start", disabled=active is not None or not ready, width="stretch"
        ):
            start_run(values, activate)
        if stop.button("Stop", key="stop", disabled=active is None, width="stretch"):
            if access.may_train():  # the settings again: they may have changed since the page loaded
                supervisor.stop(store(), active.id)
                st.rerun()
        if active is not None:
            st.caption(f"Run {active.id} is in progress; one run at a time on this server.")


def start_run(values, activate):
    if not access.may_train():
        st.error(access.reason() or "Training is not allowed.")
        return
    try:
        supervisor.start_training(state.settings(), TrainConfig(**values), activate_when_done=activate, store=store())
    except RunInProgress as busy:
        st.warning(f"{busy} It is shown below.")
        return
    except Refused as refusal:
        st.error(str(refusal))
        return
    st.rerun()


# ---------------------------------------------------------------------------- history


def describe_kind(run):
    return f"teach {str(run.config.get('collection', '')).rsplit('/', 1)[-1]}" if run.kind == "teach" else ""


def latest_outcome(runs):
    """The run that ended last, where the eye is: its score, whether it serves and why, and what to do."""
    run = runs[0]
    score = f"{run.test_accuracy:.2%} on MNIST's test set" if run.test_accuracy is not None else ""
    if run.status == Status.FAILED:
        st.error(f"**Run {run.id} failed:** {run.error or 'see its log below'}")
    elif run.outcome and run.outcome.startswith("activated"):
        st.success(f"**Run {run.id} finished: {score}.** It now serves the Draw page for everyone.")
    elif run.outcome:
        st.info(f"**Run {run.id} finished: {score}.** Not served: {run.outcome}. You may activate it below.")
    elif run.status == Status.STOPPED:
        st.info(f"**Run {run.id} was stopped:** what it learned so far is kept ({score}), not served.")
    elif run.status.has_model:
        st.info(f"**Run {run.id} finished: {score}.** Activate it below to serve it.")


def history(active):
    runs = [r for r in store().runs() if not active or r.id != active.id]
    st.subheader("Past runs")
    if not runs:
        st.caption("No runs yet. Choose settings in the sidebar and press Start.")
        return
    if st.session_state.get("t_newest_seen") != runs[0].id:  # a run ended: the pickers move to it
        st.session_state["t_newest_seen"] = runs[0].id
        for key in ("compare", "selected_run"):
            st.session_state.pop(key, None)
    table = pd.DataFrame(
        [
            {
                "run": r.id,
                "network": r.config.get("architecture") or describe_kind(r),
                "status": r.status.value,
                "test accuracy": r.test_accuracy if r.test_accuracy is not None else float("nan"),
                "epochs": r.config.get("epochs") or "",
                "images": f"{r.train_images:,}" if r.train_images else "",
                "seconds": round(r.finished - r.started, 1) if r.finished and r.started else float("nan"),
                "model": r.model_name or "",  # never a literal "None"
            }
            for r in runs
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"test accuracy": st.column_config.NumberColumn(format="%.4f")},
    )
    by_id = {r.id: r for r in runs}
    with_curves = [r.id for r in runs if r.status.has_model]
    chosen = st.multiselect(
        "Compare the curves of",
        with_curves,
        default=with_curves[:2],
        key="compare",
        format_func=lambda i: f"run {i} ({by_id[i].config.get('architecture')})",
    )
    if chosen:
        runview.compare(chosen, by_id)
    st.markdown("**A run's model**")
    run_id = st.selectbox(
        "Run", list(by_id), key="selected_run", format_func=lambda i: f"run {i}: {by_id[i].status.value}"
    )
    run_actions(by_id[run_id])


def run_actions(run):
    allowed = access.may_train()
    if run.status == Status.FAILED:
        st.error(f"Run {run.id} failed: {run.error or 'see its log'}")
        if allowed:  # a log shows paths and tracebacks: only for whoever may train
            with st.expander("Log tail"):
                st.code(run.log_tail or "(empty)")
    if run.outcome:
        st.caption(f"When it finished: {run.outcome}")
    models = serving.catalog()
    info = models.find(run.model_name) if run.model_name else None
    if info is None:
        if run.status.has_model:
            st.caption("Its model file is gone.")
        return
    columns = st.columns(3)
    if models.active().name == info.name:
        columns[0].success("Active: serving the Draw page")
    elif columns[0].button("Activate", key="activate", type="primary", disabled=not allowed, width="stretch"):
        if access.may_train():
            models.activate(info.name)
            st.toast(f"{info.name} now serves every session.")
            st.rerun()
    columns[1].download_button(
        "Download .keras",
        data=info.path.read_bytes(),
        file_name=info.path.name,
        mime="application/octet-stream",
        key="download_model",
        width="stretch",
    )
    if columns[2].button("Delete", key="delete", disabled=not allowed, width="stretch") and access.may_train():
        try:
            models.delete(info.name)
        except Refused as refusal:
            st.warning(str(refusal))
            return
        store().delete_run(run.id)
        st.rerun()
    export_controls(info)


def export_controls(info):
    """Take it with you: the model version as ONNX, TFLite or a SavedModel, made only when asked
    (once per version: then from the cache), with what the exported file reads MNIST at."""
    choice, action = st.columns([1, 2], vertical_alignment="bottom")
    name = choice.selectbox(
        "Export as", list(FORMATS), format_func=lambda n: FORMATS[n].label, key="export_format", width="stretch"
    )
    done = None
    with action, panels.refusals_shown():
        done = exports.cached_export(state.settings(), info.name, name)
        if done is None and st.button(
            f"Export to {FORMATS[name].label}",
            key="export",
            help="Converts the model and reads the 10,000 MNIST test images with the exported file.",
        ):
            with st.spinner(f"Exporting {info.name} and reading the MNIST test set with the file..."):
                done = exports.export_version(state.settings(), info.name, name)
        if done is not None:
            st.download_button(
                f"Download {done.file_name}",
                data=done.path.read_bytes(),
                file_name=done.file_name,
                mime="application/octet-stream",
                key="download_export",
            )
    if done is not None:
        st.caption(done.line() + ".")


# ---------------------------------------------------------------------------- page


def page():
    supervisor.reconcile(store())
    active = store().active_run()
    controls(active)
    if active is not None:
        st.fragment(runview.live_view, run_every=1.0)(active.id)
    elif store().runs():
        latest_outcome(store().runs())
    elif state.settings().training == "ray":
        address = state.settings().ray_address or "(RAY_ADDRESS unset)"
        st.caption(
            f"No run in progress. Runs go to the Ray cluster at {address}, "
            "on a node with a free CPU (a GPU when it has one); their progress shows here live."
        )
    else:
        st.caption(
            f"No run in progress. Training runs on {runview.device_line()} in a process of its own: "
            "it goes on when you leave this page, and everyone who opens it sees it live."
        )
    history(active)


st.title("Train")
try:
    page()
except RunsUnavailable as broken:
    st.error(str(broken))
    # Whoever may train can still unlock: the database is theirs to move aside.
    if state.settings().training != "off" and not access.may_train():
        with st.sidebar:
            password_gate()
