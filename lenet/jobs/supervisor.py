"""Starting, stopping and watching training jobs, each a process of its own (`lenet.jobs.job`).

`start_training()` records a queued run and launches `python -m lenet.jobs.job RUN_ID` in a new
session, so the job outlives the web page, its reruns and its server's script threads. A job
that dies is found by `reconcile()`: its run is marked failed with the tail of its log, and
the active model was never touched. With `Settings.training == "ray"` the same job runs as a
task on a Ray cluster instead (`lenet.jobs.onray`), watched from this process.
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
WATCHER_SILENT_S = 15  # a Ray run's watcher writes its heartbeat every second: silence means the app stopped
KILLED = "The training process ended without finishing (killed or crashed)."
WATCHER_GONE = "The app process that watched it on the Ray cluster ended (restarted or crashed)."


class TrainingDisabled(Refused):
    """This server does not train (Settings.training == 'off')."""


def start_training(settings, config, activate_when_done=False, kind="train", store=None):
    """Record a run of `config` (a `TrainConfig`, or a `TeachConfig` for kind 'teach') and
    launch its job; returns the run id. In 'ray' mode the job is a task on the Ray cluster.

    Raises `RunInProgress` when a run is already queued or running, `TrainingDisabled` when
    the settings switch training off or the cluster can't take the job (its message says why).
    """
    if settings.training == "off":
        raise TrainingDisabled("Training is switched off on this server (LENET_TRAINING=off).")
    store = store or RunStore.of(settings)
    reconcile(store)
    if settings.training == "ray":
        from lenet.jobs import onray  # Ray is imported only where jobs go to a cluster

        return onray.start(settings, store, config, activate_when_done, kind)
    run_id = store.create_run(config.to_dict(), activate_when_done, kind)
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

    A run still waiting for a Ray node to start it is cancelled outright.
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
        if not run.status.active:
            continue
        if run.cluster:  # watched by an app process (this one or a replica), which writes its heartbeat
            if run.silent_for < WATCHER_SILENT_S:
                continue
        elif not run.pid:
            continue  # just recorded: its process is being launched
        elif run.silent_for < STALE_AFTER_S and (run.host != this_host() or process_alive(run.pid)):
            continue  # alive here, or another machine's job that still reports
        store.update(
            run.id,
            status=Status.FAILED,
            finished=time.time(),
            log_tail=log_tail(run.log_path),
            error=run.error or (WATCHER_GONE if run.cluster else KILLED),
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
