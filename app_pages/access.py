"""Who may train on this server: everyone, nobody, or whoever knows the password.

Set by the environment (`LENET_TRAINING=off|queue`, `LENET_TRAINING_PASSWORD=...`) or by
Streamlit secrets (`training = "off"`, `training_password = "..."`). The check runs again on every Start,
so no widget, query parameter or session value can start a job the policy forbids.
"""

import dataclasses
import hashlib
import hmac
import os

import streamlit as st

from lenet import jobs

UNLOCK_KEY = "training_unlocked_for"


@dataclasses.dataclass(frozen=True)
class TrainingPolicy:
    mode: str  # on (jobs run beside the app), queue (a worker elsewhere runs them), off
    password: str | None

    @property
    def enabled(self):
        return self.mode != "off"

    @property
    def reason(self):
        if not self.enabled:
            return "Training is switched off on this server (LENET_TRAINING=off or the `training` secret)."
        if self.password:
            return "Training on this server is password-protected."
        return ""


def _secret(name):
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets file at all is the common case
        return None


def training_policy():
    mode = jobs.parse_mode(os.environ.get("LENET_TRAINING") or _secret("training"))
    password = os.environ.get("LENET_TRAINING_PASSWORD") or _secret("training_password")
    return TrainingPolicy(mode=mode, password=password or None)


def _fingerprint(password):
    return hashlib.sha256(password.encode()).hexdigest()


def unlock(policy, attempt):
    """Remember in this session that the right password was given; returns whether it was."""
    ok = bool(policy.password) and hmac.compare_digest(attempt.encode(), policy.password.encode())
    if ok:
        st.session_state[UNLOCK_KEY] = _fingerprint(policy.password)
    return ok


def may_train(policy=None):
    """Whether this session may start or stop jobs right now, under the current policy."""
    policy = policy or training_policy()
    if not policy.enabled:
        return False
    if not policy.password:
        return True
    return hmac.compare_digest(str(st.session_state.get(UNLOCK_KEY, "")), _fingerprint(policy.password))
