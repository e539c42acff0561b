"""About: what LeNet-5 is, the model card of the model in use (how it reads MNIST and people it
never saw), and where the data comes from."""

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import serving
from lenet.datasets.handwriting import SOURCES
from lenet.nets.architectures import ARCHITECTURES, build
from lenet.nets.modelio import count_params
from lenet.nets.paper import MEASURED, PAPER_LENET5, count_connections

HELD_OUT_NAMES = {
    "mnist": "MNIST test set (10,000 digits)",
    "unipen": "UNIPEN pen digits, held-out writers",
    "unipen sketched": "the same, as 8-point sketches",
    "uji": "UJI Spanish writers, held out",
    "uji sketched": "the same, as 8-point sketches",
    "numberpad": "NumberPad (one touch-screen writer, never trained on)",
    "numberpad sketched": "the same, as 8-point sketches",
    "usps": "USPS scanned zip codes, held-out blocks",
    "optdigits": "optdigits scans, 30 writers never trained on",
}


def card_rows(info):
    meta = info.metadata
    architecture = meta.get("architecture")
    number = lambda key, form: format(meta[key], form) if isinstance(meta.get(key), (int, float)) else "—"
    return {
        "name": info.name,
        "architecture": f"{architecture}: {ARCHITECTURES[architecture].description}"
        if architecture in ARCHITECTURES
        else architecture or "—",
        "kind": "shipped with the app" if info.shipped else "trained here",
        "parameters": number("num_params", ","),
        "MNIST test accuracy": number("test_accuracy", ".2%"),
        "epochs": meta.get("epochs_run") or "—",
        "training time": f"{meta['train_seconds']:.0f} s" if meta.get("train_seconds") else "—",
        **_first_cycle(meta),
        "trained on": meta.get("device") or "—",
        "precision": meta.get("precision") or "—",
        "created": meta.get("created") or "—",
        "libraries": ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items()) or "—",
    }


def _first_cycle(meta):
    """A second cycle's epochs and time counted with those of the model it started from."""
    first = meta.get("started_from") or {}
    if not (first.get("epochs_run") and meta.get("epochs_run")):
        return {}
    seconds = (first.get("train_seconds") or 0) + (meta.get("train_seconds") or 0)
    return {
        "epochs": f"{first['epochs_run']} + {meta['epochs_run']} (a second cycle from {first['name']})",
        "training time": f"{seconds:.0f} s",
    }


@st.cache_data
def paper_table():
    """The paper's LeNet-5 beside lenet5_1998 and lenet5 as measured here (`lenet.nets.paper`)."""
    percent = lambda value: f"{value:.2%}" if value is not None else "not measured"
    seconds = lambda pair: " / ".join(f"{s} s" if s else "—" for s in pair)
    rows = [
        {
            "network": "LeNet-5 in the paper",
            "test error": percent(PAPER_LENET5["test_error_plain"]),
            "with distortions": percent(PAPER_LENET5["test_error_distorted"]),
            "parameters": f"{PAPER_LENET5['parameters']:,}",
            "connections": f"{PAPER_LENET5['connections']:,}",
            "epochs": PAPER_LENET5["epochs"],
            "training time": "not given",
        }
    ]
    for name, measured in MEASURED.items():
        model = build(name)
        rows.append(
            {
                "network": name,
                "test error": percent(measured["test_error_plain"]),
                "with distortions": percent(measured["test_error_distorted"]),
                "parameters": f"{count_params(model):,}",
                "connections": f"{count_connections(model):,}",
                "epochs": measured["epochs"],
                "training time": seconds(measured["train_s"]),
            }
        )
    return pd.DataFrame(rows)


def held_out_table(held_out):
    rows = []
    for name, row in held_out.items():
        worst = min(range(10), key=lambda d: row["per_class"][d])
        rows.append(
            {
                "set": HELD_OUT_NAMES.get(name, name),
                "digits": row["digits"],
                "reads right": row["accuracy"],
                "its hardest digit": f"{worst}: {row['per_class'][worst]:.1%}",
                "called 'not a digit'": row["not_a_digit"],
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "reads right": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
            "called 'not a digit'": st.column_config.NumberColumn(format="percent"),
        },
    )


st.title("About LeNet Studio")
st.markdown(
    """
**LeNet-5** is the convolutional network Yann LeCun, Léon Bottou, Yoshua Bengio and Patrick Haffner
described in 1998 to read handwritten digits on bank cheques. It looks at a 32x32 picture through
two rounds of *convolution* (small learned filters that respond to strokes, corners and curves) and
*subsampling*, then fully connected layers decide which of the ten digits it is. With about 60,000
parameters it read MNIST's test set with 0.95% error, and it is the ancestor of the networks that
read images today. The networks here are LeNet-5 and its descendants (ReLU, max-pooling, batch
normalisation); the model card below is for the one this page reads with.

Here you can draw digits and watch it read them, see what each layer responds to, teach it your
hand, retrain it, and study the digits it gets wrong.
"""
)

info = serving.chosen_model()
st.subheader("Model card")
if info is None:
    st.error("No model files found in models/.")
else:
    meta = info.metadata
    st.markdown("\n".join(["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in card_rows(info).items())]))
    if meta.get("held_out"):
        st.markdown(
            "**How it reads people it never saw.** Every set's writers here were held out of its training: "
            "the figures are about strangers' handwriting, drawn on the canvas as a person would (pen sets) "
            "or uploaded as scans."
        )
        held_out_table(meta["held_out"])
    history = meta.get("history") or []
    if history:
        frame = pd.DataFrame(history).rename(columns={"accuracy": "training images", "val_accuracy": "validation"})
        measured = [c for c in ("training images", "validation") if c in frame]
        frame = frame.melt("epoch", measured, var_name="measured on", value_name="accuracy")
        st.altair_chart(
            alt.Chart(frame, title="Training history")
            .mark_line(point=True)
            .encode(
                x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False)),
                color=alt.Color("measured on:N", legend=alt.Legend(orient="bottom")),
            )
            .properties(height=220),
            width="stretch",
        )
    if meta.get("config"):
        with st.expander("Training configuration"):
            st.json(meta["config"])

st.subheader("LeNet-5 as in 1998")
st.markdown(
    """
`lenet5_1998` is the paper's network itself, trainable from the Train page (preset *LeNet-5 as in
1998*) and by `scripts/train.py --architecture lenet5_1998`: a 32x32 input normalised as the paper
does (background -0.1, ink 1.175), the squashing function 1.7159 tanh(2/3 a), subsampling with a
trainable coefficient and bias per map, C3 connected by the paper's Table I, and an output of ten
Euclidean RBF units whose fixed parameters are 7x12 bitmaps of the digits (drawn after the paper's
Fig. 3), trained with its MAP criterion. Adam replaces the paper's stochastic diagonal
Levenberg-Marquardt. `lenet5` is the modern reading of it (ReLU, max-pooling, softmax).
Training times: without / with distortions, on a 2-core CPU.
"""
)
st.dataframe(paper_table(), hide_index=True, width="stretch")

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

The shipped models also learned from **real people's handwriting**, whose writers are split so that
the ones they are judged on were never trained on:
"""
)
st.markdown("\n".join(f"- **{source.what}**. {source.credit}." for source in SOURCES.values()))
