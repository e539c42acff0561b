"""This server's settings and the session-state keys that more than one function reads.

Widget keys (`key=` of a slider, a button) stay beside their widgets, where tests find them;
the keys here carry a value from one page run, or one page, to another.
"""

import dataclasses
from pathlib import Path

import streamlit as st

from lenet.config import Settings
from lenet.storage import read_json

MODEL_CHOICE = "model_choice"  # the sidebar's model picker: a catalogued name, or FOLLOW_ACTIVE
OFFERED_MODEL = "offer_model"  # a model a page chose for this session, applied at the next run
THRESHOLD = "threshold"  # 'not sure' below this probability (Draw page slider, Gallery marker)
COLLECTION = "collection"  # the name typed under "Whose digits"
METRIC_CACHE = "metric_cache"  # a run's metric rows fetched so far, by run id
TEACHING_RUN = "teaching_run"  # this session's last teaching run
TEACHING_OFFERED = "teaching_offered"  # the teaching run whose model was offered to this session
TRAINING_UNLOCKED = "training_unlocked_for"  # the fingerprint of the password this session gave
USE_MEMORY = "use_memory"  # the sidebar's switch: read with the instant memory of the kept digits
OWNER = "owner"  # this browser's private owner id (app_pages.visitor)
MEMORY = "memory"  # (key, Memory) of this session's collection for the model it reads with

FOLDERS_FILE = "folders.json"  # data folders chosen on the page (MNIST, the real writers' sets)

FOLLOW_ACTIVE = "__active__"
DEFAULT_THRESHOLD = 0.8


def _secrets():
    try:
        return dict(st.secrets)
    except Exception:  # no secrets file at all is the common case
        return {}


def settings():
    """This server's `Settings`, from the environment and Streamlit secrets (read at every run,
    so a changed secret applies at once), with the data folders chosen on the page where the
    environment names none (`app_pages.preconditions`)."""
    found = Settings.from_env(secrets=_secrets())
    chosen = read_json(found.data_dir / FOLDERS_FILE, {})
    for field in ("mnist_dir", "handwriting_dir"):
        if getattr(found, field) is None and isinstance(chosen.get(field), str):
            found = dataclasses.replace(found, **{field: Path(chosen[field])})
    return found


def threshold():
    return st.session_state.get(THRESHOLD, DEFAULT_THRESHOLD)
