"""Synthetic handwritten digits as pen strokes, in many writing styles, for a starter collection.

MNIST's writers were American. People elsewhere put a flag and a foot on their 1s, cross their
7s, leave their 4s open at the top, and the shipped model misreads them. This module draws
digits the way a person would draw them on the Draw page's canvas. Each digit comes in one of
several styles (`STYLES`), and each sample has its own writer's slant, proportions, roundness,
jitter and untidy joins. A model trained on these alongside MNIST learns both ways of writing.
It is shipped as code, never as images.
"""

import math
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw

from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH

INK, PAPER = (255, 255, 255, 255), (0, 0, 0, 0)


def _path(*pieces):
    """One pen stroke: smooth through each piece's points, a corner where one piece meets the next."""
    return [list(piece) for piece in pieces]


def _arc(cx, cy, rx, ry, start, end):
    """Points on an ellipse from angle `start` to `end` in degrees (0 right, 90 down)."""
    angles = np.radians(np.linspace(start, end, max(2, math.ceil(abs(end - start) / 30) + 1)))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


# ---------------------------------------------------------------------------- the digits
# Each is drawn in a unit box about 0.7 wide, y down; `u(low, high)` is one draw of the writer's.


def _zero(u, start, turn):
    """An oval from `start` round by `turn` degrees: a little short of closing, or past it."""
    return [_path(_arc(0.5, 0.5, u(0.2, 0.4), 0.5, start, start + turn))]


def _one(u, flag=None, foot=False, lean=0.0):
    """A stem, with a flag of (length, angle) rising into its top, and a foot across its base."""
    if flag:
        length, angle = flag
        dx, dy = length * math.cos(math.radians(angle)), length * math.sin(math.radians(angle))
        top = [(0.5 - dx, dy), (0.5 - dx / 2, dy / 2 - u(-0.01, 0.05) * length), (0.5, 0)]  # straight or bowed
    else:
        top = [(0.5 + lean, 0)]
    strokes = [_path(top, [(0.5 + u(-0.02, 0.02), 0.5), (0.5 - lean + u(-0.04, 0.04), 1)])]
    if foot:
        half = u(0.12, 0.3)
        strokes.append(_path([(0.5 - half * u(0.6, 1.2), 1 + u(-0.02, 0.02)), (0.5 + half, 1 + u(-0.02, 0.02))]))
    return strokes


def _two(u, curl=0.0, loop=0.0):
    """Arch, diagonal and base of a 2; a `curl` where the pen starts, a `loop` at the lower left."""
    arch = _arc(0.5, 0.28, 0.32, 0.28, u(165, 200), u(355, 385)) + [(u(0.4, 0.5), u(0.6, 0.7))]
    if curl:
        c = curl
        arch = [(0.22 + c, 0.3), (0.22, 0.3 + c / 2), (0.22 - c, 0.28), (0.22 - c / 2, 0.28 - c)] + arch[1:]
    base = [(u(0.78, 0.92), 1 + u(-0.04, 0.02))]
    if not loop:
        return [_path(arch + [(u(0.1, 0.2), 1)], base)]
    # Down past the diagonal, up and round to the left, across the diagonal and on into the base.
    s = loop
    turn = [
        (0.28, 0.84),
        (0.2 - 0.05 * s, 0.96),
        (0.2 - 0.12 * s, 0.92 - 0.02 * s),
        (0.2 - 0.1 * s, 1 - 0.2 * s),
        (0.2 - 0.02 * s, 1 - 0.22 * s),
        (0.2 + 0.05 * s, 0.84),
        (0.2 + 0.12 * s, 0.98),
    ]
    return [_path(arch + turn + base)]


def _two_angular(u):
    rise = u(0.06, 0.2)  # how far the top climbs from its start: nearly flat like a Z, or arched
    top = [(0.15, rise), (0.5, 0), (u(0.8, 0.88), 0.04 + rise / 3)]
    return [_path(top, [(u(0.1, 0.2), 1)], [(u(0.78, 0.92), 1 + u(-0.04, 0.02))])]


def _lower_bump(u, mid):
    """The lower half of a 3 (or the belly of a 5): from height `mid` round to the lower left."""
    return _arc(0.5, (1 + mid) / 2, u(0.28, 0.34), (1 - mid) / 2, u(-100, -70), u(130, 160))


