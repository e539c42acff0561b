"""LeNet Studio: `streamlit run app.py`. This file only routes; the pages live in app_pages/."""

import sys

import streamlit as st

from app_pages.process import configure_process

configure_process()
# The ✍️ favicon as Streamlit's front end draws an emoji (an inline SVG), handed over ready, in
# ASCII: an emoji string makes the server compile Streamlit's emoji catalog (0.12-0.25 s of a
# cold server's first page), and a Material icon makes every browser fetch it from Google.
FAVICON = (
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'>"
    "<text y='.9em' font-size='90'>%E2%9C%8D%EF%B8%8F</text></svg>"
)
st.set_page_config(page_title="LeNet Studio", page_icon=FAVICON, layout="wide")
pages = [
    st.Page("app_pages/draw.py", title="Draw & Upload", icon=":material/draw:", default=True),
    st.Page("app_pages/digits.py", title="Your digits", icon=":material/collections_bookmark:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/gallery.py", title="Gallery", icon=":material/grid_view:"),
    st.Page("app_pages/about.py", title="About", icon=":material/info:"),
]
navigation = st.navigation(pages)
# A cold server imports TensorFlow and loads the model first (seconds): the title, the pages and
# what is happening are on screen before that, not a blank page.
# The slot is made on every run, filled only on a cold one: the page's elements then keep their
# place in the tree, so a rerun does not remount them (which would reset, say, the chosen tab).
cold = "keras" not in sys.modules
waiting = st.empty()
if cold:
    with waiting.container():
        st.title(navigation.title)
        st.info("Loading the network (the first visit after the server starts takes a few seconds)...")
# After the title: the owner's collections bring the image libraries (scipy, scikit-image), ~0.8 s.
from app_pages.visitor import remember_visitor  # noqa: E402

remember_visitor()  # the browser keeps its private owner id (its collections are its own)
from app_pages.serving import model_sidebar  # noqa: E402 (after the page has something to show)

model_sidebar()
if cold:
    waiting.empty()
navigation.run()
