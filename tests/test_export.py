"""Exporting catalogued models to ONNX, TFLite and SavedModel, each file read back on MNIST,
and the refusals: a model outside the catalogue, a package that is not installed, the wrong backend."""

import importlib
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT, skip_or_fail

from lenet.jobs.exports import export_version
from lenet.nets import export
from lenet.nets.export import ExportRefused, MissingPackage
from lenet.nets.modelio import load_model

TENSORFLOW = keras.backend.backend() == "tensorflow"
needs_tensorflow = pytest.mark.skipif(
    not TENSORFLOW, reason="export runs under Keras's TensorFlow backend only (README: Take it with you)"
)


def installed(name):
    """Skip (fail in CI) when a format's optional packages are missing."""
    for module in export.FORMATS[name].needs:
        try:
            importlib.import_module(module)
        except ImportError:
            skip_or_fail(f"{module} is not installed (pip install -r requirements-export.txt)")


def without(monkeypatch, *missing):
    """Make `missing` modules look uninstalled to the exporter, as on a server without them."""
    real = export.import_module

    def fake(name):
        if name.split(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name)

    monkeypatch.setattr(export, "import_module", fake)


def test_only_catalogued_models_are_exported_and_names_are_never_paths(settings):
    for name in ("no_such_model", "../models/lenet5", str(ROOT / "models" / "lenet5.keras")):
        with pytest.raises(ExportRefused, match="only those can be exported") as refusal:
            export_version(settings, name, "onnx")
        assert "\n" not in str(refusal.value)
    with pytest.raises(ExportRefused, match="onnx, tflite, saved_model"):
        export_version(settings, "lenet5", "coreml")


@needs_tensorflow
@pytest.mark.parametrize(
    "missing,format_name", [("onnxruntime", "onnx"), ("tf2onnx", "onnx"), ("tensorflow", "tflite")]
)
def test_a_missing_package_is_named_before_any_work(settings, monkeypatch, missing, format_name):
    without(monkeypatch, missing)
    with pytest.raises(MissingPackage, match=f"pip install .*{missing}") as refusal:
        export_version(settings, "lenet5", format_name)
    assert "\n" not in str(refusal.value) and not (settings.cache_dir / "exports").exists()


@pytest.mark.skipif(TENSORFLOW, reason="the refusal of other backends; this pass runs TensorFlow")
def test_other_backends_are_told_to_run_under_tensorflow(settings):
    with pytest.raises(ExportRefused, match="KERAS_BACKEND=tensorflow"):
        export_version(settings, "lenet5", "onnx")


def run_export(*args, prelude="pass"):
    code = f"import runpy, sys; {prelude}; sys.argv = {['export.py', *args]!r}; "
    code += f"sys.path.insert(0, {str(ROOT / 'scripts')!r}); "
    code += f"runpy.run_path({str(ROOT / 'scripts' / 'export.py')!r}, run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.slow
def test_the_command_line_refuses_in_one_line_with_status_2(settings):
    run = run_export("../models/lenet5.keras", "--format", "onnx")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: No model called '../models/lenet5.keras'")
    if TENSORFLOW:
        # A package the import system can't find, whatever this machine has installed.
        run = run_export("lenet5", "--format", "onnx", prelude="sys.modules['onnxruntime'] = None")
        assert run.returncode == 2 and "Traceback" not in run.stderr
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("error: Exporting to ONNX needs") and "onnxruntime" in last.split("pip install")[1]


@needs_tensorflow
@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("format_name", ["onnx", "tflite", "saved_model"])
def test_an_exported_model_reads_mnist_as_the_keras_model_does(settings, mnist, monkeypatch, format_name):
    installed(format_name)
    result = export_version(settings, "lenet5", format_name)
    assert result.path.is_file() and result.path.stat().st_size == result.bytes > 100_000
    assert result.keras_test_accuracy >= 0.993  # the shipped lenet5, read through the app's own path
    assert abs(result.test_accuracy - result.keras_test_accuracy) <= 0.0005  # within 0.05 point
    print(f"\n{result.line()}; export {result.export_seconds} s, check {result.check_seconds} s")

    # Asked again for the same version: from the cache, no work.
    monkeypatch.setattr(export, "export_model", lambda *a: pytest.fail("exported twice"))
    again = export_version(settings, "lenet5", format_name)
    assert again.path == result.path and again.test_accuracy == result.test_accuracy


