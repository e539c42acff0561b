"""Collections of a person's own digits, kept to teach the model their handwriting.

A collection is a folder in the data folder in the layout Keras reads
(`keras.utils.image_dataset_from_directory`): `COLLECTION/LABEL/ID.png` holds the 28x28
model input of each kept digit; `COLLECTION/.crops/ID.png` the digit as it was written, and
`COLLECTION/.collection.json` its display name. Every digit is a new file written atomically
under a fresh id, so two sessions saving at once lose nothing, and nothing is ever overwritten.
"""

import dataclasses
import io
import json
import re
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from lenet.config import CLASS_NAMES, IMAGE_SIZE, MAX_FILE_BYTES
from lenet.errors import Refused
from lenet.images.files import ImageRefused
from lenet.images.reading import read_file
from lenet.storage import atomic_file, write_json_atomic

DEFAULT_NAME = "my digits"
NAME_PATTERN = re.compile(r"[\w][\w .'-]{0,39}")  # letters (any script), digits, space, . ' - _
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_UNPACKED = 200 * 1024 * 1024
INFO_FILE, CROPS = ".collection.json", ".crops"


class CollectionRefused(Refused, ValueError):
    """A name, file or archive this app won't take; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Kept:
    id: str
    label: int
    path: Path  # the 28x28 model input

    @property
    def crop_path(self):
        return self.path.parent.parent / CROPS / self.path.name


def check_name(name):
    """The name, stripped, if it can name a collection; else `CollectionRefused` saying why."""
    name = (name or "").strip()
    if not name:
        raise CollectionRefused("Give the collection a name (whose digits are these?).")
    if not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise CollectionRefused(
            f"{name[:40]!r} can't name a collection: use up to 40 letters, digits, spaces, "
            "dots, dashes and apostrophes, starting with a letter or digit."
        )
    return name


def folder_name(name):
    """The collection's folder: its name in lower case, spaces and dots as dashes."""
    return re.sub(r"[\s.']+", "-", check_name(name).lower())


class Collection:
    def __init__(self, root, name):
        self.name = check_name(name)
        self.folder = Path(root) / folder_name(name)

    def exists(self):
        return (self.folder / INFO_FILE).is_file()

    def create(self):
        if not self.exists():
            write_json_atomic(self.folder / INFO_FILE, {"name": self.name, "created": time.time()})
        return self

    def add(self, label, model_input, crop=None):
        """Keep one digit: its label (0-9), its 28x28 model input (0-255), the crop as written."""
        if str(label) not in CLASS_NAMES:
            raise CollectionRefused(f"{label!r} is not a digit label (0-9).")
        model_input = np.asarray(model_input)
        if model_input.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise CollectionRefused(f"A kept digit is a 28x28 model input, not {model_input.shape}.")
        self.create()
        digit_id = f"{time.time_ns():x}-{uuid.uuid4().hex[:8]}"
        if crop is not None:
            _save_png(self.folder / CROPS / f"{digit_id}.png", crop)
        path = self.folder / str(label) / f"{digit_id}.png"
        _save_png(path, model_input)
        return Kept(digit_id, int(label), path)

    def digits(self):
        """Every kept digit, oldest first."""
        kept = [
            Kept(p.stem, int(p.parent.name), p)
            for label in CLASS_NAMES
            for p in (self.folder / label).glob("*.png")
            if not p.name.startswith(".")
        ]
        return sorted(kept, key=lambda k: k.id)

    def version(self):
        """Changes whenever a digit is kept or deleted (the label folders' modification times): a cache key."""
        return tuple(
            (self.folder / label).stat().st_mtime_ns if (self.folder / label).is_dir() else 0 for label in CLASS_NAMES
        )

    def counts(self):
        counts = dict.fromkeys(range(len(CLASS_NAMES)), 0)
        for kept in self.digits():
            counts[kept.label] += 1
        return counts

    def arrays(self, per_class=None):
        """`(images, labels)`: (n, 28, 28) uint8 model inputs and (n,) labels, oldest first;
        only the oldest `per_class` of each digit when given."""
        kept = self.digits()
        if per_class is not None:
            kept = _first_of_each(kept, per_class)
        images = (
            np.stack([np.asarray(Image.open(k.path).convert("L")) for k in kept])
            if kept
            else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        )
        return images, np.array([k.label for k in kept], np.int64)

    def delete(self, digit_id):
        """Remove one kept digit (its input and its crop); unknown ids are refused."""
        found = [k for k in self.digits() if k.id == digit_id]
        if not found:
            raise CollectionRefused(f"There is no digit {digit_id!r} in {self.name}.")
        found[0].path.unlink(missing_ok=True)
        found[0].crop_path.unlink(missing_ok=True)

    def to_zip(self):
        """The collection as a zip in the ImageFolder layout (`LABEL/ID.png`), as bytes."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for kept in self.digits():
                archive.write(kept.path, f"{kept.label}/{kept.id}.png")
        return buffer.getvalue()

    def add_zip(self, data):
        """Add every digit image of a zip in the ImageFolder layout (`[FOLDER/]LABEL/NAME.ext`).

        Each image is read as an upload is (same checks, same preprocessing, all its ink one
        digit). Returns `(added, skipped)`: how many were kept, and one line per entry that
        was not. Raises `CollectionRefused` for an archive that is not a zip or is too big.
        """
        if len(data) > MAX_FILE_BYTES:
            raise CollectionRefused(
                f"The zip is {len(data) / 1e6:.1f} MB; up to {MAX_FILE_BYTES // 2**20} MB are read."
            )
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [m for m in archive.infolist() if not m.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError):
            raise CollectionRefused("This is not a zip archive (or it is damaged).") from None
        if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_ZIP_UNPACKED:
            raise CollectionRefused(
                f"The zip holds {len(members):,} files, {sum(m.file_size for m in members) / 1e6:,.0f} MB "
                f"unpacked; up to {MAX_ZIP_MEMBERS:,} files and {MAX_ZIP_UNPACKED // 2**20} MB are read."
            )
        added, skipped = 0, []
        for member in members:
            try:
                label = _label_of(member)
                self.add_image(label, archive.read(member))
                added += 1
            except (CollectionRefused, ImageRefused) as refusal:
                skipped.append(f"{member.filename[:80]}: {refusal}")
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:
                skipped.append(f"{member.filename[:80]}: cannot be unpacked ({type(error).__name__}).")
        return added, skipped

    def add_image(self, label, data):
        """Keep the digit in an image file's bytes (all its ink one digit), read as uploads are."""
        digit = digit_in(data)
        return self.add(label, digit.input, digit.crop)


