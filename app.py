"""LeNet Studio: `streamlit run app.py`. This file only routes; the pages live in app_pages/."""

import streamlit as st

from app_pages.process import configure_process
from app_pages.serving import model_sidebar

configure_process()
st.set_page_config(page_title="LeNet Studio", page_icon="✍️", layout="wide")
pages = [
    st.Page("app_pages/draw.py", title="Draw & Upload", icon=":material/draw:", default=True),
    st.Page("app_pages/digits.py", title="Your digits", icon=":material/collections_bookmark:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/gallery.py", title="Gallery", icon=":material/grid_view:"),
    st.Page("app_pages/about.py", title="About", icon=":material/info:"),
]
navigation = st.navigation(pages)
model_sidebar()
navigation.run()
