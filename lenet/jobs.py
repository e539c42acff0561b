"""Training jobs: each run is a process of its own, reporting through the runs database.

`start_training()` records a queued run and launches `python -m lenet.jobs RUN_ID` in a new
session, so the job outlives the web page, its reruns and its server's script threads. The
job streams metrics into the database, obeys a stop flag there, saves its model as a new
version atomically and, if asked, activates it. A job that dies is found by `reconcile()`:
its run is marked failed with the tail of its log, and the active model was never touched.

With `LENET_TRAINING=queue` the app only queues runs, and `work()` (scripts/worker.py) runs
them on another machine, say one with a GPU, sharing the data folder and runs database.
"""

import os
import signal
import subprocess
import sys
import time
import traceback

import keras

from lenet.config import PROJECT_ROOT, data_dir
from lenet.runs import ACTIVE_STATUSES, RunStore, this_host

PROGRESS_EVERY_S = 0.25  # metric rows are written at most this often (and at every epoch end)
LOG_TAIL_LINES = 40
STALE_AFTER_S = 600  # a running job silent this long is considered dead even if its pid lives


class TrainingDisabled(RuntimeError):
    """This server does not train (LENET_TRAINING=off)."""


def parse_mode(value):
    """'on' (jobs run here), 'queue' (a worker elsewhere runs them) or 'off', from a setting."""
    mode = str(value or "on").strip().lower()
    if mode in ("off", "0", "false", "no"):
        return "off"
    return "queue" if mode in ("queue", "worker", "remote") else "on"


def training_mode():
    """The mode set by `LENET_TRAINING` (the app also reads it from Streamlit secrets)."""
    return parse_mode(os.environ.get("LENET_TRAINING"))


def runs_dir():
    return data_dir() / "runs"


def start_training(config, activate_when_done=False, store=None, mode=None):
    """Record a run of `config` (a `TrainConfig`) and launch its job; returns the run id.

    `mode` defaults to `training_mode()`; in 'queue' mode the run waits for a worker.
    Raises `RunInProgress` when a run is already queued or running, `TrainingDisabled` when the
    server's configuration switches training off.
    """
    mode = parse_mode(mode) if mode is not None else training_mode()
    if mode == "off" or training_mode() == "off":
        raise TrainingDisabled("Training is switched off on this server (LENET_TRAINING=off).")
    store = store or RunStore()
    reconcile(store)
    run_id = store.create_run(config.to_dict(), activate_when_done)
    if mode == "queue":
        return run_id  # a worker (scripts/worker.py) picks it up
    launch(run_id, store)
    return run_id


def launch(run_id, store):
    """Start the job process for a recorded run, logging to DATA_DIR/runs/run-N.log."""
    log_path = runs_dir() / f"run-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lenet.jobs", str(run_id), str(store.path)],
            cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    store.update(run_id, pid=process.pid, host=this_host(), log_path=str(log_path))
    return process


def stop(run_id, store=None):
    """Ask a run to stop after its current batch; what it learned so far is kept.

    A run still waiting in the queue is cancelled outright.
    """
    store = store or RunStore()
    run = store.run(run_id)
    if run and run["status"] == "queued" and not run["pid"]:
        store.update(run_id, status="failed", finished=time.time(), error="Cancelled before it started.")
        return
    store.request_stop(run_id)


def reconcile(store=None):
    """Mark runs whose job has died as failed, with their log tail. Returns the ids marked."""
    store = store or RunStore()
    marked = []
    for run in store.runs():
        if run["status"] not in ACTIVE_STATUSES:
            continue
        silent = time.time() - (run["heartbeat"] or run["started"] or run["created"])
        if not run["pid"]:
            continue  # queued: waiting to be launched here or claimed by a worker
        if run["host"] and run["host"] != this_host():
            if silent < STALE_AFTER_S:
                continue  # another machine's job: only its silence tells it died
        elif process_alive(run["pid"]) and silent < STALE_AFTER_S:
            continue
        store.update(run["id"], status="failed", finished=time.time(), log_tail=log_tail(run["log_path"]),
                     error=run["error"] or "The training process ended without finishing (killed or crashed).")
        marked.append(run["id"])
    return marked


