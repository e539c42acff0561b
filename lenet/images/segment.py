"""Which ink pieces make one digit, and the digits' order: what is ours in splitting a number.

Pieces come from `scipy.ndimage.label` as boxes `(left, top, right, bottom)` (right and
bottom exclusive); a digit is a group of piece indices. Both passes are near-linear: a sweep
over boxes sorted by their left edge finds the pairs that overlap, and a fragment looks for
its digit among full-height digits only.
"""

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Two pieces belong to one digit when they overlap horizontally by this much of the narrower
# one: the bar and body of a 5, the strokes of a 4, the halves of a broken 7.
MERGE_OVERLAP = 0.5
# A piece shorter than this fraction of the tallest digit is part of a digit, not one itself,
# and joins the nearest digit within this many tallest-digit heights.
FRAGMENT_HEIGHT = 0.5
FRAGMENT_REACH = 0.4


def group_digits(boxes, max_digits=None):
    """The pieces of each digit (arrays of indices into `boxes`), digits left to right.

    First, pieces overlapping horizontally by `MERGE_OVERLAP` of the narrower are one digit.
    Then a piece far shorter than the tallest digit (the detached bar of a 5, the end of a
    broken stroke) joins the horizontally nearest full-height digit, if one is close.
    Raises `TooManyDigits` when more than `max_digits` full-height digits are found.
    """
    boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    groups = _merge_overlapping(boxes)
    group_boxes = np.stack([_union(boxes[g]) for g in groups])
    heights = group_boxes[:, 3] - group_boxes[:, 1]
    full = np.flatnonzero(heights >= FRAGMENT_HEIGHT * heights.max())
    if max_digits is not None and len(full) > max_digits:
        raise TooManyDigits(len(full), max_digits)
    members = {int(i): [groups[i]] for i in full}
    alone = []
    for fragment in np.flatnonzero(heights < FRAGMENT_HEIGHT * heights.max()):
        gaps = _gaps(group_boxes[full], group_boxes[fragment])
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= FRAGMENT_REACH * heights.max():
            members[int(full[nearest])].append(groups[fragment])
        else:
            alone.append(groups[fragment])
    digits = [np.concatenate(parts) for parts in members.values()] + alone
    centers = [_union(boxes[d])[[0, 2]].mean() for d in digits]
    return [digits[i] for i in np.argsort(centers, kind="stable")]


class TooManyDigits(ValueError):
    def __init__(self, found, limit):
        super().__init__(f"{found} digits found; up to {limit} are read in one picture.")
        self.found, self.limit = found, limit


def _merge_overlapping(boxes):
    """Groups of pieces linked by enough horizontal overlap (connected components of that relation)."""
    order = np.argsort(boxes[:, 0], kind="stable")
    left, right = boxes[order, 0], boxes[order, 2]
    # Pieces j after i in left-edge order overlap i horizontally only while left[j] < right[i].
    ends = np.searchsorted(left, right, side="left")
    counts = np.maximum(ends - np.arange(len(order)) - 1, 0)
    a = np.repeat(np.arange(len(order)), counts)
    b = a + 1 + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    overlap = np.minimum(right[a], right[b]) - left[b]
    narrower = np.minimum(right[a] - left[a], right[b] - left[b])
    linked = overlap >= MERGE_OVERLAP * narrower
    graph = coo_matrix((np.ones(linked.sum()), (order[a[linked]], order[b[linked]])), shape=(len(boxes),) * 2)
    _, labels = connected_components(graph, directed=False)
    by_group = np.argsort(labels, kind="stable")
    return np.split(by_group, np.flatnonzero(np.diff(labels[by_group])) + 1)


def _union(boxes):
    return np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])


def _gaps(boxes, box):
    """Horizontal distance from each of `boxes` to `box`; 0 where they overlap."""
    return np.maximum(0, np.maximum(boxes[:, 0], box[0]) - np.minimum(boxes[:, 2], box[2]))
