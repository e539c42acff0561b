"""The networks, registered by name.

Every builder returns an uncompiled `keras.Model` that takes a 28x28x1 digit in MNIST
convention (white ink on black, values 0-255, any numeric dtype) and rescales or pads it
itself, so every caller feeds the same thing. Builders only build.
"""

import keras
from keras import layers

from lenet.config import INPUT_SHAPE, NUM_CLASSES
from lenet.errors import InvalidSetting
from lenet.nets import lenet1998

ARCHITECTURES = {}


def register(description, trainer=None, loss=None):
    """Add a builder to `ARCHITECTURES` under its function name.

    `trainer` (network -> model sharing its weights) and `loss` are for a network that does not
    train on its served probabilities (the 1998 network trains on its RBF penalties); by default
    it trains as it serves, with cross-entropy.
    """

    def decorator(builder):
        builder.description = description
        builder.trainer, builder.loss = trainer, loss
        ARCHITECTURES[builder.__name__] = builder
        return builder

    return decorator


def build(name):
    """Build the registered architecture `name`."""
    if name not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise InvalidSetting(f"Unknown architecture {name!r}. Known architectures: {known}.")
    return ARCHITECTURES[name]()


def _inputs():
    inputs = keras.Input(shape=INPUT_SHAPE, name="digit")
    # Callers feed raw 0-255 pixels (uint8 is cheapest to keep and move); scale here.
    return inputs, layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def _classifier(x):
    # The softmax stays float32 under mixed precision, so probabilities sum to 1.
    return layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probabilities")(x)


@register("Classic LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling, 28x28 padded to 32x32")
def lenet5():
    inputs, x = _inputs()
    # 'same' pads the 28x28 input to 32x32 inside the convolution, as LeCun padded the
    # digits; one op instead of two, which matters on small CPUs.
    x = layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation="relu", name="fc1")(x)
    x = layers.Dense(84, activation="relu", name="fc2")(x)
    return keras.Model(inputs, _classifier(x), name="lenet5")


@register("LeNet-5 with 'same' padding and a third 32-channel convolution")
def lenet5_same():
    inputs, x = _inputs()
    x = layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(32, 5, padding="same", activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(200, activation="relu", name="fc1")(x)
    return keras.Model(inputs, _classifier(x), name="lenet5_same")


@register("Wide LeNet: 20 and 50 channels, 500 hidden units (Caffe's MNIST example)")
def lenet_wide():
    inputs, x = _inputs()
    x = layers.Conv2D(20, 5, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(50, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(500, activation="relu", name="fc1")(x)
    return keras.Model(inputs, _classifier(x), name="lenet_wide")


@register("Small 3x3 CNN: 32, 64, 64 channels (the Keras/TensorFlow tutorial network)")
def cnn3x3():
    inputs, x = _inputs()
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="fc1")(x)
    return keras.Model(inputs, _classifier(x), name="cnn3x3")


@register("Deeper 3x3 CNN: 64, 128, 64, 32 channels")
def cnn_deep():
    inputs, x = _inputs()
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _classifier(x), name="cnn_deep")


def _conv_bn(x, filters, name):
    # The bias is redundant before batch normalisation.
    x = layers.Conv2D(filters, 5, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


@register("Batch-normalised LeNet: 32 and 64 channels, 128 hidden units, dropout")
def lenet_bn():
    inputs, x = _inputs()
    x = _conv_bn(x, 32, "conv1")
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = _conv_bn(x, 64, "conv2")
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, use_bias=False, name="fc1")(x)
    x = layers.BatchNormalization(name="fc1_bn")(x)
    x = layers.Activation("relu", name="fc1_relu")(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    return keras.Model(inputs, _classifier(x), name="lenet_bn")


@register(
    "LeNet-5 as in LeCun et al. 1998: scaled tanh, trainable subsampling, Table I, RBF output",
    trainer=lenet1998.scores_model,
    loss=lenet1998.map_loss,
)
def lenet5_1998():
    """LeNet-5 as the paper builds it (Section II.B, Appendix A), 60,000 trainable parameters.

    The 28x28 digit is padded to 32x32 and normalised as the paper does (background -0.1,
    ink 1.175). C1: 6 maps of 5x5 convolutions. S2: 2x2 subsampling with a trainable coefficient
    and bias per map. C3: 16 maps of 5x5, each seeing only the S2 maps of Table I. S4 as S2.
    C5: 120 maps of 5x5 (on S4's 5x5, fully connected). F6: 84 units. Every layer up to F6 is
    followed by the squashing function 1.7159 tanh(2/3 a). The output: 10 Euclidean RBF units whose
    fixed parameter vectors are 7x12 bitmaps of the digits (+1/-1), drawn by hand after the
    paper's Fig. 3 since the exact bitmaps are not published. It trains with the MAP criterion
    (eq. 9, `lenet1998.map_loss`) and serves a softmax of the negated penalties.
    Convolutions start from LeCun's uniform initialisation (limit sqrt(3 / fan-in)).
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="digit")
    # Padding the raw pixels with 0 gives the background's value after the rescaling.
    x = layers.ZeroPadding2D(2, name="pad32")(inputs)
    scale = (lenet1998.INK - lenet1998.BACKGROUND) / 255
    x = layers.Rescaling(scale, offset=lenet1998.BACKGROUND, name="normalise")(x)
    x = layers.Conv2D(6, 5, kernel_initializer="lecun_uniform", name="c1")(x)
    x = lenet1998.Squash(name="c1_squash")(x)
    x = lenet1998.Subsampling(name="s2")(x)
    x = lenet1998.Squash(name="s2_squash")(x)
    x = lenet1998.TableConv2D(name="c3")(x)
    x = lenet1998.Squash(name="c3_squash")(x)
    x = lenet1998.Subsampling(name="s4")(x)
    x = lenet1998.Squash(name="s4_squash")(x)
    x = layers.Conv2D(120, 5, kernel_initializer="lecun_uniform", name="c5")(x)
    x = lenet1998.Squash(name="c5_squash")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, kernel_initializer="lecun_uniform", name="f6")(x)
    x = lenet1998.Squash(name="f6_squash")(x)
    # float32 under mixed precision, as every network's output.
    outputs = lenet1998.EuclideanRBF(dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="lenet5_1998")


def feature_layer_names(model):
    """Names of the layers whose outputs are the network's feature maps, in order.

    One per convolution: the convolution itself, or its activation when one follows it as a
    layer of its own (after batch normalisation; the 1998 network's squashing).
    """
    names = {layer.name for layer in model.layers}
    kinds = (layers.Conv2D, lenet1998.TableConv2D)
    convolutions = [layer.name for layer in model.layers if isinstance(layer, kinds)]
    found = []
    for name in convolutions:
        after = [f"{name}_{kind}" for kind in ("relu", "squash") if f"{name}_{kind}" in names]
        found.append(after[0] if after else name)
    return found