@needs_tensorflow
@pytest.mark.slow
@pytest.mark.mnist
def test_tflite_reads_through_tensorflows_own_interpreter_without_litert(settings, mnist, monkeypatch, tmp_path):
    _, (x_test, _) = mnist
    path = tmp_path / "lenet5.tflite"
    export.export_model(load_model(ROOT / "models" / "lenet5.keras"), path, "tflite")
    with_litert = export.exported_probabilities(path, "tflite", x_test[:300])
    without(monkeypatch, "ai_edge_litert")
    np.testing.assert_allclose(export.exported_probabilities(path, "tflite", x_test[:300]), with_litert, atol=1e-5)


@needs_tensorflow
@pytest.mark.slow
@pytest.mark.mnist
def test_the_script_writes_the_file_and_prints_the_figure(settings, mnist, tmp_path):
    installed("onnx")
    output = tmp_path / "out" / "lenet5.onnx"
    run = run_export("lenet5", "--format", "onnx", "--output", str(output))
    assert run.returncode == 0, run.stderr[-2000:]
    assert output.is_file() and "ONNX file of lenet5 reads the MNIST test set at 99." in run.stdout
    folder = tmp_path / "saved"
    run = run_export("lenet5", "--format", "saved_model", "--output", str(folder), "--json")
    assert run.returncode == 0 and (folder / "saved_model.pb").is_file()
    shutil.rmtree(folder)


def train_page_with_a_version(settings, monkeypatch):
    """The Train page of an installation with one finished run, whose version is a copy of lenet5."""
    from streamlit.testing.v1 import AppTest

    from lenet.jobs.runs import RunStore, Status

    monkeypatch.chdir(ROOT)
    settings.trained_dir.mkdir(parents=True)
    for suffix in (".keras", ".json"):
        shutil.copyfile(ROOT / "models" / f"lenet5{suffix}", settings.trained_dir / f"run-1-lenet5{suffix}")
    store = RunStore.of(settings)
    run_id = store.create_run({"architecture": "lenet5", "epochs": 1})
    store.update(run_id, status=Status.FINISHED, model_name="run-1-lenet5", test_accuracy=0.9934)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    return app.switch_page("app_pages/train.py").run()


def download_labels(app):
    return [e.proto.label for e in app.get("download_button")]


@needs_tensorflow
def test_the_train_page_names_a_missing_package_in_one_line(settings, monkeypatch):
    without(monkeypatch, "onnxruntime")
    app = train_page_with_a_version(settings, monkeypatch)
    assert app.selectbox(key="export_format").value == "onnx"
    app.button(key="export").click().run()
    assert not app.exception
    (refusal,) = [e.value for e in app.error]
    assert refusal.startswith("Exporting to ONNX needs") and "\n" not in refusal
    assert "onnxruntime" in refusal.split("pip install")[1]


@needs_tensorflow
@pytest.mark.slow
@pytest.mark.mnist
def test_the_train_page_exports_a_version_when_asked_and_shows_the_figure(settings, mnist, monkeypatch):
    installed("tflite")
    app = train_page_with_a_version(settings, monkeypatch)
    assert download_labels(app) == ["Download .keras"]  # nothing is exported before the button
    app.selectbox(key="export_format").set_value("tflite").run()
    app.button(key="export").click().run()
    assert not app.exception
    assert "Download run-1-lenet5.tflite" in download_labels(app)
    assert any("TFLite file of run-1-lenet5 reads the MNIST test set at 99.34%" in c.value for c in app.caption)
    app.run()  # the next visit: from the cache, no button
    assert "Download run-1-lenet5.tflite" in download_labels(app)
    assert not [b for b in app.button if b.key == "export"]
