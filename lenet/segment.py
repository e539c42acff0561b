"""Splitting ink into digits: connected components, pieces of one digit merged, left to right.

Components are kept as runs of ink pixels (row, start, end), which makes labelling a
linear pass in numpy plus a union-find over runs rather than a loop over pixels.
"""

import dataclasses

import numpy as np

# Two pieces belong to one digit when they overlap horizontally by this much of the narrower
# one: the bar and body of a 5, the strokes of a 4, the halves of a broken 7.
MERGE_OVERLAP = 0.5
# A piece shorter than this fraction of the tallest digit is part of a digit, not one itself,
# and joins the nearest digit within this many tallest-digit heights.
FRAGMENT_HEIGHT = 0.5
FRAGMENT_REACH = 0.4


@dataclasses.dataclass
class Component:
    runs: np.ndarray  # (k, 3) int: row, start column, end column (exclusive)

    @property
    def area(self):
        return int((self.runs[:, 2] - self.runs[:, 1]).sum())

    @property
    def box(self):
        """(left, top, right, bottom), right and bottom exclusive."""
        rows, starts, ends = self.runs.T
        return int(starts.min()), int(rows.min()), int(ends.max()), int(rows.max()) + 1

    @property
    def width(self):
        left, _, right, _ = self.box
        return right - left

    @property
    def height(self):
        _, top, _, bottom = self.box
        return bottom - top

    @property
    def longest_side(self):
        return max(self.width, self.height)

    @property
    def center_x(self):
        left, _, right, _ = self.box
        return (left + right) / 2

    def paint(self, mask, offset=(0, 0)):
        """Set this component's pixels in `mask`, shifted by `offset` (rows, columns)."""
        rows, starts, ends = self.runs.T
        lengths = ends - starts
        first = (rows - offset[0]) * mask.shape[1] + starts - offset[1]
        pixels = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        np.put(mask, pixels, True)

    @classmethod
    def union(cls, components):
        return cls(np.concatenate([c.runs for c in components]))


def find_runs(mask):
    """All horizontal runs of True in a 2-D bool array, row by row, as an (n, 3) array."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)
    return np.stack([rows, starts, ends], axis=1)


def touching_pairs(runs, width):
    """Index pairs (above, below) of runs in consecutive rows that touch, diagonals included.

    Runs are sorted row by row, so the runs of the row above touching a run form one slice,
    found for all runs at once with two binary searches over row-major positions.
    """
    rows, starts, ends = runs[:, 0], runs[:, 1], runs[:, 2]
    stride = width + 2
    above = (rows - 1) * stride
    first = np.searchsorted(rows * stride + ends, above + starts, side="left")  # ends at or past our start
    last = np.searchsorted(rows * stride + starts, above + ends, side="right")  # starts at or before our end
    counts = np.maximum(last - first, 0)
    below = np.repeat(np.arange(len(runs)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(first, counts) + offsets, below


def connected_labels(n, a, b):
    """Component label (its smallest member) of each of `n` nodes joined by edges `a`-`b`.

    Hook trees onto smaller roots and shortcut to roots until no edge joins two trees;
    every step is one numpy operation over all edges.
    """
    parent = np.arange(n)
    while True:
        root_a, root_b = parent[a], parent[b]
        differ = root_a != root_b
        if not differ.any():
            return parent
        np.minimum.at(parent, np.maximum(root_a, root_b)[differ], np.minimum(root_a, root_b)[differ])
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def find_components(mask):
    """8-connected components of a bool mask, largest first."""
    runs = find_runs(mask)
    if len(runs) == 0:
        return []
    labels = connected_labels(len(runs), *touching_pairs(runs, mask.shape[1]))
    order = np.argsort(labels, kind="stable")
    split = np.flatnonzero(np.diff(labels[order])) + 1
    components = [Component(runs[group]) for group in np.split(order, split)]
    return sorted(components, key=lambda c: -c.area)


def group_digits(components):
    """Merge pieces of the same digit and order the digits left to right.

    First, pieces overlapping horizontally by `MERGE_OVERLAP` of the narrower are one digit.
    Then a piece far shorter than the tallest digit (the detached bar of a 5, the end of
    a broken stroke) joins the horizontally nearest full-height digit, if one is close.
    """
    groups = _merge_overlapping(components)
    if len(groups) < 2:
        return groups
    tallest = max(g.height for g in groups)
    full = [g for g in groups if g.height >= FRAGMENT_HEIGHT * tallest]
    members = {id(g): [g] for g in full}
    alone = []
    for fragment in (g for g in groups if g.height < FRAGMENT_HEIGHT * tallest):
        nearest = min(full, key=lambda g: _gap(g, fragment))
        if _gap(nearest, fragment) <= FRAGMENT_REACH * tallest:
            members[id(nearest)].append(fragment)
        else:
            alone.append(fragment)
    digits = [Component.union(parts) for parts in members.values()] + alone
    return sorted(digits, key=lambda c: c.center_x)


def _merge_overlapping(components):
    n = len(components)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    boxes = [c.box for c in components]
    for a in range(n):
        for b in range(a + 1, n):
            overlap = min(boxes[a][2], boxes[b][2]) - max(boxes[a][0], boxes[b][0])
            narrower = min(boxes[a][2] - boxes[a][0], boxes[b][2] - boxes[b][0])
            if overlap >= MERGE_OVERLAP * narrower:
                parent[root(b)] = root(a)
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(components[i])
    return [Component.union(members) for members in groups.values()]


def _gap(a, b):
    """Horizontal distance between two boxes; 0 when they overlap."""
    return max(0, max(a.box[0], b.box[0]) - min(a.box[2], b.box[2]))
