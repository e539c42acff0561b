"""About: what LeNet-5 is, the active model's card, and where the data comes from."""

import pandas as pd
import streamlit as st

from app_pages import serving
from lenet.nets.architectures import ARCHITECTURES

st.title("About LeNet Studio")
st.markdown(
    """
**LeNet-5** is the convolutional network Yann LeCun, Léon Bottou, Yoshua Bengio and Patrick Haffner
described in 1998 to read handwritten digits on bank cheques. It looks at a 32x32 picture through
two rounds of *convolution* (small learned filters that respond to strokes, corners and curves) and
*pooling* (keeping the strongest response in each 2x2 patch), then three fully connected layers
decide which of the ten digits it is. With about 60,000 parameters it reads the MNIST test set
with over 99% accuracy, and it is the ancestor of the networks that read images today.

Here you can draw digits and watch it read them, see what each layer responds to, retrain it,
and study the digits it gets wrong.
"""
)

info = serving.chosen_model()
st.subheader("Model card")
if info is None:
    st.error("No model files found in models/.")
else:
    meta = info.metadata
    architecture = meta.get("architecture")
    card = {
        "name": info.name,
        "architecture": f"{architecture} — {ARCHITECTURES[architecture].description}"
        if architecture in ARCHITECTURES
        else architecture,
        "kind": "shipped with the app" if info.shipped else "trained here",
        "parameters": f"{meta['num_params']:,}" if meta.get("num_params") else None,
        "test accuracy": f"{meta['test_accuracy']:.2%}"
        if isinstance(meta.get("test_accuracy"), (int, float))
        else None,
        "test loss": f"{meta['test_loss']:.4f}" if isinstance(meta.get("test_loss"), (int, float)) else None,
        "epochs": meta.get("epochs_run"),
        "training time": f"{meta['train_seconds']:.0f} s" if meta.get("train_seconds") else None,
        "trained on": meta.get("device"),
        "precision": meta.get("precision"),
        "created": meta.get("created"),
        "libraries": ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items()),
    }
    st.table(pd.DataFrame({"": [str(v) if v is not None else "—" for v in card.values()]}, index=list(card)))
    history = meta.get("history") or []
    if history:
        st.caption("Training history (per epoch)")
        frame = pd.DataFrame(history).set_index("epoch")
        st.line_chart(frame[[c for c in frame.columns if "accuracy" in c]], height=200)
    if meta.get("config"):
        with st.expander("Training configuration"):
            st.json(meta["config"])

st.subheader("The data")
st.markdown(
    """
The models learn from **MNIST** (Yann LeCun, Corinna Cortes and Christopher J. C. Burges): 60,000
training and 10,000 test digits written by American Census Bureau employees and high-school
students, each size-normalised to fit a 20x20 box and centred by its centre of mass in a 28x28
picture. The app prepares your drawings and photos the same way before reading them (see *What the
model sees* on the Draw page). MNIST is available under the Creative Commons Attribution-Share Alike
3.0 licence; the app finds it through `MNIST_DIR`, the Keras cache, or a Keras download, and checks it
against the SHA-256 sums of the original files.
"""
)
