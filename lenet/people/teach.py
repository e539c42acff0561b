"""Teaching a model a person's handwriting: a short fine-tune on their kept digits.

Each kept digit is varied many times (elastic distortion, thicker or thinner strokes, and the
training-time shifts and turns), and every batch mixes them with MNIST replayed beside them, so
the model learns the new hand without forgetting MNIST. The figures are honest: MNIST test
accuracy before and after, and the accuracy on the person's digits that the fine-tune did not
see (cross-validated: each fold is read by a fine-tune of the other folds), against the
starting model's on the same digits.
"""

import dataclasses
import time

import keras
import numpy as np
from scipy import ndimage as ndi

from lenet.config import NUM_CLASSES, Config, option
from lenet.errors import Refused
from lenet.nets.architectures import ARCHITECTURES
from lenet.nets.devices import describe_device
from lenet.nets.evaluation import evaluate_arrays
from lenet.nets.inference import Predictor
from lenet.nets.modelio import model_card
from lenet.nets.training import TrainConfig, as_float32, build_for_training, training_inputs

MIN_DIGITS = 5
FEW = 250  # up to this many kept digits, the after-figure is cross-validated; past it, 20% are held out
# The most MNIST accuracy a fine-tune may cost, measured on MNIST_CHECK training images (never
# the test set): a hand unlike MNIST's can pull the model away from some MNIST digits (a 1 with
# a flag and a foot looks like a 2), so the change is scaled back until it costs no more.
MNIST_GUARD = 0.001
ELASTIC_ALPHA = 34  # Simard et al.'s strength for 28x28 digits (sigma 4): strokes bend by a pixel or two
MNIST_CHECK = 10_000
# Varied copies of kept digits made for one fine-tune (uint8, 784 bytes each: 25 MB at most):
# 972 digits x 128 variants once took 4.4 GB. More digits get fewer variations each.
MAX_VARIED = 32_000
VARY_BATCH = 1024


@dataclasses.dataclass
class TeachConfig(Config):
    """Everything that decides a fine-tune on a collection; saved beside the model it produced."""

    collection: str = option("my digits", "Collection", "the collection of kept digits to learn")
    base_model: str = option("", "Start from", "the model to start from (empty: the server's active model)")
    steps: int = option(120, "Steps", "optimizer steps of the fine-tune", min=10, max=5000, advanced=True)
    batch_size: int = option(
        128, "Batch size", "images per step, kept digits and MNIST together", min=8, max=1024, advanced=True
    )
    learning_rate: float = option(
        2e-3, "Learning rate (peak)", "peak learning rate of the fine-tune", min=1e-6, max=1.0, advanced=True
    )
    optimizer: str = option(
        "sgd",
        "Optimizer",
        "sgd moves weights only where the new digits pull; adam moves every "
        "weight a step of the learning rate, and MNIST accuracy drifts",
        choices=("sgd", "adam"),
        advanced=True,
    )
    replay: float = option(
        0.5,
        "MNIST replayed",
        "of each taught digit's share of a batch, the fraction that is MNIST's, so MNIST is not forgotten",
        min=0.0,
        max=0.95,
        advanced=True,
    )
    variants: int = option(
        32,
        "Variations of each digit",
        "distorted copies made of every kept digit (fewer each when many are kept)",
        min=1,
        max=128,
        advanced=True,
    )
    folds: int = option(
        5,
        "Cross-validation folds",
        "folds for the held-out figure when few digits are kept",
        min=2,
        max=10,
        advanced=True,
    )
    seed: int = option(0, "Random seed", "seed for variations, sampling and the folds", min=0, advanced=True)


class TeachRefused(Refused, ValueError):
    """The collection can't be taught as it is; the message says why in one line."""


@dataclasses.dataclass
class TeachResult:
    model: keras.Model  # float32, ready to save and serve
    config: TeachConfig
    digits: int
    classes: list  # the labels taught
    own_before: float  # the starting model on every kept digit
    own_after: float | None  # the fine-tune on kept digits it did not see (None: stopped before)
    held_out: str  # how the after-figure was measured
    kept_share: float  # how much of the fine-tune's change was kept to spare MNIST (1: all)
    mnist_before: float
    mnist_after: float
    fine_tune_s: float  # the fine-tune that made the model
    total_s: float  # with the held-out figures

    def figures(self):
        """The before/after figures as plain data (the model card, `scripts/teach.py --json`)."""
        names = (
            "digits",
            "classes",
            "own_before",
            "own_after",
            "held_out",
            "kept_share",
            "mnist_before",
            "mnist_after",
            "fine_tune_s",
            "total_s",
        )
        return {name: getattr(self, name) for name in names}


