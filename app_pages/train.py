"""Train: retrain a network from the sidebar and watch it learn."""

import streamlit as st

st.title("Train")
st.info("Coming next: pick a network in the sidebar, press Start, and watch loss and accuracy "
        "stream in while it learns; then put the new model to work on the Draw page.")