def _three(u, mid, top_width=0.0):
    """An upper bump `top_width` wide down to the middle at `mid`, or a flat top and a diagonal; then the lower bump."""
    if not top_width:
        return [_path([(u(0.15, 0.25), u(0, 0.04)), (u(0.75, 0.85), 0)], [(u(0.38, 0.5), mid)], _lower_bump(u, mid))]
    upper = _arc(0.5, mid / 2, top_width, mid / 2, u(190, 220), u(420, 440))
    return [_path(upper + [(u(0.36, 0.46), mid)], _lower_bump(u, mid))]


def _four(u, left_top=None, left_foot=0.15, bar=0.6, stem_top=0.0, round_corner=False):
    """A down-stroke from `left_top` (the stem's top when None: closed) to the bar and along it, then the stem."""
    stem = u(0.58, 0.7)
    left_top = left_top or (stem + u(-0.04, 0.02), u(-0.02, 0.02))
    right = (u(0.85, 0.95), bar + u(-0.03, 0.02))
    if round_corner:  # a U-shaped turn into the bar, as hurried writers make it
        first = _path([left_top, (left_foot, bar - 0.08), (left_foot + 0.1, bar), right])
    else:
        first = _path([left_top], [(left_foot, bar)], [right])
    return [first, _path([(stem, stem_top), (stem + u(-0.03, 0.03), 1)])]


def _five(u, flag, angular=False):
    """Stem and a round or `angular` belly; the flag drawn "first" in the same stroke, "after" it, or "detached"."""
    x, top = u(0.22, 0.32), u(0.02, 0.06)
    neck = [(x - u(0, 0.06), u(0.4, 0.48))]
    if angular:  # along, a corner, down, a corner, round the bottom
        belly = [[(u(0.6, 0.72), u(0.4, 0.46))], [(u(0.78, 0.85), u(0.6, 0.68)), (0.68, 0.92), (0.42, 1), (0.18, 0.9)]]
    else:
        belly = [_lower_bump(u, 0.42)[1:]]
    end = (u(0.72, 0.9), top + u(-0.05, 0.02))
    if flag == "first":
        return [_path([end], [(x, top)], neck, *belly)]
    lift = u(0.02, 0.06) if flag == "detached" else 0.0
    return [_path([(x, top)], neck, *belly), _path([(x + lift, top - lift), (end[0], end[1] - lift)])]


def _six(u, radius, straight=False):
    """Stem from the upper right down to the loop's left side, then the loop, counter-clockwise."""
    rx, cy = radius * u(0.95, 1.25), 1 - radius
    loop = _arc(0.5, cy, rx, radius, 180, -180 + u(-25, 40))
    top = (u(0.6, 0.78), 0)
    if straight:
        return [_path([top, (0.5 - rx * 0.95, cy - radius * 0.3)], loop[1:])]
    return [_path([top, (0.5 - rx * u(0.4, 0.7), cy * u(0.35, 0.5))] + loop)]


def _seven(u, stem, hook=False, bar=False):
    """Top stroke left to right, a corner, then `stem` (points down to the foot); optional hook and bar."""
    top, left, right = u(0, 0.05), u(0.08, 0.2), u(0.82, 0.92)
    start = [(left - u(0, 0.05), top + u(0.12, 0.24))] if hook else []
    strokes = [_path(start + [(left, top + u(-0.02, 0.04))], [(0.5, top + u(-0.02, 0.02)), (right, top)], stem)]
    if bar:
        height = u(0.4, 0.66)  # where the bar crosses the (nearly straight) stem
        x = right + (stem[-1][0] - right) * (height - top) / (1 - top)
        half = u(0.1, 0.25)
        strokes.append(_path([(x - half * u(0.8, 1.3), height + u(-0.02, 0.02)), (x + half, height + u(-0.03, 0.01))]))
    return strokes


def _eight(u, waist, mirrored=False):
    """One stroke from the upper right: round the top leftwards, across the waist, round the bottom, back up."""
    top_rx, ry = u(0.18, 0.26) * waist / 0.46, waist / 2
    bottom = _arc(0.5, (1 + waist) / 2, u(0.26, 0.34), (1 - waist) / 2, -60, 240)
    points = _arc(0.5, ry, top_rx, ry, -30, -240) + bottom + _arc(0.5, ry, top_rx, ry, 60, -30 - u(-20, 25))
    return [_path([(1 - x, y) if mirrored else (x, y) for x, y in points])]


def _snowman(u):
    """Two closed loops stacked, each its own stroke."""
    waist, start = u(0.38, 0.48), u(-120, -60)
    top = _arc(0.5, waist / 2, u(0.16, 0.24), waist / 2, start, start - 360 - u(-10, 25))
    bottom = _arc(0.5, (1 + waist) / 2, u(0.26, 0.34), (1 - waist) / 2, start, start - 360 - u(-10, 25))
    return [_path(top), _path(bottom)]


