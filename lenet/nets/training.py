"""Training: one flat config, one `train()` call, progress out through Keras callbacks only.

The default recipe is the fast one measured by `scripts/benchmark.py`: uint8 images kept in
memory and rescaled inside the model, large batches with a one-cycle learning-rate schedule,
bfloat16 compute where the hardware has it, XLA where it helps (see `lenet.nets.devices`). Under JAX on
a GPU, `lenet.nets.device_loop` replaces `fit`: data on the device, one compiled call per epoch.
"""

import dataclasses
import math
import time

import keras
import numpy as np
from keras import layers, ops

from lenet.config import DEFAULT_ARCHITECTURE, INPUT_SHAPE, MAX_BATCH_SIZE, MAX_EPOCHS, NUM_CLASSES, Config, option
from lenet.nets import devices
from lenet.nets.architectures import ARCHITECTURES, build
from lenet.nets.evaluation import evaluate_arrays

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("onecycle", "constant")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
SWITCHES = ("auto", "on", "off")
PIPELINES = ("auto", "memory", "arrays", "device")


@dataclasses.dataclass
class TrainConfig(Config):
    """Everything that decides a training run; saved beside the model it produced."""

    architecture: str = option(
        DEFAULT_ARCHITECTURE, "Network", "registered architecture name", choices=tuple(ARCHITECTURES)
    )
    epochs: int = option(6, "Epochs", "passes over the training set", min=1, max=MAX_EPOCHS)
    batch_size: int = option(
        256, "Batch size", "images per step", min=1, max=MAX_BATCH_SIZE, options=(32, 64, 128, 256, 512, 1024, 2048)
    )
    learning_rate: float = option(
        1.5e-2,
        "Learning rate (peak)",
        "peak learning rate (the constant one with schedule=constant)",
        min=1e-6,
        max=1.0,
        options=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1.5e-2, 2e-2, 5e-2, 1e-1),
    )
    optimizer: str = option("adam", "Optimizer", "optimizer", choices=OPTIMIZERS)
    schedule: str = option("onecycle", "Learning-rate schedule", "learning-rate schedule", choices=SCHEDULES)
    validation_split: float = option(
        0.1,
        "Held out for validation",
        "fraction of training images held out to pick the best epoch",
        min=0.0,
        max=0.5,
        options=(0.0, 0.05, 0.1, 0.2),
        advanced=True,
    )
    augment: bool = option(
        True, "Augmentation (shifts, rotations, zoom)", "random shifts, rotations and zoom while training"
    )
    seed: int = option(
        0, "Random seed", "random seed for split, shuffling, initialisation and augmentation", min=0, advanced=True
    )
    patience: int = option(
        0,
        "Early stopping: epochs without improvement",
        "stop after this many epochs without improvement (0: never stop early)",
        min=0,
        max=MAX_EPOCHS,
        zero="off",
        advanced=True,
    )
    max_samples: int = option(
        0,
        "Training images",
        "train on at most this many MNIST images, for quick runs (0: all)",
        min=0,
        options=(1000, 5000, 10000, 30000, 0),
        zero="all",
    )
    writers: int = option(
        0,
        "Real writers' digits",
        "varied copies of every training writer's pen digit (UNIPEN, UJI) mixed in, with USPS scans once; "
        "needs the handwriting sets (HANDWRITING_DIR) (0: none)",
        min=0,
        max=8,
        options=(0, 1, 2, 4, 8),
        zero="none",
    )
    not_digits: int = option(
        0,
        "Drawings that are not digits",
        "scribbles, shapes and letters mixed in so the network learns to answer them with no preference (0: none)",
        min=0,
        max=50000,
        options=(0, 2000, 5000, 10000, 20000),
        zero="none",
    )
    precision: str = option(
        "auto",
        "Precision",
        "compute dtype policy (auto: bfloat16 where the hardware has it)",
        choices=PRECISIONS,
        advanced=True,
    )
    jit_compile: str = option(
        "auto", "XLA compilation", "XLA compilation (auto: on GPUs and under JAX)", choices=SWITCHES, advanced=True
    )
    steps_per_execution: int = option(
        8,
        "Steps per compiled call",
        "training steps per compiled call (fewer trips through Python)",
        min=1,
        max=1000,
        advanced=True,
    )
    pipeline: str = option(
        "auto",
        "Input pipeline",
        "how batches reach the model: memory (an in-memory tf.data pipeline "
        "under TensorFlow), arrays (numpy arrays, Keras's own slicing), device (JAX only: data, "
        "augmentation and whole epochs on the device) or auto (device under JAX on a GPU, else memory)",
        choices=PIPELINES,
        advanced=True,
    )


