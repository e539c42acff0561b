"""Train: pick a network in the sidebar, press Start, watch it learn, put the result to work."""

import time

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import access
from lenet import jobs, models
from lenet.architectures import ARCHITECTURES
from lenet.config import MAX_EPOCHS
from lenet.devices import describe_device
from lenet.runs import FINISHED_STATUSES, RunInProgress, RunStore
from lenet.training import OPTIMIZERS, TrainConfig

DEFAULTS = TrainConfig()
# The config's defaults are always among the choices, whatever they become.
BATCH_SIZES = sorted({32, 64, 128, 256, 512, 1024, DEFAULTS.batch_size})
LEARNING_RATES = sorted({1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 2e-2, 5e-2, 1e-1, DEFAULTS.learning_rate})
TRAINING_SIZES = [1000, 5000, 10000, 30000, 0]  # 0: all 60,000 less the validation split


@st.cache_resource
def device_line():
    return describe_device()


def store():
    if "run_store" not in st.session_state:
        st.session_state["run_store"] = RunStore()
    return st.session_state["run_store"]


# ---------------------------------------------------------------------------- sidebar


def password_gate(policy):
    st.caption(policy.reason)
    attempt = st.text_input("Password", type="password", key="training_password")
    if st.button("Unlock training", key="unlock"):
        if access.unlock(policy, attempt):
            st.rerun()
        st.error("Wrong password.")


def controls(active):
    """The sidebar: every setting of a run, Start and Stop. Returns nothing; acts on clicks."""
    policy = access.training_policy()
    with st.sidebar:
        st.markdown("### Training")
        if not policy.enabled:
            st.info(policy.reason)
            return
        if not access.may_train(policy):
            password_gate(policy)
            return
        names = list(ARCHITECTURES)
        architecture = st.selectbox("Network", names, index=names.index(DEFAULTS.architecture), key="t_architecture",
                                    help="\n\n".join(f"**{n}**: {ARCHITECTURES[n].description}" for n in names))
        epochs = st.slider("Epochs", 1, MAX_EPOCHS, DEFAULTS.epochs, key="t_epochs")
        batch_size = st.select_slider("Batch size", BATCH_SIZES, DEFAULTS.batch_size, key="t_batch")
        learning_rate = st.select_slider("Learning rate (peak)", LEARNING_RATES, DEFAULTS.learning_rate,
                                         format_func=lambda v: f"{v:g}", key="t_lr")
        optimizer = st.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(DEFAULTS.optimizer), key="t_optimizer")
        augment = st.toggle("Augmentation (shifts, rotations, zoom)", DEFAULTS.augment, key="t_augment")
        max_samples = st.select_slider("Training images", TRAINING_SIZES, 0, key="t_samples",
                                       format_func=lambda n: f"{n:,}" if n else "all")
        patience = st.number_input("Early stopping: epochs without improvement (0: off)", 0, MAX_EPOCHS,
                                   DEFAULTS.patience, key="t_patience")
        activate = st.checkbox("Activate when done", True, key="t_activate",
                               help="Serve the new model on the Draw page for everyone once it finishes.")
        config = TrainConfig(architecture=architecture, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, optimizer=optimizer, augment=augment,
                             max_samples=max_samples, patience=int(patience))
        start, stop = st.columns(2)
        if start.button("Start", type="primary", key="start", disabled=active is not None, width="stretch"):
            start_run(config, activate)
        if stop.button("Stop", key="stop", disabled=active is None, width="stretch"):
            if access.may_train():  # the policy again: it may have changed since the page loaded
                jobs.stop(active["id"], store())
                st.rerun()
        if active is not None:
            st.caption(f"Run {active['id']} is in progress; one run at a time on this server.")


def start_run(config, activate):
    if not access.may_train():
        st.error(access.training_policy().reason or "Training is not allowed.")
        return
    try:
        run_id = jobs.start_training(config, activate_when_done=activate, store=store(),
                                     mode=access.training_policy().mode)
    except RunInProgress as busy:
        st.warning(f"{busy} It is shown below.")
        return
    except jobs.TrainingDisabled as off:
        st.error(str(off))
        return
    st.session_state["watching"] = run_id
    st.rerun()


# ---------------------------------------------------------------------------- live run


def metrics_frame(run_id):
    """All metrics of a run so far; fetched incrementally per session."""
    cache = st.session_state.setdefault("metric_cache", {})
    rows = cache.setdefault(run_id, [])
    rows.extend(store().metrics(run_id, after_seq=rows[-1]["seq"] if rows else 0))
    return pd.DataFrame(rows)


def curves(frame, title_suffix=""):
    """Loss and accuracy: training every few batches (line), validation each epoch (points)."""
    if frame.empty:
        return
    left, right = st.columns(2)
    for column, metric in ((left, "loss"), (right, "accuracy")):
        train = frame[frame[metric].notna()][["progress", metric]].rename(columns={metric: "value"}).assign(series="training")
        val = frame[frame[f"val_{metric}"].notna()][["progress", f"val_{metric}"]].rename(columns={f"val_{metric}": "value"}).assign(series="validation")
        data = pd.concat([train, val])
        chart = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=30)).encode(
            x=alt.X("progress:Q", title="epoch"),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
        ).properties(height=260, title=f"{metric}{title_suffix}")
        column.altair_chart(chart, width="stretch")


