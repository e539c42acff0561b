"""Training close to the machine under JAX: data, augmentation and whole epochs on the device.

`fit_on_device` trains a model from `build_for_training` as `trainer.fit` would, but the uint8
training set goes to the accelerator once, each epoch is shuffled there, batches are gathered
and augmented there, and one compiled call (`jax.lax.scan` over steps) runs the whole epoch on a
GPU, or a chunk of steps on a CPU so that progress and Stop stay responsive. The model's own
Keras layers, optimizer and one-cycle schedule do the work through Keras's stateless API, as in
the keras.io guide "Writing a training loop from scratch in JAX". Only imported under JAX.
"""

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import keras
import numpy as np

from lenet.nets import devices

# Steps per compiled call on a CPU, where a call is not a whole epoch. The steps of a call are
# unrolled (see `compile_programs`), so compiling grows with them; measured on the 2-core CPU
# (busy with another job), LeNet-5, batch 256, one 60k epoch: 4 steps 16.7 s (compiled in 9.5 s),
# 8 steps 18.1 s (13.5 s), 16 steps 25.0 s (23.0 s). A call of 4 steps takes a few tenths of a
# second: progress and Stop stay lively.
CPU_STEPS_PER_CALL = 4

# Validation images per batch of the evaluation call: bounds its memory for large held-out sets.
EVAL_BATCH_SIZE = 2048


@dataclasses.dataclass
class DeviceFit:
    history: list  # one dict per epoch: loss, accuracy (and val_loss, val_accuracy)
    compile_seconds: float  # tracing and XLA compilation of every program, before any step ran
    call_lengths: list  # training steps of each compiled call in an epoch

    @property
    def recipe(self):
        if len(self.call_lengths) == 1:
            return "device (one compiled call per epoch)"
        return f"device ({self.call_lengths[0]} steps per compiled call)"


@dataclasses.dataclass
class Programs:
    """The compiled programs of one run, and the seconds their tracing and compiling took."""

    shuffle: object  # (key, epoch) -> each step's image indices
    train_calls: dict  # call length -> (state, totals, x_all, y_all, orders, start) -> (state, totals)
    evaluate: object  # ((trainable, non_trainable), *validation batches) -> (loss, accuracy), or None
    seconds: float


def call_lengths(steps):
    """Training steps of each compiled call in an epoch: the whole epoch on a GPU, chunks on a CPU."""
    if devices.gpu_names():
        return [steps]
    chunk = min(steps, CPU_STEPS_PER_CALL)
    return [chunk] * (steps // chunk) + ([steps % chunk] if steps % chunk else [])


def fit_on_device(trainer, config, x_fit, y_fit, validation=None, callbacks=(), verbose=0):
    """Train the compiled `trainer` for `config.epochs` with the data and the loop on the device.

    Args:
        trainer: the compiled model of `build_for_training(config, ...)`.
        config: its `TrainConfig` (epochs, batch_size, seed).
        x_fit, y_fit: training images (N, 28, 28) uint8 and their labels.
        validation: `(x_val, y_val)` scored after every epoch, or None.
        callbacks: Keras callbacks, called as `fit` calls them (batch hooks once per compiled call).
        verbose: 1 shows Keras's progress bar.

    Returns:
        A `DeviceFit`. The trainer's variables hold the final state (or what a callback set).
    """
    steps = math.ceil(len(x_fit) / config.batch_size)  # = training.steps_per_epoch: the schedule counts on it
    lengths = call_lengths(steps)
    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)
    data = jax.device_put(x_fit), jax.device_put(np.asarray(y_fit, np.int32))
    val_batches = _validation_batches(*validation) if validation else None
    key = jax.random.key(config.seed)
    state = _read_state(trainer)
    programs = compile_programs(trainer, config.batch_size, lengths, key, state, data, val_batches)

    callbacks = keras.callbacks.CallbackList(
        list(callbacks), add_progbar=verbose != 0, verbose=verbose, epochs=config.epochs, steps=steps, model=trainer
    )
    trainer.stop_training = False
    history, logs = [], {}
    callbacks.on_train_begin()
    try:
        for epoch in range(config.epochs):
            callbacks.on_epoch_begin(epoch)
            orders = programs.shuffle(key, epoch)
            state, logs = _run_epoch(programs, lengths, state, data, orders, config.batch_size, trainer, callbacks)
            if val_batches:
                logs.update(_validation_logs(programs.evaluate(state[:2], *val_batches)))
            # Callbacks read and set the Keras variables (best weights, the benchmark's test-set clock).
            _write_state(trainer, state)
            callbacks.on_epoch_end(epoch, logs)
            history.append(logs)
            state = _read_state(trainer)
            if trainer.stop_training:
                break
    finally:
        _write_state(trainer, state)
    callbacks.on_train_end(logs)
    return DeviceFit(history=history, compile_seconds=programs.seconds, call_lengths=lengths)


