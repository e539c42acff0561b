"""Training arrays derived from code and data, made once per version and kept in the cache.

Real writers' pen trajectories and scans, and drawings that are not digits, become model
inputs through the same preprocessing as a drawing on the Draw page; doing that for tens of thousands of digits takes
minutes, so the result is kept as one `.npz` under `Settings.cache_dir`, named by a digest of
what made it (the parameters and the source of the modules that drew and prepared it). A
changed generator or preprocessing step makes a new file; nothing ever reads a stale one.
"""

import concurrent.futures
import functools
import hashlib
import inspect
import json
import multiprocessing
import os
import zipfile
from pathlib import Path

import numpy as np

from lenet.config import NOT_A_DIGIT
from lenet.datasets import handwriting, ink, nondigits
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


def prepare_all(function, count, *args, progress=None):
    """`function(start, stop, *args)` over `range(count)` in chunks, on every core: the
    concatenated uint8 model inputs it returns, in order; `progress(fraction)` hears of each chunk.

    Workers are spawned, not forked: the caller may hold TensorFlow's threads.
    """
    ranges = [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    workers = min(os.cpu_count() or 1, len(ranges))
    parts = {}
    if workers <= 1:
        for start, stop in ranges:
            parts[start] = function(start, stop, *args)
            if progress:
                progress(stop / count)
    else:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(function, start, stop, *args): start for start, stop in ranges}
            for future in concurrent.futures.as_completed(futures):
                parts[futures[future]] = future.result()
                if progress:
                    progress(len(parts) / len(ranges))
    return np.concatenate([parts[start] for start, _ in ranges]) if parts else np.zeros((0, 28, 28), np.uint8)


def model_input(image):
    """The 28x28 uint8 model input of a picture holding one digit (all its ink), as the Draw page
    prepares it; a blank one for a picture without ink."""
    _, prepared = preprocess.prepare_digits(image, one_digit=True)
    return np.clip(prepared[0].input, 0, 255).astype(np.uint8) if prepared else np.zeros((28, 28), np.uint8)


# ---------------------------------------------------------------------------- real writers


@functools.lru_cache(maxsize=8)
def _set(name, folder, part):
    """One split of a set, less the digits it flags as doubtfully labelled (read once per worker)."""
    digits = handwriting.load(name, folder).part(part)
    return digits.subset(~digits.suspect)


def _views(kind, part):
    """How a split's digits are shown to the model: scans as uploads are; pen digits of the
    training split varied as people hand them in, of the others as a person draws them and,
    for the held-out writers, also as a quick sketch of 8 points joined by lines."""
    if kind == "scan":
        return ("scan",)
    return ("varied",) if part == "train" else ("as drawn", "sketched")


def _writers_inputs(start, stop, name, folder, part, view, variants, seed):
    digits, inputs = _set(name, folder, part), []
    for i in range(start, stop):
        if view == "scan":
            picture = digits.images[i]
        elif view == "varied":
            picture = ink.varied(digits.strokes[i // variants], np.random.default_rng([seed, i]))
        elif view == "sketched":
            picture = ink.as_drawn(ink.sketched(ink.unit_box(digits.strokes[i]), 8, curve=False))
        else:
            picture = ink.as_drawn(digits.strokes[i])
        inputs.append(model_input(picture))
    return np.stack(inputs)


def _writers_arrays(name, folder, part, view, count, seed, labels, progress=None):
    images = prepare_all(_writers_inputs, len(labels) * count, name, folder, part, view, count, seed, progress=progress)
    return {"images": images, "labels": np.repeat(labels, count)}


def writers(cache_dir, folder, part, variants=1, seed=0, progress=None):
    """The real writers' digits of one split ("train", "validation" or "test") as model inputs:
    `{name: (images, labels)}` for every set with digits in that split, the validation and
    held-out pen digits also as "NAME sketched". The training split's pen digits come `variants` times each."""
    folder = str(handwriting.find_folder(folder))
    found = {}
    for name, source in handwriting.SOURCES.items():
        labels = _set(name, folder, part).labels
        for view in _views(source.kind, part) if len(labels) else ():
            count = variants if view == "varied" else 1
            key, made_by = f"writers-{name}-{part}-{view.replace(' ', '-')}", (handwriting, ink, preprocess, segment)
            parameters = {"sha256": source.sha256, "view": view, "variants": count, "seed": seed}
            build = functools.partial(_writers_arrays, name, folder, part, view, count, seed, labels, progress)
            arrays = cached(cache_dir, key, parameters, made_by, build)
            found[f"{name} sketched" if view == "sketched" else name] = (arrays["images"], arrays["labels"])
    return found


# ---------------------------------------------------------------------------- not digits


def _not_digit_inputs(start, stop, seed):
    return np.stack([model_input(nondigits.drawing(i, seed)[0]) for i in range(start, stop)])


def not_digits(cache_dir, count, seed=0, progress=None):
    """`(images, labels)`: `count` drawings that are not digits (`lenet.datasets.nondigits`) as
    model inputs, labelled `NOT_A_DIGIT`."""
    build = lambda: {"images": prepare_all(_not_digit_inputs, count, seed, progress=progress)}
    arrays = cached(
        cache_dir, "not-digits", {"count": count, "seed": seed}, (nondigits, ink, preprocess, segment), build
    )
    return arrays["images"], np.full(count, NOT_A_DIGIT, np.int64)


def made_sets(cache_dir):
    """`{name: (images, labels)}` of the training sets already made in `cache_dir` (the real
    writers' training digits, the non-digits), to show what training learned besides MNIST."""
    found = {}
    for path in sorted(Path(cache_dir).glob("*.npz")):
        kind = path.stem.rsplit("-", 1)[0]
        if not (kind.startswith("writers-") and "-train-" in kind or kind == "not-digits"):
            continue
        try:
            with np.load(path, allow_pickle=False) as npz:
                images = npz["images"]
                labels = npz["labels"] if "labels" in npz.files else np.full(len(images), NOT_A_DIGIT)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            continue  # damaged or half made: not shown
        found[kind.replace("writers-", "").replace("-", " ")] = (images, labels)
    return found