def progress_line(run, frame):
    config = TrainConfig.from_dict(run["config"])
    if frame.empty:
        waiting = run["status"] == "queued" and not run["pid"]
        st.progress(0.0, text="Waiting for a training worker to pick this run up (scripts/worker.py)..." if waiting
                    else "Starting: loading TensorFlow and MNIST...")
        return
    last = frame.iloc[-1]
    fraction = min(1.0, float(last["progress"]) / config.epochs)
    elapsed = time.time() - (run["started"] or run["created"])
    eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
    rates = frame["images_per_s"].dropna()
    text = (f"epoch {int(last['epoch'])}/{config.epochs} · step {int(last['step'])}/{run['steps_per_epoch'] or '?'}"
            + (f" · {rates.iloc[-1]:,.0f} images/s" if len(rates) else "")
            + (f" · about {eta:.0f} s left" if eta is not None else ""))
    st.progress(fraction, text=text)
    st.caption(f"Last point logged {max(0.0, time.time() - float(last['logged'])):.1f} s ago")


def live_view(run_id):
    """Polled every second: status, progress and curves of the run in progress."""
    run = store().run(run_id)
    if run is None:
        st.rerun()
    if run["status"] not in ("queued", "running", "stopping"):
        st.session_state.pop("metric_cache", None)
        st.rerun()  # it ended: refresh the whole page (history, sidebar)
    config = TrainConfig.from_dict(run["config"])
    st.subheader(f"Run {run_id}: {config.architecture}, {run['status']}")
    st.caption(f"Training on {run['device'] or device_line()} · {config.epochs} epochs · batch {config.batch_size} · "
               f"{(run['train_images'] or 0):,} training images")
    frame = metrics_frame(run_id)
    progress_line(run, frame)
    curves(frame)


# ---------------------------------------------------------------------------- history


def history(active):
    runs = [r for r in store().runs() if not active or r["id"] != active["id"]]
    st.subheader("Past runs")
    if not runs:
        st.caption("No runs yet. Choose settings in the sidebar and press Start.")
        return
    table = pd.DataFrame([{
        "run": r["id"], "network": r["config"].get("architecture"), "status": r["status"],
        "test accuracy": r["test_accuracy"], "epochs": r["config"].get("epochs"),
        "images": r["train_images"], "seconds": round(r["finished"] - r["started"], 1) if r["finished"] and r["started"] else None,
        "model": r["model_name"],
    } for r in runs])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.4f")})
    by_id = {r["id"]: r for r in runs}
    with_curves = [r["id"] for r in runs if r["status"] in FINISHED_STATUSES]
    chosen = st.multiselect("Compare the curves of", with_curves, default=with_curves[:2], key="compare",
                            format_func=lambda i: f"run {i} ({by_id[i]['config'].get('architecture')})")
    if chosen:
        compare(chosen, by_id)
    st.markdown("**A run's model**")
    run_id = st.selectbox("Run", list(by_id), key="selected_run", format_func=lambda i: f"run {i}: {by_id[i]['status']}")
    run_actions(by_id[run_id])


def compare(run_ids, by_id):
    frames = []
    for run_id in run_ids:
        frame = pd.DataFrame(store().metrics(run_id))
        if not frame.empty:
            frames.append(frame[frame["kind"] == "epoch"].assign(run=f"run {run_id} ({by_id[run_id]['config'].get('architecture')})"))
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
    if run["status"] == "failed":
        st.error(f"Run {run['id']} failed: {run['error'] or 'see its log'}")
        with st.expander("Log tail"):
            st.code(run["log_tail"] or "(empty)")
    info = models.find_model(run["model_name"]) if run["model_name"] else None
    if info is None:
        if run["status"] in FINISHED_STATUSES:
            st.caption("Its model file is gone.")
        return
    active = models.active_model()
    columns = st.columns(3)
    if active and active.name == info.name:
        columns[0].success("Active: serving the Draw page")
    elif columns[0].button("Activate", key="activate", type="primary", disabled=not access.may_train(), width="stretch"):
        if access.may_train():
            models.activate(info.name)
            st.toast(f"{info.name} now serves every session.")
            st.rerun()
    columns[1].download_button("Download .keras", data=info.path.read_bytes(), file_name=info.path.name,
                               mime="application/octet-stream", key="download_model", width="stretch")
    if columns[2].button("Delete", key="delete", disabled=not access.may_train(), width="stretch"):
        if access.may_train():
            delete_run(run, info, active)


def delete_run(run, info, active):
    if active and active.name == info.name:
        st.warning("This model is active; activate another one before deleting it.")
        return
    for path in (info.path, info.path.with_suffix(".json")):
        path.unlink(missing_ok=True)
    store().delete_run(run["id"])
    st.rerun()


# ---------------------------------------------------------------------------- page

st.title("Train")
jobs.reconcile(store())
active = store().active_run()
controls(active)
if active is not None:
    st.fragment(live_view, run_every=1.0)(active["id"])
elif access.training_policy().mode == "queue":
    st.caption("No run in progress. Runs are queued for a training worker on another machine "
               "(scripts/worker.py); their progress shows here live.")
else:
    st.caption(f"No run in progress. Training runs on {device_line()} in a process of its own: "
               "it goes on when you leave this page, and everyone who opens it sees it live.")
history(active)
