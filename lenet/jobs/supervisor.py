"""Starting, stopping and watching training jobs, each a process of its own (`lenet.jobs.job`).

`start_training()` records a queued run and launches `python -m lenet.jobs.job RUN_ID` in a new
session, so the job outlives the web page, its reruns and its server's script threads. A job
that dies is found by `reconcile()`: its run is marked failed with the tail of its log, and
the active model was never touched. With `Settings.training == "queue"` runs only wait in the
database, and `work()` (scripts/worker.py) runs them on another machine sharing the data folder.
"""

import os
import subprocess
import sys
import time

import psutil

from lenet.config import PROJECT_ROOT
from lenet.errors import Refused
from lenet.jobs.runs import RunStore, Status, this_host

LOG_TAIL_LINES = 40
STALE_AFTER_S = 600  # a running job silent this long is considered dead even if its pid lives
KILLED = "The training process ended without finishing (killed or crashed)."


class TrainingDisabled(Refused):
    """This server does not train (Settings.training == 'off')."""


def start_training(settings, config, activate_when_done=False, kind="train", store=None):
    """Record a run of `config` (a `TrainConfig`, or a `TeachConfig` for kind 'teach') and
    launch its job; returns the run id. In 'queue' mode the run waits for a worker.

    Raises `RunInProgress` when a run is already queued or running, `TrainingDisabled` when
    the settings switch training off.
    """
    if settings.training == "off":
        raise TrainingDisabled("Training is switched off on this server (LENET_TRAINING=off).")
    store = store or RunStore.of(settings)
    reconcile(store)
    run_id = store.create_run(config.to_dict(), activate_when_done, kind)
    if settings.training == "on":
        launch(settings, run_id, store)
    return run_id


def launch(settings, run_id, store):
    """Start the job process for a recorded run, logging to DATA_DIR/runs/run-N.log."""
    log_path = settings.logs_dir / f"run-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lenet.jobs.job", str(run_id)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **settings.environment(), "PYTHONUNBUFFERED": "1"},
        )
    store.update(run_id, pid=process.pid, host=this_host(), log_path=str(log_path))
    return process


def stop(store, run_id):
    """Ask a run to stop after its current batch; what it learned so far is kept.

    A run still waiting in the queue is cancelled outright.
    """
    run = store.run(run_id)
    if run and run.status == Status.QUEUED and not run.pid:
        store.update(run_id, status=Status.FAILED, finished=time.time(), error="Cancelled before it started.")
        return
    store.request_stop(run_id)


def reconcile(store, runs=None):
    """Mark active runs whose job has died as failed, with their log tail; returns the ids marked.

    `runs` limits the look to those (a page watching one run); by default every active run.
    """
    marked = []
    for run in runs if runs is not None else store.runs():
        if not run.status.active or not run.pid:
            continue  # queued runs without a pid wait to be launched here or claimed by a worker
        if run.silent_for < STALE_AFTER_S and (run.host != this_host() or process_alive(run.pid)):
            continue  # alive here, or another machine's job that still reports
        store.update(
            run.id,
            status=Status.FAILED,
            finished=time.time(),
            log_tail=log_tail(run.log_path),
            error=run.error or KILLED,
        )
        marked.append(run.id)
    return marked


def process_alive(pid):
    """Whether process `pid` runs here; an exited child (a zombie until reaped) counts as dead."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # reap it if it is our own child that has exited
            return False
    except ChildProcessError:
        pass
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
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


def work(settings, store=None, poll_s=2.0, once=False):
    """Run queued runs one after another (a training worker); with `once`, just the next one."""
    store = store or RunStore.of(settings)
    while True:
        reconcile(store)
        run_id = store.claim_next(os.getpid(), this_host())
        if run_id is not None:
            print(f"run {run_id}: starting", flush=True)
            launch(settings, run_id, store).wait()
            print(f"run {run_id}: {store.run(run_id).status.value}", flush=True)
            if once:
                return run_id
        elif once:
            return None
        else:
            time.sleep(poll_s)
