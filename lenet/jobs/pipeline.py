"""From a config to a saved model: the one pipeline the Train page's jobs and the scripts share.

`train_and_save` chains the compiled-program cache, MNIST, the derived digits the config mixes
in, `train()` and an atomic save; `teach_and_save` does the same for a fine-tune on someone's
digits. A job adds only what belongs to a job (progress rows, the stop flag, activation).
"""

from pathlib import Path

import numpy as np

from lenet.datasets import derived
from lenet.datasets.handwriting import HandwritingNotFound
from lenet.datasets.mnist import load_mnist_with_source
from lenet.errors import Refused
from lenet.nets.devices import enable_compilation_cache
from lenet.nets.evaluation import held_out_report
from lenet.nets.modelio import build_metadata, load_metadata, load_model, save_model
from lenet.nets.training import fit_size, train
from lenet.people.teach import teach, teach_metadata
from lenet.storage import sha256_of


def train_and_save(settings, config, output, callbacks=(), verbose=0, annotate=None, phase=None, start_from=None):
    """Train `config` (a `TrainConfig`) on this installation's data and save the model at
    `output`; returns `(TrainResult, metadata)`.

    `start_from`, a model file of the same architecture, gives the weights training starts
    from (a second cycle on a trained model); the model card names it and its checksum.

    `annotate(metadata)`, when given, returns more fields for the model card, asked once
    training has ended (a job adds its run id and whether it was stopped). `phase(name,
    fraction=None)` hears what the pipeline is doing, for a live view.
    """
    phase = phase or _unheard
    enable_compilation_cache(settings.cache_dir / "xla")
    initial, started_from = _starting_weights(start_from, config.architecture)
    phase("loading MNIST")
    data, source = load_mnist_with_source(settings.mnist_dir)
    extra, extra_validation = training_extras(settings, config, phase)
    phase("compiling the network", train_images=fit_size(config, len(data[0][1]), len(extra[1]) if extra else 0))
    result = train(
        config, data, callbacks, verbose, extra=extra, extra_validation=extra_validation, initial_weights=initial
    )
    metadata = build_metadata(result, data_source=source, name=Path(output).stem)
    if started_from:
        metadata["started_from"] = started_from
    phase("scoring on MNIST's test set and the held-out writers")
    metadata["held_out"] = held_out_report(result.model, held_out_sets(settings, data, phase))
    phase("saving the model")
    return result, _save(result.model, output, metadata, annotate)


def _starting_weights(path, architecture):
    """`(weights, card entry)` of the model at `path`, or `(None, None)` without one; refuses a
    model of another architecture in a sentence."""
    if not path:
        return None, None
    model, card = load_model(path), load_metadata(path)
    if card.get("architecture") not in (None, architecture):
        raise Refused(f"{path} is a {card['architecture']} model; it cannot start a {architecture} run.")
    first = {key: card.get(key) for key in ("config", "epochs_run", "train_seconds", "test_accuracy", "created")}
    return model.get_weights(), {"name": Path(path).stem, "keras_sha256": sha256_of(path), **first}


def training_extras(settings, config, phase=None):
    """`(extra, extra_validation)`: what `config` mixes in beside MNIST, as `(images, labels)`
    pairs; the real writers' validation writers pick the best epoch with MNIST's."""
    fitted, validation, phase = [], [], phase or _unheard
    cache, folder = settings.cache_dir, settings.handwriting_dir
    if config.writers:
        progress = lambda fraction: phase("preparing the real writers' digits (made once, then kept)", fraction)
        fitted += derived.writers(cache, folder, "train", config.writers, progress=progress).values()
        validation += derived.writers(cache, folder, "validation", progress=progress).values()
    if config.not_digits:
        progress = lambda fraction: phase("drawing the non-digits (made once, then kept)", fraction)
        fitted.append(derived.not_digits(cache, config.not_digits, progress=progress))
    joined = lambda pairs: (
        (np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])) if pairs else None
    )
    return joined(fitted), joined(validation)


def held_out_sets(settings, data=None, phase=None):
    """`{name: (images, labels)}`: MNIST's test set and every real writers' set's held-out
    writers (as drawn and sketched), the ones no model here ever trains on; MNIST alone when
    the handwriting sets are not on this machine."""
    _, test = data or load_mnist_with_source(settings.mnist_dir)[0]
    sets = {"mnist": test}
    try:
        progress = lambda fraction: (phase or _unheard)(
            "preparing the held-out writers' digits (made once, then kept)", fraction
        )
        sets.update(derived.writers(settings.cache_dir, settings.handwriting_dir, "test", progress=progress))
    except HandwritingNotFound:
        pass
    return sets


def teach_and_save(settings, base_path, x_own, y_own, config, output, callbacks=(), stop=lambda: False, annotate=None):
    """Fine-tune the model at `base_path` on kept digits `(x_own, y_own)` with `config` (a
    `TeachConfig`) and save it at `output`; returns `(TeachResult, metadata)`."""
    enable_compilation_cache(settings.cache_dir / "xla")
    mnist, source = load_mnist_with_source(settings.mnist_dir)
    result = teach(load_model(base_path), x_own, y_own, mnist, config, callbacks=callbacks, stop=stop)
    metadata = teach_metadata(result, Path(base_path).stem, Path(output).stem, source)
    return result, _save(result.model, output, metadata, annotate)


def _unheard(name, fraction=None, **facts):
    """A `phase` callback that nobody listens to (the scripts)."""


def _save(model, output, metadata, annotate):
    if annotate:
        metadata.update(annotate(metadata))
    return save_model(model, output, metadata)