def process_alive(pid):
    try:  # reap it if it is our own child that has exited
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def log_tail(path, lines=LOG_TAIL_LINES):
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ProgressReporter(keras.callbacks.Callback):
    """Streams loss and accuracy into the runs database and honours its stop flag."""

    def __init__(self, store, run_id, steps_per_epoch, batch_size, epochs):
        super().__init__()
        self.store, self.run_id = store, run_id
        self.steps_per_epoch, self.batch_size, self.epochs = steps_per_epoch, batch_size, epochs

    def on_train_begin(self, logs=None):
        self.epoch = 0
        self.last_write = 0.0
        self.window_start, self.window_steps = time.perf_counter(), 0
        self.last_step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.last_step = 0

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        self.window_steps += step - self.last_step
        self.last_step = step
        now = time.perf_counter()
        if now - self.last_write < PROGRESS_EVERY_S:
            return
        rate = self.window_steps * self.batch_size / max(now - self.window_start, 1e-9)
        self._write("batch", step, logs, images_per_s=rate)
        self.window_start, self.window_steps, self.last_write = now, 0, now
        if self.store.stop_requested(self.run_id):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self._write("epoch", self.steps_per_epoch, logs)
        print(f"epoch {epoch + 1}/{self.epochs}: " + "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()), flush=True)
        self.last_write = time.perf_counter()
        if self.store.stop_requested(self.run_id):
            self.model.stop_training = True

    def _write(self, kind, step, logs, images_per_s=None):
        logs = logs or {}
        self.store.add_metrics(self.run_id, [{
            "kind": kind, "logged": time.time(), "epoch": self.epoch + 1, "step": step,
            "progress": self.epoch + step / self.steps_per_epoch,
            "loss": _number(logs.get("loss")), "accuracy": _number(logs.get("accuracy")),
            "val_loss": _number(logs.get("val_loss")), "val_accuracy": _number(logs.get("val_accuracy")),
            "images_per_s": images_per_s,
        }])


def _number(value):
    return None if value is None else float(value)


def model_name_for(run_id, config):
    return f"{config.architecture}-run{run_id}"


def run_job(run_id, store_path=None):
    """The job's body (in its own process): train, save a version, record the outcome."""
    from lenet import models
    from lenet.data import load_mnist_with_source
    from lenet.devices import describe_device
    from lenet.modelio import build_metadata, save_model
    from lenet.training import TrainConfig, fit_size, steps_per_epoch, train

    store = RunStore(store_path)
    run = store.run(run_id)
    config = TrainConfig.from_dict(run["config"])
    # SIGTERM (a server shutting down, `kill`) stops like the Stop button: the model is kept.
    signal.signal(signal.SIGTERM, lambda *_: store.request_stop(run_id))
    store.update(run_id, status="stopping" if run["stop_requested"] else "running", started=time.time(),
                 heartbeat=time.time(), pid=os.getpid(), host=this_host(), device=describe_device())
    data, source = load_mnist_with_source()
    steps = steps_per_epoch(config, len(data[0][0]))
    store.update(run_id, steps_per_epoch=steps, train_images=fit_size(config, len(data[0][0])))
    reporter = ProgressReporter(store, run_id, steps, config.batch_size, config.epochs)
    result = train(config, callbacks=[reporter], data=data)
    stopped = store.stop_requested(run_id)
    name = model_name_for(run_id, config)
    path = models.trained_dir() / f"{name}.keras"
    metadata = build_metadata(result, data_source=source, name=name)
    metadata.update(run_id=run_id, stopped_early=stopped or result.stopped_early, partial=stopped)
    save_model(result.model, path, metadata)
    store.update(run_id, status="stopped" if stopped else "finished", finished=time.time(),
                 test_accuracy=result.test_accuracy, test_loss=result.test_loss,
                 model_name=name, model_path=str(path), log_tail=log_tail(run["log_path"]))
    if run["activate_when_done"] and not stopped:
        models.activate(name)
    return run_id


def work(store=None, poll_s=2.0, once=False):
    """Run queued runs one after another (a training worker); with `once`, just the next one."""
    store = store or RunStore()
    while True:
        reconcile(store)
        run_id = store.claim_next(os.getpid(), this_host())
        if run_id is not None:
            print(f"run {run_id}: starting", flush=True)
            launch(run_id, store).wait()
            print(f"run {run_id}: {store.run(run_id)['status']}", flush=True)
            if once:
                return run_id
        elif once:
            return None
        else:
            time.sleep(poll_s)


def main(argv):
    run_id, store_path = int(argv[0]), (argv[1] if len(argv) > 1 else None)
    try:
        run_job(run_id, store_path)
    except BaseException as error:  # record every way of dying that Python can still see
        store = RunStore(store_path)
        run = store.run(run_id) or {}
        traceback.print_exc()
        sys.stdout.flush()
        store.update(run_id, status="failed", finished=time.time(), error=f"{type(error).__name__}: {error}"[:500],
                     log_tail=log_tail(run.get("log_path")))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
