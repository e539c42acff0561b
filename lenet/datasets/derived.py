"""Training arrays derived from code and data, made once per version and kept in the cache.

Synthesized pen strokes and real writers' trajectories become model inputs through the same
preprocessing as a drawing on the Draw page; doing that for tens of thousands of digits takes
minutes, so the result is kept as one `.npz` under `Settings.cache_dir`, named by a digest of
what made it (the parameters and the source of the modules that drew and prepared it). A
changed generator or preprocessing step makes a new file; nothing ever reads a stale one.
"""

import concurrent.futures
import hashlib
import inspect
import json
import multiprocessing
import os
import zipfile
from pathlib import Path

import numpy as np

from lenet.config import NUM_CLASSES
from lenet.datasets import starter
from lenet.images import preprocess, segment
from lenet.storage import atomic_file

CHUNK = 500  # digits per task of the worker pool


def cached(cache_dir, name, parameters, sources, build):
    """The arrays `build()` returns, from `cache_dir/NAME-DIGEST.npz` when they were made before.

    `parameters` (plain data) and the source code of the modules in `sources` make the digest.
    """
    digest = hashlib.sha256(json.dumps([name, parameters], sort_keys=True).encode())
    for module in sources:
        digest.update(inspect.getsource(module).encode())
    path = Path(cache_dir) / f"{name}-{digest.hexdigest()[:16]}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        pass  # not made yet, or damaged: make it again
    arrays = build()
    with atomic_file(path) as tmp:
        np.savez(tmp, **arrays)
    return arrays


def prepare_all(function, count, *args):
    """`function(start, stop, *args)` over `range(count)` in chunks, on every core: the
    concatenated uint8 model inputs it returns, in order.

    Workers are spawned, not forked: the caller may hold TensorFlow's threads.
    """
    ranges = [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    workers = min(os.cpu_count() or 1, len(ranges))
    if workers <= 1:
        parts = [function(start, stop, *args) for start, stop in ranges]
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = list(pool.map(function, *zip(*ranges), *([arg] * len(ranges) for arg in args)))
    return np.concatenate(parts) if parts else np.zeros((0, 28, 28), np.uint8)


def model_input(image):
    """The 28x28 uint8 model input of a picture holding one digit (all its ink), as the Draw page
    prepares it; a blank one for a picture without ink."""
    _, prepared = preprocess.prepare_digits(image, one_digit=True)
    return np.clip(prepared[0].input, 0, 255).astype(np.uint8) if prepared else np.zeros((28, 28), np.uint8)


def _starter_inputs(start, stop, seed):
    return np.stack([model_input(starter.starter_canvas(i, seed)[0]) for i in range(start, stop)])


def starter_digits(cache_dir, per_class, seed=0):
    """`(images, labels)`: the first `per_class` starter drawings of each digit as model inputs,
    (n, 28, 28) uint8 and (n,) labels, digits taking turns; None for 0."""
    if not per_class:
        return None
    count = per_class * NUM_CLASSES
    build = lambda: {
        "images": prepare_all(_starter_inputs, count, seed),
        "labels": np.arange(count, dtype=np.int64) % NUM_CLASSES,
    }
    arrays = cached(cache_dir, "starter", {"count": count, "seed": seed}, (starter, preprocess, segment), build)
    return arrays["images"], arrays["labels"]
