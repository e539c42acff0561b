"""This server's settings, and who may train on it: everyone, nobody, or whoever knows the password.

Set by `Settings.training` and `Settings.training_password` (the environment or Streamlit
secrets). The check runs again on every Start, Stop, Activate and Delete, so no widget, query
parameter or session value can do what the settings forbid. Wrong passwords cost a growing
wait, counted per client address across all its sessions.
"""

import hashlib
import hmac
import threading
import time

import streamlit as st

from app_pages.state import TRAINING_UNLOCKED, settings

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

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.failures, self.next_allowed = {}, {}
        self.lock = threading.Lock()

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
    """Check a password: returns (unlocked, message). Remembers a right one in this session."""
    password = (current or settings()).training_password
    address = st.context.ip_address
    client = address if isinstance(address, str) else "local"  # None on localhost
    wait = throttle().wait_left(client)
    if wait > 0:
        return False, f"Too many wrong passwords: try again in {wait:.0f} s."
    ok = bool(password) and hmac.compare_digest(attempt.encode(), password.encode())
    throttle().record(client, ok)
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
