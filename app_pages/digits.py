"""Your digits: the digits you kept, how each model reads them, and teaching a model your hand."""

import io

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import access, forms, panels, runview, serving, state, uploads
from lenet.datasets.derived import made_sets
from lenet.images.pictures import contact_sheet
from lenet.jobs import supervisor
from lenet.jobs.runs import RunInProgress, RunsUnavailable, Status
from lenet.nets.modelio import ModelFileError
from lenet.people.collection import CHANGE, READ, CollectionRefused, folder_name
from lenet.people.teach import TeachConfig, TeachRefused, check_teachable

SHOWN_PER_DIGIT = 40
LEARNED = "__learned__"  # the training digits besides MNIST, made once into the cache: shown read-only


def choose_collection(session_name):
    names = sorted({*panels.collections().names(), *([session_name] if session_name else [])})
    options = [*names, LEARNED]
    return st.selectbox(
        "Collection",
        options,
        index=options.index(session_name if session_name in names else LEARNED),
        key="d_collection",
        format_func=lambda n: "What training learned besides MNIST (read-only)" if n == LEARNED else n,
    )


@st.cache_resource(max_entries=4)
def _learned(cache_dir, version):
    return made_sets(cache_dir)


def learned_view():
    cache_dir = state.settings().cache_dir
    version = tuple(p.stat().st_mtime_ns for p in sorted(cache_dir.glob("*.npz")))
    sets = _learned(cache_dir, version)
    if not sets:
        st.info(
            "No training run on this server has mixed in digits besides MNIST yet (Train page: Real writers' "
            "digits, Drawings that are not digits). They appear here once a run has prepared them."
        )
        return
    name = st.selectbox("Set", list(sets), key="d_learned_set")
    images, labels = sets[name]
    st.caption(f"{len(labels):,} model inputs, prepared as drawings and uploads are (label 10: not a digit).")
    view_digits, view_models = st.tabs(["Digits", "How the models read them"])
    key = (str(cache_dir), version, name)
    with view_digits:
        grid(images, np.minimum(labels, 10), key)
    with view_models:
        if labels.max() < 10:
            models_tab(images, labels, key)


# ---------------------------------------------------------------------------- tabs


def grid(images, labels, key):
    """A count per digit, then each digit's first `SHOWN_PER_DIGIT` as a sheet; `key` names
    what `images` hold (a collection's folder and version), so unchanged sheets are not redrawn."""
    counts = np.bincount(labels, minlength=10)
    names = [str(d) for d in range(len(counts))]
    st.bar_chart(pd.DataFrame({"digit": names, "kept": counts}), x="digit", y="kept", height=180)
    for digit in np.flatnonzero(counts):
        mine = np.flatnonzero(labels == digit)
        shown = mine[:SHOWN_PER_DIGIT]
        st.markdown(
            f"**{digit}** · {len(mine)} kept" + (f" (the first {len(shown)} shown)" if len(mine) > len(shown) else "")
        )
        st.image(
            _sheet(key, int(digit), images[shown], [f"#{i}" for i in shown], True), width="content", output_format="PNG"
        )


@st.cache_data(max_entries=64, show_spinner=False)
def _sheet(key, _what, _images, captions, right):
    """A contact sheet as PNG bytes, drawn once per `key` (what the images are) and `_what`."""
    sheet = contact_sheet(list(_images), captions, [right] * len(captions), columns=12, scale=3, font_size=13)
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    return buffer.getvalue()


@st.cache_resource(max_entries=8, show_spinner=False)
def _kept(folder, version, _collection):
    """A collection's digits and `(images, labels)`, read once per version (5,000 PNGs take a
    second). Called only after the session's right to read it was checked; keyed by its folder."""
    return _collection.digits(), *_collection.arrays()


@st.cache_data(max_entries=128, show_spinner=False)
def _readings(model, key, _images):
    """How `model` (path, version, name) reads `_images` (named by `key`): computed once per pair."""
    return serving.load_predictor(*model).predict(_images).argmax(axis=1)


def digits_tab(collection, kept, images, labels, key):
    grid(images, labels, key)
    index = st.selectbox(
        "Delete a digit",
        range(len(kept)),
        index=None,
        key="d_delete_pick",
        placeholder="#",
        format_func=lambda i: f"#{i} (a {kept[i].label})",
    )
    if index is not None and st.button("Delete it", key="d_delete", disabled=not collection.may(CHANGE)):
        with panels.refusals_shown():
            collection.delete(kept[index].id)
            st.rerun()


def models_tab(images, labels, key):
    readings, infos = {}, []
    for info in serving.catalog().models()[: serving.MODELS_COMPARED]:
        try:
            readings[info.name] = _readings((str(info.path), info.version, info.name), key, images)
            infos.append(info)
        except ModelFileError:
            continue  # a damaged file: the sidebar tells whoever may fix it
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": info.label(),
                    "reads right": float((readings[info.name] == labels).mean()),
                    "mistakes": int((readings[info.name] != labels).sum()),
                }
                for info in infos
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"reads right": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
    )
    name = st.selectbox("Its mistakes", list(readings), key="d_mistakes_of")
    wrong = [i for i in range(len(labels)) if readings[name][i] != labels[i]]
    if not wrong:
        st.success(f"{name} reads every one of these digits right.")
        return
    st.image(
        _sheet(key, name, images[wrong], [f"{labels[i]}->{readings[name][i]}" for i in wrong], False),
        width="content",
        output_format="PNG",  # as drawn: "auto" would re-encode the sheet as a JPEG at every run
        caption="Under each: what it is -> what the model read.",
    )


