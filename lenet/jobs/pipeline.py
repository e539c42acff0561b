"""From a config to a saved model: the one pipeline the Train page's jobs and the scripts share.

`train_and_save` chains the compiled-program cache, MNIST, the derived digits the config mixes
in, `train()` and an atomic save; `teach_and_save` does the same for a fine-tune on someone's
digits. A job adds only what belongs to a job (progress rows, the stop flag, activation).
"""

from pathlib import Path

from lenet.datasets import derived
from lenet.datasets.mnist import load_mnist_with_source
from lenet.nets.devices import enable_compilation_cache
from lenet.nets.modelio import build_metadata, load_model, save_model
from lenet.nets.training import train
from lenet.people.teach import teach, teach_metadata


def train_and_save(settings, config, output, callbacks=(), verbose=0, annotate=None):
    """Train `config` (a `TrainConfig`) on this installation's data and save the model at
    `output`; returns `(TrainResult, metadata)`.

    `annotate(metadata)`, when given, returns more fields for the model card, asked once
    training has ended (a job adds its run id and whether it was stopped).
    """
    enable_compilation_cache(settings.cache_dir / "xla")
    data, source = load_mnist_with_source(settings.mnist_dir)
    starter = derived.starter_digits(settings.cache_dir, config.starter)
    result = train(config, data, callbacks=callbacks, verbose=verbose, starter=starter)
    metadata = build_metadata(result, data_source=source, name=Path(output).stem)
    return result, _save(result.model, output, metadata, annotate)


def teach_and_save(settings, base_path, x_own, y_own, config, output, callbacks=(), stop=lambda: False, annotate=None):
    """Fine-tune the model at `base_path` on kept digits `(x_own, y_own)` with `config` (a
    `TeachConfig`) and save it at `output`; returns `(TeachResult, metadata)`."""
    enable_compilation_cache(settings.cache_dir / "xla")
    mnist, source = load_mnist_with_source(settings.mnist_dir)
    result = teach(load_model(base_path), x_own, y_own, mnist, config, callbacks=callbacks, stop=stop)
    metadata = teach_metadata(result, Path(base_path).stem, Path(output).stem, source)
    return result, _save(result.model, output, metadata, annotate)


def _save(model, output, metadata, annotate):
    if annotate:
        metadata.update(annotate(metadata))
    return save_model(model, output, metadata)