def _nine(u, stem, separate=False):
    """A loop, counter-clockwise from its right side, then `stem` (points down to the foot)."""
    rx, ry = u(0.22, 0.32), u(0.16, 0.28)
    join = u(-45, 25)  # where the stem leaves the loop: above or below its middle
    loop = _arc(0.5, ry, rx, ry, join, join - 360 - u(-20, 20))  # a little open or overshooting
    if separate:
        return [_path(loop), _path([(0.5 + rx * u(0.85, 1.0), ry * u(0.2, 0.9))] + stem)]
    return [_path(loop, stem)]


_SHAPES = {
    0: {
        "oval": lambda u: _zero(u, -90, -360 - u(-25, 30)),
        "clockwise": lambda u: _zero(u, -90, 360 + u(-25, 30)),
        "looped_top": lambda u: _zero(u, u(-70, -40), -360 - u(30, 60)),
    },  # a small crossing at the top
    1: {
        "plain": lambda u: _one(u),
        "slanted": lambda u: _one(u, lean=u(0.06, 0.18)),
        "flag": lambda u: _one(u, flag=(u(0.1, 0.22), u(30, 60))),
        "long_flag": lambda u: _one(u, flag=(u(0.25, 0.5), u(30, 55))),
        "flag_foot": lambda u: _one(u, flag=(u(0.12, 0.45), u(25, 55)), foot=True),
        "foot": lambda u: _one(u, foot=True),
    },
    2: {
        "plain": lambda u: _two(u),
        "looped": lambda u: _two(u, loop=u(0.7, 1.3)),
        "angular": _two_angular,
        "curly": lambda u: _two(u, curl=u(0.06, 0.1)),
    },
    3: {
        "round": lambda u: _three(u, u(0.44, 0.52), u(0.24, 0.3)),
        "small_top": lambda u: _three(u, u(0.32, 0.4), u(0.16, 0.22)),
        "flat_top": lambda u: _three(u, u(0.38, 0.5)),
    },
    4: {
        "closed": lambda u: _four(u, None, u(0.08, 0.18), u(0.58, 0.7), u(0, 0.06)),
        "open": lambda u: _four(u, (u(0.15, 0.3), u(0, 0.08)), u(0.1, 0.2), u(0.5, 0.65), u(0, 0.08)),
        "open_round": lambda u: _four(u, (u(0.12, 0.25), u(0, 0.1)), u(0.1, 0.18), u(0.5, 0.65), u(0, 0.08), True),
        "open_tall": lambda u: _four(u, (u(0.15, 0.3), u(0.15, 0.3)), u(0.1, 0.2), u(0.6, 0.72)),  # stem well above
        "open_slanted": lambda u: _four(u, (u(0.3, 0.42), u(0, 0.1)), u(0.05, 0.15), u(0.55, 0.68), u(0, 0.06)),
    },
    5: {
        "two_strokes": lambda u: _five(u, "after"),
        "one_stroke": lambda u: _five(u, "first"),
        "detached_flag": lambda u: _five(u, "detached"),
        "angular_belly": lambda u: _five(u, "after", angular=True),
    },
    6: {
        "curved": lambda u: _six(u, u(0.22, 0.28)),
        "straight_stem": lambda u: _six(u, u(0.2, 0.28), straight=True),
        "small_loop": lambda u: _six(u, u(0.15, 0.2)),
        "big_loop": lambda u: _six(u, u(0.29, 0.34)),
    },
    7: {
        "plain": lambda u: _seven(u, [(u(0.35, 0.5), 1)]),
        "curved_stem": lambda u: _seven(u, [(u(0.55, 0.65), u(0.4, 0.5)), (u(0.4, 0.5), 1)]),
        "upright_stem": lambda u: _seven(u, [(u(0.6, 0.72), 1)]),
        "crossed": lambda u: _seven(u, [(u(0.35, 0.5), 1)], bar=True),
        "hooked": lambda u: _seven(u, [(u(0.35, 0.5), 1)], hook=True),
        "hooked_crossed": lambda u: _seven(u, [(u(0.35, 0.5), 1)], hook=True, bar=True),
    },
    8: {
        "one_stroke": lambda u: _eight(u, u(0.42, 0.5)),
        "mirrored": lambda u: _eight(u, u(0.42, 0.5), mirrored=True),  # round the top rightwards first
        "small_top": lambda u: _eight(u, u(0.32, 0.4)),
        "snowman": _snowman,
    },
    9: {
        "slanted": lambda u: _nine(u, [(u(0.5, 0.65), 1)]),
        "curved": lambda u: _nine(u, [(u(0.74, 0.8), u(0.6, 0.7)), (u(0.55, 0.68), 1)]),
        "straight": lambda u: _nine(u, [(u(0.76, 0.84), 1)]),
        "hooked": lambda u: _nine(u, [(u(0.76, 0.82), 0.75), (u(0.62, 0.7), 0.98), (u(0.3, 0.45), u(0.88, 0.95))]),
        "two_strokes": lambda u: _nine(u, [(u(0.7, 0.82), 1)], separate=True),
    },
}
STYLES = {digit: tuple(shapes) for digit, shapes in _SHAPES.items()}
# The continental and other non-MNIST forms: half the samples of their digit, the common forms the other half.
VARIANTS = {
    1: ("long_flag", "flag_foot", "foot"),
    2: ("looped", "angular", "curly"),
    3: ("flat_top",),
    4: ("open", "open_round", "open_tall", "open_slanted"),
    5: ("detached_flag", "angular_belly"),
    7: ("crossed", "hooked", "hooked_crossed"),
    9: ("straight", "hooked", "two_strokes"),
}
# The forms the shipped model misread most from people outside MNIST's writers (continental 1s
# and 7s, open 4s, straight-stemmed 9s) get most of their digit's samples.
VARIANT_SHARE = {1: 0.75, 4: 0.7, 7: 0.75, 9: 0.7}


