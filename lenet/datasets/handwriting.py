"""Real people's handwritten digits, for training and for judging the model on writers it never saw.

Five public sets (see their README for sources and licences; credit them as `SOURCES` says):
pen trajectories of UNIPEN (268 writers), UJI Pen Characters (60 Spanish writers) and NumberPad
(one touch-screen writer), and scans of USPS zip codes and of optdigits' 30 training writers.
They are never committed: the loader finds them in a folder the user names (`HANDWRITING_DIR`,
`--handwriting-dir`), checks every file against its SHA-256, and splits each set by writer, so
the writers a figure is measured on are never trained on.

Pen digits are lists of strokes, each an (n, 2) float32 array of (x, y) points in writing
order, x to the right and y down (a canvas's convention), in the device's own units. Scans are
uint8 images, ink 255 on paper 0.
"""

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from lenet.errors import Refused


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    file: str
    sha256: str
    kind: str  # "pen" or "scan"
    what: str
    credit: str
    # How writers are split: "writers" (by writer id), "blocks" (no ids: runs of consecutive
    # digits, which come from one envelope), or "test" (the whole set held out, never trained on).
    split: str = "writers"


SOURCES = {
    source.name: source
    for source in (
        Source(
            "unipen",
            "unipen_1a_digits.npz",
            "f4d4b09d8edc6153b1efb5f2dca4c7936aad3b84aff5fadfcd2826d0e395c1ad",
            "pen",
            "UNIPEN 1a: 15,953 pen digits of 268 writers from 17 groups on 1990s tablets",
            "International Unipen Foundation / NIST; Guyon et al., ICPR 1994; CC BY 4.0 (doi:10.5281/zenodo.1195803)",
        ),
        Source(
            "uji",
            "uji2_digits.npz",
            "ae234edc8f02cc182d3a50f9e71b27d3f10b7c6aefc7514ad37c035068a2d35f",
            "pen",
            "UJI Pen Characters v2: 1,200 stylus digits of 60 Spanish writers",
            "Llorens et al., LREC 2008; UCI Machine Learning Repository (id 177), CC BY 4.0",
        ),
        Source(
            "numberpad",
            "numberpad_bridger_digits.npz",
            "76833f3f5f2c824131893137e4df5805abafc0b056c8ad8fdf4d7ac98bc34149",
            "pen",
            "NumberPad: 822 finger digits of one writer on an iPad",
            "Bridger Maxwell, github.com/bridger/NumberPad, Apache License 2.0",
            split="test",
        ),
        Source(
            "usps",
            "usps_train.npz",
            "6ffa07e25fa8ac0958f8a5459143110c192d45c1bedfcada1fc4d0a7e7cfe947",
            "scan",
            "USPS: 7,291 scanned zip-code digits, 16x16",
            "Hull, IEEE PAMI 16(5), 1994",
            split="blocks",
        ),
        Source(
            "optdigits",
            "optdigits_train_writers.npz",
            "ec6e063cea189e6c238989f278e1e91434aa5dcf7741859d7a648478e3e7be65",
            "scan",
            "optdigits: 2,880 scanned 32x32 bitmaps of 30 writers",
            "Alpaydin & Kaynak, Bogazici University, 1995; UCI Machine Learning Repository, CC BY 4.0",
            split="test",
        ),
    )
}
PEN = tuple(name for name, source in SOURCES.items() if source.kind == "pen")
SCAN = tuple(name for name, source in SOURCES.items() if source.kind == "scan")

HELD_OUT = 0.2  # of each set's writers (or blocks): judged on, never trained on
VALIDATION = 0.1  # of each set's writers: picks the best epoch, never trained on
BLOCK = 100  # consecutive USPS digits per block (a zip code is five digits of one writer)


class HandwritingNotFound(Refused):
    """The handwriting sets are not where the user said, or a file is damaged; the message says which."""

    def __init__(self, message):
        super().__init__(message, public="the server has no copy of the real writers' handwriting sets")


