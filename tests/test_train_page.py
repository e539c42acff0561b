"""The Train page under AppTest: controls, a run in progress, and who may train at all."""

import os
import time

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from lenet.config import Settings
from lenet.jobs.runs import Metric, RunStore, Status


@pytest.fixture
def data_dir(settings, monkeypatch):
    monkeypatch.chdir(ROOT)
    return settings.data_dir


def train_page(query=None):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if query:
        app.query_params.update(query)
    app.run()
    return app.switch_page("app_pages/train.py").run()


def labels(app):
    return [b.label for b in app.sidebar.button]


def test_controls_cover_the_config_and_defaults_come_from_it(data_dir):
    from lenet.nets.training import TrainConfig

    app = train_page()
    assert not app.exception
    assert {"Start", "Stop"} <= set(labels(app))
    assert app.sidebar.selectbox(key="t_architecture").value == TrainConfig().architecture
    assert app.sidebar.slider(key="t_epochs").value == TrainConfig().epochs
    assert app.sidebar.button(key="stop").disabled


def test_a_run_in_progress_is_shown_and_a_second_start_is_refused(data_dir):
    store = RunStore.of(Settings.from_env())
    run_id = store.create_run({"architecture": "lenet5", "epochs": 3}, False)
    store.update(
        run_id,
        status=Status.RUNNING,
        pid=os.getpid(),
        started=time.time(),
        heartbeat=time.time(),
        device="CPU: test",
        steps_per_epoch=10,
        train_images=1000,
    )
    store.add_metrics(
        run_id,
        [
            Metric(
                kind="batch",
                logged=time.time(),
                epoch=1,
                step=5,
                progress=0.5,
                loss=1.0,
                accuracy=0.5,
                images_per_s=1000.0,
            )
        ],
    )
    app = train_page()
    assert not app.exception
    assert app.sidebar.button(key="start").disabled
    assert any(f"Run {run_id}" in s.value for s in app.subheader)
    text = " ".join(c.value for c in app.caption)
    assert "CPU: test" in text and "Last point logged" in text
    assert [r.id for r in store.runs()] == [run_id]


def test_public_mode_shows_no_controls_and_nothing_starts_a_job(data_dir, monkeypatch):
    monkeypatch.setenv("LENET_TRAINING", "off")
    app = train_page(query={"start": "1", "train": "true"})
    assert not app.exception
    assert labels(app) == [] and "switched off" in " ".join(i.value for i in app.sidebar.info)
    # Session-state tricks: every key the controls would use, and an unlock flag.
    for key, value in {"start": True, "t_epochs": 1, "training_unlocked_for": "x", "watching": 1}.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception and labels(app) == []
    assert RunStore.of(Settings.from_env()).runs() == []


def test_password_mode_unlocks_with_the_right_password_only(data_dir, monkeypatch):
    monkeypatch.setenv("LENET_TRAINING_PASSWORD", "correct horse")
    app = train_page()
    assert "Start" not in labels(app)
    app.sidebar.text_input(key="training_password").input("wrong").run()
    app.sidebar.button(key="unlock").click().run()
    assert "Start" not in labels(app) and app.sidebar.error
    app.sidebar.text_input(key="training_password").input("correct horse").run()
    app.sidebar.button(key="unlock").click().run()
    assert "Start" in labels(app)
    assert RunStore.of(Settings.from_env()).runs() == []


def test_a_run_on_a_ray_cluster_names_its_node_and_device(data_dir, monkeypatch):
    monkeypatch.setenv("LENET_TRAINING", "ray")
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    store = RunStore.of(Settings.from_env())
    run_id = store.create_run({"architecture": "lenet5", "epochs": 1, "batch_size": 128}, False)
    store.update(run_id, cluster="head:6379", heartbeat=time.time())
    app = train_page()  # submitted, no node has it yet
    assert not app.exception
    assert "the Ray cluster at head:6379" in " ".join(c.value for c in app.caption)
    store.update(run_id, status=Status.RUNNING, pid=123, started=time.time(), heartbeat=time.time())
    store.update(run_id, host="gpu-box (10.0.0.7, node 1a2b3c4d)", device="GPU: NVIDIA H200")
    app = train_page()
    assert not app.exception
    assert "Ray node gpu-box (10.0.0.7, node 1a2b3c4d), GPU: NVIDIA H200" in " ".join(c.value for c in app.caption)
    store.update(run_id, heartbeat=time.time() - 60)  # nobody watches it any more (the app restarted)
    app = train_page()
    assert store.run(run_id).status == Status.FAILED and "watched it" in store.run(run_id).error