def compile_programs(trainer, batch_size, lengths, key, state, data, val_batches):
    """Trace and compile, ahead of time, every program the run calls, timing that on its own."""
    started = time.perf_counter()
    shuffle = _compile(_make_shuffle(len(data[0]), batch_size, sum(lengths)), key, 0)
    orders = shuffle(key, 0)
    # XLA's CPU backend runs the ops of a loop body about 3x slower than the same ops unrolled
    # (measured: 175 against 59 ms a LeNet-5 step); GPUs keep the loop, compiled once.
    unroll = 1 if devices.gpu_names() else True
    train_calls = {
        length: _compile(_make_train_call(trainer, length, unroll), state, _zero_totals(), *data, orders, 0)
        for length in sorted(set(lengths))
    }
    evaluate = _compile(_make_evaluate(trainer), state[:2], *val_batches) if val_batches else None
    return Programs(shuffle, train_calls, evaluate, seconds=time.perf_counter() - started)


def _run_epoch(programs, lengths, state, data, orders, batch_size, trainer, callbacks):
    """One epoch's compiled calls; stops after the current call when a callback asks to."""
    totals, start = _zero_totals(), 0
    for length in lengths:
        callbacks.on_train_batch_begin(start)
        state, totals = programs.train_calls[length](state, totals, *data, orders, start)
        start += length
        logs = _training_logs(totals, start, batch_size)
        callbacks.on_train_batch_end(start - 1, logs)
        if trainer.stop_training:
            break
    return state, logs


def _make_shuffle(size, batch_size, steps):
    """A function of (key, epoch) giving each step's image indices, shape (steps, batch_size)."""

    def shuffle(key, epoch):
        permutation = jax.random.permutation(jax.random.fold_in(key, epoch), size)
        # Wrapping round fills the last batch: every image is seen, every batch is full.
        return permutation[jnp.arange(steps * batch_size) % size].reshape(steps, batch_size)

    return shuffle


def _make_train_call(trainer, length, unroll):
    """A function running `length` training steps from step `start` of an epoch's `orders`."""
    train_step = _make_train_step(trainer)

    def train_call(state, totals, x_all, y_all, orders, start):
        def step(carry, rows):
            state, (loss_sum, correct_sum, digits_sum) = carry
            state, loss, correct, digits = train_step(state, x_all[rows][..., None], y_all[rows])  # gathered here
            return (state, (loss_sum + loss, correct_sum + correct, digits_sum + digits)), None

        rows = jax.lax.dynamic_slice_in_dim(orders, start, length)
        (state, totals), _ = jax.lax.scan(step, (state, totals), rows, unroll=unroll)
        return state, totals

    return train_call


