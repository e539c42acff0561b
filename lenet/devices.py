"""What hardware Keras trains on, and the settings that make it fast there.

Measured on the 2-core CPU (see README, Performance): TensorFlow's oneDNN kernels beat XLA's
CPU code for these small convolutions, so XLA is used on accelerators and under JAX only;
bfloat16 compute pays where the CPU has native bf16 instructions, and on every GPU.
"""

import contextlib
import functools
import os
import platform

import keras


def backend():
    return keras.backend.backend()


@functools.cache
def gpu_names():
    """Names of the GPUs the Keras backend can use (empty on CPU-only machines)."""
    if backend() == "tensorflow":
        import tensorflow as tf

        names = []
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        return tuple(names)
    if backend() == "jax":
        import jax

        return tuple(d.device_kind for d in jax.devices() if d.platform == "gpu")
    if backend() == "torch":
        import torch

        return tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return ()


@functools.cache
def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


@functools.cache
def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def describe_device():
    """One line naming where training runs, e.g. 'GPU: NVIDIA H100 80GB HBM3' or 'CPU: AMD EPYC (2 cores)'."""
    gpus = gpu_names()
    if gpus:
        count = f"{len(gpus)} x " if len(gpus) > 1 else ""
        return f"GPU: {count}{gpus[0]}"
    return f"CPU: {cpu_name()} ({os.cpu_count()} cores)"


def default_precision():
    """'mixed_bfloat16' where bf16 arithmetic is native (GPUs, bf16 CPUs under TensorFlow), else 'float32'."""
    if gpu_names():
        return "mixed_bfloat16"
    native_bf16 = {"avx512_bf16", "amx_bf16"} & cpu_flags()
    if backend() == "tensorflow" and native_bf16:
        return "mixed_bfloat16"
    return "float32"


def default_jit_compile():
    """XLA where it helps: accelerators and the JAX backend; not TensorFlow on CPU (slower there)."""
    return bool(gpu_names()) or backend() == "jax"


@contextlib.contextmanager
def dtype_policy(name):
    """Build layers under dtype policy `name`, restoring the previous global policy after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def distribution_scope():
    """Data-parallel training across all GPUs when there are several; a no-op otherwise."""
    if len(gpu_names()) < 2:
        yield
        return
    if backend() == "tensorflow":
        import tensorflow as tf

        with tf.distribute.MirroredStrategy().scope():
            yield
        return
    if backend() == "jax":
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        try:
            yield
        finally:
            keras.distribution.set_distribution(previous)
        return
    yield
