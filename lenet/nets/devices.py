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
    """The CPU's instruction-set flags, less those a cap on oneDNN's ISA rules out
    (`ONEDNN_MAX_CPU_ISA=AVX2` makes an AVX-512 machine train as an AVX2-only one does)."""
    flags = frozenset()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = frozenset(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if cap.startswith(("AVX2", "AVX_", "SSE")) or cap == "AVX":
        flags = frozenset(f for f in flags if not f.startswith(("avx512", "amx", "avx_")))  # avx_vnni is past AVX2
    return flags


# The CPU features on which TensorFlow enables its oneDNN kernels by itself (RFC 400: x86 CPUs
# from Cascade Lake on); elsewhere it uses Eigen's unless TF_ENABLE_ONEDNN_OPTS=1 (see lenet/__init__).
TF_ONEDNN_FEATURES = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"})


def tensorflow_onednn_default():
    """'1' where TensorFlow, left to itself, runs oneDNN's kernels on this CPU, else '0': the
    setting a classic Keras user gets (the benchmark's classic recipe runs with it)."""
    return "1" if TF_ONEDNN_FEATURES & cpu_flags() else "0"


def cpu_kind():
    """The flags that decide training speed here: 'AVX2', 'AVX2, AVX-512', 'AVX2, AVX-512, bf16'."""
    flags = cpu_flags()
    kinds = [
        ("AVX2", "avx2" in flags),
        ("AVX-512", "avx512f" in flags),
        ("bf16", bool({"avx512_bf16", "amx_bf16"} & flags)),
    ]
    return ", ".join(name for name, present in kinds if present) or "no AVX2"


def describe_device():
    """One line naming where training runs: 'GPU: NVIDIA H100 80GB HBM3', or
    'CPU: AMD EPYC (2 cores; AVX2, AVX-512, bf16)' with the flags that decide its speed."""
    gpus = gpu_names()
    if gpus:
        count = f"{len(gpus)} x " if len(gpus) > 1 else ""
        return f"GPU: {count}{gpus[0]}"
    return f"CPU: {cpu_name()} ({os.cpu_count()} cores; {cpu_kind()})"


def default_precision():
    """'mixed_bfloat16' where bf16 arithmetic is native (GPUs, bf16 CPUs under TensorFlow), else 'float32'."""
    if gpu_names():
        return "mixed_bfloat16"
    native_bf16 = {"avx512_bf16", "amx_bf16"} & cpu_flags()
    if backend() == "tensorflow" and native_bf16:
        return "mixed_bfloat16"
    return "float32"


def uses_device_loop(pipeline):
    """Whether training runs `lenet.nets.device_loop` (data and whole epochs on the device) for `pipeline`.

    'device' asks for it; 'auto' picks it under JAX on one GPU, where it is fastest. Several GPUs
    keep Keras's `fit`, which shards batches across them.
    """
    if pipeline == "device":
        if backend() != "jax":
            raise ValueError(
                f"The 'device' input pipeline needs the JAX backend, but Keras runs on {backend()}. "
                "Set KERAS_BACKEND=jax, or choose the 'auto', 'memory' or 'arrays' pipeline."
            )
        return True
    return pipeline == "auto" and backend() == "jax" and len(gpu_names()) == 1


def enable_compilation_cache(folder):
    """Keep JAX's compiled programs in `folder`, so a later process compiles them in about a second.

    Every program is kept, however small or quick to compile: LeNet's take seconds, not minutes,
    but are compiled at the start of every run. A no-op for other backends.
    """
    if backend() != "jax":
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # -1: no minimum, and no override


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