def check_teachable(labels):
    """A one-line `TeachRefused` for a collection too small to teach; else the labels taught."""
    if len(labels) == 0:
        raise TeachRefused("The collection is empty: keep some of your digits first (Draw page: Keep this digit).")
    if len(labels) < MIN_DIGITS:
        raise TeachRefused(
            f"The collection has {len(labels)} digit{'s' * (len(labels) != 1)}; "
            f"at least {MIN_DIGITS} are needed to teach."
        )
    return sorted({int(label) for label in labels})


def vary(images, variants, rng):
    """`variants` distorted copies of each 28x28 digit (uint8): elastic warps and thicker or
    thinner strokes, made `VARY_BATCH` copies at a time so the float fields stay small."""
    images = np.asarray(images, np.float32)
    sources = np.repeat(np.arange(len(images)), variants)
    copies = np.empty((len(sources), *images.shape[1:]), np.uint8)
    for start in range(0, len(sources), VARY_BATCH):
        copies[start : start + VARY_BATCH] = _varied(images[sources[start : start + VARY_BATCH]], rng)
    return copies


def _varied(batch, rng):
    # Smooth random displacement fields (Simard et al. 2003): handwriting's wobble, not noise.
    fields = ndi.gaussian_filter(rng.uniform(-1, 1, (2, *batch.shape)).astype(np.float32), sigma=(0, 0, 4, 4))
    fields *= ELASTIC_ALPHA
    rows, cols = np.mgrid[0:28, 0:28]
    for i, image in enumerate(batch):
        batch[i] = ndi.map_coordinates(image, [rows + fields[0, i], cols + fields[1, i]], order=1, mode="constant")
    thicker, thinner = rng.random(len(batch)) < 0.25, rng.random(len(batch)) < 0.2
    batch[thicker] = ndi.grey_dilation(batch[thicker], size=(1, 2, 2))
    batch[thinner & ~thicker] = ndi.grey_erosion(batch[thinner & ~thicker], size=(1, 2, 2))
    return np.clip(batch, 0, 255).astype(np.uint8)


