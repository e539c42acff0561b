"""The instant memory: kept digits vote on the next readings, by how close they are."""

import numpy as np
from handwriting import canvas_array, continental_canvas, continental_writer

from lenet.images.preprocess import prepare_digits
from lenet.images.reading import read
from lenet.people.memory import Memory


def model_input(canvas):
    return prepare_digits(canvas, one_digit=True)[1][0].input


def test_a_kept_digit_is_read_as_it_was_kept_at_once(default_predictor):
    rng = np.random.default_rng(4)
    writer = continental_writer(3)
    seven = model_input(continental_canvas(7, writer, rng))
    network = default_predictor.predict_one(seven).argmax()
    wrong_label = (network + 3) % 10  # kept as something the network would never say
    memory = Memory.of(default_predictor, seven[None], [wrong_label])
    blended, say = memory.blend(*default_predictor.predict_and_embed(seven[None]))
    assert say[0] > 0.95 and blended[0].argmax() == wrong_label


def test_digits_unlike_every_kept_digit_are_read_by_the_network_alone(default_predictor):
    zeros = np.stack([model_input(canvas_array("0", width=w)) for w in (10, 18, 26)])
    memory = Memory.of(default_predictor, zeros, [0, 0, 0])
    seven = model_input(canvas_array("7"))
    probabilities, embeddings = default_predictor.predict_and_embed(seven[None])
    blended, say = memory.blend(probabilities, embeddings)
    assert say[0] < 0.2 and blended[0].argmax() == probabilities[0].argmax() == 7
    assert np.allclose(blended.sum(axis=1), 1, atol=1e-4)


def test_an_empty_memory_changes_nothing_and_a_reading_says_what_it_consulted(default_predictor):
    canvas = canvas_array("4")
    plain = read(canvas, default_predictor)
    empty = read(canvas, default_predictor, memory=Memory(np.zeros((0, 128), np.float32), np.zeros(0, np.int64)))
    assert np.allclose(plain.digits[0].probabilities, empty.digits[0].probabilities, atol=1e-5)
    assert empty.memory_size == 0 and empty.digits[0].remembered == 0
    four = plain.digits[0].input
    kept = Memory.of(default_predictor, np.stack([four, four]), [4, 4])
    remembered = read(canvas, default_predictor, memory=kept)
    assert remembered.memory_size == 2 and remembered.digits[0].remembered > 0.95 and remembered.text == "4"
