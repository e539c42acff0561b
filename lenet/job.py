"""One training job, in a process of its own: `python -m lenet.job RUN_ID`.

The job reads its run from the database (`Settings.from_env()`, as its supervisor passed them),
streams metrics back, obeys the run's stop flag, saves its model as a new version atomically
and records the outcome. Every way of dying that Python still sees is recorded as a failure.
"""

import os
import signal
import sys
import time
import traceback

import keras

from lenet.catalog import Catalog
from lenet.config import Settings
from lenet.data import load_mnist_with_source
from lenet.devices import describe_device
from lenet.modelio import build_metadata, save_model
from lenet.runs import Metric, RunStore, Status, this_host
from lenet.supervisor import log_tail
from lenet.training import TrainConfig, fit_size, steps_per_epoch, train

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
        self._obey_stop()

    def on_epoch_end(self, epoch, logs=None):
        self._write("epoch", self.steps_per_epoch, logs)
        print(f"epoch {epoch + 1}/{self.epochs}: " + "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()), flush=True)
        self.last_write = time.perf_counter()
        self._obey_stop()

    def _obey_stop(self):
        if self.store.stop_requested(self.run_id):
            self.model.stop_training = True

    def _write(self, kind, step, logs, images_per_s=None):
        logs = {k: None if v is None else float(v) for k, v in (logs or {}).items()}
        self.store.add_metrics(self.run_id, [Metric(
            kind=kind, logged=time.time(), epoch=self.epoch + 1, step=step,
            progress=self.epoch + step / self.steps_per_epoch, loss=logs.get("loss"), accuracy=logs.get("accuracy"),
            val_loss=logs.get("val_loss"), val_accuracy=logs.get("val_accuracy"), images_per_s=images_per_s,
        )])


def model_name_for(run_id, config):
    return f"{config.architecture}-run{run_id}"


def run_job(settings, run_id):
    """The job's body: train, save a version, record the outcome."""
    store = RunStore.of(settings)
    run = store.run(run_id)
    config = TrainConfig.from_dict(run.config)
    # SIGTERM (a server shutting down, `kill`) stops like the Stop button: the model is kept.
    signal.signal(signal.SIGTERM, lambda *_: store.request_stop(run_id))
    store.update(run_id, status=Status.STOPPING if run.stop_requested else Status.RUNNING, started=time.time(),
                 heartbeat=time.time(), pid=os.getpid(), host=this_host(), device=describe_device())
    data, source = load_mnist_with_source(settings.mnist_dir)
    steps = steps_per_epoch(config, len(data[0][0]))
    store.update(run_id, steps_per_epoch=steps, train_images=fit_size(config, len(data[0][0])))
    reporter = ProgressReporter(store, run_id, steps, config.batch_size, config.epochs)
    result = train(config, callbacks=[reporter], data=data)
    stopped = store.stop_requested(run_id)
    name = model_name_for(run_id, config)
    metadata = build_metadata(result, data_source=source, name=name)
    metadata.update(run_id=run_id, stopped_early=stopped or result.stopped_early, partial=stopped)
    save_model(result.model, settings.trained_dir / f"{name}.keras", metadata)
    store.update(run_id, status=Status.STOPPED if stopped else Status.FINISHED, finished=time.time(),
                 test_accuracy=result.test_accuracy, test_loss=result.test_loss, model_name=name,
                 log_tail=log_tail(run.log_path))
    if run.activate_when_done and not stopped:
        Catalog(settings).activate(name)
    return run_id


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
        store.update(run_id, status=Status.FAILED, finished=time.time(), error=f"{type(error).__name__}: {error}"[:500],
                     log_tail=log_tail(run.log_path if run else None))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
