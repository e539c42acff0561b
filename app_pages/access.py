"""Who may train on this server: everyone, nobody, or whoever knows the password.

Set by `Settings.training` and `Settings.training_password` (the environment or Streamlit
secrets). The check runs again on every Start, Stop, Activate and Delete, so no widget, query
parameter or session value can do what the settings forbid.
"""

import hashlib
import hmac

import streamlit as st

from app_pages.common import settings

UNLOCK_KEY = "training_unlocked_for"


def reason(current=None):
    current = current or settings()
    if current.training == "off":
        return "Training is switched off on this server (LENET_TRAINING=off or the `training` secret)."
    if current.training_password:
        return "Training on this server is password-protected."
    return ""


def _fingerprint(password):
    return hashlib.sha256(password.encode()).hexdigest()


def unlock(attempt, current=None):
    """Remember in this session that the right password was given; returns whether it was."""
    password = (current or settings()).training_password
    ok = bool(password) and hmac.compare_digest(attempt.encode(), password.encode())
    if ok:
        st.session_state[UNLOCK_KEY] = _fingerprint(password)
    return ok


def may_train(current=None):
    """Whether this session may start or stop jobs and change models right now."""
    current = current or settings()
    if current.training == "off":
        return False
    if not current.training_password:
        return True
    return hmac.compare_digest(str(st.session_state.get(UNLOCK_KEY, "")), _fingerprint(current.training_password))