def teach_tab(collection, labels):
    settings = state.settings()
    if not access.may_train(settings):
        st.info(f"{access.reason(settings)} Teaching runs as a training job; ask whoever runs this server.")
        return
    try:
        classes = check_teachable(labels)
    except TeachRefused as refusal:
        st.info(str(refusal))
        return
    missing = [d for d in range(10) if d not in classes]
    if missing:
        st.caption(
            f"Teaching {', '.join(map(str, classes))} only: the model keeps reading "
            f"{', '.join(map(str, missing))} as it does now."
        )
    models = serving.catalog().models()
    chosen = serving.chosen_model()
    base = st.selectbox(
        "Start from",
        models,
        index=models.index(chosen) if chosen in models else 0,
        key="d_base",
        format_func=lambda m: m.label(),
    )
    values = forms.config_form(TeachConfig, "d_", skip=("collection", "base_model"))
    activate = st.checkbox("Serve it to everyone when done, if it reads MNIST no worse", False, key="d_activate")
    try:
        active = runview.store().active_run()
    except RunsUnavailable as broken:
        st.error(str(broken))
        return
    if st.button("Teach the model my digits", type="primary", key="d_teach", disabled=active is not None):
        start_teaching(TeachConfig(**values, collection=collection.reference, base_model=base.name), activate)
    if active is not None:
        st.fragment(runview.live_view, run_every=1.0)(active.id)


def start_teaching(config, activate):
    if not access.may_train():
        st.error(access.reason() or "Training is not allowed.")
        return
    try:
        run_id = supervisor.start_training(
            state.settings(), config, activate_when_done=activate, kind="teach", store=runview.store()
        )
    except (RunInProgress, supervisor.TrainingDisabled, RunsUnavailable) as busy:
        st.warning(str(busy))
        return
    st.session_state[state.TEACHING_RUN] = run_id
    st.rerun()


def taught_outcome():
    """When this session's teaching run has ended: its figures, and its model on this session's pages."""
    run_id = st.session_state.get(state.TEACHING_RUN)
    try:
        run = runview.store().run(run_id) if run_id else None
    except RunsUnavailable:
        return  # the Teach tab says what is wrong
    if run is None or run.status.active:
        return
    if run.status == Status.FAILED:
        st.error(f"Teaching run {run.id} failed: {run.error or 'see the Train page'}")
        return
    info = serving.catalog().find(run.model_name)
    if info is None:
        return
    figures = info.metadata.get("teaching", {})
    if st.session_state.get(state.TEACHING_OFFERED) != run.id:
        st.session_state[state.TEACHING_OFFERED] = run.id
        serving.offer_model(info.name)  # at once: this session now reads with it
    own = figures.get("own_after")
    st.success(
        f"**{info.name}** learned {figures.get('digits')} digits in {figures.get('fine_tune_s', 0):.1f} s. "
        f"On your digits it did not see ({figures.get('held_out')}): {figures.get('own_before', 0):.0%} → "
        + (f"{own:.0%}" if own is not None else "not measured")
        + f". MNIST test set: {figures.get('mnist_before', 0):.2%} → {figures.get('mnist_after', 0):.2%}. "
        "It now reads your drawings on this session's pages (sidebar: Model used on this page)."
    )
    if run.outcome:
        st.caption(f"Serving everyone: {run.outcome}")


def files_tab(collection, kept):
    if not collection.may(CHANGE):
        st.info(f"Only whoever may train adds zips to “{collection.name}”.")
        return
    if kept:
        st.download_button(
            "Download as a zip (one folder per digit)",
            collection.to_zip,  # made when clicked, not at every run of the page
            file_name=f"{folder_name(collection.name)}.zip",
            mime="application/zip",
            key="d_download",
        )
    archive = st.file_uploader("Add digits from a zip (folders 0 ... 9 of images)", type=["zip"], key="d_zip")
    if archive is not None and st.button("Add these digits", key="d_add_zip"):
        try:
            added, skipped = collection.add_zip(archive.getvalue(), cancelled=uploads.session_gone())
        except CollectionRefused as refusal:
            st.error(str(refusal))
            return
        st.success(f"Added {added} digit{'s' * (added != 1)} to “{collection.name}”.")
        for line in skipped[:20]:
            st.warning(f"Skipped {line}")


# ---------------------------------------------------------------------------- page

st.title("Your digits")
session_name = panels.whose_digits()
choice = choose_collection(session_name)
if choice == LEARNED:
    learned_view()
    st.stop()
collection = panels.collections().get(choice)
taught_outcome()
if not collection.may(READ):
    st.info(
        f"“{collection.name}” is this class's collection: keep your digits in it from the Draw page. "
        "Only whoever may train (the teacher) sees, downloads and teaches it."
    )
    st.stop()
key = (str(collection.folder), collection.version())
kept, images, labels = _kept(*key, collection)
if not len(labels):
    st.info(
        f"No digits kept in “{collection.name}” yet. On the Draw page, draw a digit, correct the answer if it "
        "is wrong, and press **Keep this digit**; or add a zip of your digits below."
    )
view_digits, view_models, view_teach, view_files = st.tabs(
    ["Digits", "How the models read them", "Teach", "Download or add a zip"]
)
with view_digits:
    if len(labels):
        digits_tab(collection, kept, images, labels, key)
with view_models:
    if len(labels):
        models_tab(images, labels, key)
with view_teach:
    teach_tab(collection, labels)
with view_files:
    files_tab(collection, kept)
