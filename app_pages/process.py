"""Process-wide settings the app needs, called visibly from `app.py`."""

import ctypes

from streamlit import delta_generator
from streamlit.runtime.scriptrunner import script_runner

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def configure_process():
    """Once per script run (idempotent).

    1. Streamlit calls `keras.backend.clear_session()` after every script run, to free models
       built in a script. This app builds none per run (served models live in
       `st.cache_resource`); the call emptied TensorFlow's kernel cache and ran a full garbage
       collection, so the first answer after each stroke took 30-50 ms instead of 1 ms. The hook
       is private, so a Streamlit that moved it is left alone.
    2. glibc maps every allocation over 1 MB on its own, returned to the system when freed. A
       decoded 12 MP photo is a 36 MB buffer and each script run is a new thread: with glibc's
       dynamic threshold such buffers fragmented per-thread arenas, and a server reading photos
       grew by tens of MB a round of the same uploads (1195, 1233, 1282 MB in CI; flat at
       1144-1146 MB with a fixed threshold). Elsewhere than glibc this does nothing.
    3. The first element a process draws asks whether Streamlit runs in a REPL, to warn once
       that it should be run with `streamlit run`; the answer walks the stack through
       `inspect` and every loaded module's path (0.17 s before a cold server's title). This
       app runs under `streamlit run` (or AppTest), so the question is marked asked.
    """
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None
    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass
