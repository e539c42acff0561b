"""A digit model for other runtimes: ONNX, TFLite or a TensorFlow SavedModel, and a reading of
the MNIST test set with the exported file itself.

ONNX goes through Keras's own export (`model.export(format="onnx")`, which runs tf2onnx under
the TensorFlow backend), TFLite through TensorFlow's converter, SavedModel through
`model.export(format="tf_saved_model")`. The packages each needs are optional
(requirements-export.txt): a missing one is a `MissingPackage` naming what to install, checked
before any work. Every exported file reads 28x28x1 float32 images with values 0-255, as the
Keras model does, and gives the ten probabilities.
"""

import dataclasses
import tempfile
import warnings
from importlib import import_module

import keras
import numpy as np

from lenet.config import INPUT_SHAPE
from lenet.errors import Refused

CHECK_BATCH = 1000  # images per call when an exported file reads the test set


class ExportRefused(Refused, ValueError):
    """An export that can't be done here (a model outside the catalogue, the wrong backend)."""


class MissingPackage(ExportRefused):
    """A format whose package is not installed; the message says which one to add."""


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    label: str
    suffix: str  # of the file (a SavedModel is a folder, shipped as a zip of it)
    needs: tuple  # modules to export and to read the result back (each one's pip name too)


FORMATS = {
    f.name: f
    for f in (
        Format("onnx", "ONNX", ".onnx", ("tensorflow", "tf2onnx", "onnx", "onnxruntime")),
        Format("tflite", "TFLite", ".tflite", ("tensorflow",)),
        Format("saved_model", "SavedModel", ".zip", ("tensorflow",)),
    )
}


def export_format(name):
    """The `Format` called `name`; `ExportRefused` naming the known ones otherwise."""
    if name not in FORMATS:
        raise ExportRefused(f"No export format called {name!r}; there are {', '.join(FORMATS)}.")
    return FORMATS[name]


def require(name):
    """Refuse, before any work, a format that can't be exported and read back in this process."""
    chosen = export_format(name)
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ExportRefused(
            f"Exporting runs under Keras's TensorFlow backend and this process runs {backend}: "
            "run it with KERAS_BACKEND=tensorflow."
        )
    missing = [module for module in chosen.needs if not _importable(module)]
    if missing:
        what = (
            f"the {missing[0]} package, which is not" if len(missing) == 1 else f"{', '.join(missing)}, which are not"
        )
        raise MissingPackage(
            f"Exporting to {chosen.label} needs {what} installed: "
            f"pip install {' '.join(missing)} (or pip install -r requirements-export.txt)."
        )
    return chosen


def _importable(module):
    try:
        import_module(module)
    except ImportError:
        return False
    return True


def export_model(model, path, name):
    """Write `model` as format `name` to `path` (a file; a folder for a SavedModel)."""
    require(name)
    path = str(path)
    signature = [keras.InputSpec(shape=(None, *INPUT_SHAPE), dtype="float32", name="digit")]
    if name == "onnx":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)  # Keras's tf2onnx patch probes np.object
            model.export(path, format="onnx", verbose=False, input_signature=signature)
    elif name == "saved_model":
        model.export(path, format="tf_saved_model", verbose=False, input_signature=signature)
    else:
        # Through a SavedModel written quietly: the converter's own route from a Keras model prints it.
        with tempfile.TemporaryDirectory(prefix="lenet-tflite-") as saved:
            model.export(saved, format="tf_saved_model", verbose=False, input_signature=signature)
            converter = import_module("tensorflow").lite.TFLiteConverter.from_saved_model(saved)
            with open(path, "wb") as f:
                f.write(converter.convert())


def exported_probabilities(path, name, images):
    """`(N, 10)` probabilities of `images` (N, 28, 28), 0-255, read by the exported file at
    `path` in its own runtime: onnxruntime, the LiteRT interpreter, or TensorFlow."""
    require(name)
    batches = np.asarray(images, np.float32).reshape(-1, *INPUT_SHAPE)
    read = {"onnx": _onnx_reader, "tflite": _tflite_reader, "saved_model": _saved_model_reader}[name](str(path))
    return np.concatenate([read(batches[i : i + CHECK_BATCH]) for i in range(0, len(batches), CHECK_BATCH)])


def _onnx_reader(path):
    ort = import_module("onnxruntime")
    options = ort.SessionOptions()
    # One thread: a check on a shared server, and onnxruntime's own pick ran 10x slower on 2 cores.
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]


def _tflite_reader(path):
    try:
        interpreter_class = import_module("ai_edge_litert.interpreter").Interpreter
        interpreter = interpreter_class(model_path=path, num_threads=1)
    except ImportError:  # TensorFlow's own interpreter: deprecated for LiteRT, still shipped in 2.21
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            interpreter = import_module("tensorflow").lite.Interpreter(model_path=path, num_threads=1)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

    def read(batch):
        if tuple(interpreter.get_input_details()[0]["shape"]) != batch.shape:
            interpreter.resize_tensor_input(source["index"], batch.shape)
            interpreter.allocate_tensors()
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        return interpreter.get_tensor(target["index"]).copy()

    return read


def _saved_model_reader(path):
    tf = import_module("tensorflow")
    loaded = tf.saved_model.load(path)  # kept: its functions refer to its variables
    return lambda batch: loaded.serve(tf.constant(batch)).numpy()
