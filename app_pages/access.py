"""This server's settings, and who may train on it: everyone, nobody, or whoever knows the password.

Set by `Settings.training` and `Settings.training_password` (the environment or Streamlit
secrets). The check runs again on every Start, Stop, Activate and Delete, so no widget, query
parameter or session value can do what the settings forbid. Wrong passwords cost a growing
wait, counted per client address across all its sessions and every app process of the host
(`Settings.password_waits`; the socket's address, or the proxy's header only where the host says
a proxy is in front: `Settings.trusted_proxy`). The wait delays
the next check from that address rather than refusing it: a right password behind the same NAT
as a guesser gets through, after at most one wait.
"""

import contextlib
import hashlib
import hmac
import threading
import time

import streamlit as st

from app_pages.state import TRAINING_UNLOCKED, settings
from app_pages.visitor import client_address
from lenet.storage import locked_json

FREE_ATTEMPTS = 3  # wrong passwords before the waits begin
LONGEST_WAIT_S = 60
CHECK_TURN_S = 10  # an attempt being checked holds its client's turn this long at most (a crash mid-check)
TURN_POLL_S = 0.2  # how often a waiting attempt looks whether its turn has come
LOCK_WAIT_S = 30
FORGET_AFTER_S = 86400  # a client silent for a day starts afresh


def reason(current=None):
    current = current or settings()
    if current.training == "off":
        return "Training is switched off on this server (LENET_TRAINING=off or the `training` secret)."
    if current.training_password:
        return "Training on this server is password-protected."
    return ""


def _fingerprint(password):
    return hashlib.sha256(password.encode()).hexdigest()


class PasswordThrottle:
    """After `FREE_ATTEMPTS` wrong passwords from one client, each attempt must wait twice as
    long as the last (1, 2, 4 ... up to `LONGEST_WAIT_S` seconds); a right one clears it.

    With a `path`, the counts live in that file, so every app process on the host (replicas
    behind a proxy) counts one client's guesses together; without, in this process only.
    Clients are kept as hashes of their address, not the address.
    """

    def __init__(self, path=None, clock=time.time, sleep=time.sleep):
        self.path, self.clock, self.sleep = path, clock, sleep
        self.counts = {}  # without a path
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def _counts(self):
        """The counts `{client hash: [failures, next allowed, last touched]}`, written back after the block."""
        if self.path is None:
            with self.lock:
                yield self.counts
            return
        # Held only to read and write the file, never while an attempt waits its turn; should it
        # not come within LOCK_WAIT_S, the counts are updated without it (a lost count, no lockout).
        with locked_json(self.path, LOCK_WAIT_S) as counts:
            now = self.clock()
            for key, value in list(counts.items()):
                valid = isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value)
                if not valid or now - value[2] >= FORGET_AFTER_S:
                    del counts[key]
            yield counts

    def attempt(self, client, check):
        """`check()` (True for a right password) once this client's wait is over, one attempt
        per client at a time in every process (parallel sessions don't guess faster); returns
        what it said."""
        key = _client_key(client)
        while True:
            with self._counts() as counts:
                failures, allowed, _ = counts.get(key, [0, 0.0, 0.0])
                wait = min(allowed - self.clock(), LONGEST_WAIT_S)  # a clock set back can't hold it longer
                if wait <= 0:  # this attempt's turn: others from the client wait until it is recorded
                    counts[key] = [failures, self.clock() + CHECK_TURN_S, self.clock()]
                    break
            self.sleep(min(wait, TURN_POLL_S))
        ok = bool(check())
        self.record(client, ok)
        return ok

    def wait_left(self, client):
        with self._counts() as counts:
            allowed = counts.get(_client_key(client), [0, 0.0, 0.0])[1]
            return max(0.0, min(allowed - self.clock(), LONGEST_WAIT_S))

    def record(self, client, ok):
        key = _client_key(client)
        with self._counts() as counts:
            if ok:
                counts.pop(key, None)
                return
            failures = counts.get(key, [0, 0.0, 0.0])[0] + 1
            wait = min(2.0 ** (failures - FREE_ATTEMPTS), LONGEST_WAIT_S) if failures >= FREE_ATTEMPTS else 0.0
            counts[key] = [failures, self.clock() + wait, self.clock()]


def _client_key(client):
    return hashlib.sha256(f"client:{client}".encode()).hexdigest()[:24]


@st.cache_resource
def throttle(path=None):
    """One for the whole server, in the data folder: a new session, or another replica, doesn't start afresh."""
    return PasswordThrottle(path)


def unlock(attempt, current=None):
    """Check a password: returns (unlocked, message). Remembers a right one in this session.
    After wrong ones from this address, the check waits its turn (a spinner says why)."""
    current = current or settings()
    password = current.training_password
    client = client_address(current)
    check = lambda: bool(password) and hmac.compare_digest(attempt.encode(), password.encode())
    counts = throttle(current.password_waits)
    wait = counts.wait_left(client)
    note = f"Wrong passwords were tried from your address: checking in {wait:.0f} s..."
    with st.spinner(note, show_time=True) if wait > 0 else contextlib.nullcontext():
        ok = counts.attempt(client, check)
    if ok:
        st.session_state[TRAINING_UNLOCKED] = _fingerprint(password)
    return ok, "" if ok else "Wrong password."


def may_train(current=None):
    """Whether this session may start or stop jobs and change models right now."""
    current = current or settings()
    if current.training == "off":
        return False
    if not current.training_password:
        return True
    return hmac.compare_digest(
        str(st.session_state.get(TRAINING_UNLOCKED, "")), _fingerprint(current.training_password)
    )
