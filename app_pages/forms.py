"""Widgets generated from a config dataclass's field metadata (the command-line flags come from
the same metadata), so the sidebar and the scripts offer exactly the same settings."""

import dataclasses

import streamlit as st


def config_form(config_class, key_prefix, skip=()):
    """Widgets for every field of a config dataclass but those in `skip`; returns the values
    chosen, by name. Fields marked `advanced` go in a folded section."""
    values = {}
    fields = [f for f in dataclasses.fields(config_class) if f.name not in skip]
    for field in [f for f in fields if not f.metadata.get("advanced")]:
        values[field.name] = _field_widget(field, key_prefix)
    with st.expander("More settings"):
        for field in [f for f in fields if f.metadata.get("advanced")]:
            values[field.name] = _field_widget(field, key_prefix)
    return values


def _field_widget(field, key_prefix):
    meta, key = field.metadata, f"{key_prefix}{field.name}"
    label, help_text, default = meta.get("label", field.name), meta.get("help"), field.default
    shown = lambda value: (
        meta.get("zero", "0") if value == 0 else f"{value:g}" if isinstance(value, float) else f"{value:,}"
    )
    if "choices" in meta:
        choices = list(meta["choices"])
        return st.selectbox(label, choices, index=choices.index(default), key=key, help=help_text)
    if field.type in (bool, "bool"):
        return st.toggle(label, default, key=key, help=help_text)
    if "options" in meta:
        options = list(dict.fromkeys([*meta["options"], default]))  # the default is always offered
        options = options if 0 in meta["options"] else sorted(options)
        return st.select_slider(label, options, default, key=key, help=help_text, format_func=shown)
    if field.type in (int, "int") and meta.get("max", 1e9) - meta.get("min", 0) <= 100:
        return st.slider(label, meta.get("min", 0), meta["max"], default, key=key, help=help_text)
    return st.number_input(label, meta.get("min"), meta.get("max"), default, key=key, help=help_text)
