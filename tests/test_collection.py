"""Collections of kept digits: the ImageFolder layout, names, zips in and out, nothing ever lost."""

import io
import threading
import zipfile

import keras
import numpy as np
import pytest
from handwriting import canvas_array, paper

from lenet.images.preprocess import prepare_digits
from lenet.people.collection import CollectionRefused, Collections, check_name, read_image_folder


def kept_input(digit=7):
    _, (prepared,) = prepare_digits(canvas_array(digit))
    return prepared


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def zipped(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


OWNER = "0123456789abcdef"


@pytest.fixture
def collections(tmp_path):
    return Collections(tmp_path / "collections", OWNER)


def test_kept_digits_are_in_the_layout_keras_reads(collections, tmp_path):
    mine = collections.get("Ana's digits")
    for digit in (3, 3, 7):
        prepared = kept_input(digit)
        mine.add(digit, prepared.input, prepared.crop)
    assert mine.counts()[3] == 2 and mine.counts()[7] == 1
    assert sorted(p.name for p in mine.folder.iterdir() if not p.name.startswith(".")) == ["3", "7"]
    assert len(list((mine.folder / ".crops").glob("*.png"))) == 3
    dataset = keras.utils.image_dataset_from_directory(
        mine.folder, image_size=(28, 28), color_mode="grayscale", batch_size=8, shuffle=False, verbose=False
    )
    assert dataset.class_names == ["3", "7"]  # the hidden crops folder is not a class
    images, labels = mine.arrays()
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8 and sorted(labels) == [3, 3, 7]
    assert collections.names() == ["Ana's digits"]


def test_two_sessions_saving_at_once_lose_nothing(collections):
    prepared = kept_input(4)
    errors = []

    def keep(n):
        try:
            for _ in range(n):
                collections.get("class 5b").add(4, prepared.input, prepared.crop)
        except Exception as error:  # noqa: BLE001 - any failure fails the test below
            errors.append(error)

    threads = [threading.Thread(target=keep, args=(25,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and collections.get("class 5b").counts()[4] == 100


@pytest.mark.parametrize(
    "name", ["../../etc", "a/b", "<script>alert(1)</script>", "", "   ", ".hidden", "x" * 41, "..", "back\\slash"]
)
def test_names_that_could_reach_elsewhere_or_inject_markup_are_refused_in_one_line(collections, name):
    with pytest.raises(CollectionRefused) as refused:
        collections.get(name)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 200


def test_a_name_is_kept_as_typed_and_its_folder_is_tame(collections):
    mine = collections.get("  Zoë's 2nd try  ")
    assert mine.name == check_name("Zoë's 2nd try") == "Zoë's 2nd try"
    assert mine.folder.parent == collections.root / OWNER and mine.folder.name == "zoë-s-2nd-try"


def test_a_zip_round_trips_and_adds_to_what_is_kept(collections):
    mine = collections.get("mine")
    for digit in (1, 2):
        prepared = kept_input(digit)
        mine.add(digit, prepared.input, prepared.crop)
    archive = mine.to_zip()
    assert sorted(zipfile.ZipFile(io.BytesIO(archive)).namelist())[0].startswith("1/")
    other = collections.get("copy")
    added, skipped = other.add_zip(archive)
    assert (added, skipped) == (2, []) and other.counts()[1] == 1 and other.counts()[2] == 1
    again, _ = mine.add_zip(archive)  # adding never replaces: both copies are kept
    assert again == 2 and len(mine.digits()) == 4


def test_a_hostile_zip_gets_one_line_per_entry_and_loses_nothing(collections):
    mine = collections.get("mine")
    prepared = kept_input(5)
    mine.add(5, prepared.input, prepared.crop)
    before = sorted(p.read_bytes() for p in mine.folder.rglob("*.png"))
    seven = png(paper("7", size=(160, 200)))
    entries = {
        "../../escape/7/evil.png": seven,
        "/abs/7/evil.png": seven,
        "7/.hidden.png": seven,
        "notes/7.png": seven,  # not a digit folder
        "7/readme.png": b"just text",
        "7/page.png": b"<!doctype html><script>alert(1)</script>",
        "3/empty.png": b"",
        "8/good.png": seven,  # a 7 filed under 8: labels come from folders, as the user made them
        "mine/2/nested.png": png(paper("2", size=(160, 200))),
    }
    added, skipped = mine.add_zip(zipped(entries))
    assert added == 2
    assert len(skipped) == 7 and all("\n" not in line and len(line) < 260 for line in skipped)
    assert not (collections.root.parent / "escape").exists()
    assert sorted(p.read_bytes() for p in mine.folder.rglob("*.png") if p.read_bytes() in before) == before
    assert mine.counts()[8] == 1 and mine.counts()[2] == 1


def test_a_zip_bomb_and_a_non_zip_are_refused_before_unpacking(collections):
    mine = collections.get("mine")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(30):
            archive.writestr(f"7/{i}.png", b"\0" * (10 * 2**20))  # 300 MB unpacked, a few hundred KB packed
    with pytest.raises(CollectionRefused, match="unpacked"):
        mine.add_zip(bomb.getvalue())
    with pytest.raises(CollectionRefused, match="not a zip"):
        mine.add_zip(b"PK\x03\x04 not really")
    assert mine.digits() == []


def test_an_image_folder_is_read_as_uploads_are(tmp_path):
    for digit in (0, 1):
        (tmp_path / "digits" / str(digit)).mkdir(parents=True)
        paper(str(digit), size=(160, 200)).save(tmp_path / "digits" / str(digit) / "a.jpg")
    (tmp_path / "digits" / "1" / "notes.png").write_text("not a picture")
    images, labels, skipped = read_image_folder(tmp_path / "digits")
    assert images.shape == (2, 28, 28) and list(labels) == [0, 1]
    assert len(skipped) == 1 and "notes.png" in skipped[0] and "not an image" in skipped[0]
    with pytest.raises(CollectionRefused, match="ImageFolder"):
        read_image_folder(tmp_path)