class Collections:
    """The collections of one installation (`Settings.collections_dir`)."""

    def __init__(self, root):
        self.root = Path(root)

    def get(self, name):
        return Collection(self.root, name)

    def names(self):
        names = []
        for info in sorted(self.root.glob(f"*/{INFO_FILE}")):
            try:
                names.append(json.loads(info.read_text())["name"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return names


def digit_in(data):
    """The one digit in an image file's bytes or path (all its ink), read as uploads are."""
    reading = read_file(data, one_digit=True)
    if not reading.digits:
        raise CollectionRefused("no digit found in this picture.")
    return reading.digits[0]


def read_image_folder(folder):
    """`(images, labels, skipped)` from a folder in the ImageFolder layout (`0/ ... 9/` of image
    files in any format an upload may be): each read as uploads are, all its ink one digit;
    `skipped` has one line per file that could not be read."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CollectionRefused(f"{folder} is not a folder.")
    images, labels, skipped = [], [], []
    for label in CLASS_NAMES:
        for path in sorted((folder / label).glob("*")) if (folder / label).is_dir() else []:
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                images.append(digit_in(path).input)
                labels.append(int(label))
            except (CollectionRefused, ImageRefused) as refusal:
                skipped.append(f"{path}: {refusal}")
    if not images and not skipped:
        raise CollectionRefused(f"{folder} has no images in subfolders named 0 to 9 (the ImageFolder layout).")
    shape = (len(images), IMAGE_SIZE, IMAGE_SIZE)
    return (
        np.clip(np.stack(images), 0, 255).astype(np.uint8) if images else np.zeros(shape, np.uint8),
        np.array(labels, np.int64),
        skipped,
    )


def _label_of(member):
    parts = member.filename.replace("\\", "/").split("/")
    if (
        member.filename.startswith("/")
        or ".." in parts
        or len(parts) not in (2, 3)
        or any(p.startswith(".") for p in parts)
    ):
        raise CollectionRefused("not a LABEL/NAME image (0-9 folders, no absolute or '..' paths).")
    if member.external_attr >> 28 == 0xA:  # a symbolic link stored in the zip
        raise CollectionRefused("a link, not a file.")
    if parts[-2] not in CLASS_NAMES:
        raise CollectionRefused(f"its folder {parts[-2][:20]!r} is not a digit label (0-9).")
    if member.file_size > MAX_FILE_BYTES:
        raise CollectionRefused(
            f"{member.file_size / 1e6:.0f} MB unpacked; images up to {MAX_FILE_BYTES // 2**20} MB are read."
        )
    return int(parts[-2])


def _first_of_each(kept, per_class):
    taken = dict.fromkeys(range(len(CLASS_NAMES)), 0)
    chosen = []
    for digit in kept:
        if taken[digit.label] < per_class:
            taken[digit.label] += 1
            chosen.append(digit)
    return chosen


def _save_png(path, pixels):
    with atomic_file(path) as tmp:
        Image.fromarray(np.clip(np.asarray(pixels), 0, 255).astype(np.uint8)).save(tmp, "PNG")
