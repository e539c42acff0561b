"""Model files: atomic saves, metadata beside the weights, safe and clear loading."""

import json

import keras
import numpy as np
import pytest

from lenet.config import Settings
from lenet.nets import modelio
from lenet.nets.architectures import build
from lenet.nets.modelio import ModelFileError, load_metadata, load_model, save_model

REQUIRED_METADATA = {
    "architecture",
    "config",
    "history",
    "test_accuracy",
    "test_loss",
    "num_params",
    "train_seconds",
    "device",
    "data",
    "versions",
    "created",
}


@pytest.fixture(scope="module")
def trained(tiny_data):
    from lenet.nets.training import TrainConfig, train

    return train(TrainConfig(epochs=1, batch_size=64, max_samples=256), tiny_data)


def test_save_writes_model_and_metadata(tmp_path, trained, tiny_data):
    path = tmp_path / "digits.keras"
    save_model(trained.model, path, modelio.build_metadata(trained, data_source="tiny"))
    meta = json.loads(path.with_suffix(".json").read_text())
    assert REQUIRED_METADATA <= set(meta)
    assert meta["architecture"] == "lenet5" and meta["num_params"] == 61_706 and meta["name"] == "digits"
    assert set(meta["data"]["sha256"]) == {
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    }
    loaded = load_model(path)
    images = tiny_data[1][0][:8, ..., None]
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(trained.model(images)), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.json", "digits.keras"]


def test_a_crash_while_saving_leaves_the_old_model(tmp_path, trained, monkeypatch):
    path = tmp_path / "digits.keras"
    save_model(trained.model, path, {"test_accuracy": 0.5})
    before = path.read_bytes(), path.with_suffix(".json").read_text()

    def crash(model, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"half a zip")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(type(trained.model), "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(trained.model, path, {"test_accuracy": 0.9})
    assert (path.read_bytes(), path.with_suffix(".json").read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.json", "digits.keras"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="nothing.keras does not exist"):
        load_model(tmp_path / "nothing.keras")


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 this is not a real archive")
    with pytest.raises(ModelFileError, match="broken.keras"):
        load_model(path)


def test_truncated_model_is_named(tmp_path, trained):
    path = tmp_path / "cut.keras"
    save_model(trained.model, path, {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cut.keras"):
        load_model(path)


def test_foreign_model_is_refused(tmp_path):
    path = tmp_path / "regression.keras"
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)]).save(path)
    with pytest.raises(ModelFileError, match="not a digit model"):
        load_model(path)


def test_unsafe_lambda_layers_are_not_executed(tmp_path):
    path = tmp_path / "lambda.keras"
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Lambda(lambda x: x * 2)(inputs)))
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelFileError, match="lambda.keras"):
        load_model(path)


def test_metadata_of_a_model_without_json_is_minimal(tmp_path):
    assert load_metadata(tmp_path / "bare.keras")["name"] == "bare"


def test_shipped_models_load_and_describe_themselves():
    for path in sorted(Settings().models_dir.glob("*.keras")):
        model = load_model(path)
        meta = load_metadata(path)
        assert REQUIRED_METADATA <= set(meta), path
        assert meta["num_params"] == modelio.count_params(model)
        assert build(meta["architecture"]).count_params() == model.count_params()
