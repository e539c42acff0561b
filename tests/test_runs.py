"""The runs database: one run at a time, metrics in order, safe under concurrent use."""

import multiprocessing
import sqlite3

import pytest

from lenet.runs import RunInProgress, RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite")


def test_create_and_read_back(store):
    run_id = store.create_run({"architecture": "lenet5", "epochs": 2}, activate_when_done=True)
    run = store.run(run_id)
    assert run["status"] == "queued" and run["config"]["epochs"] == 2 and run["activate_when_done"] == 1
    assert store.active_run()["id"] == run_id


def test_a_second_run_is_refused_while_one_is_going(store):
    first = store.create_run({"epochs": 1})
    with pytest.raises(RunInProgress, match=f"Run {first}"):
        store.create_run({"epochs": 1})
    store.update(first, status="finished")
    assert store.create_run({"epochs": 1}) == first + 1


def test_metrics_come_back_in_order_and_incrementally(store):
    run_id = store.create_run({})
    store.add_metrics(run_id, [{"kind": "batch", "logged": 1.0, "epoch": 1, "step": s, "progress": s / 10, "loss": 1 / s}
                               for s in (1, 2, 3)])
    first = store.metrics(run_id)
    assert [m["seq"] for m in first] == [1, 2, 3] and first[0]["loss"] == 1.0
    store.add_metrics(run_id, [{"kind": "epoch", "logged": 2.0, "epoch": 1, "step": 10, "progress": 1.0, "val_accuracy": 0.9}])
    assert [m["kind"] for m in store.metrics(run_id, after_seq=3)] == ["epoch"]
    assert store.run(run_id)["heartbeat"] is not None


def test_stop_request_marks_the_run(store):
    run_id = store.create_run({})
    store.update(run_id, status="running")
    store.request_stop(run_id)
    assert store.stop_requested(run_id) and store.run(run_id)["status"] == "stopping"


def test_delete_removes_run_and_metrics(store):
    run_id = store.create_run({})
    store.add_metrics(run_id, [{"kind": "batch", "logged": 1.0, "epoch": 1, "step": 1, "progress": 0.1}])
    store.update(run_id, status="finished")
    store.delete_run(run_id)
    assert store.run(run_id) is None and store.metrics(run_id) == []


def test_wal_mode_and_integrity(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.check_integrity() == "ok"


def _writer(path, run_id, rows):
    writer = RunStore(path)
    for i in range(rows):
        writer.add_metrics(run_id, [{"kind": "batch", "logged": float(i), "epoch": 1, "step": i, "progress": i / rows}])


def test_readers_and_a_writer_at_once_never_see_a_broken_database(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    run_id = store.create_run({})
    writer = multiprocessing.get_context("spawn").Process(target=_writer, args=(path, run_id, 300))
    writer.start()
    seen = []
    while writer.is_alive():
        rows = RunStore(path).metrics(run_id)
        assert [m["seq"] for m in rows] == list(range(1, len(rows) + 1))  # never a gap or a half write
        seen.append(len(rows))
    writer.join()
    assert writer.exitcode == 0
    assert len(store.metrics(run_id)) == 300 and store.check_integrity() == "ok"
    assert seen == sorted(seen)
