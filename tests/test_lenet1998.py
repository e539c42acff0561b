"""LeNet-5 as in LeCun et al. 1998: the paper's numbers, its connection table, its output and loss."""

import numpy as np
import pytest
from keras import layers

from lenet.config import NOT_A_DIGIT
from lenet.nets import lenet1998
from lenet.nets.architectures import build
from lenet.nets.inference import Predictor
from lenet.nets.modelio import count_params, load_model, save_model
from lenet.nets.paper import PAPER_LENET5, count_connections
from lenet.nets.training import build_for_training, default_config, lenet1998_config

# Table I of the paper, as printed (its blanks written as dots): rows are S2's maps, columns
# C3's maps 0-15; X: the C3 map sees the S2 map.
PAPER_TABLE_I = """
   0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
0  X  .  .  .  X  X  X  .  .  X  X  X  X  .  X  X
1  X  X  .  .  .  X  X  X  .  .  X  X  X  X  .  X
2  X  X  X  .  .  .  X  X  X  .  .  X  .  X  X  X
3  .  X  X  X  .  .  X  X  X  X  .  .  X  .  X  X
4  .  .  X  X  X  .  .  X  X  X  X  .  X  X  .  X
5  .  .  .  X  X  X  .  .  X  X  X  X  .  X  X  X
"""

# Section II.B: trainable parameters of each layer.
PAPER_PARAMETERS = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}


def paper_table():
    rows = [line.split()[1:] for line in PAPER_TABLE_I.strip().splitlines()[1:]]
    return np.array(rows) == "X"


@pytest.fixture(scope="module")
def model():
    return build("lenet5_1998")


def test_c3_connections_are_the_papers_table_i():
    table = paper_table()
    assert table.sum() == 60  # 6x3 + 6x4 + 3x4 + 6, the paper's count
    np.testing.assert_array_equal(lenet1998.c3_connections(), table)


def test_each_c3_map_responds_only_to_the_s2_maps_table_i_names():
    c3 = lenet1998.TableConv2D()
    base = np.random.default_rng(0).normal(size=(1, 14, 14, 6)).astype("float32")
    before = np.asarray(c3(base))
    for s2_map, sees in enumerate(paper_table()):
        changed = base.copy()
        changed[..., s2_map] += 1.0
        moved = np.abs(np.asarray(c3(changed)) - before).max(axis=(0, 1, 2)) > 1e-6
        np.testing.assert_array_equal(moved, sees, err_msg=f"S2 map {s2_map}")


def test_parameters_are_the_papers_layer_by_layer(model):
    for name, count in PAPER_PARAMETERS.items():
        assert count_params(model.get_layer(name)) == count, name
    assert count_params(model) == 60_000 == PAPER_LENET5["parameters"]


def test_connections_are_the_papers(model):
    assert count_connections(model) == 340_908 == PAPER_LENET5["connections"]


def test_input_is_32x32_with_the_papers_background_and_ink(model):
    normalise = model.get_layer("normalise")
    first = type(model)(model.input, normalise.output)
    image = np.zeros((1, 28, 28, 1), "uint8")
    image[0, 10:18, 10:18] = 255
    seen = np.asarray(first(image))[0, ..., 0]
    assert seen.shape == (32, 32)
    np.testing.assert_allclose(seen[0], -0.1, atol=1e-6)  # the padding is background
    np.testing.assert_allclose(seen[12:20, 12:20], 1.175, atol=1e-5)  # full ink, moved by the 2-pixel pad


def test_squashing_is_the_papers_scaled_tanh():
    squash = lenet1998.Squash()
    np.testing.assert_allclose(np.asarray(squash(np.array([[-1.0, 0.0, 1.0, 50.0]]))), [[-1, 0, 1, 1.7159]], atol=1e-4)


def test_output_bitmaps_are_ten_distinct_7x12_pictures_of_plus_minus_one():
    bitmaps = lenet1998.digit_bitmaps()
    assert bitmaps.shape == (10, 12, 7)
    assert set(np.unique(bitmaps)) == {-1.0, 1.0}
    flat = bitmaps.reshape(10, -1)
    differing = (flat[:, None] != flat[None]).sum(axis=-1)
    closest = differing[np.triu_indices(10, 1)].min()
    assert closest > 0
    # j is the penalty midway between the two closest bitmaps: 1 per differing pixel.
    assert lenet1998.RUBBISH_PENALTY == closest


def test_the_rbf_output_has_no_parameters_and_answers_the_nearest_bitmap():
    rbf = lenet1998.EuclideanRBF()
    states = lenet1998.digit_bitmaps().reshape(10, -1) * 0.9
    probabilities = np.asarray(rbf(states))
    assert not rbf.trainable_weights
    np.testing.assert_array_equal(probabilities.argmax(axis=1), np.arange(10))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_map_loss_is_equation_9():
    rng = np.random.default_rng(2)
    penalties = rng.uniform(0, 40, (5, 10)).astype("float32")
    labels = np.array([0, 3, 9, 4, NOT_A_DIGIT])
    found = np.asarray(lenet1998.map_loss(labels, -penalties))
    j = lenet1998.RUBBISH_PENALTY
    rubbish_and_all = np.log(np.exp(-j) + np.exp(-penalties).sum(axis=1))
    right = np.concatenate([penalties[np.arange(4), labels[:4]], [j]])  # a non-digit's right answer: rubbish
    np.testing.assert_allclose(found, right + rubbish_and_all, rtol=1e-5)


@pytest.mark.parametrize("augment", [False, True])
def test_trains_on_its_scores_with_the_map_loss_and_the_weights_are_the_served_ones(augment):
    trainer, network = build_for_training(lenet1998_config(augment=augment), steps_per_epoch=4)
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (64, 28, 28, 1)).astype("uint8")
    labels = rng.integers(0, 10, 64)
    first = trainer.evaluate(images, labels, verbose=0, return_dict=True)["loss"]
    trainer.fit(images, labels, epochs=4, batch_size=16, verbose=0)
    assert trainer.evaluate(images, labels, verbose=0, return_dict=True)["loss"] < first
    # The network shares the trainer's weights: its answers follow the lowest penalties.
    scores = np.asarray(trainer(images, training=False))
    assert (scores <= 0).all()  # negated penalties, not probabilities, even behind the distortions
    np.testing.assert_array_equal(np.asarray(network(images)).argmax(axis=1), scores.argmax(axis=1))


def test_the_cli_and_train_page_start_from_its_recipe():
    config = default_config("lenet5_1998")
    assert config == lenet1998_config()
    assert (config.epochs, config.validation_split, config.augment) == (PAPER_LENET5["epochs"], 0.0, False)
    assert default_config("lenet5").architecture == "lenet5"


def test_saves_and_loads_in_safe_mode_and_serves_features_and_embeddings(model, tmp_path):
    path = tmp_path / "lenet5_1998.keras"
    save_model(model, path, {"architecture": "lenet5_1998"})
    loaded = load_model(path)
    images = np.random.default_rng(4).integers(0, 256, (3, 28, 28)).astype("float32")
    predictor = Predictor(loaded, warm_up=False)
    np.testing.assert_allclose(predictor.predict(images), np.asarray(model(images[..., None])), atol=1e-5)
    probabilities, embeddings = predictor.predict_and_embed(images)
    assert embeddings.shape == (3, 84)  # F6, the memory's space
    assert set(predictor.feature_maps(images[0])) == {"c1_squash", "c3_squash", "c5_squash"}
    assert isinstance(loaded.get_layer("c3"), lenet1998.TableConv2D)
    assert not isinstance(loaded.get_layer("s2"), layers.AveragePooling2D)
