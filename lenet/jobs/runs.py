"""The runs database: every training run, its progress and its outcome, in one SQLite file.

A `Run` and its `Metric` rows are dataclasses over a schema written out below; `PRAGMA
user_version` says which version a database has, and an older one is brought up to date on
open. WAL mode lets the app's readers and the one writing job work at once; every write is a
short transaction, so a job killed at any moment leaves the database consistent. Each call
opens and closes its own connection, so no web session holds a file handle between page runs.
"""

import contextlib
import dataclasses
import enum
import json
import socket
import sqlite3
import time

from lenet.errors import Refused


class Status(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"  # ended early on request; the model learned so far is kept
    FAILED = "failed"

    @property
    def active(self):
        return self in (Status.QUEUED, Status.RUNNING, Status.STOPPING)

    @property
    def has_model(self):
        return self in (Status.FINISHED, Status.STOPPED)


@dataclasses.dataclass
class Run:
    id: int | None = None
    status: Status = Status.QUEUED
    kind: str = "train"  # train, or teach (a fine-tune on a collection)
    config: dict = dataclasses.field(default_factory=dict)
    activate_when_done: bool = False
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    heartbeat: float | None = None
    pid: int | None = None
    host: str | None = None
    device: str | None = None
    recipe: str | None = None
    epochs: int | None = None  # passes the progress counts (a teaching run: the fine-tune and its folds)
    steps_per_epoch: int | None = None
    train_images: int | None = None
    stop_requested: bool = False
    test_accuracy: float | None = None
    test_loss: float | None = None
    model_name: str | None = None
    log_path: str | None = None
    log_tail: str | None = None
    error: str | None = None  # one line, no paths: what anyone may read
    outcome: str | None = None  # what became of the model (activated, or kept and why)
    phase: str | None = None  # what the job is doing now: "loading MNIST", "compiling the network", "training"...
    phase_progress: float | None = None  # how far into that phase, 0-1, where the job can tell
    cluster: str | None = None  # the Ray cluster running it (its address); None: a process on this host

    @property
    def silent_for(self):
        return time.time() - (self.heartbeat or self.started or self.created)


@dataclasses.dataclass
class Metric:
    kind: str  # batch, or epoch (with validation figures)
    logged: float
    epoch: int
    step: int
    progress: float  # epochs done, fractional
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    images_per_s: float | None = None
    seq: int = 0


class RunInProgress(Refused):
    """A second run was asked for while one is going; the message names it."""


class RunsUnavailable(Refused):
    """The runs database can't be read (damaged, or not a database); the message says what to do."""


RUN_COLUMNS = [field.name for field in dataclasses.fields(Run)]
METRIC_COLUMNS = [field.name for field in dataclasses.fields(Metric)]

# The schema, written out; `Run` and `Metric` are its rows (a test checks they agree). Version 2
# added the runs' phase columns, version 3 the Ray cluster a run went to.
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL, kind TEXT NOT NULL, config TEXT NOT NULL,
    activate_when_done INTEGER NOT NULL, created REAL NOT NULL, started REAL, finished REAL, heartbeat REAL,
    pid INTEGER, host TEXT, device TEXT, recipe TEXT, epochs INTEGER, steps_per_epoch INTEGER, train_images INTEGER,
    stop_requested INTEGER NOT NULL, test_accuracy REAL, test_loss REAL, model_name TEXT, log_path TEXT,
    log_tail TEXT, error TEXT, outcome TEXT, phase TEXT, phase_progress REAL, cluster TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    kind TEXT NOT NULL, logged REAL NOT NULL, epoch INTEGER NOT NULL, step INTEGER NOT NULL, progress REAL NOT NULL,
    loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL, images_per_s REAL, seq INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, PRIMARY KEY (run_id, seq)
);
"""
SCHEMA_VERSION = 3


def _migrate(db):
    """Bring a database up to `SCHEMA_VERSION` (`PRAGMA user_version` says where it is).

    Version 0 is a new file, or one made before versions were kept, by a version of the app
    with fewer columns: the tables are made, and the columns the schema has and they lack are
    added (nullable, as such a database's rows have no values for them).
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    db.executescript(SCHEMA)
    for table, declared in schema_columns().items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in declared.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def schema_columns():
    """`{table: {column: declared type}}` of `SCHEMA`, in order."""
    memory = sqlite3.connect(":memory:")
    memory.executescript(SCHEMA)
    tables = {
        table: {row[1]: row[2] for row in memory.execute(f"PRAGMA table_info({table})")}
        for table in ("runs", "metrics")
    }
    memory.close()
    return tables


def this_host():
    return socket.gethostname()


def _to_row(value):
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, enum.Enum):
        return value.value
    return int(value) if isinstance(value, bool) else value


