"""Learning from a person's kept digits at once: a memory of them on the network's embedding.

The network's last hidden layer (the input of its output layer) places digits written alike
near each other. A `Memory` holds that embedding for every digit a collection kept; a new
digit's nearest kept digits vote, and their vote is blended with the network's own answer by
how close they are: a digit like one you corrected is read as you said, a digit like none of
yours is read by the network alone. As Teachable Machine learns from a few examples (nearest
neighbours on a pretrained embedding), no job and no training run: a kept digit changes the
very next reading. Its two constants were chosen on the validation writers (UNIPEN, UJI), never on
the writers the figures are measured on (see `benchmarks/writers.py`).
"""

import dataclasses

import numpy as np

from lenet.config import NUM_CLASSES

NEIGHBOURS = 3  # kept digits that vote
CLOSENESS = 0.3  # how fast a neighbour's say falls as the cosine similarity falls from 1


@dataclasses.dataclass(frozen=True)
class Memory:
    """The kept digits of one collection, as embeddings of one model."""

    embeddings: np.ndarray  # (n, D) float32, unit rows
    labels: np.ndarray  # (n,) int64

    def __len__(self):
        return len(self.labels)

    @classmethod
    def of(cls, predictor, images, labels):
        """The memory of kept digits `images` (n, 28, 28) with their `labels`, for `predictor`'s model."""
        _, embeddings = predictor.predict_and_embed(np.asarray(images, np.float32))
        return cls(_unit(embeddings), np.asarray(labels, np.int64))

    def blend(self, probabilities, embeddings):
        """`(probabilities, say)`: the network's answers `(N, 10)` for digits with these
        `embeddings`, blended with their nearest kept digits' vote; `say` (N,) is how much the
        memory weighed in each answer (0: the network alone, 1: the memory alone)."""
        probabilities = np.asarray(probabilities, np.float32)
        if not len(self) or not len(probabilities):
            return probabilities, np.zeros(len(probabilities), np.float32)
        similarity = _unit(embeddings) @ self.embeddings.T
        nearest = np.argsort(-similarity, axis=1)[:, :NEIGHBOURS]
        closeness = np.exp((np.take_along_axis(similarity, nearest, axis=1) - 1) / CLOSENESS)
        votes = np.zeros((len(probabilities), NUM_CLASSES), np.float32)
        np.add.at(votes, (np.arange(len(probabilities))[:, None], self.labels[nearest]), closeness)
        say = closeness.max(axis=1)
        vote = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-12)
        return (1 - say[:, None]) * probabilities + say[:, None] * vote, say


def _unit(embeddings):
    embeddings = np.asarray(embeddings, np.float32).reshape(len(embeddings), -1)
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
