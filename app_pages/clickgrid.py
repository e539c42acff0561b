"""A grid of small pictures one can click: an Altair chart of image tiles with a point selection.

`st.image` cannot be clicked; a chart can. Each tile is a PNG data URL, framed in the colour its
frame asks for, with a caption under it; clicking one returns its index on the next run.
"""

import base64
import io

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image


def _data_url(image, cell):
    picture = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
    picture = picture.resize((cell, cell), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def image_grid(images, captions, frames, key, on_click, columns=10, cell=56):
    """Show `images` in a grid (framed by `frames` colours, `captions` under them);
    `on_click(index)` runs, before the page's next run, when one of them is clicked."""
    tiles = pd.DataFrame(
        {
            "index": range(len(images)),
            "column": [i % columns for i in range(len(images))],
            "row": [i // columns for i in range(len(images))],
            "url": [_data_url(image, cell) for image in images],
            "caption": list(captions),
            "frame": list(frames),
        }
    )
    rows = max(1, -(-len(images) // columns))
    clicked = alt.selection_point(fields=["index"], name="tile", on="click")
    x = alt.X("column:O", axis=None)
    y = alt.Y("row:O", axis=None)
    base = alt.Chart(tiles).encode(x=x, y=y)
    frame = (
        base.mark_square(size=(cell + 8) ** 2, filled=True)
        .encode(
            color=alt.Color("frame:N", scale=None),
            opacity=alt.condition(clicked, alt.value(1.0), alt.value(0.55)),
            tooltip=["caption"],
        )
        .add_params(clicked)
    )
    picture = base.mark_image(width=cell, height=cell).encode(url="url:N")
    caption = base.mark_text(dy=cell / 2 + 10, fontSize=10).encode(text="caption:N")
    chart = (frame + picture + caption).properties(width=columns * (cell + 12), height=rows * (cell + 26))

    def clicked_one():
        chosen = st.session_state[key].selection.get("tile") or []
        if chosen:
            on_click(int(chosen[0]["index"]))

    # At its own width: stretched, the tiles drift apart from the grid they are drawn as.
    st.altair_chart(chart.configure_view(strokeWidth=0), width="content", on_select=clicked_one, key=key)
