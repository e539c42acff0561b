"""The runs database: every training run, its progress and its outcome, in one SQLite file.

WAL mode lets the app's many readers and the one writing job work at once without blocking
each other or corrupting the file; every write is a short transaction, so a job killed at any
moment leaves the database consistent (SQLite rolls back the unfinished transaction).
"""

import json
import os
import socket
import sqlite3
import time
from pathlib import Path

from lenet.config import data_dir

ACTIVE_STATUSES = ("queued", "running", "stopping")
FINISHED_STATUSES = ("finished", "stopped")  # stopped: ended early on request, model kept

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    activate_when_done INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL,
    pid INTEGER,
    host TEXT,
    device TEXT,
    steps_per_epoch INTEGER,
    train_images INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    test_accuracy REAL,
    test_loss REAL,
    model_name TEXT,
    model_path TEXT,
    log_path TEXT,
    log_tail TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    logged REAL NOT NULL,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    progress REAL NOT NULL,
    loss REAL,
    accuracy REAL,
    val_loss REAL,
    val_accuracy REAL,
    images_per_s REAL,
    PRIMARY KEY (run_id, seq)
);
"""

RUN_FIELDS = ("id", "status", "config", "activate_when_done", "created", "started", "finished", "heartbeat",
              "pid", "host", "device", "steps_per_epoch", "train_images", "stop_requested", "test_accuracy",
              "test_loss", "model_name", "model_path", "log_path", "log_tail", "error")
METRIC_FIELDS = ("seq", "kind", "logged", "epoch", "step", "progress", "loss", "accuracy", "val_loss",
                 "val_accuracy", "images_per_s")


class RunInProgress(RuntimeError):
    """A second run was asked for while one is going; the message names it."""


def default_path():
    """`LENET_RUNS_DB`, or `runs.sqlite` in the data folder."""
    return Path(os.environ.get("LENET_RUNS_DB") or data_dir() / "runs.sqlite")


def this_host():
    return socket.gethostname()


class RunStore:
    """Reads and writes runs. One instance serves one user of it at a time (a process, or a
    web session whose script runs may move between threads but never overlap)."""

    def __init__(self, path=None):
        self.path = Path(path or default_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        # WAL needs shared memory on one host; a database shared by several machines over a
        # network filesystem needs the rollback journal instead (LENET_RUNS_JOURNAL=delete).
        journal = os.environ.get("LENET_RUNS_JOURNAL", "wal").strip().upper()
        self.db.execute(f"PRAGMA journal_mode={'DELETE' if journal == 'DELETE' else 'WAL'}")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(runs)")}
        if "host" not in columns:  # a database made before runs recorded their host
            self.db.execute("ALTER TABLE runs ADD COLUMN host TEXT")

    def close(self):
        self.db.close()

    # ------------------------------------------------------------------ writing

    def create_run(self, config, activate_when_done=False):
        """Insert a queued run, unless one is already queued or running (checked atomically)."""
        self.db.execute("BEGIN IMMEDIATE")  # one writer at a time: two Start clicks can't both pass
        try:
            busy = self._active_row()
            if busy:
                raise RunInProgress(f"Run {busy['id']} is {busy['status']}; one run at a time.")
            cursor = self.db.execute(
                "INSERT INTO runs (status, config, activate_when_done, created) VALUES ('queued', ?, ?, ?)",
                (json.dumps(config), int(activate_when_done), time.time()),
            )
            self.db.execute("COMMIT")
            return cursor.lastrowid
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def claim_next(self, pid, host):
        """Mark the oldest queued run as taken by worker `pid` on `host`; return its id or None."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT id FROM runs WHERE status = 'queued' AND pid IS NULL ORDER BY id LIMIT 1").fetchone()
            if row:
                self.db.execute("UPDATE runs SET pid = ?, host = ?, heartbeat = ? WHERE id = ?", (pid, host, time.time(), row[0]))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return row[0] if row else None

    def update(self, run_id, **fields):
        unknown = set(fields) - set(RUN_FIELDS)
        if unknown:
            raise ValueError(f"Unknown run fields: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id))

    def add_metrics(self, run_id, rows):
        """Append metric rows (dicts with METRIC_FIELDS but `seq`) in one transaction."""
        if not rows:
            return
        with self.db:
            self.db.execute("BEGIN")
            start = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM metrics WHERE run_id = ?", (run_id,)).fetchone()[0]
            self.db.executemany(
                f"INSERT INTO metrics (run_id, {', '.join(METRIC_FIELDS)}) VALUES (?, {', '.join('?' * len(METRIC_FIELDS))})",
                [(run_id, start + i + 1, *[row.get(f) for f in METRIC_FIELDS[1:]]) for i, row in enumerate(rows)],
            )
            self.db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    def request_stop(self, run_id):
        self.db.execute("UPDATE runs SET stop_requested = 1, status = CASE WHEN status = 'running' THEN 'stopping' "
                        "ELSE status END WHERE id = ? AND status IN ('queued', 'running')", (run_id,))

    def delete_run(self, run_id):
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            self.db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # ------------------------------------------------------------------ reading

    def run(self, run_id):
        row = self.db.execute(f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._as_run(row)

    def runs(self):
        rows = self.db.execute(f"SELECT {', '.join(RUN_FIELDS)} FROM runs ORDER BY id DESC").fetchall()
        return [self._as_run(row) for row in rows]

    def active_run(self):
        return self._active_row()

    def stop_requested(self, run_id):
        row = self.db.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def metrics(self, run_id, after_seq=0):
        rows = self.db.execute(
            f"SELECT {', '.join(METRIC_FIELDS)} FROM metrics WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after_seq),
        ).fetchall()
        return [dict(zip(METRIC_FIELDS, row)) for row in rows]

    def check_integrity(self):
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def _active_row(self):
        placeholders = ", ".join("?" * len(ACTIVE_STATUSES))
        row = self.db.execute(
            f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE status IN ({placeholders}) ORDER BY id LIMIT 1",
            ACTIVE_STATUSES,
        ).fetchone()
        return self._as_run(row)

    @staticmethod
    def _as_run(row):
        if row is None:
            return None
        run = dict(zip(RUN_FIELDS, row))
        run["config"] = json.loads(run["config"])
        return run
