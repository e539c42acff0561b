"""The pieces of LeNet-5 as LeCun, Bottou, Bengio and Haffner built it in 1998 ("Gradient-based
learning applied to document recognition", Proc. IEEE 86(11)), that Keras has no layer for.

The squashing function (Appendix A), the trainable subsampling of S2 and S4, C3's sparse
connection table (Table I), the output layer of Euclidean RBF units over fixed 7x12 bitmaps
(Fig. 3) and the MAP criterion (eq. 9). `lenet.nets.architectures.lenet5_1998` puts them together.
"""

import keras
import numpy as np
from keras import layers, ops

from lenet.config import NUM_CLASSES

# f(a) = A tanh(S a), A = 1.7159, S = 2/3 (Appendix A): f(1) = 1 and f(-1) = -1, the
# targets, sit where the curve bends most, and the gain at 0 is about 1.
SQUASH_AMPLITUDE = 1.7159
SQUASH_SLOPE = 2.0 / 3.0

# The 32x32 input as the paper normalises it: background -0.1, ink 1.175, so that the mean
# input is roughly 0 and its variance roughly 1 (Section II.B).
BACKGROUND, INK = -0.1, 1.175

# Table I, as its text describes it: each C3 map sees the S2 maps named here. The first six see
# every contiguous three, the next six every contiguous four, the next three some discontinuous
# four, the last one all six.
C3_INPUTS = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (4, 5, 0),
    (5, 0, 1),
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (3, 4, 5, 0),
    (4, 5, 0, 1),
    (5, 0, 1, 2),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# The output layer's fixed parameter vectors: one 7x12 bitmap per digit, '#' = +1, '.' = -1.
# Drawn by hand after the paper's Fig. 3 ("initial parameters of the output RBFs"): the paper
# shows them as a picture and does not publish the exact bitmaps.
DIGIT_BITMAPS = """
.......  .......  .......  .......  .......  .......  .......  .......  .......  .......
..###..  ...##..  .#####.  #######  ....##.  #######  ..####.  #######  .#####.  .#####.
.##.##.  ..###..  ##...##  ....##.  ...###.  ##.....  .##....  .....##  ##...##  ##...##
##...##  .####..  .....##  ...##..  ..####.  ##.....  ##.....  ....##.  ##...##  ##...##
##...##  ...##..  ....##.  ..###..  .##.##.  ######.  ######.  ...##..  .#####.  ##...##
##...##  ...##..  ...##..  ....##.  ##..##.  .....##  ##...##  ...##..  ##...##  .######
##...##  ...##..  ..##...  .....##  #######  .....##  ##...##  ..##...  ##...##  .....##
##...##  ...##..  .##....  .....##  ....##.  .....##  ##...##  ..##...  ##...##  .....##
.##.##.  ...##..  ##.....  ##...##  ....##.  ##...##  ##...##  ..##...  ##...##  ....##.
..###..  .######  #######  .#####.  ....##.  .#####.  .#####.  ..##...  .#####.  .####..
.......  .......  .......  .......  .......  .......  .......  .......  .......  .......
.......  .......  .......  .......  .......  .......  .......  .......  .......  .......
"""

# The MAP criterion's constant j (eq. 9), the rubbish class's penalty, which the paper leaves
# open: the penalty of the point midway between the two closest bitmaps (6 and 8, 8 pixels
# apart; checked in tests/test_lenet1998.py). An F6 state further than that from every bitmap
# is closer to no digit than to one.
RUBBISH_PENALTY = 8.0


def digit_bitmaps():
    """The ten 7x12 bitmaps as a `(10, 12, 7)` float32 array of +1 (ink) and -1."""
    rows = [line.split() for line in DIGIT_BITMAPS.strip().splitlines()]
    grid = np.array([[list(cell) for cell in row] for row in rows])  # (12, 10, 7)
    return np.where(np.moveaxis(grid, 1, 0) == "#", 1.0, -1.0).astype(np.float32)


def c3_connections():
    """Table I as a `(6, 16)` bool array: `[s2_map, c3_map]` is True where C3's map sees S2's."""
    table = np.zeros((6, len(C3_INPUTS)), bool)
    for c3_map, s2_maps in enumerate(C3_INPUTS):
        table[list(s2_maps), c3_map] = True
    return table


@keras.saving.register_keras_serializable(package="lenet1998")
class Squash(layers.Layer):
    """The paper's squashing function, A tanh(S a)."""

    def call(self, x):
        return SQUASH_AMPLITUDE * ops.tanh(SQUASH_SLOPE * x)


