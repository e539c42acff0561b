"""Training jobs as real processes: progress, stop, crash, kill, one at a time, activation."""

import dataclasses
import json
import os
import signal

import pytest
from conftest import ended, wait_for

from lenet.config import Settings
from lenet.jobs import supervisor
from lenet.jobs.catalog import Catalog
from lenet.jobs.runs import RunInProgress, RunStore, Status
from lenet.nets.training import TrainConfig

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

DEFAULT = Settings().default_model
TINY = TrainConfig(epochs=1, max_samples=1000, batch_size=128)


@pytest.fixture
def data_dir(settings, mnist):
    return settings.data_dir


def test_a_run_streams_progress_saves_a_version_and_never_serves_a_worse_model(settings, data_dir):
    store = RunStore.of(settings)
    before = Catalog(settings).active()
    run_id = supervisor.start_training(settings, TINY, activate_when_done=True)
    with pytest.raises(RunInProgress):
        supervisor.start_training(settings, TINY)
    # The first job of a session also prepares the held-out writers' digits it is scored on (once).
    run = wait_for(lambda: ended(store, run_id), timeout=600, what="the run to end")
    assert run.status == Status.FINISHED, run.log_tail
    metrics = store.metrics(run_id)
    assert any(m.kind == "epoch" and m.val_accuracy is not None for m in metrics)
    assert all(m.progress <= 1.0 for m in metrics)
    assert run.device.startswith(("CPU", "GPU")) and 0 < run.test_accuracy <= 1
    meta = json.loads((data_dir / "models" / f"{run.model_name}.json").read_text())
    assert meta["run_id"] == run_id and meta["config"]["max_samples"] == 1000
    # 1,000 images for one epoch read MNIST far worse than the shipped model: kept, not served.
    assert Catalog(settings).active().name == before.name
    assert run.outcome == f"kept {before.name}, {before.test_accuracy:.2%}: this run scored {run.test_accuracy:.2%}"


def test_stop_keeps_what_was_learned_and_leaves_the_active_model(settings, data_dir):
    store = RunStore.of(settings)
    run_id = supervisor.start_training(
        settings, TrainConfig(epochs=5, max_samples=20000, batch_size=64), activate_when_done=True
    )
    wait_for(lambda: store.metrics(run_id), what="the first progress report")
    supervisor.stop(store, run_id)
    run = wait_for(lambda: ended(store, run_id), what="the run to stop")
    assert run.status == Status.STOPPED and run.model_name
    assert json.loads((data_dir / "models" / f"{run.model_name}.json").read_text())["partial"] is True
    assert Catalog(settings).active().name == DEFAULT  # a partial result is not activated by itself
    assert supervisor.start_training(settings, TINY)  # the server is free again


def test_a_crashing_job_is_marked_failed_with_its_log(settings, data_dir, tmp_path):
    broken = tmp_path / "broken-mnist"
    broken.mkdir()
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (broken / name).write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 100)
    settings = dataclasses.replace(settings, mnist_dir=broken)
    store = RunStore.of(settings)
    run_id = supervisor.start_training(settings, TINY, activate_when_done=True)
    run = wait_for(lambda: ended(store, run_id), what="the run to fail")
    assert run.status == Status.FAILED and "MnistCorrupt" in run.error
    assert "does not match" in run.log_tail
    assert Catalog(settings).active().name == DEFAULT


def test_a_killed_job_is_marked_failed_and_changes_nothing(settings, data_dir):
    store = RunStore.of(settings)
    run_id = supervisor.start_training(
        settings, TrainConfig(epochs=5, max_samples=20000, batch_size=64), activate_when_done=True
    )
    wait_for(lambda: store.metrics(run_id), what="the first progress report")
    os.kill(store.run(run_id).pid, signal.SIGKILL)
    wait_for(
        lambda: supervisor.reconcile(store) or store.run(run_id).status == Status.FAILED, timeout=30, what="reconcile"
    )
    run = store.run(run_id)
    assert run.status == Status.FAILED and "killed or crashed" in run.error
    assert Catalog(settings).active().name == DEFAULT
    assert not list((data_dir / "models").glob("*.keras")) if (data_dir / "models").exists() else True
    assert store.check_integrity() == "ok"


def test_training_switched_off_starts_nothing(settings, data_dir):
    settings = dataclasses.replace(settings, training="off")
    with pytest.raises(supervisor.TrainingDisabled):
        supervisor.start_training(settings, TINY)
    assert RunStore.of(settings).runs() == []
