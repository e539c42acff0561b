"""The registered networks: their shapes, sizes and input convention."""

import numpy as np
import pytest

from lenet.nets.architectures import ARCHITECTURES, build, feature_layer_names
from lenet.nets.modelio import count_params

# From the write-ups the product grew from; lenet_wide and cnn_deep are as built here.
PARAMETER_COUNTS = {
    "lenet5": 61_706,
    "lenet5_same": 331_214,
    "cnn3x3": 93_322,
    "lenet_wide": 1_256_080,
    "cnn_deep": 174_762,
}


@pytest.mark.parametrize("name,count", PARAMETER_COUNTS.items())
def test_parameter_counts(name, count):
    assert count_params(build(name)) == count


def test_registry_has_the_five_classics_and_more():
    assert set(PARAMETER_COUNTS) <= set(ARCHITECTURES)
    assert "lenet_bn" in ARCHITECTURES


def test_unknown_architecture_names_the_known_ones():
    with pytest.raises(ValueError, match="lenet5"):
        build("alexnet")


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_network_reads_raw_uint8_digits(name):
    model = build(name)
    assert model.input_shape == (None, 28, 28, 1)
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1)).astype("uint8")
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_rescaling_happens_inside(name):
    # The same picture as 0-255 floats and as uint8 gives the same answer.
    model = build(name)
    images = np.random.default_rng(1).integers(0, 256, (2, 28, 28, 1))
    np.testing.assert_allclose(
        np.asarray(model(images.astype("uint8"), training=False)),
        np.asarray(model(images.astype("float32"), training=False)),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_feature_layers_are_the_convolution_stages(name):
    model = build(name)
    names = feature_layer_names(model)
    assert names and all(len(model.get_layer(n).output.shape) == 4 for n in names)


def test_lenet5_pads_to_32_before_its_first_convolution():
    # Conv 5x5 on 32x32 gives 28x28 (LeCun's C1); on unpadded 28x28 it would give 24x24.
    model = build("lenet5")
    assert model.get_layer("conv1").output.shape[1:] == (28, 28, 6)
    assert model.get_layer("pool2").output.shape[1:] == (5, 5, 16)
