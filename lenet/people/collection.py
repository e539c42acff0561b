"""Collections of a person's own digits, kept to teach the model their handwriting.

A collection belongs to one owner (a visitor's private id, `lenet.people.owners`) and is a
folder `OWNER/COLLECTION/` of the collections folder in the layout Keras reads
(`keras.utils.image_dataset_from_directory`): `LABEL/ID.png` holds the 28x28 model input of each
kept digit, `.crops/ID.png` the digit as it was written, `.collection.json` its display name.
Every digit is a new file written atomically under a fresh id, so two sessions saving at once
lose nothing, and nothing is ever overwritten.

What may be done with a collection is fixed when it is opened (`Collections` for one owner):
its owner may do everything; a class collection (`Settings.class_collection`) takes anyone's
digits but only whoever may train reads or changes it; the server itself (a teaching job)
reads any collection by its reference and can change none.
"""

import dataclasses
import io
import json
import re
import time
import unicodedata
import uuid
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from lenet.config import CLASS_NAMES, IMAGE_SIZE, MAX_FILE_BYTES
from lenet.errors import Refused
from lenet.images.files import ImageRefused, image_pixels
from lenet.images.reading import read_file
from lenet.storage import atomic_file, write_json_atomic

DEFAULT_NAME = "my digits"
NAME_PATTERN = re.compile(r"[\w][\w .'-]{0,39}")  # letters (any script), digits, space, . ' - _
OWNER_PATTERN = re.compile(r"[0-9a-fu][0-9a-f]{15}")  # `lenet.people.owners`' ids
CLASS_OWNER = "_class"  # the folder of the class collection: no visitor's id looks like it
READ, ADD, CHANGE = "read", "add", "change"  # see digits and zip them; keep one; delete or add a zip
EVERYTHING, NOTHING = frozenset({READ, ADD, CHANGE}), frozenset()
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_UNPACKED = 200 * 1024 * 1024
MAX_ZIP_PIXELS = 400_000_000  # a zip's pictures together: ten 40 MP photos, or 5,000 of 280x280
UNPACK_CHUNK = 64 * 1024
INFO_FILE, CROPS = ".collection.json", ".crops"


class CollectionRefused(Refused, ValueError):
    """A name, file or archive this app won't take; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Quotas:
    """The most digits one collection, one owner and the whole server keep (`Settings`)."""

    per_collection: int = 2000
    per_owner: int = 5000
    total: int = 50_000


@dataclasses.dataclass(frozen=True)
class Kept:
    id: str
    label: int
    path: Path  # the 28x28 model input

    @property
    def crop_path(self):
        return self.path.parent.parent / CROPS / self.path.name


def check_name(name):
    """The name, NFKC-normalised and stripped, if it can name a collection; else
    `CollectionRefused` saying why (a fullwidth or ligature letter is read as its plain one)."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    if not name:
        raise CollectionRefused("Give the collection a name (whose digits are these?).")
    if not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise CollectionRefused(
            f"{name[:40]!r} can't name a collection: use up to 40 letters, digits, spaces, "
            "dots, dashes and apostrophes, starting with a letter or digit."
        )
    return name


def folder_name(name):
    """The collection's folder: its name (or the name in a reference `OWNER/NAME`) case-folded,
    runs of spaces, dots, apostrophes and dashes as one dash. Names that differ only so
    (`My Digits`, `MY.DIGITS`, `my'digits`; a Kelvin sign and a k) are one collection of
    their owner's, deliberately: a person typing their name twice reaches the same digits."""
    return re.sub(r"[\s.'-]+", "-", check_name(name.rsplit("/", 1)[-1] if name else name).casefold()).strip("-")


def split_reference(reference):
    """`(owner, name)` of a collection reference `OWNER/NAME` (`Collection.reference`)."""
    owner, _, name = str(reference or "").partition("/")
    if not (OWNER_PATTERN.fullmatch(owner) or owner == CLASS_OWNER) or not name:
        raise CollectionRefused(f"{str(reference)[:60]!r} is not a collection reference (OWNER/NAME).")
    return owner, check_name(name)


