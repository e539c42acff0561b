"""The fast path from images to probabilities.

`model.predict` builds a data pipeline for every call (tens of milliseconds for one digit).
A `Predictor` compiles the forward pass once for a fixed input signature, warms it up, and
then answers a drawing in well under a millisecond. It treats the model as read-only, so one
predictor can be shared by every session of the app.
"""

import threading

import keras
import numpy as np

from lenet.config import IMAGE_SIZE
from lenet.nets import devices
from lenet.nets.architectures import feature_layer_names

# Batches are padded up to one of these sizes so JAX compiles a handful of shapes, not one per call.
BUCKETS = (1, 8, 64, 512)
CHUNK = 1024


class Predictor:
    """Probabilities (and feature maps) for batches of 28x28 MNIST-convention images."""

    def __init__(self, model, warm_up=True, name=None):
        self.model = model
        self.name = name or model.name
        self._forward = _compile(model)
        self._features = self._embedding = None
        self._lock = threading.Lock()
        if warm_up:
            self.warm_up()

    def warm_up(self):
        for size in BUCKETS:
            self.predict(np.zeros((size, IMAGE_SIZE, IMAGE_SIZE), np.float32))

    def predict(self, images):
        """Class probabilities, `(N, 10)` float32, for images `(N, 28, 28[, 1])` with values 0-255."""
        images = _as_batch(images)
        if len(images) == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32)
        parts = [self._run(self._forward, images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)]
        return np.concatenate(parts)

    def predict_one(self, image):
        return self.predict(image[None])[0]

    def predict_and_embed(self, images):
        """`(probabilities, embeddings)` in one pass: the answer, `(N, 10)`, and the input of the
        network's output layer, `(N, D)`, where similar digits lie close (the instant memory's space)."""
        with self._lock:
            if self._embedding is None:
                outputs = [self.model.outputs[0], self.model.layers[-1].input]
                self._embedding = _compile(keras.Model(self.model.inputs, outputs))
        images = _as_batch(images)
        if len(images) == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32), np.zeros((0, 0), np.float32)
        parts = [self._run(self._embedding, images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]).reshape(len(images), -1)

    def feature_maps(self, image):
        """`{layer name: (H, W, C) array}` for each convolution stage of the network, for one image."""
        with self._lock:
            if self._features is None:
                names = feature_layer_names(self.model)
                outputs = [self.model.get_layer(name).output for name in names]
                self._features = (names, _compile(keras.Model(self.model.inputs, outputs)))
        names, forward = self._features
        maps = forward(_as_batch(image[None]))
        maps = maps if isinstance(maps, (list, tuple)) else [maps]
        return {name: np.asarray(m)[0] for name, m in zip(names, maps)}

    def _run(self, forward, images):
        n = len(images)
        size = next((b for b in BUCKETS if b >= n), n)
        if size != n and devices.backend() == "jax":
            images = np.concatenate([images, np.zeros((size - n, *images.shape[1:]), images.dtype)])
        outputs = forward(images)
        if isinstance(outputs, (list, tuple)):
            return [np.asarray(o, dtype=np.float32)[:n] for o in outputs]
        return np.asarray(outputs, dtype=np.float32)[:n]


def _as_batch(images):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1):
        raise ValueError(f"Expected images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}.")
    return images


def _compile(model):
    """A function images -> outputs compiled for this backend, never retraced per batch size."""
    backend = devices.backend()
    if backend == "tensorflow":
        import tensorflow as tf  # only under its backend: a JAX machine may not have it

        spec = tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 1), tf.float32)
        jit = devices.default_jit_compile()
        graph = tf.function(lambda x: model(x, training=False), jit_compile=jit)
        # Calling the concrete function skips tf.function's argument binding (~0.4 ms a call).
        concrete = graph.get_concrete_function(spec)
        return lambda x: _to_numpy(concrete(tf.constant(x)))
    if backend == "jax":
        import jax  # only under its backend

        call = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])
        # The variables' current arrays, read at every call: Keras's JAX trainer donates and
        # replaces them whenever fit, predict or evaluate runs on the same model.
        return lambda x: _to_numpy(
            call([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables], x)
        )
    return lambda x: _to_numpy(model(x, training=False))


def _to_numpy(outputs):
    if isinstance(outputs, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in outputs]
    return keras.ops.convert_to_numpy(outputs)
