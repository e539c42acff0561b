"""Jobs on a real Ray cluster (LENET_TRAINING=ray): a head and a worker node in processes of their
own, nothing shared with the worker but Ray. Training and teaching end to end, Stop, a node
killed mid-run, and the one-line reasons when the cluster can't take a job."""

import dataclasses
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, draw_digit, ended, wait_for
from raycluster import RayCluster, kill_node_of
from streamlit.testing.v1 import AppTest

from lenet.jobs import supervisor
from lenet.jobs.catalog import Catalog
from lenet.jobs.runs import RunStore, Status
from lenet.nets.training import TrainConfig
from lenet.people.collection import Collections
from lenet.people.teach import TeachConfig

pytestmark = [pytest.mark.ray, pytest.mark.mnist, pytest.mark.slow]

TINY = TrainConfig(epochs=1, max_samples=2000, batch_size=128)
LONG = TrainConfig(epochs=5, max_samples=20000, batch_size=64)  # runs long enough to be stopped or killed
UNREACHABLE = "127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory, mnist, derived_dir):
    """A head on 127.0.0.1 and a worker node with one CPU and its own MNIST_DIR (the handwriting
    sets left out, to keep jobs short); ended by its processes' ids after the session."""
    empty = tmp_path_factory.mktemp("no-handwriting")
    worker_env = {**os.environ, "HANDWRITING_DIR": str(empty), "LENET_CACHE_DIR": str(derived_dir)}
    worker_env.pop("LENET_DATA_DIR", None)  # the node has no data folder of the app's
    cluster = RayCluster(tmp_path_factory.mktemp("ray"), worker_env)
    try:
        cluster.start_head()
        cluster.start_worker()
        yield cluster
    finally:
        import ray

        ray.shutdown()
        cluster.stop()


@pytest.fixture
def on_ray(settings, ray_cluster, monkeypatch):
    monkeypatch.setenv("LENET_TRAINING", "ray")
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    return dataclasses.replace(settings, training="ray", ray_address=ray_cluster.address)


def versions(settings):
    return sorted(p.name for p in settings.trained_dir.glob("*")) if settings.trained_dir.exists() else []


def test_an_unreachable_cluster_is_one_line_on_the_page_and_in_the_cli(settings, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LENET_TRAINING", "ray")
    monkeypatch.setenv("RAY_ADDRESS", UNREACHABLE)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app = app.switch_page("app_pages/train.py").run()
    app.sidebar.button(key="start").click().run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and f"RAY_ADDRESS={UNREACHABLE}" in errors[0] and "\n" not in errors[0]
    assert app.sidebar.button(key="start").label == "Start"  # the page keeps working
    assert RunStore.of(settings).runs() == []  # nothing recorded, nothing lost

    cli = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train.py"), "--ray", "--epochs", "1", "--max-samples", "1000"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **settings.environment(), "LENET_TRAINING": "on", "RAY_ADDRESS": UNREACHABLE},
    )
    last = cli.stderr.strip().splitlines()[-1]  # TensorFlow's start-up notes come before it
    assert cli.returncode == 2 and last.startswith("error: No Ray cluster answers"), cli.stderr[-2000:]
    assert f"RAY_ADDRESS={UNREACHABLE}" in last


def test_a_run_on_the_cluster_streams_progress_saves_a_version_and_never_serves_a_worse_model(on_ray):
    store = RunStore.of(on_ray)
    before = Catalog(on_ray).active()
    run_id = supervisor.start_training(on_ray, TINY, activate_when_done=True, store=store)
    run = wait_for(lambda: ended(store, run_id), what="the run to end")
    assert run.status == Status.FINISHED, (run.error, run.log_tail)
    import ray

    head = ray.get_runtime_context().get_node_id()[:8]  # the app's node, with no CPU: the job ran on the other
    assert run.cluster == on_ray.ray_address and "node " in run.host and head not in run.host
    assert run.device.startswith("CPU")
    metrics = store.metrics(run_id)
    assert any(m.kind == "epoch" and m.val_accuracy is not None for m in metrics)
    meta = json.loads((on_ray.trained_dir / f"{run.model_name}.json").read_text())
    assert meta["run_id"] == run_id and meta["config"]["max_samples"] == 2000 and "keras_sha256" in meta
    assert Catalog(on_ray).find(run.model_name).test_accuracy == run.test_accuracy
    # 2,000 images for one epoch read MNIST far worse than the shipped model: kept, not served.
    assert Catalog(on_ray).active().name == before.name and run.outcome.startswith(f"kept {before.name}")
    assert "epoch 1/1" in run.log_tail and "on Ray node" in run.log_tail


