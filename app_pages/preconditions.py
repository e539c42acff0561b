"""What a page needs before it can do its work, said before anyone presses a button.

Training and teaching need MNIST on the server (and, when a run mixes them in, the real
writers' sets); the Gallery needs its test set. When something is missing the page says so
in one paragraph, offers the download where that can work, and offers whoever may train a
field for a folder on the server that holds the files (unless the host switched it off).
"""

from pathlib import Path

import streamlit as st

from app_pages import access, state
from lenet.datasets import handwriting, mnist
from lenet.errors import Refused
from lenet.storage import read_json, write_json_atomic


def mnist_ready(purpose):
    """True when MNIST is on this server; else explain, in one paragraph, what `purpose` needs."""
    settings = state.settings()
    try:
        mnist.locate(settings.mnist_dir)
        return True
    except mnist.MnistNotFound as missing:
        problem = missing
    st.warning(
        f"**{purpose} needs MNIST, and this server has no copy yet.** "
        + (str(problem) if access.may_train() else "Ask whoever runs this server to provide it.")
    )
    if access.may_train():
        if st.button("Download MNIST now (11 MB, through Keras)", key=f"download_mnist_{purpose}"):
            with st.spinner("Downloading MNIST..."):
                try:
                    mnist.download_mnist()
                    st.rerun()
                except Refused as refusal:
                    st.error(str(refusal))
        folder_field(
            "mnist_dir", "Or name a folder on this server that holds MNIST's four files", mnist.locate, purpose
        )
    return False


def handwriting_ready(purpose):
    """True when the real writers' sets are here; else say what to do, in one paragraph."""
    settings = state.settings()
    try:
        handwriting.load("uji", settings.handwriting_dir)  # the smallest set: proves the folder
        return True
    except handwriting.HandwritingNotFound as missing:
        st.warning(
            f"**{purpose} mixes in real writers' digits, which this server does not have.** {missing} "
            "Or set *Real writers' digits* to none."
        )
    if access.may_train():
        folder_field(
            "handwriting_dir",
            "Or name the folder on this server that holds them",
            lambda folder: handwriting.load("uji", folder),
            purpose,
        )
    return False


def folder_field(field, label, check, purpose):
    """A text field for a folder on the server, checked with `check(folder)` and remembered in
    the data folder, for whoever may train (and only if the host allows it)."""
    settings = state.settings()
    if not settings.folder_field:
        return
    typed = st.text_input(label, key=f"folder_{field}_{purpose}", placeholder="/path/on/the/server")
    if typed and st.button("Use this folder", key=f"use_{field}_{purpose}") and access.may_train():
        try:
            check(Path(typed))
        except Refused as refusal:
            st.error(str(refusal))
            return
        chosen = read_json(settings.data_dir / state.FOLDERS_FILE, {})
        write_json_atomic(
            settings.data_dir / state.FOLDERS_FILE, {**chosen, field: str(Path(typed).expanduser().resolve())}
        )
        st.rerun()
