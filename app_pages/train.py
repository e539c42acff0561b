"""Train: pick a network in the sidebar, press Start, watch it learn, put the result to work."""

import time

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import access, common
from lenet import supervisor
from lenet.devices import describe_device
from lenet.runs import RunInProgress, RunStore, RunsUnavailable, Status
from lenet.training import TrainConfig


@st.cache_resource
def device_line():
    return describe_device()


def store():
    return RunStore.of(common.settings())


# ---------------------------------------------------------------------------- sidebar


def password_gate():
    st.caption(access.reason())
    attempt = st.text_input("Password", type="password", key="training_password")
    if st.button("Unlock training", key="unlock"):
        if access.unlock(attempt):
            st.rerun()
        st.error("Wrong password.")


def controls(active):
    """The sidebar: every setting of a run, Start and Stop. Returns nothing; acts on clicks."""
    settings = common.settings()
    with st.sidebar:
        st.markdown("### Training")
        if settings.training == "off":
            st.info(access.reason(settings))
            return
        if not access.may_train(settings):
            password_gate()
            return
        values = common.config_form(TrainConfig, "t_")
        activate = st.checkbox("Activate when done", True, key="t_activate",
                               help="Serve the new model on the Draw page for everyone once it finishes.")
        start, stop = st.columns(2)
        if start.button("Start", type="primary", key="start", disabled=active is not None, width="stretch"):
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
        supervisor.start_training(common.settings(), TrainConfig(**values), activate_when_done=activate, store=store())
    except ValueError as bad:
        st.error(str(bad))
        return
    except RunInProgress as busy:
        st.warning(f"{busy} It is shown below.")
        return
    except supervisor.TrainingDisabled as off:
        st.error(str(off))
        return
    st.rerun()


# ---------------------------------------------------------------------------- live run


def metrics_frame(run_id):
    """All metrics of a run so far; fetched incrementally per session."""
    cache = st.session_state.setdefault("metric_cache", {})
    rows = cache.setdefault(run_id, [])
    rows.extend(vars(m) for m in store().metrics(run_id, after_seq=rows[-1]["seq"] if rows else 0))
    return pd.DataFrame(rows)


def curves(frame, title_suffix=""):
    """Loss and accuracy: training every few batches (line), validation each epoch (points)."""
    if frame.empty:
        return
    left, right = st.columns(2)
    for column, metric in ((left, "loss"), (right, "accuracy")):
        train = frame[frame[metric].notna()][["progress", metric]].rename(columns={metric: "value"}).assign(series="training")
        val = frame[frame[f"val_{metric}"].notna()][["progress", f"val_{metric}"]].rename(columns={f"val_{metric}": "value"}).assign(series="validation")
        chart = alt.Chart(pd.concat([train, val])).mark_line(point=alt.OverlayMarkDef(size=30)).encode(
            x=alt.X("progress:Q", title="epoch"),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
        ).properties(height=260, title=f"{metric}{title_suffix}")
        column.altair_chart(chart, width="stretch")


def progress_line(run, frame):
    epochs = run.config.get("epochs", 1)
    if frame.empty:
        waiting = run.status == Status.QUEUED and not run.pid
        st.progress(0.0, text="Waiting for a training worker to pick this run up (scripts/worker.py)..." if waiting
                    else "Starting: loading TensorFlow and MNIST...")
        return
    last = frame.iloc[-1]
    fraction = min(1.0, float(last["progress"]) / epochs)
    elapsed = time.time() - (run.started or run.created)
    eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
    rates = frame["images_per_s"].dropna()
    text = (f"epoch {int(last['epoch'])}/{epochs} · step {int(last['step'])}/{run.steps_per_epoch or '?'}"
            + (f" · {rates.iloc[-1]:,.0f} images/s" if len(rates) else "")
            + (f" · about {eta:.0f} s left" if eta is not None else ""))
    st.progress(fraction, text=text)
    st.caption(f"Last point logged {max(0.0, time.time() - float(last['logged'])):.1f} s ago")