class Collection:
    """One owner's collection, with what the opener may do with it (`rights`)."""

    def __init__(self, root, owner, name, rights=NOTHING, quotas=Quotas()):
        self.name = check_name(name)
        self.owner, self.root = owner, Path(root)
        self.folder = self.root / owner / folder_name(name)
        self.rights, self.quotas = frozenset(rights), quotas

    @property
    def reference(self):
        """`OWNER/NAME`: what a teaching run names, and the server's job opens read-only."""
        return f"{self.owner}/{self.name}"

    def may(self, right):
        return right in self.rights

    def _require(self, right):
        if right not in self.rights:
            what = {READ: "see or download", ADD: "keep digits in", CHANGE: "change"}[right]
            raise CollectionRefused(f"You can't {what} the collection “{self.name}”: it is not yours.")

    def exists(self):
        return (self.folder / INFO_FILE).is_file()

    def create(self):
        self._require(ADD)
        if not self.exists():
            write_json_atomic(self.folder / INFO_FILE, {"name": self.name, "created": time.time()})
        return self

    def add(self, label, model_input, crop=None):
        """Keep one digit: its label (0-9), its 28x28 model input (0-255), the crop as written.
        Refused past any of the quotas."""
        self._require(ADD)
        if self.room() <= 0:
            raise CollectionRefused(self._full())
        return self._keep(label, model_input, crop)

    def _keep(self, label, model_input, crop):
        if str(label) not in CLASS_NAMES:
            raise CollectionRefused(f"{label!r} is not a digit label (0-9).")
        model_input = np.asarray(model_input)
        if model_input.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise CollectionRefused(f"A kept digit is a 28x28 model input, not {model_input.shape}.")
        if not self.exists():
            write_json_atomic(self.folder / INFO_FILE, {"name": self.name, "created": time.time()})
        digit_id = f"{time.time_ns():x}-{uuid.uuid4().hex[:8]}"
        if crop is not None:
            _save_png(self.folder / CROPS / f"{digit_id}.png", crop)
        path = self.folder / str(label) / f"{digit_id}.png"
        _save_png(path, model_input)
        return Kept(digit_id, int(label), path)

    def room(self):
        """How many more digits this collection may keep under all three quotas."""
        mine = _count(self.folder.glob("[0-9]/*.png"))
        owners = _count(self.folder.parent.glob("*/[0-9]/*.png"))
        left = min(self.quotas.per_collection - mine, self.quotas.per_owner - owners)
        return max(0, min(left, self.quotas.total - _count(self.root.glob("*/*/[0-9]/*.png")))) if left > 0 else 0

    def _full(self):
        return (
            f"“{self.name}” can keep no more digits: up to {self.quotas.per_collection:,} a collection, "
            f"{self.quotas.per_owner:,} a person and {self.quotas.total:,} on this server are kept."
        )

    def digits(self):
        """Every kept digit, oldest first."""
        self._require(READ)
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
        pairs = [(k.label, pixels) for k in kept if (pixels := _model_input(k.path)) is not None]
        images = np.stack([p for _, p in pairs]) if pairs else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        return images, np.array([label for label, _ in pairs], np.int64)

    def delete(self, digit_id):
        """Remove one kept digit (its input and its crop); unknown ids are refused."""
        self._require(CHANGE)
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

    def add_zip(self, data, cancelled=None):
        """Add every digit image of a zip in the ImageFolder layout (`[FOLDER/]LABEL/NAME.ext`).

        Each image is read as an upload is (same checks, same preprocessing, all its ink one
        digit). Members are unpacked in bounded chunks and stopped past their declared size;
        the zip's pictures together may hold `MAX_ZIP_PIXELS`; the work stops when
        `cancelled()` says the uploader went away, or the quotas are reached. Returns
        `(added, skipped)`: how many were kept, and one line per entry that was not. Raises
        `CollectionRefused` for an archive that is not a zip or is too big.
        """
        self._require(CHANGE)
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
        added, skipped, pixels, room = 0, [], 0, self.room()
        for done, member in enumerate(members):
            if cancelled is not None and cancelled():
                skipped.append(f"the rest ({len(members) - done:,} files): not read, the page was closed.")
                break
            if added >= room:
                skipped.append(f"the rest ({len(members) - done:,} files): {self._full()}")
                break
            try:
                label = _label_of(member)
                content = _unpacked(archive, member)
                pixels += image_pixels(content)
                if pixels > MAX_ZIP_PIXELS:
                    skipped.append(
                        f"{member.filename[:80]} and the rest: the zip's pictures hold more than "
                        f"{MAX_ZIP_PIXELS // 1_000_000:,} megapixels together; send smaller pictures."
                    )
                    break
                digit = digit_in(content, cancelled)
                self._keep(label, digit.input, digit.crop)
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
    """The collections of one installation (`Settings.collections_dir`) as one owner sees them.

    `owner` None is the server itself: `get` takes a reference (`OWNER/NAME`) and opens it
    read-only, so a teaching job can read what it was given and change nothing. A visitor's
    `get(name)` opens their own collection, or the class collection (`class_name`) to keep
    digits in, readable and changeable only by a `teacher` (whoever may train).
    """

    def __init__(self, root, owner=None, class_name=None, teacher=False, quotas=Quotas()):
        if owner is not None and not OWNER_PATTERN.fullmatch(owner):
            raise CollectionRefused(f"{owner[:20]!r} is not an owner's id.")
        self.root, self.owner, self.quotas = Path(root), owner, quotas
        self.class_name = check_name(class_name) if class_name else None
        self.teacher = teacher

    def get(self, name):
        if self.owner is None:
            owner, name = split_reference(name)
            return Collection(self.root, owner, name, {READ}, self.quotas)
        if self.class_name and folder_name(name) == folder_name(self.class_name):
            rights = EVERYTHING if self.teacher else {ADD}
            return Collection(self.root, CLASS_OWNER, self.class_name, rights, self.quotas)
        return Collection(self.root, self.owner, name, EVERYTHING, self.quotas)

    def names(self):
        """The owner's collections' names, then the class collection's (when there is one)."""
        names = []
        for info in sorted((self.root / self.owner).glob(f"*/{INFO_FILE}")) if self.owner else ():
            try:
                names.append(json.loads(info.read_text())["name"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return names + [self.class_name] * bool(self.class_name)


def digit_in(data, cancelled=None):
    """The one digit in an image file's bytes or path (all its ink), read as uploads are."""
    reading = read_file(data, one_digit=True, cancelled=cancelled)
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


def _unpacked(archive, member):
    """A member's bytes, inflated a chunk at a time and stopped past its declared size (a
    header may lie: 1,000 bytes declared, 500 MB inflated) or the per-file limit."""
    limit = min(member.file_size, MAX_FILE_BYTES)
    chunks, size = [], 0
    with archive.open(member) as stream:
        while chunk := stream.read(min(UNPACK_CHUNK, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise CollectionRefused(
                    f"inflates past its declared {member.file_size:,} bytes (a damaged or hostile zip)."
                    if size > member.file_size
                    else f"over {MAX_FILE_BYTES // 2**20} MB unpacked; images up to that are read."
                )
    return b"".join(chunks)


def _model_input(path):
    """A kept 28x28 model input, or None when its file is damaged (a full disk, a bad copy):
    one broken digit does not hide the others."""
    try:
        with Image.open(path, formats=("PNG",)) as image:
            pixels = np.asarray(image.convert("L"))
    except (OSError, ValueError, SyntaxError):
        return None
    return pixels if pixels.shape == (IMAGE_SIZE, IMAGE_SIZE) else None


def _count(paths):
    return sum(1 for p in paths if not p.name.startswith("."))


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
