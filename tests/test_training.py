"""Training on tiny generated digits: config, callbacks, best weights, augmentation."""

import keras
import numpy as np
import pytest

from lenet.config import NOT_A_DIGIT
from lenet.nets.inference import Predictor
from lenet.nets.training import (
    DigitAccuracy,
    RandomAffine,
    TrainConfig,
    classic_config,
    digits_loss,
    one_cycle,
    split_data,
    train,
)


def quick(**overrides):
    values = dict(architecture="lenet5", epochs=3, batch_size=64, learning_rate=3e-3, validation_split=0.2)
    return TrainConfig(**{**values, **overrides})


def test_config_rejects_values_out_of_range():
    with pytest.raises(ValueError, match="epochs must be at most 50"):
        TrainConfig(epochs=51)
    with pytest.raises(ValueError, match="architecture must be one of"):
        TrainConfig(architecture="vgg16")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        TrainConfig(batch_size=0)


def test_config_round_trips_through_plain_data_and_names_unknown_keys():
    config = TrainConfig(epochs=7, augment=False)
    with pytest.warns(UserWarning, match="does not know from_the_future"):
        assert TrainConfig.from_dict({**config.to_dict(), "from_the_future": 1}) == config


def test_split_holds_out_validation_and_caps_training():
    x, y = np.arange(100).reshape(100, 1, 1), np.arange(100)
    (x_fit, y_fit), (x_val, y_val) = split_data(TrainConfig(validation_split=0.2, max_samples=30), x, y)
    assert len(x_val) == 20 and len(x_fit) == 30
    assert not set(y_fit) & set(y_val)


def test_training_learns_and_reports_through_callbacks(tiny_data):
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, dict(logs)))

    result = train(quick(epochs=4, augment=False), tiny_data, callbacks=[Recorder()])
    assert [epoch for epoch, _ in seen] == [0, 1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(seen[-1][1])
    assert len(result.history) == 4 and result.history[-1]["epoch"] == 4
    assert result.test_accuracy > 0.5  # chance is 0.1
    assert result.model.dtype_policy.name == "float32"
    assert not result.model.compiled  # a clean model to save and serve


def test_stopping_from_outside_keeps_what_was_learned(tiny_data):
    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    result = train(quick(epochs=5), tiny_data, callbacks=[StopAfterFirstEpoch()])
    assert len(result.history) == 1 and result.stopped_early
    assert 0 <= result.test_accuracy <= 1


def test_best_epoch_weights_are_restored_however_training_ends():
    # What train() relies on: Keras's EarlyStopping restores the best epoch at the end of training
    # even when it never stopped it (the run went to its last epoch, or Stop ended it from outside).
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    keep = keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=99, restore_best_weights=True)
    keep.set_model(model)
    keep.on_train_begin()
    model.layers[0].set_weights([np.array([[1.0]]), np.array([0.0])])
    keep.on_epoch_end(0, {"val_accuracy": 0.9})
    model.layers[0].set_weights([np.array([[2.0]]), np.array([0.0])])
    keep.on_epoch_end(1, {"val_accuracy": 0.5})
    keep.on_train_end()
    assert model.layers[0].get_weights()[0][0, 0] == 1.0 and keep.stopped_epoch == 0


def test_augmentation_only_while_training():
    layer = RandomAffine(seed=3)
    images = np.zeros((4, 28, 28, 1), np.float32)
    images[:, 10:18, 12:16] = 255
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    moved = np.asarray(layer(images, training=True))
    assert moved.shape == images.shape and not np.allclose(moved, images)
    # Small transforms: most of the ink stays in the picture.
    assert 0.7 < moved.sum() / images.sum() < 1.3


def test_one_cycle_rises_then_falls_to_almost_zero():
    schedule = one_cycle(1e-2, total_steps=100)
    rates = [float(schedule(step)) for step in range(0, 101, 5)]
    peak = int(np.argmax(rates))
    assert 0 < peak < len(rates) - 1
    assert max(rates) == pytest.approx(1e-2, rel=1e-3)
    assert rates[-1] < 1e-4 and rates[0] < 1e-3


def test_classic_recipe_is_what_the_write_ups_did():
    config = classic_config()
    assert (config.batch_size, config.learning_rate, config.optimizer, config.schedule) == (
        32,
        1e-3,
        "adam",
        "constant",
    )
    assert config.precision == "float32" and not config.augment and config.writers == config.not_digits == 0
    assert (
        config.jit_compile == "auto"
    )  # compiled as Keras compiles by default: XLA under JAX, no XLA on TensorFlow's CPU


@pytest.mark.parametrize("architecture", ["lenet5_same", "lenet_bn"])
def test_other_architectures_train(tiny_data, architecture):
    result = train(quick(architecture=architecture, epochs=1, max_samples=128), tiny_data)
    assert len(result.history) == 1


def test_the_loss_asks_digits_for_their_class_and_non_digits_for_no_preference():
    uniform, sure_seven = np.full((1, 10), 0.1, np.float32), np.eye(10, dtype=np.float32)[[7]] * 0.9 + 0.01
    loss = lambda labels, p: np.asarray(digits_loss(np.array(labels), p))
    assert loss([7], sure_seven) == pytest.approx(-np.log(0.91), rel=1e-4)  # plain cross-entropy on a digit
    assert loss([NOT_A_DIGIT], uniform) == pytest.approx(0.5 * np.log(10), rel=1e-4)  # the least a non-digit costs
    assert loss([NOT_A_DIGIT], sure_seven) > loss([NOT_A_DIGIT], uniform) + 0.5  # sure of a digit that is none: costly
    accuracy = DigitAccuracy()
    accuracy.update_state(np.array([7, NOT_A_DIGIT, 3]), np.vstack([sure_seven, sure_seven, sure_seven]))
    assert float(accuracy.result()) == 0.5  # of the two digits, one read right; the non-digit doesn't count


def test_drawings_that_are_not_digits_teach_the_network_to_prefer_none(tiny_data):
    (x, y), test = tiny_data
    rng = np.random.default_rng(5)
    noise = (rng.random((300, 28, 28)) < 0.15).astype(np.uint8) * 255  # salt: no digit at all
    unseen_noise = (rng.random((100, 28, 28)) < 0.15).astype(np.uint8) * 255
    config = quick(epochs=4, max_samples=600, validation_split=0.0)
    plain = train(config, ((x, y), test))
    exposed = train(
        quick(epochs=4, max_samples=600, validation_split=0.0, not_digits=300),
        ((x, y), test),
        extra=(noise, np.full(300, NOT_A_DIGIT)),
    )
    sure = lambda result: Predictor(result.model, warm_up=False).predict(unseen_noise).max(axis=1).mean()
    assert sure(exposed) < sure(plain) - 0.05 and sure(exposed) < 0.3
    assert exposed.test_accuracy > 0.5 and "accuracy" in exposed.history[-1]  # accuracy counts the digits only


def test_the_real_writers_validation_picks_the_epoch_when_mnist_holds_none_out(tiny_data):
    (x, y), test = tiny_data
    result = train(quick(epochs=2, validation_split=0.0), tiny_data, extra_validation=(x[:50], y[:50]))
    assert "val_accuracy" in result.history[0]


@pytest.mark.mnist
@pytest.mark.slow
def test_the_default_recipe_reaches_99_percent_on_real_mnist(mnist):
    # What `scripts/train.py` does with no flags: 54,000 MNIST images, 6 epochs, the best one kept.
    result = train(TrainConfig(), mnist)
    assert result.test_accuracy >= 0.99, (result.test_accuracy, result.history)