def _make_train_step(trainer):
    """One optimizer step on a batch through Keras's stateless API, as `trainer.fit` takes it."""
    optimizer = trainer.optimizer
    gradient = jax.value_and_grad(_loss_function(trainer), has_aux=True)

    def train_step(state, x, y):
        trainable, non_trainable, optimizer_variables = state
        (_, (non_trainable, loss, correct, digits)), grads = gradient(trainable, non_trainable, x, y)
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, grads, trainable)
        return (trainable, non_trainable, optimizer_variables), loss, correct, digits

    return train_step


def _loss_function(trainer):
    """Loss of one batch through the stateless trainer (augmenting), with what `fit` would log."""

    compiled_loss = keras.losses.get(trainer.loss)

    def loss_function(trainable, non_trainable, x, y):
        probabilities, non_trainable, losses = trainer.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True
        )
        # The loss the trainer was compiled with, plus any layer losses, as Keras's compute_loss adds them.
        loss = keras.ops.mean(compiled_loss(y, probabilities)) + sum(losses)
        # Accuracy counts digits only: a drawing that is not one (label 10) has no right answer.
        digits = jnp.sum(y < probabilities.shape[-1], dtype=jnp.int32)
        correct = jnp.sum(jnp.argmax(probabilities, axis=-1) == y, dtype=jnp.int32)
        # Scaled for mixed_float16 (a loss-scale optimizer); unchanged otherwise.
        return trainer.optimizer.scale_loss(loss), (non_trainable, loss, correct, digits)

    return loss_function


def _make_evaluate(trainer):
    """A function scoring the trainer (no augmentation) on padded validation batches."""

    def evaluate(variables, x_batches, y_batches, weights):
        trainable, non_trainable = variables

        def score(batch):
            x, y, weight = batch
            probabilities, _ = trainer.stateless_call(trainable, non_trainable, x[..., None], training=False)
            losses = keras.losses.sparse_categorical_crossentropy(y, probabilities)
            hits = jnp.argmax(probabilities, axis=-1) == y
            return jnp.sum(losses * weight), jnp.sum(hits * weight)

        loss_sums, hit_sums = jax.lax.map(score, (x_batches, y_batches, weights))
        count = jnp.sum(weights)
        return jnp.sum(loss_sums) / count, jnp.sum(hit_sums) / count

    return evaluate


def _validation_batches(x_val, y_val):
    """Validation arrays on the device in equal batches, the padding weighted 0."""
    count = len(x_val)
    batch_size = min(count, EVAL_BATCH_SIZE)
    padded = math.ceil(count / batch_size) * batch_size
    pad = lambda a: np.concatenate([a, np.zeros((padded - count, *a.shape[1:]), a.dtype)])
    arrays = np.asarray(x_val), np.asarray(y_val, np.int32), np.ones(count, np.float32)  # weights: 1, padding 0
    batches = [pad(a).reshape(-1, batch_size, *a.shape[1:]) for a in arrays]
    return tuple(jax.device_put(batches))


def _compile(function, *example_args):
    """`function` compiled ahead of time for arguments like `example_args`."""
    return jax.jit(function).lower(*example_args).compile()


def _zero_totals():
    return jnp.float32(0), jnp.int32(0), jnp.int32(0)  # sum of the steps' mean losses, digits read right, digits


def _training_logs(totals, steps_done, batch_size):
    """The epoch's running loss and accuracy, as `fit` logs them (every batch is full here)."""
    loss_sum, correct, digits = (float(t) for t in totals)
    return {"loss": loss_sum / steps_done, "accuracy": correct / max(digits, 1)}


def _validation_logs(scores):
    loss, accuracy = (float(s) for s in scores)
    return {"val_loss": loss, "val_accuracy": accuracy}


def _read_state(trainer):
    return (
        [v.value for v in trainer.trainable_variables],
        [v.value for v in trainer.non_trainable_variables],
        [v.value for v in trainer.optimizer.variables],
    )


def _write_state(trainer, state):
    groups = (trainer.trainable_variables, trainer.non_trainable_variables, trainer.optimizer.variables)
    for variables, values in zip(groups, state):
        for variable, value in zip(variables, values):
            variable.assign(value)
