"""This server's settings, and who may train on it: everyone, nobody, or whoever knows the password.

Set by `Settings.training` and `Settings.training_password` (the environment or Streamlit
secrets). The check runs again on every Start, Stop, Activate and Delete, so no widget, query
parameter or session value can do what the settings forbid. Wrong passwords cost a growing
wait, counted per client address across all its sessions (the socket's address, or the proxy's
header only where the host says a proxy is in front: `Settings.trusted_proxy`). The wait delays
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

FREE_ATTEMPTS = 3  # wrong passwords before the waits begin
LONGEST_WAIT_S = 60


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
    long as the last (1, 2, 4 ... up to `LONGEST_WAIT_S` seconds); a right one clears it."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self.clock, self.sleep = clock, sleep
        self.failures, self.next_allowed, self.turns = {}, {}, {}
        self.lock = threading.Lock()

    def attempt(self, client, check):
        """`check()` (True for a right password) once this client's wait is over, one attempt
        per client at a time (parallel sessions don't guess faster); returns what it said."""
        with self.lock:
            turn = self.turns.setdefault(client, threading.Lock())
        with turn:
            wait = self.wait_left(client)
            if wait > 0:
                self.sleep(wait)
            ok = bool(check())
            self.record(client, ok)
            return ok

    def wait_left(self, client):
        with self.lock:
            return max(0.0, self.next_allowed.get(client, 0.0) - self.clock())

    def record(self, client, ok):
        with self.lock:
            if ok:
                self.failures.pop(client, None)
                self.next_allowed.pop(client, None)
                return
            failures = self.failures[client] = self.failures.get(client, 0) + 1
            if failures >= FREE_ATTEMPTS:
                wait = min(2.0 ** (failures - FREE_ATTEMPTS), LONGEST_WAIT_S)
                self.next_allowed[client] = self.clock() + wait


@st.cache_resource
def throttle():
    return PasswordThrottle()  # one for the whole server: a new session doesn't start afresh


def unlock(attempt, current=None):
    """Check a password: returns (unlocked, message). Remembers a right one in this session.
    After wrong ones from this address, the check waits its turn (a spinner says why)."""
    password = (current or settings()).training_password
    client = client_address(current)
    check = lambda: bool(password) and hmac.compare_digest(attempt.encode(), password.encode())
    wait = throttle().wait_left(client)
    note = f"Wrong passwords were tried from your address: checking in {wait:.0f} s..."
    with st.spinner(note, show_time=True) if wait > 0 else contextlib.nullcontext():
        ok = throttle().attempt(client, check)
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
