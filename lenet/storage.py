"""Files written whole or not at all, and read back tolerantly; no Keras, no numpy needed.

`atomic_file` yields a temporary path beside the target and renames it into place when the
block succeeds: readers (other sessions, other processes) see the old file or the new one,
never half of one, and a crash leaves the old one. `file_lock` lets one holder at a time, among
the threads and processes (app replicas) of one host, do a piece of work.
"""

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the lock then holds among one process's threads only
    fcntl = None

_THREAD_LOCKS = {}


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside `path`; when the block succeeds, it replaces `path` at once.

    The temporary file is flushed to disk before the rename, which is atomic on POSIX
    filesystems. On any failure (a crash, KeyboardInterrupt) the temporary file is removed and
    `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from a server's user
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def file_lock(path, timeout):
    """Hold the lock named by `path` (a file made if missing) for the block; yields True, or
    False (holding nothing) when another thread or process of this host held it `timeout` s."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        lock = _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())
        held = lock.acquire(timeout=timeout)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    with open(path, "a") as f:  # each open is a lock of its own: threads of one process exclude each other too
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked_json(path, timeout):
    """The JSON object in `path` ({} when missing or unreadable) for the block to read and
    change, written back atomically after it; every thread and process of this host waits its
    turn (`file_lock` on `path`'s `.lock`; after `timeout` s the block runs without it)."""
    path = Path(path)
    with file_lock(path.with_suffix(".lock"), timeout):
        data = read_json(path, {})
        yield data
        write_json_atomic(path, data)


def write_json_atomic(path, data):
    """Replace `path` with `data` as JSON, atomically."""
    with atomic_file(path) as tmp:
        write_json(tmp, data)


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def read_json(path, default=None):
    """The JSON object in `path`, or `default` when it is missing, unreadable or not an object."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return default
    return data if isinstance(data, dict) else default


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
