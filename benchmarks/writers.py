"""How the model reads each held-out writer, untaught and after they keep a few digits.

For every writer of a set's held-out (or validation) split: their first k digits of each
class (fewer where they wrote fewer, always leaving one to read) are kept, the rest are read
by the network alone, with the instant memory of the kept ones (`lenet.people.memory`), and,
where asked, by a model taught them (`lenet.people.teach`). Figures are pooled over all the
writers' read digits and given per writer.
"""

import dataclasses
import itertools

import numpy as np

from lenet.datasets import derived
from lenet.people import memory as memory_module
from lenet.people.memory import Memory

PEN_SETS = ("unipen", "uji", "numberpad")


def writer_digits(cache_dir, folder, part="test", sets=PEN_SETS):
    """`[(writer, images, labels)]` of each writer of the pen sets' `part`, in writing order."""
    found = derived.writers(cache_dir, folder, part)
    out = []
    for name in sets:
        if name not in found:
            continue
        images, labels = found[name]
        writers = derived._set(name, str(folder), part).writers
        for writer in np.unique(writers):
            mine = writers == writer
            out.append((writer, images[mine], labels[mine]))
    return out


def kept_and_read(labels, per_class):
    """Indices of the first `per_class` digits of each class (fewer where the writer wrote fewer,
    leaving one to read) and of the rest."""
    kept = []
    for digit in np.unique(labels):
        mine = np.flatnonzero(labels == digit)
        kept += list(mine[: min(per_class, len(mine) - 1)])
    kept = np.array(sorted(kept), np.int64)
    return kept, np.setdiff1d(np.arange(len(labels)), kept)


def per_writer(predictor, writers, per_class, teach=None):
    """Pooled and per-writer accuracy on the read digits: untaught, with memory (and taught)."""
    rows, right = [], {"untaught": [], "memory": [], "taught": []}
    for writer, images, labels in writers:
        kept, read = kept_and_read(labels, per_class)
        if not len(kept) or not len(read):
            continue
        probabilities, embeddings = predictor.predict_and_embed(images[read].astype(np.float32))
        blended, _ = Memory.of(predictor, images[kept], labels[kept]).blend(probabilities, embeddings)
        row = {"writer": writer, "kept": len(kept), "read": len(read)}
        for how, answer in (("untaught", probabilities), ("memory", blended)):
            hits = answer.argmax(axis=1) == labels[read]
            right[how].append(hits)
            row[how] = float(hits.mean())
        if teach is not None:
            hits = teach(images[kept], labels[kept]).predict(images[read]).argmax(axis=1) == labels[read]
            right["taught"].append(hits)
            row["taught"] = float(hits.mean())
        rows.append(row)
    pooled = {how: float(np.concatenate(hits).mean()) for how, hits in right.items() if hits}
    return {"writers": len(rows), "digits_read": int(sum(r["read"] for r in rows)), **pooled, "per_writer": rows}


def choose_memory_constants(predictor, writers, per_class=3, neighbours=(1, 3, 5, 9), closeness=(0.02, 0.05, 0.1, 0.2)):
    """The (neighbours, closeness) that read the given writers best with `per_class` kept:
    run on the validation writers, whose figures are never quoted."""
    scores = {}
    for k, c in itertools.product(neighbours, closeness):
        with _constants(k, c):
            scores[(k, c)] = per_writer(predictor, writers, per_class)["memory"]
    return max(scores, key=scores.get), scores


@dataclasses.dataclass
class _constants:
    neighbours: int
    closeness: float

    def __enter__(self):
        self.saved = memory_module.NEIGHBOURS, memory_module.CLOSENESS
        memory_module.NEIGHBOURS, memory_module.CLOSENESS = self.neighbours, self.closeness

    def __exit__(self, *exc):
        memory_module.NEIGHBOURS, memory_module.CLOSENESS = self.saved