def test_the_training_script_runs_its_job_on_the_cluster(on_ray, tmp_path):
    cli = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train.py"), "--ray", "--epochs", "1", "--max-samples", "1000"]
        + ["--output", str(tmp_path / "mine.keras")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **on_ray.environment()},
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert "epoch 1: loss" in cli.stdout and "finished on " in cli.stdout and "node " in cli.stdout
    assert (tmp_path / "mine.keras").is_file() and (tmp_path / "mine.json").is_file()
    run = RunStore.of(on_ray).runs()[0]
    assert run.status == Status.FINISHED and Catalog(on_ray).find(run.model_name) is not None


def test_teaching_on_the_cluster_sends_the_digits_and_brings_the_model_back(on_ray):
    kept = Collections(on_ray.collections_dir, "3" * 16).get("mine")  # a visitor's own collection
    for digit in np.arange(30) % 10:  # three of each digit, in Pillow's font
        kept.add(int(digit), draw_digit(digit, scale=0.8 + 0.1 * len(kept.digits()) / 10, angle=8.0))
    store = RunStore.of(on_ray)
    config = TeachConfig(collection=kept.reference, steps=10, variants=2, folds=2)
    run_id = supervisor.start_training(on_ray, config, activate_when_done=True, kind="teach", store=store)
    run = wait_for(lambda: ended(store, run_id), what="the teaching run to end")
    assert run.status == Status.FINISHED, (run.error, run.log_tail)
    assert run.train_images == 30 and store.metrics(run_id)
    taught = Catalog(on_ray).find(run.model_name)
    assert taught is not None and taught.metadata["run_id"] == run_id
    served = Catalog(on_ray).active().name
    assert (served == taught.name) == run.outcome.startswith("activated")


def test_stop_on_the_cluster_keeps_what_was_learned_and_leaves_the_active_model(on_ray):
    store = RunStore.of(on_ray)
    before = Catalog(on_ray).active().name
    run_id = supervisor.start_training(on_ray, LONG, activate_when_done=True, store=store)
    wait_for(lambda: store.metrics(run_id), what="the first progress row")
    supervisor.stop(store, run_id)
    run = wait_for(lambda: ended(store, run_id), timeout=60, what="the run to stop")
    assert run.status == Status.STOPPED and run.model_name
    assert Catalog(on_ray).find(run.model_name).metadata["partial"] is True
    assert Catalog(on_ray).active().name == before


def test_a_node_killed_mid_run_fails_the_run_and_changes_nothing(on_ray):
    store = RunStore.of(on_ray)
    before, files = Catalog(on_ray).active().name, versions(on_ray)
    run_id = supervisor.start_training(on_ray, LONG, activate_when_done=True, store=store)
    wait_for(lambda: store.metrics(run_id), what="the first progress row")
    killed = kill_node_of(store.run(run_id).pid)  # the worker node: its raylet and every process it started
    run = wait_for(lambda: ended(store, run_id), timeout=30, what="the run to fail")
    print(f"a killed node's run marked failed in {time.time() - killed:.1f} s")
    assert run.status == Status.FAILED and run.error  # how soon is the line above's figure, not a test
    assert versions(on_ray) == files and Catalog(on_ray).active().name == before  # nothing of it written or served
    assert store.check_integrity() == "ok" and store.active_run() is None


def test_a_cluster_without_a_free_cpu_is_one_line_and_records_nothing(on_ray):
    import ray

    wait_for(lambda: ray.available_resources().get("CPU", 0) < 1, timeout=60, what="the dead node to leave")
    store = RunStore.of(on_ray)
    runs = store.runs()
    with pytest.raises(supervisor.TrainingDisabled, match="no free CPU") as refused:
        supervisor.start_training(on_ray, TINY, store=store)
    assert "\n" not in str(refused.value) and store.runs() == runs


def test_a_node_with_a_broken_mnist_fails_the_run_with_one_line(on_ray, ray_cluster, tmp_path):
    import ray

    broken = tmp_path / "broken-mnist"  # MNIST's four files, none of them MNIST: refused by its hashes
    broken.mkdir()
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (broken / name).write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 100)
    ray_cluster.start_worker(MNIST_DIR=str(broken))
    wait_for(lambda: ray.available_resources().get("CPU", 0) >= 1, timeout=60, what="the new node to join")
    store = RunStore.of(on_ray)
    before, files = Catalog(on_ray).active().name, versions(on_ray)
    run_id = supervisor.start_training(on_ray, TINY, activate_when_done=True, store=store)
    run = wait_for(lambda: ended(store, run_id), what="the run to fail")
    assert run.status == Status.FAILED and run.error.startswith("MnistCorrupt: ") and "\n" not in run.error
    assert "does not match" in run.log_tail  # the node's traceback, in the run's log here
    assert versions(on_ray) == files and Catalog(on_ray).active().name == before
