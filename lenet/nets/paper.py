"""What LeCun et al. 1998 report for LeNet-5, and the same figures counted on our networks.

The paper's figures are from its Section II.B (parameters, connections) and Section III.C with
Fig. 9 (test error, passes over the training set). `count_connections` counts as the paper
does: every weighted link into a unit, its bias included, so a shared weight counts once per
unit that uses it.
"""

import numpy as np
from keras import layers

from lenet.nets import lenet1998

# LeNet-5 in the paper. Test error on MNIST's 10,000 test digits; "distorted": trained on the
# 60,000 images and 540,000 distorted copies (random affine: translation, scaling, squeezing,
# shearing). Training time the paper does not give for LeNet-5 on MNIST.
PAPER_LENET5 = {
    "test_error_plain": 0.0095,
    "test_error_distorted": 0.008,
    "parameters": 60_000,
    "connections": 340_908,
    "epochs": 20,
}


# Ours, as `scripts/train.py` measured them (lenet5_1998: its own recipe, `lenet1998_config`;
# lenet5: the default recipe; "distorted": --augment, the project's random shifts, rotations
# and zoom) on the 2-core AMD EPYC CPU shared with other work, TensorFlow backend, on 2 Dec 2026.
# `scripts/benchmark.py --paper` prints the same from the model files of new runs.
MEASURED = {
    "lenet5_1998": {"test_error_plain": 0.0087, "test_error_distorted": 0.0082, "epochs": 20, "train_s": (213, 244)},
    "lenet5": {"test_error_plain": 0.0083, "test_error_distorted": 0.0098, "epochs": 6, "train_s": (37, 46)},
}


def count_connections(model):
    """Weighted links (biases included) into every unit of `model`, the paper's 'connections'.

    Convolutions and dense layers: each output unit's kernel entries plus its bias. Trainable
    subsampling: 4 inputs and a bias per unit. Max-pooling: its 2x2 inputs. The RBF output: 84
    inputs per unit. Layers that only reshape, rescale or squash connect nothing.
    """
    total = 0
    for layer in model.layers:
        out = layer.output.shape[1:]
        units = int(np.prod(out))
        if isinstance(layer, layers.Conv2D):
            per_unit = int(np.prod(layer.kernel.shape[:-1])) + int(layer.use_bias)
            total += units * per_unit
        elif isinstance(layer, lenet1998.TableConv2D):
            # Each position of the 10x10 output: all of Table I's weights and one bias a map.
            positions = units // layer.maps
            total += positions * (int(np.prod(layer.weights_connected.shape)) + layer.maps)
        elif isinstance(layer, layers.Dense):
            total += units * (layer.kernel.shape[0] + int(layer.use_bias))
        elif isinstance(layer, lenet1998.Subsampling):
            total += units * 5
        elif isinstance(layer, layers.MaxPooling2D):
            total += units * int(np.prod(layer.pool_size))
        elif isinstance(layer, lenet1998.EuclideanRBF):
            total += units * layer.prototypes.shape[1]
    return total