def _run_from_row(row):
    values = dict(zip(RUN_COLUMNS, row))
    values.update(
        status=Status(values["status"]),
        kind=values["kind"] or "train",
        config=json.loads(values["config"] or "{}"),
        activate_when_done=bool(values["activate_when_done"]),
        stop_requested=bool(values["stop_requested"]),
    )
    return Run(**values)


class RunStore:
    """Reads and writes runs in the database at `path` (`Settings.runs_path`)."""

    def __init__(self, path, journal="wal"):
        self.path = path
        self.journal = "DELETE" if journal == "delete" else "WAL"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                _migrate(db)
        except (sqlite3.DatabaseError, OSError) as error:
            raise self._unavailable(error) from None

    def _unavailable(self, error):
        return RunsUnavailable(
            f"The runs database {self.path.name} can't be read ({error}). Training history is unavailable; "
            f"move the file aside (a new, empty one is then made) or restore a backup. Models are not affected."
        )

    @classmethod
    def of(cls, settings):
        return cls(settings.runs_path, settings.runs_journal)

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            # WAL needs shared memory on one host; a database shared over a network filesystem
            # needs the rollback journal instead (Settings.runs_journal).
            db.execute(f"PRAGMA journal_mode={self.journal}")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        except sqlite3.DatabaseError as error:  # damaged past its first page: found only when read
            raise self._unavailable(error) from None
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self):
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: two Start clicks can't both pass
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # ------------------------------------------------------------------ writing

    def create_run(self, config, activate_when_done=False, kind="train"):
        """Insert a queued run, unless one is already queued or running (checked atomically)."""
        with self._transaction() as db:
            busy = self._active(db)
            if busy:
                raise RunInProgress(f"Run {busy.id} is {busy.status.value}; one run at a time.")
            run = Run(config=config, activate_when_done=activate_when_done, kind=kind, created=time.time())
            names = [c for c in RUN_COLUMNS if c != "id"]
            cursor = db.execute(
                f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [_to_row(getattr(run, n)) for n in names],
            )
            return cursor.lastrowid

    def update(self, run_id, **fields):
        unknown = set(fields) - set(RUN_COLUMNS)
        if unknown:
            raise ValueError(f"Unknown run fields: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._connect() as db:
            db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*map(_to_row, fields.values()), run_id))

    def add_metrics(self, run_id, metrics):
        """Append `Metric`s in one transaction, numbered after the run's last one."""
        if not metrics:
            return
        names = [c for c in METRIC_COLUMNS if c != "seq"]
        with self._transaction() as db:
            start = db.execute("SELECT COALESCE(MAX(seq), 0) FROM metrics WHERE run_id = ?", (run_id,)).fetchone()[0]
            db.executemany(
                f"INSERT INTO metrics (run_id, seq, {', '.join(names)}) VALUES (?, ?, {', '.join('?' * len(names))})",
                [(run_id, start + i + 1, *[getattr(m, n) for n in names]) for i, m in enumerate(metrics)],
            )
            db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    def request_stop(self, run_id):
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET stop_requested = 1, status = CASE WHEN status = 'running' THEN 'stopping' "
                "ELSE status END WHERE id = ? AND status IN ('queued', 'running')",
                (run_id,),
            )

    def delete_run(self, run_id):
        with self._transaction() as db:
            db.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # ------------------------------------------------------------------ reading

    def run(self, run_id):
        with self._connect() as db:
            row = db.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run_from_row(row) if row else None

    def runs(self):
        with self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY id DESC").fetchall()
        return [_run_from_row(row) for row in rows]

    def active_run(self):
        with self._connect() as db:
            return self._active(db)

    def stop_requested(self, run_id):
        with self._connect() as db:
            row = db.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def metrics(self, run_id, after_seq=0):
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(METRIC_COLUMNS)} FROM metrics WHERE run_id = ? AND seq > ? ORDER BY seq",
                (run_id, after_seq),
            ).fetchall()
        return [Metric(**dict(zip(METRIC_COLUMNS, row))) for row in rows]

    def check_integrity(self):
        with self._connect() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]

    @staticmethod
    def _active(db):
        row = db.execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE status IN ('queued', 'running', 'stopping') "
            "ORDER BY id LIMIT 1"
        ).fetchone()
        return _run_from_row(row) if row else None