# ---------------------------------------------------------------------------- a writer's hand


def _spline(points, roundness, samples=12):
    """Cardinal spline through `points`: Catmull-Rom at roundness 1, tighter turns below 1."""
    p = np.asarray(points, float)
    if len(p) < 3:
        return p  # a straight line
    padded = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    tangents = roundness * (padded[2:] - padded[:-2]) / 2
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, 3 * t**2 - 2 * t**3, t**3 - t**2
    curve = h00 * p[:-1, None] + h10 * tangents[:-1, None] + h01 * p[1:, None] + h11 * tangents[1:, None]
    return np.vstack([curve.reshape(-1, 2), p[-1:]])


def _resample(curve, sparse=None):
    """Evenly spaced points along the curve, 20-60 by its length, like a pen sampled in time;
    `sparse` points per unit of length instead, as a quick mouse or a coarse tablet records a
    stroke: the canvas joins them with straight lines, so curves come out as polygons."""
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    count = np.clip(along[-1] * sparse, 3, 20) if sparse else np.clip(along[-1] * 30, 20, 60)
    at = np.linspace(0, along[-1], int(count))
    return np.column_stack([np.interp(at, along, curve[:, 0]), np.interp(at, along, curve[:, 1])])


def _trace(pieces, roundness, sparse=None):
    curve = [_spline(pieces[0], roundness)]
    for before, piece in zip(pieces, pieces[1:]):
        curve.append(_spline(np.vstack([before[-1:], piece]), roundness)[1:])
    return _resample(np.vstack(curve), sparse)


def _hand(u):
    """A writer's slant (top to the right), width and small turn, as one 2x2 matrix."""
    slant, turn = math.radians(u(-10, 25)), math.radians(u(-6, 6))
    shear = np.array([[1, -math.tan(slant)], [0, 1]])
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    return rotation @ shear @ np.diag([u(0.45, 0.9) / 0.7, 1])  # the styles are drawn about 0.7 wide


def _fit_unit_box(strokes):
    """Scale the longest side to 1 and centre the digit in the unit box."""
    points = np.vstack(strokes)
    low, extent = points.min(axis=0), np.ptp(points, axis=0)
    scale = 1 / extent.max()
    return [(s - low) * scale + (1 - extent * scale) / 2 for s in strokes]


def _pick_style(digit, rng):
    # Variants get VARIANT_SHARE of their digit's samples, the common forms the rest (all
    # alike when a digit has one kind): MNIST already teaches the common forms.
    variant = np.array([name in VARIANTS.get(digit, ()) for name in STYLES[digit]])
    share = VARIANT_SHARE.get(digit, 0.5)
    weights = np.where(variant, share / max(variant.sum(), 1), (1 - share) / max((~variant).sum(), 1))
    return STYLES[digit][rng.choice(len(variant), p=weights / weights.sum())]


