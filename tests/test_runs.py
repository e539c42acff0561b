"""The runs database: one run at a time, metrics in order, safe under concurrent use."""

import multiprocessing
import sqlite3

import pytest

from lenet.jobs import runs
from lenet.jobs.runs import Metric, RunInProgress, RunStore, RunsUnavailable, Status


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite")


def batch(step, total=10, **values):
    return Metric(kind="batch", logged=float(step), epoch=1, step=step, progress=step / total, **values)


def test_create_and_read_back(store):
    run_id = store.create_run({"architecture": "lenet5", "epochs": 2}, activate_when_done=True)
    run = store.run(run_id)
    assert run.status == Status.QUEUED and run.config["epochs"] == 2 and run.activate_when_done is True
    assert store.active_run().id == run_id


def test_a_second_run_is_refused_while_one_is_going(store):
    first = store.create_run({"epochs": 1})
    with pytest.raises(RunInProgress, match=f"Run {first}"):
        store.create_run({"epochs": 1})
    store.update(first, status=Status.FINISHED)
    assert store.create_run({"epochs": 1}) == first + 1


def test_metrics_come_back_in_order_and_incrementally(store):
    run_id = store.create_run({})
    store.add_metrics(run_id, [batch(s, loss=1 / s) for s in (1, 2, 3)])
    first = store.metrics(run_id)
    assert [m.seq for m in first] == [1, 2, 3] and first[0].loss == 1.0
    store.add_metrics(run_id, [Metric(kind="epoch", logged=2.0, epoch=1, step=10, progress=1.0, val_accuracy=0.9)])
    assert [m.kind for m in store.metrics(run_id, after_seq=3)] == ["epoch"]
    assert store.run(run_id).heartbeat is not None


def test_stop_request_marks_the_run(store):
    run_id = store.create_run({})
    store.update(run_id, status=Status.RUNNING)
    store.request_stop(run_id)
    assert store.stop_requested(run_id) and store.run(run_id).status == Status.STOPPING


def test_delete_removes_run_and_metrics(store):
    run_id = store.create_run({})
    store.add_metrics(run_id, [batch(1)])
    store.update(run_id, status=Status.FINISHED)
    store.delete_run(run_id)
    assert store.run(run_id) is None and store.metrics(run_id) == []


def test_wal_mode_and_integrity(store):
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.check_integrity() == "ok"


def test_the_rows_are_the_schema_and_a_new_database_says_its_version(store):
    columns = runs.schema_columns()
    assert list(columns["runs"]) == runs.RUN_COLUMNS
    assert sorted(columns["metrics"]) == sorted([*runs.METRIC_COLUMNS, "run_id"])
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == runs.SCHEMA_VERSION


def test_an_older_database_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL, config TEXT NOT NULL, "
            "activate_when_done INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, "
            "stop_requested INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute("INSERT INTO runs (status, config, created) VALUES ('finished', '{\"epochs\": 1}', 1.0)")
    run = RunStore(path).run(1)
    assert (
        run.status == Status.FINISHED and run.kind == "train" and run.config == {"epochs": 1} and run.model_name is None
    )


def test_a_damaged_database_says_what_to_do(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RunsUnavailable, match="move the file aside"):
        RunStore(path)


def _writer(path, run_id, rows):
    writer = RunStore(path)
    for i in range(rows):
        writer.add_metrics(run_id, [batch(i, rows)])


def test_readers_and_a_writer_at_once_never_see_a_broken_database(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    run_id = store.create_run({})
    writer = multiprocessing.get_context("spawn").Process(target=_writer, args=(path, run_id, 300))
    writer.start()
    seen = []
    while writer.is_alive():
        rows = RunStore(path).metrics(run_id)
        assert [m.seq for m in rows] == list(range(1, len(rows) + 1))  # never a gap or a half write
        seen.append(len(rows))
    writer.join()
    assert writer.exitcode == 0
    assert len(store.metrics(run_id)) == 300 and store.check_integrity() == "ok"
    assert seen == sorted(seen)