def live_view(run_id):
    """Polled every second: status, progress and curves of the run in progress."""
    run = store().run(run_id)
    if run is None or not run.status.active:
        st.session_state.pop("metric_cache", None)
        st.rerun()  # it ended: refresh the whole page (history, sidebar)
    config = run.config
    st.subheader(f"Run {run_id}: {config.get('architecture')}, {run.status.value}")
    st.caption(f"Training on {run.device or device_line()} · {config.get('epochs')} epochs · batch "
               f"{config.get('batch_size')} · {(run.train_images or 0):,} training images")
    frame = metrics_frame(run_id)
    progress_line(run, frame)
    curves(frame)


# ---------------------------------------------------------------------------- history


def history(active):
    runs = [r for r in store().runs() if not active or r.id != active.id]
    st.subheader("Past runs")
    if not runs:
        st.caption("No runs yet. Choose settings in the sidebar and press Start.")
        return
    table = pd.DataFrame([{
        "run": r.id, "network": r.config.get("architecture"), "status": r.status.value,
        "test accuracy": r.test_accuracy, "epochs": r.config.get("epochs"), "images": r.train_images,
        "seconds": round(r.finished - r.started, 1) if r.finished and r.started else None, "model": r.model_name,
    } for r in runs])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.4f")})
    by_id = {r.id: r for r in runs}
    with_curves = [r.id for r in runs if r.status.has_model]
    chosen = st.multiselect("Compare the curves of", with_curves, default=with_curves[:2], key="compare",
                            format_func=lambda i: f"run {i} ({by_id[i].config.get('architecture')})")
    if chosen:
        compare(chosen, by_id)
    st.markdown("**A run's model**")
    run_id = st.selectbox("Run", list(by_id), key="selected_run", format_func=lambda i: f"run {i}: {by_id[i].status.value}")
    run_actions(by_id[run_id])


def compare(run_ids, by_id):
    frames = []
    for run_id in run_ids:
        frame = pd.DataFrame([vars(m) for m in store().metrics(run_id) if m.kind == "epoch"])
        if not frame.empty:
            frames.append(frame.assign(run=f"run {run_id} ({by_id[run_id].config.get('architecture')})"))
    if not frames:
        return
    data = pd.concat(frames)
    metric = "val_accuracy" if data["val_accuracy"].notna().any() else "accuracy"
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("epoch:Q"), y=alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False), title=metric.replace("_", " ")),
        color=alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None)),
    ).properties(height=260)
    st.altair_chart(chart, width="stretch")


def run_actions(run):
    if run.status == Status.FAILED:
        st.error(f"Run {run.id} failed: {run.error or 'see its log'}")
        with st.expander("Log tail"):
            st.code(run.log_tail or "(empty)")
    models = common.catalog()
    info = models.find(run.model_name) if run.model_name else None
    if info is None:
        if run.status.has_model:
            st.caption("Its model file is gone.")
        return
    allowed = access.may_train()
    columns = st.columns(3)
    if models.active().name == info.name:
        columns[0].success("Active: serving the Draw page")
    elif columns[0].button("Activate", key="activate", type="primary", disabled=not allowed, width="stretch"):
        if access.may_train():
            models.activate(info.name)
            st.toast(f"{info.name} now serves every session.")
            st.rerun()
    columns[1].download_button("Download .keras", data=info.path.read_bytes(), file_name=info.path.name,
                               mime="application/octet-stream", key="download_model", width="stretch")
    if columns[2].button("Delete", key="delete", disabled=not allowed, width="stretch") and access.may_train():
        try:
            models.delete(info.name)
        except ValueError as refused:
            st.warning(str(refused))
            return
        store().delete_run(run.id)
        st.rerun()


# ---------------------------------------------------------------------------- page

st.title("Train")
try:
    supervisor.reconcile(store())
    active = store().active_run()
except RunsUnavailable as broken:
    st.error(str(broken))
    st.stop()
controls(active)
if active is not None:
    st.fragment(live_view, run_every=1.0)(active.id)
elif common.settings().training == "queue":
    st.caption("No run in progress. Runs are queued for a training worker on another machine "
               "(scripts/worker.py); their progress shows here live.")
else:
    st.caption(f"No run in progress. Training runs on {device_line()} in a process of its own: "
               "it goes on when you leave this page, and everyone who opens it sees it live.")
history(active)
