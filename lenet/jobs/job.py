"""One training job, in a process of its own: `python -m lenet.jobs.job RUN_ID`.

The job reads its run from the database (`Settings.from_env()`, as its supervisor passed them):
a training run (kind "train") or a fine-tune on a collection (kind "teach"). It streams
metrics back, obeys the run's stop flag, saves its model as a new version atomically, puts it
to work only if it is not worse than what is served, and records the outcome. Every way of
dying that Python still sees is recorded as a failure.
"""

import os
import signal
import sys
import time
import traceback
from pathlib import Path

import keras

from lenet.config import MNIST_TRAIN_IMAGES, Settings
from lenet.errors import Refused
from lenet.jobs.catalog import Catalog
from lenet.jobs.pipeline import teach_and_save, train_and_save
from lenet.jobs.runs import Metric, RunStore, Status, this_host
from lenet.jobs.supervisor import log_tail
from lenet.nets.devices import describe_device
from lenet.nets.training import TrainConfig, steps_per_epoch
from lenet.people.collection import Collections, folder_name
from lenet.people.teach import TeachConfig, TeachRefused, check_teachable, phases_of_held_out

PROGRESS_EVERY_S = 0.25  # metric rows are written at most this often (and at every epoch end)


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
        self.steps_per_epoch = (self.params or {}).get("steps") or self.steps_per_epoch
        self.started = False
        self.store.update(self.run_id, steps_per_epoch=self.steps_per_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.last_step = 0

    def on_train_batch_end(self, batch, logs=None):
        if not self.started:  # the first steps ran: compiling is over
            self.started = True
            self.store.update(self.run_id, phase="training", phase_progress=None)
        step = batch + 1
        self.window_steps += step - self.last_step
        self.last_step = step
        now = time.perf_counter()
        if now - self.last_write < PROGRESS_EVERY_S:
            return
        rate = self.window_steps * self.batch_size / max(now - self.window_start, 1e-9)
        self._write("batch", step, logs, images_per_s=rate)
        self.window_start, self.window_steps, self.last_write = now, 0, now
        self._obey_stop()

    def on_epoch_end(self, epoch, logs=None):
        self._write("epoch", self.steps_per_epoch, logs)
        print(
            f"epoch {epoch + 1}/{self.epochs}: " + "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()),
            flush=True,
        )
        self.last_write = time.perf_counter()
        self._obey_stop()

    def _obey_stop(self):
        if self.store.stop_requested(self.run_id):
            self.model.stop_training = True

    def _write(self, kind, step, logs, images_per_s=None):
        logs = {k: None if v is None else float(v) for k, v in (logs or {}).items()}
        self.store.add_metrics(
            self.run_id,
            [
                Metric(
                    kind=kind,
                    logged=time.time(),
                    epoch=self.epoch + 1,
                    step=step,
                    progress=self.epoch + step / self.steps_per_epoch,
                    loss=logs.get("loss"),
                    accuracy=logs.get("accuracy"),
                    val_loss=logs.get("val_loss"),
                    val_accuracy=logs.get("val_accuracy"),
                    images_per_s=images_per_s,
                )
            ],
        )


def run_job(settings, run_id):
    """The job's body: train (or teach) and save a version, then serve it if asked and record the outcome."""
    store = RunStore.of(settings)
    run = store.run(run_id)
    # SIGTERM (a server shutting down, `kill`) stops like the Stop button: the model is kept.
    signal.signal(signal.SIGTERM, lambda *_: store.request_stop(run_id))
    metadata = work(settings, store, run, host=this_host())
    finish(settings, store, run, metadata)
    return run_id


def work(settings, store, run, host, inputs=None):
    """Train or teach `run` and save its model as a version in `settings.trained_dir`; returns
    its model card. The part of a job that a process here and a task on a Ray node share:
    `store` is the runs database, or what a node has of it (`lenet.jobs.onray`); `inputs`, for a
    teaching run, are what it starts from `(base model path, images, labels)` when they come
    from elsewhere (default: this installation's catalog and collection)."""
    store.update(
        run.id,
        status=Status.STOPPING if run.stop_requested else Status.RUNNING,
        started=time.time(),
        heartbeat=time.time(),
        pid=os.getpid(),
        host=host,
        device=describe_device(),
    )
    phase = lambda name, fraction=None, **facts: store.update(run.id, phase=name, phase_progress=fraction, **facts)
    annotate = lambda metadata: {
        "run_id": run.id,
        "partial": store.stop_requested(run.id),
        "stopped_early": store.stop_requested(run.id) or metadata.get("stopped_early", False),
    }
    if run.kind == "teach":
        return teach_collection(settings, store, run, annotate, phase, inputs or teach_inputs(settings, run))
    return train_network(settings, store, run, annotate, phase)


def finish(settings, store, run, metadata):
    """Serve the saved version if asked and not worse, keep the number of stopped runs' versions
    within `Settings.keep_versions` and each owner's taught versions within `keep_taught`, and
    record the outcome."""
    catalog = Catalog(settings)
    outcome = None
    if run.activate_when_done and not metadata["partial"]:
        outcome = catalog.activate_unless_worse(metadata["name"], metadata["test_accuracy"])
    catalog.prune(settings.keep_versions, settings.keep_taught)
    store.update(
        run.id,
        status=Status.STOPPED if metadata["partial"] else Status.FINISHED,
        finished=time.time(),
        test_accuracy=metadata["test_accuracy"],
        test_loss=metadata.get("test_loss"),
        model_name=metadata["name"],
        outcome=outcome,
        log_tail=log_tail(run.log_path),
    )


def train_network(settings, store, run, annotate, phase):
    """A training run: its model saved as version ARCH-runN; returns the model card."""
    config = TrainConfig.from_dict(run.config)
    store.update(run.id, epochs=config.epochs, steps_per_epoch=steps_per_epoch(config, MNIST_TRAIN_IMAGES))
    reporter = ProgressReporter(store, run.id, None, config.batch_size, config.epochs)
    output = settings.trained_dir / f"{config.architecture}-run{run.id}.keras"
    result, metadata = train_and_save(settings, config, output, callbacks=[reporter], annotate=annotate, phase=phase)
    store.update(run.id, recipe=result.recipe)
    return metadata


def teach_inputs(settings, run):
    """What a teaching run starts from here: `(base model path, images, labels)` of its config's
    base model (default: the served one) and collection."""
    config = TeachConfig.from_dict(run.config)
    catalog = Catalog(settings)
    base = catalog.find(config.base_model) if config.base_model else catalog.active()
    if base is None:
        raise TeachRefused(f"There is no model called {config.base_model!r} to start from.")
    x_own, y_own = Collections(settings.collections_dir).get(config.collection).arrays()
    return base.path, x_own, y_own


def teach_collection(settings, store, run, annotate, phase, inputs):
    """A teaching run: the model at `inputs[0]` fine-tuned on the digits `inputs[1:]`; returns the model card."""
    config = TeachConfig.from_dict(run.config)
    base_path, x_own, y_own = inputs
    check_teachable(y_own)
    phases = 1 + phases_of_held_out(config, len(y_own))
    store.update(
        run.id,
        epochs=phases,
        steps_per_epoch=config.steps,
        train_images=len(y_own),
        recipe="fine-tune with MNIST replay",
    )
    reporter = ProgressReporter(store, run.id, config.steps, config.batch_size, phases)
    name = f"{Path(base_path).stem.split('-')[0]}-{folder_name(config.collection)}-run{run.id}"
    phase("loading MNIST to replay beside your digits")
    _, metadata = teach_and_save(
        settings,
        base_path,
        x_own,
        y_own,
        config,
        settings.trained_dir / f"{name}.keras",
        callbacks=[reporter],
        stop=lambda: store.stop_requested(run.id),
        annotate=annotate,
    )
    return metadata


def public_reason(error):
    """One line on why a job failed, fit for anyone to read: no paths, no tracebacks (those are
    in its log, shown only to whoever may train)."""
    if isinstance(error, Refused):
        reason = error.public
    else:
        reason = "it ran out of memory" if isinstance(error, MemoryError) else "it stopped with an error"
    return f"{type(error).__name__}: {reason}"


def main(argv):
    settings = Settings.from_env()
    run_id = int(argv[0])
    try:
        run_job(settings, run_id)
    except BaseException as error:  # record every way of dying that Python can still see
        store = RunStore.of(settings)
        run = store.run(run_id)
        traceback.print_exc()
        sys.stdout.flush()
        store.update(
            run_id,
            status=Status.FAILED,
            finished=time.time(),
            error=public_reason(error),
            log_tail=log_tail(run.log_path if run else None),
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