def quick_demo_config():
    """A run to watch in a class: live curves within seconds and over 97% at the end (3 epochs of
    10,000 MNIST images; measured in tests/test_scripts.py)."""
    return TrainConfig(architecture="lenet5", epochs=3, batch_size=128, learning_rate=1e-2, max_samples=10000)


def classic_config(architecture="lenet5", epochs=15):
    """The recipe of the classic write-ups: float32 compute, batch 32, Adam 1e-3, no schedule,
    MNIST alone, compiled as Keras compiles by default on each backend (XLA under JAX and on
    GPUs, TensorFlow's graph without XLA on its CPU)."""
    return TrainConfig(
        architecture=architecture,
        epochs=epochs,
        batch_size=32,
        learning_rate=1e-3,
        optimizer="adam",
        schedule="constant",
        validation_split=0.0,
        augment=False,
        precision="float32",
        jit_compile="auto",
        steps_per_execution=1,
        pipeline="arrays",
    )


def lenet1998_config(augment=False):
    """The recipe of `lenet5_1998`, the one `scripts/train.py --architecture lenet5_1998` starts from.

    As the paper: all 60,000 training images (no held-out split, so the last epoch is the
    model), 20 passes, float32, no distortions unless `augment` (the paper's 0.8% run trained on
    distorted copies; ours are the project's random shifts, rotations and zoom). Not as the
    paper: Adam with a one-cycle schedule in place of stochastic diagonal Levenberg-Marquardt.
    Both scale each parameter's step by a running estimate of its curvature (Adam's second
    moment of the gradient, SDLM the Gauss-Newton diagonal), but Adam is Keras's own, runs on
    batches (the paper's pure online steps would be 60,000 Python-driven steps an epoch on a CPU)
    and needs no estimation pass before each epoch.
    """
    return TrainConfig(
        architecture="lenet5_1998",
        epochs=20,
        batch_size=128,
        learning_rate=3e-3,
        optimizer="adam",
        schedule="onecycle",
        validation_split=0.0,
        augment=augment,
        precision="float32",
    )


# The recipe each architecture starts from where it has one of its own (CLI defaults, the Train page's presets).
RECIPES = {"lenet5_1998": lenet1998_config}


def default_config(architecture):
    """The `TrainConfig` a run of `architecture` starts from: its own recipe, or the defaults."""
    return RECIPES[architecture]() if architecture in RECIPES else TrainConfig(architecture=architecture)


@dataclasses.dataclass
class TrainResult:
    model: keras.Model  # float32, uncompiled, best epoch's weights
    config: TrainConfig
    history: list  # one dict of metrics per epoch
    test_loss: float
    test_accuracy: float
    train_seconds: float
    device: str
    precision: str
    jit_compile: bool
    stopped_early: bool
    recipe: str = "keras fit"  # how it trained, e.g. 'device (one compiled call per epoch)'
    compile_seconds: float | None = None  # tracing and compiling, where the recipe times it apart


OUTLIER_WEIGHT = 0.5  # Hendrycks et al.'s weight of the no-preference term (outlier exposure, 2019)