def variants_for(digits, variants):
    """The variations made of each digit: as asked, but never more than `MAX_VARIED` in all."""
    return max(1, min(variants, MAX_VARIED // max(1, digits)))


class FineTuner:
    """One compiled trainer, reset to the starting weights before each fine-tune (folds included),
    so the training step is traced once; and a float32 copy that checks what MNIST costs."""

    def __init__(self, base, config, mnist_check):
        architecture = base.name
        if architecture not in ARCHITECTURES:
            raise TeachRefused(f"Only models of a registered architecture can be taught, not {architecture!r}.")
        self.config = config
        self.train_config = TrainConfig(
            architecture=architecture,
            epochs=1,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            optimizer=config.optimizer,
            validation_split=0.0,
            seed=config.seed,
        )
        self.trainer, self.network = build_for_training(self.train_config, config.steps, fine_tune=True)
        self.start = base.get_weights()
        self.served = as_float32(self.network, architecture)  # the taught model, reused by every run
        self.reader = Predictor(self.served, warm_up=False)
        self.mnist_check = mnist_check
        self.served.set_weights(self.start)
        self.reference = self._mnist_accuracy()

    def run(self, x_own, y_own, mnist, rng, phase=0, callbacks=(), validation=None, share=None):
        """Fine-tune from the starting weights on these digits; returns the share of the change kept.

        The change is then scaled back towards the start (weight-space interpolation, as in
        Wortsman et al.'s WiSE-FT) as far as needed to keep MNIST accuracy, checked on
        training images, within `MNIST_GUARD` of the start's; or by `share`, when given (the
        held-out folds repeat the kept model's).
        """
        self.network.set_weights(self.start)
        for variable in self.trainer.optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        x, y = self._batches(x_own, y_own, mnist, rng)
        self.trainer.fit(
            **training_inputs(self.train_config, x, y),
            epochs=phase + 1,
            initial_epoch=phase,
            validation_data=validation,
            callbacks=list(callbacks),
            verbose=0,
        )
        tuned = self.network.get_weights()
        blend = lambda s: self.served.set_weights([start + s * (end - start) for start, end in zip(self.start, tuned)])
        if share is not None:
            blend(share)
            return share
        safe = lambda s: blend(s) or self._mnist_accuracy() >= self.reference - MNIST_GUARD
        if safe(1.0):
            return 1.0
        low, high = 0.0, 1.0  # the most of the change that keeps MNIST: halve the interval three times
        for _ in range(3):
            middle = (low + high) / 2
            low, high = (middle, high) if safe(middle) else (low, middle)
        blend(low)
        return low

    def read(self, images):
        return self.reader.predict(images).argmax(axis=1)

    def _mnist_accuracy(self):
        images, labels = self.mnist_check
        return float((self.read(images) == labels).mean())

    def _batches(self, x_own, y_own, mnist, rng):
        """`steps` batches in which every digit is a tenth, as in MNIST: of a kept digit's tenth,
        `1 - replay` are varied kept digits and the rest MNIST's; other digits are all MNIST's.

        Balanced so: ten kept 1s must not teach the model that most digits are 1s.
        """
        total = self.config.steps * self.config.batch_size
        per_class = total // NUM_CLASSES
        variants = variants_for(len(y_own), self.config.variants)
        varied, varied_labels = vary(x_own, variants, rng), np.repeat(y_own, variants)
        chosen_x, chosen_y = [], []
        for digit in range(NUM_CLASSES):
            mine = np.flatnonzero(varied_labels == digit)
            own = rng.choice(mine, int(per_class * (1 - self.config.replay))) if len(mine) else np.zeros(0, np.int64)
            replayed = rng.choice(np.flatnonzero(mnist[1] == digit), per_class - len(own))
            chosen_x += [varied[own], mnist[0][replayed]]
            chosen_y += [np.full(per_class, digit)]
        order = rng.permutation(per_class * NUM_CLASSES)
        return np.concatenate(chosen_x)[order], np.concatenate(chosen_y).astype(np.int64)[order]


def folds_of(labels, folds, rng):
    """A fold number for each digit, each digit's class spread evenly over the folds."""
    fold = np.zeros(len(labels), np.int64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return fold


def teach(base, x_own, y_own, mnist, config, callbacks=(), stop=lambda: False):
    """Fine-tune `base` (a float32 Keras model) on kept digits `x_own` (n, 28, 28) and labels.

    `mnist` is `load_mnist()`'s pair; `callbacks` receive the progress of every fine-tune
    (epoch 0: the model kept; epochs 1..k: the held-out folds); `stop()` ends the held-out
    figures early. Returns a `TeachResult`.
    """
    started = time.perf_counter()
    classes = check_teachable(y_own)
    rng = np.random.default_rng(config.seed)
    (x_train, y_train), (x_test, y_test) = mnist
    check = rng.choice(len(x_train), min(MNIST_CHECK, len(x_train)), replace=False)
    tuner = FineTuner(base, config, (x_train[check], y_train[check]))
    own_before = float((tuner.read(x_own) == y_own).mean())
    kept_share = tuner.run(x_own, y_own, (x_train, y_train), rng, 0, callbacks)
    model = as_float32(tuner.served, base.name)
    fine_tune_s = time.perf_counter() - started
    own_after, held_out = _held_out(tuner, x_own, y_own, (x_train, y_train), config, rng, callbacks, stop, kept_share)
    return TeachResult(
        model=model,
        config=config,
        digits=len(y_own),
        classes=classes,
        own_before=own_before,
        own_after=own_after,
        held_out=held_out,
        kept_share=kept_share,
        mnist_before=evaluate_arrays(base, x_test, y_test)["test_accuracy"],
        mnist_after=evaluate_arrays(model, x_test, y_test)["test_accuracy"],
        fine_tune_s=fine_tune_s,
        total_s=time.perf_counter() - started,
    )


def phases_of_held_out(config, digits):
    """How many more fine-tunes the held-out figure takes: one per fold when few digits are
    kept; with many, one fine-tune that holds out a fifth is enough."""
    return min(config.folds, digits) if digits <= FEW else 1


def _held_out(tuner, x_own, y_own, mnist, config, rng, callbacks, stop, share):
    """Accuracy of the same fine-tune on kept digits it did not see, and how it was measured."""
    few = len(y_own) <= FEW
    folds = min(config.folds, len(y_own)) if few else 5
    fold = folds_of(y_own, folds, rng)
    held = list(range(phases_of_held_out(config, len(y_own))))
    right = np.zeros(len(y_own), bool)
    for phase, k in enumerate(held, start=1):
        if stop():
            return None, "not measured (stopped)"
        test = fold == k
        tuner.run(
            x_own[~test],
            y_own[~test],
            mnist,
            rng,
            phase,
            callbacks,
            validation=(x_own[test][..., None], y_own[test]),
            share=share,
        )
        right[test] = tuner.read(x_own[test]) == y_own[test]
    scored = np.isin(fold, held)
    how = f"{folds}-fold cross-validation" if few else f"{scored.sum()} digits held out"
    return float(right[scored].mean()), how


def teach_metadata(result, base_name, name, data_source=None):
    """The taught model's card: what it started from, what it learned, and the figures."""
    return model_card(
        result.model,
        data_source,
        name=name,
        architecture=result.model.name,
        kind="taught",
        base_model=base_name,
        collection=result.config.collection,
        config=result.config.to_dict(),
        teaching=result.figures(),
        test_accuracy=result.mnist_after,
        train_seconds=round(result.fine_tune_s, 2),
        device=describe_device(),
    )
