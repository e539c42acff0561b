"""Drawings that are not digits, to measure how often the model says so: 200 of them, made here
apart from the generator it trained beside (`lenet.datasets.nondigits`): hand-placed strokes
of faces, houses, hearts, arrows, suns, letters written as a pen writes them, a loop, spirals
and scribbles of another kind, each drawn by a writer of its own (slant, size, wobble, brush).
"""

import math

import numpy as np

from lenet.config import CANVAS_SIZE
from lenet.datasets import ink


def _arc(cx, cy, rx, ry, start, end, n=24):
    angles = np.radians(np.linspace(start, end, n))
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


def _line(*points):
    return np.array(points, float)


DRAWINGS = {
    "face": lambda r: [
        _arc(0.5, 0.5, 0.45, 0.45, 0, 360),
        _line((0.33, 0.35), (0.35, 0.38)),
        _line((0.65, 0.35), (0.67, 0.38)),
        _arc(0.5, 0.55, 0.2, 0.15 * r.choice([-1, 1]), 20, 160, 10),
    ],
    "house": lambda r: [
        _line((0.1, 0.45), (0.1, 1), (0.9, 1), (0.9, 0.45), (0.1, 0.45), (0.5, 0), (0.9, 0.45)),
        _line((0.42, 1), (0.42, 0.7), (0.58, 0.7), (0.58, 1)),
    ],
    "heart": lambda r: [
        np.vstack(
            [
                _arc(0.3, 0.3, 0.2, 0.2, 180, 360),
                _arc(0.7, 0.3, 0.2, 0.2, 180, 360),
                _line((0.9, 0.35), (0.5, 0.95), (0.1, 0.35)),
            ]
        )
    ],
    "arrow": lambda r: [_line((0, 0.5), (1, 0.5)), _line((0.75, 0.25), (1, 0.5), (0.75, 0.75))],
    "sun": lambda r: (
        [_arc(0.5, 0.5, 0.22, 0.22, 0, 360)]
        + [
            _line(
                (0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a)), (0.5 + 0.48 * math.cos(a), 0.5 + 0.48 * math.sin(a))
            )
            for a in np.linspace(0, 2 * math.pi, 9)[:-1]
        ]
    ),
    # A pine, not a round tree: a circle on a straight stem is how many people write a 9.
    "tree": lambda r: [
        _line((0.5, 0), (0.15, 0.45), (0.35, 0.45), (0.05, 0.8), (0.95, 0.8), (0.65, 0.45), (0.85, 0.45), (0.5, 0)),
        _line((0.45, 0.8), (0.45, 1), (0.55, 1), (0.55, 0.8)),
    ],
    "cloud": lambda r: [
        np.vstack(
            [
                _arc(0.25, 0.6, 0.18, 0.18, 90, 270),
                _arc(0.45, 0.4, 0.22, 0.22, 180, 360),
                _arc(0.72, 0.5, 0.2, 0.2, 250, 450),
                _line((0.72, 0.7), (0.25, 0.78)),
            ]
        )
    ],
    "fish": lambda r: [
        np.vstack([_arc(0.45, 0.5, 0.35, 0.22, 30, 330), _line((0.75, 0.4), (1, 0.2), (1, 0.8), (0.75, 0.6))])
    ],
    "letter A": lambda r: [_line((0, 1), (0.5, 0), (1, 1)), _line((0.25, 0.55), (0.75, 0.55))],
    "letter E": lambda r: [_line((0.8, 0), (0, 0), (0, 1), (0.8, 1)), _line((0, 0.5), (0.6, 0.5))],
    "letter H": lambda r: [_line((0, 0), (0, 1)), _line((1, 0), (1, 1)), _line((0, 0.5), (1, 0.5))],
    "letter K": lambda r: [_line((0, 0), (0, 1)), _line((0.8, 0), (0, 0.55), (0.8, 1))],
    "letter M": lambda r: [_line((0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1))],
    "letter W": lambda r: [_line((0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0))],
    "letter R": lambda r: [
        _line((0, 1), (0, 0)),
        np.vstack(
            [_line((0, 0), (0.5, 0)), _arc(0.5, 0.25, 0.3, 0.25, -90, 90), _line((0.5, 0.5), (0, 0.5), (0.8, 1))]
        ),
    ],
    "letter x": lambda r: [_line((0, 0), (1, 1)), _line((1, 0), (0, 1))],
    "loop": lambda r: [np.vstack([_arc(0.25, 0.5, 0.25, 0.3, 0, 360), _arc(0.75, 0.5, 0.25, 0.3, 180, 540)])],
    "spiral": lambda r: [
        np.column_stack([t / 20 * np.cos(t), t / 20 * np.sin(t)]) for t in [np.linspace(0, 6 * math.pi, 90)]
    ],
    "scribble": lambda r: [
        np.column_stack(
            [
                np.sin(t * r.uniform(2, 4)) + 0.5 * np.sin(t * r.uniform(5, 9)),
                np.cos(t * r.uniform(1, 3)) + 0.5 * np.cos(t * r.uniform(6, 10)),
            ]
        )
        for t in [np.linspace(0, 2 * math.pi, 160)]
    ],
    "hash": lambda r: [
        _line((0.3, 0), (0.2, 1)),
        _line((0.7, 0), (0.6, 1)),
        _line((0, 0.3), (1, 0.3)),
        _line((0, 0.7), (1, 0.7)),
    ],
}


def drawing(kind, rng):
    """One drawing of `kind` by a writer drawn from `rng`, as the canvas sends it."""
    strokes = [s + rng.normal(0, 0.012, s.shape) for s in DRAWINGS[kind](rng)]
    matrix = ink.hand(rng, aspect=(0.75, 1.3), turn=12)
    width = ink.brush(rng)
    strokes = ink.unit_box([(s - 0.5) @ matrix.T for s in strokes])
    return ink.render(ink.place(strokes, *ink.where(rng, width / 2 / CANVAS_SIZE + 0.01)), CANVAS_SIZE, width, margin=0)


def drawings(count=200, seed=11):
    """`count` (canvas, kind) pairs, the kinds taking turns."""
    rng = np.random.default_rng(seed)
    kinds = list(DRAWINGS)
    return [(drawing(kinds[i % len(kinds)], rng), kinds[i % len(kinds)]) for i in range(count)]
