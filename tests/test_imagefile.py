"""Untrusted files: the hostile corpus through the decoder and through scripts/predict.py."""

import json
import subprocess
import sys

import pytest
from hostile import ERROR, make_corpus

from lenet.images.files import ImageRefused, open_image
from lenet.images.preprocess import prepare_digits

ROOT = __import__("conftest").ROOT


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 50
    assert sum(expected == ERROR for _, expected in corpus) >= 30


def test_every_refusal_is_one_clear_sentence(corpus):
    # Refused when decoding (not an image, a bomb...) or when read (thousands of marks).
    for path, expected in corpus:
        if expected != ERROR:
            continue
        with pytest.raises(ImageRefused) as refused:
            prepare_digits(open_image(path))
        message = str(refused.value)
        assert message and "\n" not in message and len(message) < 160, (path.name, message)
        assert "Traceback" not in message


def test_good_files_decode_to_images(corpus):
    for path, expected in corpus:
        if expected not in (ERROR, None):
            image = open_image(path)
            assert image.size[0] >= 1 and image.size[1] >= 1


def test_refusal_messages_say_what_the_file_is(tmp_path):
    cases = {b"%PDF-1.7 ...": "PDF", b"<svg></svg>": "SVG", b"<!doctype html><p>": "HTML", b"": "empty"}
    for data, word in cases.items():
        with pytest.raises(ImageRefused, match=word):
            open_image(data)


@pytest.mark.slow
def test_predict_script_reads_the_good_and_refuses_the_bad(corpus):
    paths = [str(path) for path, _ in corpus]
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "predict.py"), "--json", *paths],
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = json.loads(run.stdout)
    assert run.returncode == 1  # some files failed
    assert [r["path"] for r in results] == paths
    for (path, expected), result in zip(corpus, results):
        if expected == ERROR:
            assert set(result) == {"path", "error"} and result["error"], result
        elif expected is None:
            assert "error" not in result and set(result["digits"]) <= set("0123456789"), result
        else:
            assert result["digits"] == expected, (path.name, result)
            assert 0 <= result["confidence"] <= 1


@pytest.mark.slow
def test_predict_script_on_good_files_only_exits_zero(tmp_path):
    from handwriting import paper

    paths = []
    for text in ("3", "47"):
        path = tmp_path / f"{text}.png"
        paper(text, size=(200 * len(text), 220)).save(path)
        paths.append(str(path))
    blank = tmp_path / "blank.png"
    paper("", size=(200, 200)).save(blank)
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "predict.py"), "--json", *paths, str(blank)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert [(r["digits"]) for r in json.loads(run.stdout)] == ["3", "47", ""]
