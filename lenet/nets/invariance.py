"""How a model's answer holds as its input is transformed: one sweep, one batched model call.

`explore` transforms a 28x28 input over a range of amounts (`lenet.images.transforms`), reads
the whole batch with a `Predictor` at once and returns a `Sweep`: the amounts, the inputs,
the probabilities and what follows from them (the answer at each point, how far it holds).
"""

import dataclasses

import numpy as np

from lenet.images import transforms


@dataclasses.dataclass(frozen=True)
class Sweep:
    transform: str
    model: str
    amounts: np.ndarray  # (N,) float
    images: np.ndarray  # (N, 28, 28) float32, 0-255: what the model read at each amount
    probabilities: np.ndarray  # (N, 10)

    @property
    def answers(self):
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self):
        return self.probabilities.max(axis=1)

    @property
    def identity_index(self):
        """The point whose amount changes the digit least (the untransformed input)."""
        return int(np.abs(self.amounts - transforms.transform(self.transform).identity).argmin())

    @property
    def answer(self):
        """The answer to the untransformed digit."""
        return int(self.answers[self.identity_index])

    def holds(self):
        """`(low, high)`: the amounts around the untransformed digit over which the answer stays."""
        same = self.answers == self.answer
        start = stop = self.identity_index
        while start > 0 and same[start - 1]:
            start -= 1
        while stop < len(same) - 1 and same[stop + 1]:
            stop += 1
        return float(self.amounts[start]), float(self.amounts[stop])

    def summary(self):
        """One line: over which amounts the answer holds, and what it becomes just beyond."""
        chosen = transforms.transform(self.transform)
        low, high = self.holds()
        if (low, high) == (self.amounts[0], self.amounts[-1]):
            return f"{self.model} reads {self.answer} over the whole sweep ({chosen.show(low)} to {chosen.show(high)})."
        start, stop = int(np.flatnonzero(self.amounts == low)[0]), int(np.flatnonzero(self.amounts == high)[0])
        beyond = [
            f"{self.answers[i]} at {chosen.show(self.amounts[i])}" for i in (start - 1, stop + 1) if 0 <= i < len(self)
        ]
        held = f"{self.model} reads {self.answer} from {chosen.show(low)} to {chosen.show(high)}"
        return f"{held}; beyond: {', '.join(beyond)}."

    def __len__(self):
        return len(self.amounts)

    def rows(self):
        """One plain record per point (amount, digit read, its probability, model), for a chart."""
        return [
            {"amount": float(a), "digit": str(int(d)), "probability": float(p), "model": self.model}
            for a, d, p in zip(self.amounts, self.answers, self.confidence)
        ]


def explore(predictor, image, name, amounts=None):
    """The `Sweep` of `image` (28x28, 0-255) under the transformation `name`, read by
    `predictor` in one batched call. Raises `TransformRefused` for an empty image."""
    chosen = transforms.transform(name)
    amounts = np.asarray(chosen.amounts if amounts is None else amounts, np.float64)
    images = transforms.sweep(image, name, amounts)
    return Sweep(name, predictor.name, amounts, images, predictor.predict(images))