@dataclasses.dataclass(frozen=True)
class Digits:
    """One set's digits: `strokes` (pen sets) or `images` (scans), their labels and writers."""

    source: str
    labels: np.ndarray  # (n,) int64, 0-9
    writers: np.ndarray  # (n,) str: a writer id, or a block of consecutive digits where a set has none
    strokes: list | None = None  # pen: per digit, a list of (k, 2) float32 strokes, y down
    images: np.ndarray | None = None  # scan: (n, h, w) uint8, ink 255 on paper 0
    suspect: np.ndarray | None = None  # (n,) bool: a label its own set flags as doubtful

    def __len__(self):
        return len(self.labels)

    def subset(self, keep):
        keep = np.asarray(keep)
        pick = lambda a: None if a is None else a[keep]
        strokes = None if self.strokes is None else [self.strokes[i] for i in np.flatnonzero(keep)]
        return dataclasses.replace(
            self,
            labels=self.labels[keep],
            writers=self.writers[keep],
            strokes=strokes,
            images=pick(self.images),
            suspect=pick(self.suspect),
        )

    def part(self, name):
        """The digits of one split: "train", "validation" or "test" (see `split_of`)."""
        return self.subset(split_of(self.source, self.writers) == name)


def find_folder(folder):
    """The folder holding the sets, or `HandwritingNotFound` saying how to provide it."""
    if folder is None:
        raise HandwritingNotFound(
            "The real writers' handwriting sets were not found: set HANDWRITING_DIR (or pass "
            "--handwriting-dir) to the folder holding "
            + ", ".join(s.file for s in SOURCES.values())
            + " (see README, Real handwriting)."
        )
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise HandwritingNotFound(
            f"The handwriting folder {folder} does not exist; set HANDWRITING_DIR to the folder "
            "holding the sets (see README, Real handwriting)."
        )
    return folder


def load(name, folder):
    """The digits of set `name` (one of `SOURCES`) from `folder`, checked against its SHA-256."""
    source = SOURCES[name]
    path = find_folder(folder) / source.file
    try:
        content = path.read_bytes()
    except OSError as error:
        raise HandwritingNotFound(
            f"{path} can't be read ({error.strerror or error}); the {name} set is needed "
            "here: copy it from the handwriting sets' folder."
        ) from None
    if hashlib.sha256(content).hexdigest() != source.sha256:
        raise HandwritingNotFound(
            f"{path} is not the {name} set this version knows (SHA-256 differs): it is damaged "
            "or another version; replace it with a fresh copy."
        )
    with np.load(path, allow_pickle=False) as npz:
        return _pen(name, npz) if source.kind == "pen" else _scan(name, npz)


def _pen(name, npz):
    points = npz["points"].astype(np.float32)
    stroke_start, sample_start = npz["stroke_start"], npz["sample_start"]
    strokes = [
        [points[stroke_start[k] : stroke_start[k + 1]] for k in range(sample_start[i], sample_start[i + 1])]
        for i in range(len(sample_start) - 1)
    ]
    names = npz["writer_name"]
    suspect = npz["qa_knn_agree"] == 0 if "qa_knn_agree" in npz.files else np.zeros(len(strokes), bool)
    return Digits(
        source=name,
        labels=npz["label"].astype(np.int64),
        writers=np.array([f"{name}/{w}" for w in names[npz["writer"]]]),
        strokes=strokes,
        suspect=suspect,
    )


def _scan(name, npz):
    labels = npz["labels"].astype(np.int64)
    # No writer ids: consecutive digits (an envelope's zip code) keep together in blocks.
    blocks = np.array([f"{name}/block-{i // BLOCK}" for i in range(len(labels))])
    return Digits(source=name, labels=labels, writers=blocks, images=npz["images"], suspect=np.zeros(len(labels), bool))


def split_of(source, writers):
    """ "train", "validation" or "test" for each writer id: a fixed draw per writer from a hash
    of its id, so a writer is in one part only and the split never changes between runs."""
    if SOURCES[source].split == "test":
        return np.full(len(writers), "test")
    unique, index = np.unique(writers, return_inverse=True)
    draws = np.array([int(hashlib.sha256(w.encode()).hexdigest()[:8], 16) / 2**32 for w in unique])
    parts = np.where(draws < HELD_OUT, "test", np.where(draws < HELD_OUT + VALIDATION, "validation", "train"))
    return parts[index]
