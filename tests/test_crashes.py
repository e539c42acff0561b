"""kill -9 the training job 10 times, anywhere: nothing served breaks and nothing is lost."""

import os
import random
import signal
import time

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from lenet.config import Settings
from lenet.jobs import supervisor
from lenet.jobs.catalog import Catalog
from lenet.jobs.runs import RunStore, Status
from lenet.nets.modelio import load_model
from lenet.nets.training import TrainConfig

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

CONFIG = TrainConfig(epochs=2, max_samples=10000, batch_size=128)
KILLS = 10  # 2 while saving, 2 while starting, 6 in training: every place a kill can land


def wait_for(predicate, timeout=120, step=0.005):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def ended(store, run_id):
    return not store.run(run_id).status.active


def saving(data_dir):
    folder = data_dir / "models"
    return folder.is_dir() and any(p.name.startswith(".") for p in folder.iterdir())


def kill(store, run_id):
    pid = store.run(run_id).pid
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_for(lambda: not supervisor.process_alive(pid), timeout=30)


def test_ten_kills_leave_a_served_model_a_sound_database_and_failed_runs(settings, monkeypatch, mnist):
    data_dir = settings.data_dir
    store = RunStore.of(settings)
    models = Catalog(settings)
    rng = random.Random(2026)

    # One undisturbed run gives the timeline to aim the kills at, and a second valid version.
    started = time.time()
    reference = supervisor.start_training(settings, CONFIG, activate_when_done=True)
    wait_for(lambda: store.metrics(reference))
    training_began = time.time() - started
    wait_for(lambda: ended(store, reference))
    whole_run = time.time() - started
    assert store.run(reference).status == Status.FINISHED
    valid = {Settings().default_model, store.run(reference).model_name}

    where = []
    for attempt in range(KILLS):
        run_id = supervisor.start_training(settings, CONFIG, activate_when_done=True)
        if attempt % 5 == 0:  # while the model file is being written
            wait_for(lambda run_id=run_id: saving(data_dir) or ended(store, run_id), step=0.001)
            where.append("saving")
        elif attempt % 5 == 1:  # while TensorFlow and MNIST load
            time.sleep(rng.uniform(0.2, training_began * 0.8))
            where.append("starting")
        else:  # anywhere in training, evaluation, saving, database writes and activation
            wait_for(lambda run_id=run_id: store.metrics(run_id) or ended(store, run_id))
            time.sleep(rng.uniform(0, max(0.5, whole_run - training_began)))
            where.append("training")
        kill(store, run_id)
        supervisor.reconcile(store)
        run = store.run(run_id)
        if run.status == Status.FINISHED:  # the kill came after the job had finished
            valid.add(run.model_name)
            where[-1] += " (too late)"
        else:
            assert run.status == Status.FAILED and "killed or crashed" in run.error, run
        # What is served always loads and is a version that was completely written.
        assert store.check_integrity() == "ok"
        active = models.active()
        assert active.name in valid, (active.name, valid)
        load_model(active.path)
        for info in models.models():
            load_model(info.path)
    landed = [w for w in where if "too late" not in w]
    print(f"\n{KILLS} kills: " + ", ".join(f"{w}: {where.count(w)}" for w in sorted(set(where))))
    assert len(landed) >= 7

    # A restarted server finds everything as it was.
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not app.exception
    assert models.active().name in " ".join(c.value for c in app.sidebar.caption)
    app.switch_page("app_pages/train.py").run()
    assert not app.exception
    statuses = [r.status for r in store.runs()]
    assert len(statuses) == KILLS + 1 and not any(status.active for status in statuses)