def digits_loss(y_true, y_pred):
    """Cross-entropy on digits; on a drawing labelled `NOT_A_DIGIT`, the cross-entropy to the
    uniform answer, so the network learns to prefer no digit for what is none (outlier exposure)."""
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    log_p = ops.log(ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0))
    picked = ops.take_along_axis(log_p, ops.expand_dims(ops.minimum(labels, NUM_CLASSES - 1), -1), axis=-1)[:, 0]
    return ops.where(labels < NUM_CLASSES, -picked, -OUTLIER_WEIGHT * ops.mean(log_p, axis=-1))


class DigitAccuracy(keras.metrics.Metric):
    """Accuracy over the digits of a batch; drawings labelled `NOT_A_DIGIT` have no right answer."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.right = self.add_variable(shape=(), initializer="zeros", name="right")
        self.digits = self.add_variable(shape=(), initializer="zeros", name="digits")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        digit = ops.cast(labels < NUM_CLASSES, "float32")
        right = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), labels), "float32") * digit
        self.right.assign_add(ops.sum(right))
        self.digits.assign_add(ops.sum(digit))

    def result(self):
        return self.right / ops.maximum(self.digits, 1.0)


def one_cycle(peak, total_steps, warmup_fraction=0.25, start_div=20.0, end_div=1e4):
    """Linear warm-up to `peak` over a quarter of the steps, then cosine decay to almost zero
    (Smith's one-cycle policy), as Keras's `CosineDecay` with a warm-up does it."""
    total_steps = max(2, int(total_steps))
    warmup_steps = max(1, int(total_steps * warmup_fraction))
    return keras.optimizers.schedules.CosineDecay(
        peak / start_div, total_steps - warmup_steps, alpha=1 / end_div, warmup_target=peak, warmup_steps=warmup_steps
    )


class RandomAffine(layers.Layer):
    """Small random rotations, zoom and shifts of each image, active only while training.

    One affine warp per image does the work of Keras's RandomRotation, RandomZoom and
    RandomTranslation layers at a third of their cost (they resample the batch three times).
    """

    def __init__(self, rotation=10.0, zoom=0.1, shift=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.zoom, self.shift = rotation, zoom, shift
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        images = ops.cast(images, "float32")
        n = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        uniform = lambda limit: keras.random.uniform((n,), -limit, limit, seed=self.seed_generator)
        angle = uniform(self.rotation * math.pi / 180)
        scale = 1.0 + uniform(self.zoom)
        dx, dy = uniform(self.shift * width), uniform(self.shift * height)
        # Output pixel (x, y) samples input A @ (x, y, 1): rotate and scale about the centre, then shift.
        cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
        cx, cy = (width - 1) / 2, (height - 1) / 2
        zeros = ops.zeros_like(cos)
        transform = ops.stack(
            [cos, -sin, cx - cos * cx + sin * cy - dx, sin, cos, cy - sin * cx - cos * cy - dy, zeros, zeros], axis=1
        )
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom, "shift": self.shift}


def augmentation(seed=None):
    """Random shifts (10%), rotations (10 degrees) and zoom (10%) as a training-only layer."""
    return RandomAffine(seed=seed, name="augmentation")


def fit_size(config, total, extra=0):
    """How many images an epoch fits: of `total` MNIST training images those `split_data` keeps,
    and `extra` more (real writers' digits, non-digits)."""
    kept = total - int(round(total * config.validation_split))
    return (min(kept, config.max_samples) if config.max_samples else kept) + extra


def steps_per_epoch(config, total, extra=0):
    """Optimizer steps in one epoch over `total` training images (and `extra` more), split as `split_data` does."""
    return math.ceil(fit_size(config, total, extra) / config.batch_size)


def split_data(config, x_train, y_train):
    """Shuffle with the seed, hold out the validation fraction, cap the training images."""
    order = np.random.default_rng(config.seed).permutation(len(x_train))
    n_val = int(round(len(x_train) * config.validation_split))
    val, train = order[:n_val], order[n_val:]
    if config.max_samples:
        train = train[: config.max_samples]
    validation = (x_train[val], y_train[val]) if n_val else None
    return (x_train[train], y_train[train]), validation


def make_optimizer(config, steps_per_epoch):
    if config.schedule == "onecycle":
        learning_rate = one_cycle(config.learning_rate, steps_per_epoch * config.epochs)
    else:
        learning_rate = config.learning_rate
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=1e-4)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    return keras.optimizers.RMSprop(learning_rate)


def resolve_precision(config):
    return devices.default_precision() if config.precision == "auto" else config.precision


def resolve_jit(config):
    return devices.default_jit_compile() if config.jit_compile == "auto" else config.jit_compile == "on"


def build_for_training(config, steps_per_epoch, fine_tune=False):
    """The compiled training model and the bare network inside it (which shares its weights).

    `fine_tune` freezes batch normalisation (inference mode, statistics kept): a few hundred
    steps on someone's digits must not replace the statistics learned from all of MNIST.
    """
    precision = resolve_precision(config)
    with devices.distribution_scope(), devices.dtype_policy(precision):
        network = build(config.architecture)
        for layer in network.layers if fine_tune else ():
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = False
        trainer = training_view(network, config.architecture)
        if config.augment:
            trainer = keras.Sequential([keras.Input(INPUT_SHAPE), augmentation(config.seed), trainer], name="trainer")
        trainer.compile(
            optimizer=make_optimizer(config, steps_per_epoch),
            loss=loss_of(config),
            metrics=[DigitAccuracy()] if config.not_digits else ["accuracy"],
            jit_compile=resolve_jit(config),
            steps_per_execution=config.steps_per_execution,
        )
    return trainer, network


def training_view(network, architecture):
    """What trains: the network itself, or the view its architecture trains through (the 1998
    network's RBF scores), sharing its weights."""
    view = ARCHITECTURES[architecture].trainer
    return view(network) if view else network


def loss_of(config):
    """The training loss: the architecture's own (the 1998 network's MAP criterion), else
    cross-entropy, with outlier exposure when non-digits are mixed in."""
    own = ARCHITECTURES[config.architecture].loss
    if own:
        return own
    return digits_loss if config.not_digits else keras.losses.sparse_categorical_crossentropy


def as_float32(network, architecture):
    """A float32 copy of `network` for serving: mixed-precision layers would run slowly on CPU."""
    with devices.dtype_policy("float32"):
        copy = build(architecture)
    copy.set_weights(network.get_weights())
    return copy


def train(config, data, callbacks=(), verbose=0, extra=None, extra_validation=None, initial_weights=None):
    """Train `config.architecture` on MNIST and evaluate the best epoch on the test set.

    Args:
        config: a `TrainConfig`.
        data: `((x_train, y_train), (x_test, y_test))` uint8 arrays (`load_mnist()`'s).
        callbacks: Keras callbacks that receive progress (and may stop training).
        verbose: Keras `fit` verbosity (1 shows a progress bar).
        extra: `(images, labels)` fitted beside MNIST's training images: real writers' digits
            and drawings labelled `NOT_A_DIGIT` (`lenet.jobs.pipeline` gathers
            them as the config says).
        extra_validation: `(images, labels)` scored beside MNIST's held-out images to pick the
            best epoch (the real writers' validation writers). The test score is MNIST's.
        initial_weights: the network's weights to start from (a trained model's `get_weights()`,
            for a second cycle of training), not a fresh initialisation.

    Returns:
        A `TrainResult` whose model is float32 and uncompiled, ready to save or serve.
    """
    (x_train, y_train), (x_test, y_test) = data
    keras.utils.set_random_seed(config.seed)
    (x_fit, y_fit), validation = split_data(config, x_train, y_train)
    if extra is not None and len(extra[1]):
        x_fit, y_fit = np.concatenate([x_fit, extra[0]]), np.concatenate([y_fit, extra[1].astype(y_fit.dtype)])
    if extra_validation is not None and len(extra_validation[1]):  # the real writers' validation writers
        more = extra_validation[0], extra_validation[1].astype(y_train.dtype)
        validation = tuple(np.concatenate(pair) for pair in zip(validation, more)) if validation else more
    trainer, network = build_for_training(config, math.ceil(len(y_fit) / config.batch_size))
    if initial_weights is not None:
        network.set_weights(initial_weights)

    # The best epoch's weights are restored at the end however training ends: its last epoch, early
    # stopping after `patience` epochs without improvement, or a Stop from outside.
    keep_best = keras.callbacks.EarlyStopping(
        "val_accuracy", mode="max", patience=config.patience or config.epochs + 1, restore_best_weights=True
    )
    own = [keep_best] if validation else []
    started = time.perf_counter()
    epochs, recipe, compile_seconds = _fit(trainer, config, x_fit, y_fit, validation, [*own, *callbacks], verbose)
    train_seconds = time.perf_counter() - started

    model = as_float32(network, config.architecture)
    test = evaluate_arrays(model, x_test, y_test)
    for number, row in enumerate(epochs, start=1):
        row["epoch"] = number
    return TrainResult(
        model=model,
        config=config,
        history=_plain(epochs),
        test_loss=test["test_loss"],
        test_accuracy=test["test_accuracy"],
        train_seconds=train_seconds,
        device=devices.describe_device(),
        precision=resolve_precision(config),
        jit_compile=resolve_jit(config),
        stopped_early=len(epochs) < config.epochs,
        recipe=recipe,
        compile_seconds=compile_seconds,
    )


def _fit(trainer, config, x_fit, y_fit, validation, callbacks, verbose):
    """Train with the recipe `config.pipeline` picks: one metrics dict per epoch, the recipe's name,
    and its compile seconds (None where Keras's `fit` compiles inside its first steps)."""
    if devices.uses_device_loop(config.pipeline):
        # Imported here: it imports jax, which a TensorFlow machine may lack.
        from lenet.nets.device_loop import fit_on_device

        fit = fit_on_device(trainer, config, x_fit, y_fit, validation, callbacks, verbose=verbose)
        return fit.history, fit.recipe, fit.compile_seconds
    history = trainer.fit(
        **training_inputs(config, x_fit, y_fit),
        epochs=config.epochs,
        validation_data=(_with_channel(validation[0]), validation[1]) if validation else None,
        callbacks=callbacks,
        verbose=verbose,
    )
    epochs = [dict(zip(history.history, values)) for values in zip(*history.history.values())]
    return epochs, "keras fit", None


def training_inputs(config, images, labels):
    """The `fit` arguments that feed the training images, per `config.pipeline`.

    'memory' and 'auto' under TensorFlow: a tf.data pipeline over the uint8 arrays held in memory,
    reshuffled every epoch, with tf.data's autotuner off and one private thread. Measured on the 2-core CPU,
    Keras's own slicing of numpy arrays left a core idle ~1.3 s of a 2.6 s LeNet-5 epoch, and in
    some epochs half the time (5.2 s); this pipeline gives 1.9-2.4 s epochs. Other backends, and
    'arrays', get the arrays (fit shuffles them).
    """
    images = _with_channel(images)
    if config.pipeline == "arrays" or keras.backend.backend() != "tensorflow":
        return {"x": images, "y": labels, "batch_size": config.batch_size}
    import tensorflow as tf  # only under its backend: a JAX machine may not have it

    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
    )
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    return {"x": dataset.with_options(options).prefetch(2), "shuffle": False}


def _with_channel(images):
    return images[..., None] if images.ndim == 3 else images


def _plain(rows):
    return [{k: float(v) if k != "epoch" else v for k, v in row.items()} for row in rows]