@keras.saving.register_keras_serializable(package="lenet1998")
class Subsampling(layers.Layer):
    """S2 and S4: each unit adds its 2x2 inputs, multiplies by its map's trainable coefficient
    and adds its map's trainable bias (two parameters a map); the squashing follows."""

    def build(self, input_shape):
        maps = input_shape[-1]
        # A quarter: the unit starts as the average of its four inputs.
        self.coefficient = self.add_weight(
            shape=(maps,), initializer=keras.initializers.Constant(0.25), name="coefficient"
        )
        self.bias = self.add_weight(shape=(maps,), initializer="zeros", name="bias")

    def call(self, x):
        summed = ops.average_pool(x, 2, strides=2, padding="valid") * 4.0
        return summed * self.coefficient + self.bias

    def compute_output_shape(self, input_shape):
        n, height, width, maps = input_shape
        return n, height // 2, width // 2, maps


@keras.saving.register_keras_serializable(package="lenet1998")
class TableConv2D(layers.Layer):
    """C3: a 5x5 valid convolution whose output maps see only the input maps Table I names.

    Only the connected weights are parameters (1,500 and 16 biases, as the paper counts): they
    are scattered into a full kernel, zero elsewhere, for one ordinary convolution per step.
    """

    def __init__(self, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size

    def build(self, input_shape):
        table = c3_connections()
        size = self.kernel_size
        connected = np.broadcast_to(table, (size, size, *table.shape))
        # Index of each full-kernel entry in the parameter vector; the unconnected ones point past
        # its end, at a zero.
        count = int(connected.sum())
        index = np.full(connected.shape, count, np.int32)
        index[connected] = np.arange(count)
        self.index = index
        self.maps = table.shape[1]
        # LeCun's initialisation for a tanh (limit sqrt(3 / fan-in)), with each map's own fan-in.
        fan_in = (table.sum(axis=0) * size * size)[None, None, None, :]
        limit = np.broadcast_to(np.sqrt(3.0 / fan_in), connected.shape)[connected].astype(np.float32)

        def initializer(shape, dtype=None):
            return keras.random.uniform(shape, -1.0, 1.0, dtype=dtype) * limit

        self.weights_connected = self.add_weight(shape=(count,), initializer=initializer, name="kernel")
        self.bias = self.add_weight(shape=(self.maps,), initializer="zeros", name="bias")

    def kernel(self):
        """The full `(5, 5, 6, 16)` kernel, zero where Table I has no connection."""
        padded = ops.concatenate([self.weights_connected, ops.zeros((1,), self.weights_connected.dtype)])
        return ops.take(padded, self.index)

    def call(self, x):
        kernel = ops.cast(self.kernel(), x.dtype)
        return ops.conv(x, kernel, strides=1, padding="valid") + ops.cast(self.bias, x.dtype)

    def compute_output_shape(self, input_shape):
        n, height, width, _ = input_shape
        return n, height - self.kernel_size + 1, width - self.kernel_size + 1, len(C3_INPUTS)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="lenet1998")
class EuclideanRBF(layers.Layer):
    """The output layer: unit i's penalty is the squared distance from F6's state to digit i's
    fixed bitmap (eq. 7); no trainable parameters.

    `output="probabilities"`: what the app serves, a softmax of the negated penalties over the
    ten digits (the posterior of eq. 9 without its rubbish class, so the ten sum to 1 as every
    caller of a digit model expects; the ranking is the penalties'). `output="scores"`: the negated
    penalties themselves, what `map_loss` trains on.
    """

    def __init__(self, output="probabilities", **kwargs):
        super().__init__(**kwargs)
        self.output_kind = output
        self.prototypes = digit_bitmaps().reshape(NUM_CLASSES, -1)

    def penalties(self, x):
        x = ops.cast(x, "float32")
        return ops.sum(ops.square(x[:, None, :] - self.prototypes[None]), axis=-1)

    def call(self, x):
        scores = -self.penalties(x)
        return scores if self.output_kind == "scores" else ops.softmax(scores, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0], NUM_CLASSES

    def get_config(self):
        return {**super().get_config(), "output": self.output_kind}


def map_loss(y_true, scores):
    """The MAP criterion (eq. 9) on `scores`, the negated RBF penalties:
    E = y_D + log(exp(-j) + sum_i exp(-y_i)), for the right digit D and the constant j.

    It pulls the right class's penalty down and pushes the others up, each as far as its
    posterior says; the rubbish class (penalty j) stops it pushing penalties already larger.
    A drawing labelled `NOT_A_DIGIT` is trained towards the rubbish class.
    """
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    scores = ops.cast(scores, "float32")
    rubbish = ops.full((ops.shape(scores)[0], 1), -RUBBISH_PENALTY, "float32")
    all_scores = ops.concatenate([scores, rubbish], axis=-1)
    picked = ops.take_along_axis(all_scores, ops.expand_dims(ops.minimum(labels, NUM_CLASSES), -1), axis=-1)[:, 0]
    return ops.logsumexp(all_scores, axis=-1) - picked


def scores_model(network):
    """The network as it trains: the same layers up to F6, then the negated RBF penalties
    (what `map_loss` reads) instead of probabilities."""
    head = network.layers[-1]
    scores = EuclideanRBF(output="scores", name="scores")(head.input)
    return keras.Model(network.input, scores, name=f"{network.name}_scores")
