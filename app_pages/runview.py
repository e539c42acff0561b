"""A training or teaching run as the pages show it: live progress and curves, and comparisons.

Streamlit code only; the numbers come from the runs database (`lenet.jobs.runs`).
"""

import time

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import state
from lenet.config import MNIST_TRAIN_IMAGES
from lenet.jobs import supervisor
from lenet.jobs.runs import RunStore, RunsUnavailable, Status
from lenet.nets.devices import describe_device
from lenet.nets.training import TrainConfig, fit_size


@st.cache_resource
def device_line():
    return describe_device()


def store():
    return RunStore.of(state.settings())


def metrics_frame(run_id):
    """All metrics of a run so far; fetched incrementally per session."""
    cache = st.session_state.setdefault(state.METRIC_CACHE, {})
    rows = cache.setdefault(run_id, [])
    rows.extend(vars(m) for m in store().metrics(run_id, after_seq=rows[-1]["seq"] if rows else 0))
    return pd.DataFrame(rows)


def curves(frame):
    """Loss and accuracy as they are logged: training every few steps (a line, so a short run is
    a curve too), validation at each epoch's end (points), the axes fitted to what is there."""
    if frame.empty:
        return
    left, right = st.columns(2)
    x = alt.X("progress:Q", title="epoch", axis=alt.Axis(format="~g", tickMinStep=0.5))
    for column, metric in ((left, "loss"), (right, "accuracy")):
        train = frame[frame[metric].notna()][["progress", metric]].rename(columns={metric: "value"})
        val = frame[frame[f"val_{metric}"].notna()][["progress", f"val_{metric}"]]
        val = val.rename(columns={f"val_{metric}": "value"})
        y = alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False))
        color = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom"))
        lines = alt.Chart(train.assign(series="training")).mark_line().encode(x=x, y=y, color=color)
        points = alt.Chart(val.assign(series="validation")).mark_line(point=True).encode(x=x, y=y, color=color)
        column.altair_chart((lines + points).properties(height=280, title=metric), width="stretch")


def progress_line(run, frame):
    """The phase the job is in, with its own progress; once training runs, epoch and step, and
    an ETA only when there is a rate to base it on (two points logged a second apart)."""
    if run.status == Status.QUEUED and not run.pid:
        st.progress(0.0, text="Waiting for a node of the Ray cluster to start it (a free CPU, MNIST loaded)...")
        return
    if frame.empty or (run.phase and run.phase != "training"):
        phase = (run.phase or "starting: loading TensorFlow").capitalize()
        fraction = run.phase_progress
        st.progress(fraction or 0.0, text=f"{phase}" + (f": {fraction:.0%}" if fraction is not None else "..."))
        if frame.empty:
            return
    epochs = run.epochs or run.config.get("epochs", 1)
    first, last = frame.iloc[0], frame.iloc[-1]
    done = float(last["progress"])
    seconds = float(last["logged"]) - float(first["logged"])
    rate = (done - float(first["progress"])) / seconds if seconds >= 1 else 0  # epochs a second, compiling left out
    rates = frame["images_per_s"].dropna()
    unit = "fine-tune" if run.kind == "teach" else "epoch"
    text = (
        f"{unit} {int(last['epoch'])} of {epochs} · step {int(last['step'])} of {run.steps_per_epoch or '?'}"
        + (f" · {rates.iloc[-1]:,.0f} images/s" if len(rates) else "")
        + (f" · about {max(0.0, epochs - done) / rate:.0f} s left" if rate > 0 else "")
    )
    st.progress(min(1.0, done / epochs), text=text)
    st.caption(f"Last point logged {max(0.0, time.time() - float(last['logged'])):.1f} s ago")


def images_line(run):
    """'54,000 of MNIST's 60,000 training images + 47,000 more (real writers, non-digits)'."""
    config = TrainConfig.from_dict(run.config)
    mnist = fit_size(config, MNIST_TRAIN_IMAGES)
    line = f"{mnist:,} of MNIST's {MNIST_TRAIN_IMAGES:,} training images"
    if mnist < MNIST_TRAIN_IMAGES:
        held = int(round(MNIST_TRAIN_IMAGES * config.validation_split))
        line += f" ({held:,} held out to pick the best epoch)" if held and not config.max_samples else ""
    more = (run.train_images or mnist) - mnist
    sources = [
        name for name, used in (("real writers' digits", config.writers), ("non-digits", config.not_digits)) if used
    ]
    return line + (f" + {more:,} more ({', '.join(sources)})" if more > 0 and sources else "")


def describe(run):
    """'lenet5', or 'teaching “my digits”'."""
    return (
        f"teaching “{str(run.config.get('collection')).rsplit('/', 1)[-1]}”"  # the name, not its owner's id
        if run.kind == "teach"
        else run.config.get("architecture")
    )


def where(run):
    """'CPU: ...' here; 'Ray node HOST (IP), GPU: ...' on a cluster (a node is named once it has the job)."""
    if not run.cluster:
        return run.device or device_line()
    if not run.host:
        return f"the Ray cluster at {run.cluster}"
    return f"Ray node {run.host}, {run.device}"


def live_view(run_id):
    """Polled every second: status, progress and curves of the run in progress."""
    try:
        _live_view(run_id)
    except RunsUnavailable as broken:  # damaged while it was being watched
        st.error(str(broken))


def _live_view(run_id):
    runs = store()
    run = runs.run(run_id)
    if run is not None and supervisor.reconcile(runs, [run]):  # its process died: say so within a second
        run = runs.run(run_id)
    if run is None or not run.status.active:
        st.session_state.pop(state.METRIC_CACHE, None)
        st.rerun()  # it ended: refresh the whole page (history, sidebar)
    st.subheader(f"Run {run_id}: {describe(run)}, {run.status.value}")
    if run.kind == "teach":
        st.caption(
            f"Teaching on {where(run)} · {run.train_images or 0} kept digits · "
            f"{run.config.get('steps')} steps per fine-tune · the model kept, then one fine-tune per held-out fold"
        )
    else:
        epochs = run.config.get("epochs")
        st.caption(
            f"Training on {where(run)} · {epochs} epoch{'s' * (epochs != 1)} · batch "
            f"{run.config.get('batch_size')} · " + images_line(run)
        )
    frame = metrics_frame(run_id)
    progress_line(run, frame)
    curves(frame)


def compare(run_ids, by_id):
    """The runs' training accuracy along their epochs (every logged step: a 1-epoch run is a
    curve, not a dot) and their validation accuracy at each epoch's end."""
    frames = []
    for run_id in run_ids:
        frame = pd.DataFrame([vars(m) for m in store().metrics(run_id)])
        if not frame.empty:
            frames.append(frame.assign(run=f"run {run_id} ({describe(by_id[run_id])})"))
    if not frames:
        return
    data = pd.concat(frames)
    x = alt.X("progress:Q", title="epoch", axis=alt.Axis(format="~g", tickMinStep=0.5))
    color = alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None))
    training = (
        alt.Chart(data[data["accuracy"].notna()])
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False), title="accuracy (line: training, dots: validation)"),
            color=color,
        )
    )
    checked = data[data["val_accuracy"].notna()]
    validation = alt.Chart(checked).mark_point(filled=True, size=60).encode(x=x, y="val_accuracy:Q", color=color)
    st.altair_chart((training + validation).properties(height=300), width="stretch")
