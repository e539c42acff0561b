"""Gallery: the MNIST test set as the active model reads it, mistakes first."""

import streamlit as st

st.title("Gallery")
st.info("Coming next: all 10,000 MNIST test digits with the model's answers, its mistakes, "
        "a confusion matrix and the error-reject curve.")
