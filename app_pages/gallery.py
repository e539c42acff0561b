"""Gallery: the 10,000 MNIST test digits as the model reads them, its mistakes, and why."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from app_pages import clickgrid, panels, serving, state
from lenet.datasets.mnist import MnistCorrupt, MnistNotFound, keras_cache_dir, load_mnist
from lenet.nets import gallery
from lenet.nets.evaluation import confusion_matrix, error_at_threshold, error_reject_curve, precision_recall
from lenet.nets.modelio import ModelFileError

PER_PAGE = 50
RIGHT, WRONG = "#2ea043", "#d73a49"
ANY = "any"


def test_set(download=False):
    # Keyed by where the data is looked for, so a changed MNIST_DIR or Keras cache is seen.
    return _test_set(state.settings().mnist_dir, str(keras_cache_dir()), download)


@st.cache_resource(show_spinner="Loading the MNIST test set...")
def _test_set(folder, cache, download):
    _, (x_test, y_test) = load_mnist(folder, download=download)
    return x_test, y_test


def predictions_for(info):
    return _predictions(str(info.path), info.version, info.name, state.settings().cache_dir)


@st.cache_resource(max_entries=8, show_spinner="Reading all 10,000 test digits...")
def _predictions(path, version, name, cache_dir):
    """Test-set predictions of one model version: computed once, then from memory or disk."""
    x_test, y_test = test_set()
    return gallery.test_set_predictions(serving.load_predictor(path, version, name), version, x_test, y_test, cache_dir)


def mnist_or_explain():
    try:
        return test_set()
    except MnistCorrupt as error:
        st.error(str(error))
    except MnistNotFound as error:
        st.info(str(error))
        if st.button("Download MNIST now (11 MB, through Keras)", key="download_mnist"):
            try:
                with st.spinner("Downloading MNIST..."):
                    test_set(download=True)
                st.rerun()
            except (MnistNotFound, MnistCorrupt) as failure:
                st.error(str(failure))
    st.stop()


# ---------------------------------------------------------------------------- one digit


def closer_look(x_test, predictions, index, predictor):
    probabilities = predictions.probabilities[index]
    digit = int(probabilities.argmax())
    picture, chart = st.columns([1, 2])
    with picture:
        verdict = "right" if predictions.correct[index] else "wrong"
        st.image(
            np.asarray(x_test[index]).repeat(6, 0).repeat(6, 1),
            width=168,
            caption=f"#{index}: true {predictions.labels[index]}, read {digit} ({probabilities[digit]:.0%}, {verdict})",
        )
    with chart:
        panels.probability_chart(probabilities)
    image = x_test[index].astype(np.float32)
    network, invariance = st.tabs(["Inside the network", "Invariance"], key="g_look_tabs", on_change="rerun")
    with network:
        panels.network_panel(predictor, image, digit, probabilities[digit])
    if invariance.open:
        with invariance:
            panels.invariance_panel(predictor, image, key="g_look", columns=13)


# ---------------------------------------------------------------------------- tabs


def set_cell_filters():
    # A confusion-matrix cell was clicked: show exactly those images in the Gallery tab too.
    selected = st.session_state["confusion"].selection.get("cell") or []
    if selected:
        st.session_state["g_true"] = int(selected[0]["true"])
        st.session_state["g_predicted"] = int(selected[0]["predicted"])
        st.session_state["g_mistakes"] = False


def gallery_tab(x_test, predictions, predictor):
    classes = [ANY] + list(range(10))
    filters = st.columns([1, 1, 1, 2, 1])
    only_mistakes = filters[0].toggle("Only mistakes", key="g_mistakes")
    true_class = filters[1].selectbox("True digit", classes, key="g_true")
    predicted_class = filters[2].selectbox("Read as", classes, key="g_predicted")
    confidence = filters[3].slider("Confidence", 0.0, 1.0, (0.0, 1.0), 0.01, key="g_confidence")
    least_sure = filters[4].toggle("Least sure first", key="g_sort")
    indices = gallery.select(
        predictions,
        only_mistakes=only_mistakes,
        true_class=None if true_class == ANY else true_class,
        predicted_class=None if predicted_class == ANY else predicted_class,
        confidence=confidence,
        least_sure_first=least_sure,
    )
    mistakes = int((~predictions.correct[indices]).sum())
    st.caption(
        f"**{len(indices):,} images** match, **{mistakes:,} mistakes** among them. "
        "Green frame: read right; red: read wrong. Under each: index, true->read."
    )
    if not len(indices):
        return
    pages = max(1, -(-len(indices) // PER_PAGE))
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="g_page") if pages > 1 else 1
    shown, _ = gallery.page_of(indices, page, PER_PAGE)
    captions = [f"#{i} {predictions.labels[i]}->{predictions.predicted[i]}" for i in shown]
    frames = [RIGHT if predictions.correct[i] else WRONG for i in shown]
    look = lambda tile: st.session_state.update(g_look=int(shown[tile]))
    clickgrid.image_grid([x_test[i] for i in shown], captions, frames, key=f"g_grid_{page}", on_click=look)
    if st.session_state.get("g_look") not in shown:
        st.session_state.pop("g_look", None)
    index = st.selectbox(
        "Look closer at (or click a digit above)",
        shown,
        key="g_look",
        format_func=lambda i: (
            f"#{i}: true {predictions.labels[i]}, read {predictions.predicted[i]} ({predictions.confidence[i]:.0%})"
        ),
    )
    closer_look(x_test, predictions, int(index), predictor)


def analysis_tab(x_test, predictions):
    matrix = confusion_matrix(predictions.labels, predictions.predicted)
    cells = pd.DataFrame(
        [{"true": t, "predicted": p, "count": int(matrix[t, p])} for t in range(10) for p in range(10)]
    )
    cell = alt.selection_point(fields=["true", "predicted"], name="cell")
    heat = (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("predicted:O", title="read as"),
            y=alt.Y("true:O", title="true digit"),
            color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
            tooltip=["true", "predicted", "count"],
            opacity=alt.condition(cell, alt.value(1.0), alt.value(0.6)),
        )
        .add_params(cell)
    )
    labels = (
        alt.Chart(cells)
        .mark_text(fontSize=11)
        .encode(
            x="predicted:O",
            y="true:O",
            text="count:Q",
            color=alt.condition(alt.datum.count > 300, alt.value("white"), alt.value("black")),
        )
    )
    left, right = st.columns([1.2, 1])
    with left:
        st.markdown("**Confusion matrix.** Click a cell to see exactly those digits.")
        event = st.altair_chart(
            (heat + labels).properties(height=360), on_select=set_cell_filters, key="confusion", width="stretch"
        )
        chosen = (event.selection.get("cell") or []) if event else []
        if chosen:
            t, p = int(chosen[0]["true"]), int(chosen[0]["predicted"])
            indices = gallery.select(predictions, true_class=t, predicted_class=p)
            st.caption(
                f"{len(indices)} digits with true {t} read as {p}" + (" (first 50)" if len(indices) > 50 else "")
            )
            if len(indices):
                st.image(gallery.contact_sheet(x_test, indices[:50], predictions), width="content")
    with right:
        precision, recall = precision_recall(matrix)
        st.markdown("**Per digit**")
        st.dataframe(
            pd.DataFrame(
                {"digit": range(10), "precision": precision, "recall": recall, "test images": matrix.sum(axis=1)}
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "precision": st.column_config.NumberColumn(format="%.4f"),
                "recall": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    reject_curve(predictions)


def reject_curve(predictions):
    rejected, error, _ = error_reject_curve(predictions.probabilities, predictions.labels)
    keep = np.unique(np.concatenate([np.linspace(0, len(rejected) - 1, 400).astype(int), [len(rejected) - 1]]))
    curve = pd.DataFrame({"rejected": rejected[keep], "error": error[keep]})
    threshold = state.threshold()
    at_rejected, at_error = error_at_threshold(predictions.probabilities, predictions.labels, threshold)
    marker = pd.DataFrame(
        {
            "rejected": [at_rejected],
            "error": [at_error],
            "label": [f"'not sure' below {threshold:.0%}: {at_error:.2%} error, {at_rejected:.1%} rejected"],
        }
    )
    line = (
        alt.Chart(curve)
        .mark_line()
        .encode(
            x=alt.X(
                "rejected:Q",
                title="fraction rejected (least sure first)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 0.3], clamp=True),
            ),
            y=alt.Y("error:Q", title="error rate (wrong answers / all digits)", axis=alt.Axis(format=".1%")),
        )
    )
    point = (
        alt.Chart(marker)
        .mark_point(color="#d73a49", size=120, filled=True)
        .encode(x="rejected:Q", y="error:Q", tooltip=["label"])
    )
    text = (
        alt.Chart(marker)
        .mark_text(align="left", dx=8, dy=-8, color="#d73a49")
        .encode(x="rejected:Q", y="error:Q", text="label")
    )
    st.markdown(
        "**Error–reject curve.** Rejecting the least sure answers lowers the error; LeCun et al. "
        "reported 1% error at 9% rejects in 1990. The red point is the Draw page's 'not sure' threshold."
    )
    st.altair_chart((line + point + text).properties(height=280), width="stretch")


def compare_tab(x_test, predictions, info):
    others = [m for m in serving.catalog().models() if m.name != info.name]
    if not others:
        st.caption("There is no other model to compare with.")
        return
    other = st.selectbox("Compare with", others, key="g_other", format_func=lambda m: m.label())
    try:
        theirs = predictions_for(other)
    except ModelFileError:
        st.warning(f"{other.name}'s model file can't be loaded; choose another model.")
        return
    indices, right = gallery.disagreements(predictions, theirs)
    counts = {who: int((right == who).sum()) for who in ("first", "second", "neither")}
    columns = st.columns(4)
    columns[0].metric("They disagree on", f"{len(indices)} digits")
    columns[1].metric(f"{info.name} is right", counts["first"])
    columns[2].metric(f"{other.name} is right", counts["second"])
    columns[3].metric("Both wrong", counts["neither"])
    if len(indices):
        table = pd.DataFrame(
            {
                "index": indices,
                "true": predictions.labels[indices],
                info.name: predictions.predicted[indices],
                other.name: theirs.predicted[indices],
                "right": [{"first": info.name, "second": other.name, "neither": "neither"}[w] for w in right],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch", height=240)
        st.image(
            gallery.contact_sheet(x_test, indices[:50], predictions),
            width="content",
            caption=f"Frames show whether {info.name} is right; under each: index, true->{info.name}'s answer.",
        )


# ---------------------------------------------------------------------------- page

st.title("Gallery")
x_test, y_test = mnist_or_explain()
info, predictor, _ = serving.serving()
if info is None:
    st.error("No model can be loaded right now.")
    st.stop()
predictions = predictions_for(info)
summary = st.columns(3)
summary[0].metric("Test accuracy", f"{predictions.correct.mean():.2%}")
summary[1].metric("Mistakes", f"{int((~predictions.correct).sum()):,} of {len(y_test):,}")
summary[2].metric("Model", info.name)
gallery_view, analysis_view, compare_view = st.tabs(["Digits", "Analysis", "Compare models"])
with gallery_view:
    gallery_tab(x_test, predictions, predictor)
with analysis_view:
    analysis_tab(x_test, predictions)
with compare_view:
    compare_tab(x_test, predictions, info)