def synthesize(digit: int, rng: np.random.Generator, style: str | None = None) -> list[np.ndarray]:
    """One handwritten `digit` as pen strokes, (k, 2) arrays of (x, y) in the unit box, y down.

    `style` is one of `STYLES[digit]`, or None for one drawn at random; everything else about
    the writer's hand is drawn from `rng`.
    """
    style = style or _pick_style(digit, rng)
    if style not in STYLES[digit]:
        raise ValueError(f"No style {style!r} for the digit {digit}; expected one of {', '.join(STYLES[digit])}.")
    jitter, roundness = rng.uniform(0.004, 0.025), rng.uniform(0.6, 1.1)
    # A third of the hands are recorded sparsely (a quick mouse): 4-9 points per unit of stroke.
    sparse = rng.uniform(4, 9) if rng.random() < 1 / 3 else None
    shape = _SHAPES[digit][style](rng.uniform)
    hand = _hand(rng.uniform)
    strokes = []
    for pieces in shape:
        pieces = [np.asarray(p, float) + rng.normal(0, jitter, (len(p), 2)) for p in pieces]
        strokes.append((_trace(pieces, roundness, sparse) - 0.5) @ hand.T)
    return _fit_unit_box(strokes)


# ---------------------------------------------------------------------------- on the canvas


def place(strokes, height, left, top):
    """Strokes in the unit box scaled to `height` and moved to (`left`, `top`), all canvas fractions."""
    return [s * height + (left, top) for s in strokes]


def render(strokes, size=CANVAS_SIZE, width=DEFAULT_BRUSH, margin=None) -> np.ndarray:
    """The canvas as the Draw page sends it: RGBA, white round-ended strokes on transparent.

    The unit box fills the canvas less `margin` pixels on every side (15% of it by default).
    """
    margin = 0.15 * size if margin is None else margin
    image = Image.new("RGBA", (size, size), PAPER)
    pen = ImageDraw.Draw(image)
    radius = width / 2
    for stroke in strokes:
        points = stroke * (size - 2 * margin) + margin
        pen.line(points.ravel().tolist(), fill=INK, width=width, joint="curve")
        for x, y in points:
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=INK)
    return np.asarray(image)


def _brush(rng):
    # Most people keep the default brush; the rest pick one, mostly between 8 and 30.
    if rng.random() < 0.4:
        return DEFAULT_BRUSH
    return int(rng.integers(8, 31)) if rng.random() < 0.9 else int(rng.integers(5, 41))


def _where(rng, pad):
    """A digit height and top-left corner as people write: mostly mid-sized and near the middle."""
    height = min(rng.uniform(0.4, 0.85), 1 - 2 * pad)
    room = 1 - height - 2 * pad
    left, top = pad + room * rng.beta(3, 3, size=2)
    return height, left, top


def recorded(strokes, rng):
    """The strokes as a pen recorder may store them rather than as the canvas draws them.

    Most stay as drawn. Some recorders keep no pen lifts, so one stroke runs on into the next
    along the pen's travel (a 7's bar joined to the foot of its stem); some keep only a few
    points of the whole trajectory, evenly spaced along it, joined by straight lines.
    """
    chance = rng.random()
    if chance < 0.4 or len(strokes) == 1 and chance < 0.7:
        return strokes
    # Bars, feet and flags are drawn either way: the pen travels to whichever end comes first.
    joined = np.vstack([strokes[0]] + [s[::-1] if rng.random() < 0.5 else s for s in strokes[1:]])
    if chance < 0.6:
        return [joined]
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(joined, axis=0), axis=1))])
    at = np.linspace(0, along[-1], int(rng.integers(8, 17)))
    return [np.column_stack([np.interp(at, along, joined[:, 0]), np.interp(at, along, joined[:, 1])])]


def starter_canvas(index, seed=0):
    """(canvas, label, style): the starter drawing number `index` (its label is `index % 10`).

    Every drawing has a random generator of its own, seeded by (`seed`, `index`), so any slice
    of the collection can be drawn alone (by one worker of several) and the first n drawings
    of a larger collection are exactly a smaller one.
    """
    rng = np.random.default_rng([seed, index])
    digit = index % 10
    style = _pick_style(digit, rng)
    width = _brush(rng)
    strokes = place(recorded(synthesize(digit, rng, style), rng), *_where(rng, width / 2 / CANVAS_SIZE + 0.01))
    return render(strokes, CANVAS_SIZE, width, margin=0), digit, style


def starter_canvases(per_class, seed=0) -> Iterator[tuple[np.ndarray, int, str]]:
    """(canvas, label, style) for `per_class` drawings of each digit, the digits taking turns."""
    return (starter_canvas(index, seed) for index in range(per_class * 10))
