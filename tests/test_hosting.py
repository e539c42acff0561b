"""Hosted for a class: broken shared files, memory under big uploads, file handles, passwords."""

import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import ROOT
from handwriting import paper
from hostile import zip_of
from streamlit.testing.v1 import AppTest

from app_pages.access import FREE_ATTEMPTS, LONGEST_WAIT_S, PasswordThrottle
from app_pages.visitor import count_address_keep
from benchmarks.samples import just_under_the_pixel_cap
from lenet.config import Settings
from lenet.jobs.catalog import Catalog
from lenet.jobs.runs import RunStore
from lenet.people.collection import CollectionRefused, Collections, Quotas
from lenet.people.owners import new_owner, owner_secret, sign, user_owner, verify

TIMEOUT = 180


def app_on(page=None):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    return app.switch_page(page).run() if page else app


def texts(app):
    return " ".join(
        str(e.value) for kind in ("error", "warning", "info", "caption", "markdown") for e in getattr(app, kind)
    )


def png(image):
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def server(settings, monkeypatch):
    monkeypatch.chdir(ROOT)
    return settings


def break_the_active_model(settings):
    """A copy of the default model, activated, then cut in half (a full disk, a bad copy)."""
    settings.trained_dir.mkdir(parents=True)
    broken = settings.trained_dir / "lenet5-run9.keras"
    shutil.copy(Catalog(settings).find("lenet5").path, broken)
    Catalog(settings).activate("lenet5-run9")
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])


def test_a_truncated_active_model_falls_back_and_tells_whoever_may_fix_it(server):
    break_the_active_model(server)
    app = app_on()
    assert not app.exception
    assert "lenet5-run9 can't be loaded" in texts(app.sidebar) and f"Serving {server.default_model} instead" in texts(
        app.sidebar
    )
    app.file_uploader(key="uploads").set_value(("38.png", png(paper("38", size=(500, 260))), "image/png")).run()
    assert not app.exception
    upload_tab = next(tab for tab in app.tabs if "Upload" in tab.label)
    assert upload_tab.metric[0].value == "38"
    for page in ("app_pages/about.py", "app_pages/digits.py", "app_pages/train.py"):
        assert not app.switch_page(page).run().exception, page


def test_visitors_are_not_shown_the_broken_files_details(server, monkeypatch):
    monkeypatch.setenv("LENET_TRAINING_PASSWORD", "correct horse")
    break_the_active_model(server)
    app = app_on()
    assert not app.exception and "can't be loaded" not in texts(app.sidebar)


@pytest.mark.mnist
def test_the_gallery_reads_with_the_fallback(server, mnist):
    break_the_active_model(server)
    app = app_on("app_pages/gallery.py")
    assert not app.exception and app.metric[0].label == "Test accuracy"


def test_a_scrambled_runs_database_says_what_to_do_and_nothing_else_breaks(server):
    server.data_dir.mkdir(parents=True)
    server.runs_path.write_bytes(os.urandom(4096))
    app = app_on("app_pages/train.py")
    assert not app.exception
    assert "can't be read" in texts(app) and "move the file aside" in texts(app)
    for page in ("app_pages/draw.py", "app_pages/digits.py", "app_pages/about.py"):
        assert not app.switch_page(page).run().exception, page


def test_a_hundred_wrong_passwords_take_more_than_a_minute():
    now = [0.0]
    throttle = PasswordThrottle(clock=lambda: now[0])
    for _ in range(100):
        now[0] += throttle.wait_left("10.0.0.7")  # an attacker trying as soon as allowed
        throttle.record("10.0.0.7", ok=False)
    assert now[0] >= 60
    assert throttle.wait_left("10.0.0.8") == 0  # someone else is not held up
    throttle.record("10.0.0.7", ok=True)
    assert throttle.wait_left("10.0.0.7") == 0 and LONGEST_WAIT_S == 60


def test_the_train_page_makes_a_guesser_wait_and_lets_the_right_password_through(server, monkeypatch):
    monkeypatch.setenv("LENET_TRAINING_PASSWORD", "correct horse")
    app = app_on("app_pages/train.py")
    for _ in range(FREE_ATTEMPTS + 1):  # the last one waited 1 s before it was checked
        app.sidebar.text_input(key="training_password").input("wrong").run()
        app.sidebar.button(key="unlock").click().run()
        assert app.sidebar.error[0].value == "Wrong password."
    # Someone else behind the same address: not refused, checked after the wait (2 s now).
    trainer = app_on("app_pages/train.py")
    trainer.sidebar.text_input(key="training_password").input("correct horse").run()
    waits = PasswordThrottle(server.password_waits)  # the counts every app process reads
    wait = waits.wait_left("local")  # AppTest's sessions have no socket address
    assert wait > 0  # the last wrong guess holds the next check back, whoever sends it
    started = time.monotonic()
    trainer.sidebar.button(key="unlock").click().run()
    # Not a speed figure: the check may only run once the wait measured just above is over,
    # however slow the machine (CI once spent 0.5 s of the 2 s between the two sessions).
    assert time.monotonic() - started >= wait - 0.05
    assert "Start" in [b.label for b in trainer.sidebar.button] and waits.wait_left("local") == 0


def test_parallel_guesses_from_one_address_are_checked_one_wait_apart():
    now, checked = [0.0], []
    throttle = PasswordThrottle(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(10):
        throttle.attempt("10.0.0.7", lambda: checked.append(now[0]) or False)
    assert checked[FREE_ATTEMPTS] - checked[FREE_ATTEMPTS - 1] >= 1 and checked[-1] >= 2**6
    assert throttle.attempt("10.0.0.7", lambda: True) and throttle.wait_left("10.0.0.7") == 0


def test_replicas_over_one_data_folder_count_an_address_s_guesses_together(tmp_path):
    now = [0.0]
    path = tmp_path / "password-waits.json"
    one, other = (PasswordThrottle(path, clock=lambda: now[0]) for _ in range(2))  # two app processes
    for replica in [one, other] * FREE_ATTEMPTS:
        replica.record("10.0.0.7", ok=False)
    assert one.wait_left("10.0.0.7") == other.wait_left("10.0.0.7") == 8  # 6 wrong between them: 2 ** (6 - 3) s
    assert one.wait_left("10.0.0.8") == 0  # someone else is not held up
    assert "10.0.0.7" not in path.read_text()  # addresses are kept hashed
    other.record("10.0.0.7", ok=True)
    assert one.wait_left("10.0.0.7") == 0


class Context:
    def __init__(self, ip, headers):
        self.ip_address, self.headers, self.cookies = ip, headers, {}


@pytest.mark.parametrize("trusted", [False, True])
def test_the_client_address_comes_from_the_proxy_header_only_when_the_host_says_so(monkeypatch, trusted):
    from app_pages import visitor

    monkeypatch.setattr(visitor.st, "context", Context("127.0.0.1", {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}))
    settings = Settings(trusted_proxy=trusted)
    assert visitor.client_address(settings) == ("203.0.113.9" if trusted else "127.0.0.1")
    assert Settings.from_env({"LENET_TRUSTED_PROXY": "on"}).trusted_proxy and not Settings.from_env({}).trusted_proxy


@pytest.mark.slow
def test_a_hundred_train_page_sessions_leave_no_file_handles_open(server):
    store = RunStore.of(server)
    store.create_run({"architecture": "lenet5", "epochs": 1})
    app_on("app_pages/train.py")  # load once: imports and caches are not leaks
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(100):  # a handle leaked per session, or per fifty, shows as more than 2
        app = app_on("app_pages/train.py")
        assert not app.exception
        del app
    assert len(os.listdir("/proc/self/fd")) <= before + 2


@pytest.mark.slow
def test_four_uploads_of_forty_megapixels_at_once_keep_the_server_under_one_and_a_half_gigabytes(tmp_path):
    # In a process of its own, as the server is: TensorFlow, Streamlit and the app's read path.
    for i, mode in enumerate(("L", "RGB", "RGB", "L")):
        (tmp_path / f"{i}.png").write_bytes(just_under_the_pixel_cap(mode))
    script = textwrap.dedent(f"""
        import threading
        from pathlib import Path
        from app_pages.process import configure_process
        from app_pages.uploads import read_upload
        configure_process()  # as app.py does in the server
        from lenet.jobs.catalog import Catalog
        from lenet.config import Settings
        info = Catalog(Settings()).active()
        files = sorted(Path({str(tmp_path)!r}).glob("*.png"))
        results = {{}}
        def read(path):
            results[path.name] = read_upload(path.read_bytes(), str(info.path), info.version, info.name)[1].text
        threads = [threading.Thread(target=read, args=(p,)) for p in files]
        [t.start() for t in threads]
        [t.join() for t in threads]
        # VmHWM, not ru_maxrss: a process started by fork or vfork inherits its parent's peak
        # in ru_maxrss across exec (the pytest process's 1.5 GB read as this server's).
        hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(sorted(results.values()), int(hwm.split()[1]) // 1024)
    """)
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        # The floor is for the server as shipped, on TensorFlow (under JAX the
        # process also holds jax and starts ~0.5 GB larger).
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KERAS_BACKEND": "tensorflow",
            "LENET_DATA_DIR": str(tmp_path / "data"),
        },
    )  # the shipped model, no one's leftovers
    assert run.returncode == 0, run.stderr[-2000:]
    answers, peak_mb = run.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    print(f"\nfour 39.7 MP uploads at once: read {answers}, peak resident memory {peak_mb} MB")
    assert answers == "['7', '7', '7', '7']" and int(peak_mb) < 1500


@pytest.mark.slow
def test_four_different_hostile_requests_at_once_keep_the_server_under_one_and_a_half_gigabytes(tmp_path):
    # One of each kind at the same time, in a process of its own as the server is: a zip whose
    # header lies about a 200 MB member, a zip of 60 blank 6300x6300 pictures, a forged
    # 8900x8900 canvas image and a 40 MP upload.
    from hostile import blank_pictures_zip, huge_blank_png, lying_zip

    (tmp_path / "lying.zip").write_bytes(lying_zip(actual=200 * 2**20))
    (tmp_path / "blank.zip").write_bytes(blank_pictures_zip(60))
    (tmp_path / "canvas.png").write_bytes(huge_blank_png(8900))
    (tmp_path / "upload.png").write_bytes(just_under_the_pixel_cap("RGB"))
    script = textwrap.dedent(f"""
        import threading
        from pathlib import Path
        from app_pages.process import configure_process
        configure_process()  # as app.py does in the server
        from app_pages.uploads import read_upload
        from lenet.config import Settings
        from lenet.images.files import ImageRefused, open_canvas
        from lenet.jobs.catalog import Catalog
        from lenet.people.collection import CollectionRefused, Collections
        folder = Path({str(tmp_path)!r})
        info = Catalog(Settings()).active()
        results = {{}}
        def zip_(name):
            owner = ("a" if name[0] == "l" else "b") * 16
            mine = Collections(folder / "collections", owner).get("mine")
            added, skipped = mine.add_zip((folder / name).read_bytes())
            results[name] = f"{{added}} added, {{len(skipped)}} skipped"
        def canvas(name):
            try:
                open_canvas((folder / name).read_bytes())
                results[name] = "read"
            except ImageRefused:
                results[name] = "refused"
        def upload(name):
            results[name] = read_upload((folder / name).read_bytes(), str(info.path), info.version, info.name)[1].text
        jobs = [(zip_, "lying.zip"), (zip_, "blank.zip"), (canvas, "canvas.png"), (upload, "upload.png")]
        threads = [threading.Thread(target=job, args=(name,)) for job, name in jobs]
        [t.start() for t in threads]
        [t.join() for t in threads]
        hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(sorted(results.items()), int(hwm.split()[1]) // 1024)
    """)
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "tensorflow", "LENET_DATA_DIR": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results, peak_mb = run.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    print(f"\nfour hostile requests at once: {results}, peak resident memory {peak_mb} MB")
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert results == str(
        [
            ("blank.zip", "0 added, 11 skipped"),  # 10 blank pictures, then the zip's pixel budget
            ("canvas.png", "refused"),
            ("lying.zip", "0 added, 1 skipped"),
            ("upload.png", "7"),
        ]
    )
    assert int(peak_mb) < 1500


# ---------------------------------------------------------------------------- owners


def keep_fours(collection, count=3):
    from lenet.images.preprocess import prepare_digits

    prepared = prepare_digits(np.asarray(paper("4", size=(200, 240))))[1][0]
    for _ in range(count):
        collection.add(4, prepared.input, prepared.crop)
    return collection


def mine(app):
    from app_pages.state import OWNER

    return Collections(Settings.from_env().collections_dir, app.session_state[OWNER])


def test_a_visitor_is_listed_and_shown_only_their_own_collections(server):
    ana = app_on("app_pages/digits.py")
    keep_fours(mine(ana).get("Ana"))
    ben = app_on("app_pages/digits.py")
    assert mine(ben).owner != mine(ana).owner
    assert "Ana" not in ben.selectbox(key="d_collection").options and "my digits" not in mine(ben).names()
    # Typing her name reaches his own, empty collection, never hers.
    ben.sidebar.text_input(key="whose_digits").input("Ana").run()
    ben.switch_page("app_pages/digits.py").run()
    assert not ben.exception and "No digits kept in “Ana”" in texts(ben)
    assert mine(ana).get("Ana").counts()[4] == 3 and mine(ben).get("Ana").digits() == []
    ana.sidebar.text_input(key="whose_digits").input("Ana").run()
    ana.switch_page("app_pages/digits.py").run()
    assert "**4** · 3 kept" in texts(ana)


def test_an_owner_cookie_is_believed_only_with_its_signature(tmp_path):
    secret = owner_secret(tmp_path / "owner.key")
    assert owner_secret(tmp_path / "owner.key") == secret and (tmp_path / "owner.key").stat().st_mode & 0o077 == 0
    owner = new_owner()
    assert verify(secret, sign(secret, owner)) == owner
    forged = [
        None,
        "",
        owner,
        f"{owner}.",
        f"{owner}.{'0' * 32}",
        sign(b"another server's secret" * 2, owner),
        sign(secret, owner).upper(),
        "../../x." + sign(secret, owner).split(".")[1],
    ]
    assert all(verify(secret, token) is None for token in forged)
    assert user_owner(secret, "ana@example.org") == user_owner(secret, "ana@example.org") != owner


def test_names_are_compared_after_nfkc_and_casefold_within_their_owner(tmp_path):
    ana, ben = Collections(tmp_path, "a" * 16), Collections(tmp_path, "b" * 16)
    same = {ana.get(name).folder for name in ("My Digits", "MY.DIGITS", "my'digits", "my  digits", "ｍｙ digits")}
    assert same == {tmp_path / ("a" * 16) / "my-digits"}  # one collection of hers, deliberately
    assert ana.get("\u212aate").folder == ana.get("kate").folder  # a Kelvin sign is a k: her own "kate"
    assert ben.get("kate").folder != ana.get("kate").folder  # and never anyone else's
    assert ana.get("Straße").folder == ana.get("STRASSE").folder


def test_the_server_reads_a_collection_by_reference_and_can_change_none(tmp_path):
    theirs = keep_fours(Collections(tmp_path, "c" * 16).get("Zoë"))
    job = Collections(tmp_path)  # what a teaching job opens
    seen = job.get(theirs.reference)
    assert len(seen.arrays()[1]) == 3
    for change in (lambda: seen.add(1, np.zeros((28, 28))), lambda: seen.delete(theirs.digits()[0].id)):
        with pytest.raises(CollectionRefused, match="not yours"):
            change()
    for bad in ("Zoë", "../c/Zoë", "cccccccccccccccc/../x", "/etc/passwd"):
        with pytest.raises(CollectionRefused):
            job.get(bad)
    assert len(theirs.digits()) == 3


def test_a_class_collection_is_off_unless_the_host_names_one_and_takes_anyones_digits(server, monkeypatch):
    assert Collections(server.collections_dir, "d" * 16).names() == []
    pupil = Collections(server.collections_dir, "d" * 16, class_name="Class 5B")
    teacher = Collections(server.collections_dir, "e" * 16, class_name="Class 5B", teacher=True)
    keep_fours(pupil.get("class 5b"), 2)
    assert pupil.names() == ["Class 5B"]
    for action in (lambda c: c.digits(), lambda c: c.to_zip(), lambda c: c.add_zip(b"PK"), lambda c: c.delete("x")):
        with pytest.raises(CollectionRefused, match="not yours"):
            action(pupil.get("Class 5B"))
    assert len(teacher.get("Class 5B").digits()) == 2
    monkeypatch.setenv("LENET_CLASS_COLLECTION", "Class 5B")
    monkeypatch.setenv("LENET_TRAINING_PASSWORD", "correct horse")  # a pupil is not whoever may train
    app = app_on("app_pages/digits.py")
    assert "Class 5B" in app.selectbox(key="d_collection").options
    app.selectbox(key="d_collection").set_value("Class 5B").run()
    assert not app.exception and "Only whoever may train" in texts(app) and "**4**" not in texts(app)


def test_quotas_refuse_in_one_line_and_a_zip_stops_at_them(tmp_path):
    collections = Collections(tmp_path, "f" * 16, quotas=Quotas(per_collection=3, per_owner=5, total=6))
    keep_fours(collections.get("one"), 3)
    with pytest.raises(CollectionRefused, match="can keep no more") as refused:
        keep_fours(collections.get("one"), 1)
    assert "\n" not in str(refused.value)
    keep_fours(collections.get("two"), 2)
    with pytest.raises(CollectionRefused, match="5 a person"):
        keep_fours(collections.get("three"), 1)
    other = Collections(tmp_path, "0" * 16, quotas=Quotas(per_collection=3, per_owner=5, total=6))
    seven = png(paper("7", size=(160, 200)))
    added, skipped = other.get("mine").add_zip(zip_of({f"7/{i}.png": seven for i in range(4)}))
    assert added == 1 and "the rest (3 files)" in skipped[-1] and "6 on this server" in skipped[-1]


def test_a_session_keeps_at_most_its_rate(server, monkeypatch):
    monkeypatch.setenv("LENET_KEEPS_PER_MINUTE", "2")
    app = app_on()
    app.file_uploader(key="uploads").set_value(("1.png", png(paper("1", size=(200, 240))), "image/png")).run()
    upload_tab = lambda: next(tab for tab in app.tabs if "Upload" in tab.label)
    for _ in range(3):
        next(b for b in upload_tab().button if b.label == "Keep this digit").click().run()
    assert not app.exception
    assert "You kept 2 digits in the last minute" in app.error[0].value
    assert mine(app).get("my digits").counts()[1] == 2


def test_your_digits_with_ten_models_reads_each_digit_once_per_model_not_at_every_run(server, monkeypatch):
    # It compared up to 8 models through a cache of 6 and read every digit again at every run:
    # with 7 models 1.5 s of server CPU a run, 12 s with 10 models and 5,000 digits
    # (`python -m benchmarks.digits_page`). Now a page run after the first one reads nothing.
    import app_pages.serving
    from lenet.nets.inference import Predictor

    server.trained_dir.mkdir(parents=True)
    for i in range(10):
        for suffix in (".keras", ".json"):
            shutil.copy(ROOT / "models" / f"lenet5{suffix}", server.trained_dir / f"lenet5-run{i + 1}{suffix}")
    app = app_on("app_pages/digits.py")
    keep_fours(mine(app).get("my digits"), count=12)
    app.run()
    assert not app.exception and "12 kept" in texts(app)
    calls, predict, load = [], Predictor.predict, app_pages.serving.load_model
    monkeypatch.setattr(Predictor, "predict", lambda self, images: calls.append(len(images)) or predict(self, images))
    monkeypatch.setattr(app_pages.serving, "load_model", lambda path: calls.append(path) or load(path))
    for _ in range(3):
        app.run()
        assert not app.exception
    assert calls == [] and len(app.dataframe[0].value) == app_pages.serving.MODELS_COMPARED
    keep_fours(mine(app).get("my digits"), count=1)  # a digit kept: read again, once
    app.run()
    assert not app.exception and "13 kept" in texts(app) and 13 in calls


def test_sessions_from_one_address_keep_at_most_its_rate_together(server, monkeypatch):
    # A new session per keep got past the per-session rate: the address now counts them all.
    monkeypatch.setenv("LENET_KEEPS_PER_MINUTE", "5")
    monkeypatch.setenv("LENET_KEEPS_PER_ADDRESS", "3")
    server.address_keeps.unlink(missing_ok=True)
    refusals = []
    for _ in range(4):
        app = app_on()
        app.file_uploader(key="uploads").set_value(("1.png", png(paper("1", size=(200, 240))), "image/png")).run()
        upload_tab = next(tab for tab in app.tabs if "Upload" in tab.label)
        next(b for b in upload_tab.button if b.label == "Keep this digit").click().run()
        assert not app.exception
        refusals += [e.value for e in app.error]
    assert len(refusals) == 1 and refusals[0].startswith("3 digits were kept from your address in the last minute")
    server.address_keeps.unlink(missing_ok=True)


def test_replicas_over_one_data_folder_count_an_address_s_keeps_together(tmp_path):
    # Each replica counted its own: behind two replicas an address kept twice its rate.
    path, now = tmp_path / "address-keeps.json", [100.0]
    clock = lambda: now[0]  # noqa: E731
    other = "from app_pages.visitor import count_address_keep as c; import sys, pathlib; "
    other += f"print(c(pathlib.Path({str(path)!r}), '10.0.0.7', 3, clock=lambda: 100.5))"
    assert count_address_keep(path, "10.0.0.7", 3, clock) == 0
    for _ in range(2):  # another app process on the host, counting into the same file
        said = subprocess.run([sys.executable, "-c", other], cwd=ROOT, capture_output=True, text=True, check=True)
        assert said.stdout.strip() == "0"
    assert count_address_keep(path, "10.0.0.7", 3, clock) == pytest.approx(60)  # the fourth waits
    assert count_address_keep(path, "10.0.0.8", 3, clock) == 0  # someone else is not held up
    assert "10.0.0.7" not in path.read_text()  # addresses are kept hashed
    now[0] = 161.0  # a minute on, the address may keep again
    assert count_address_keep(path, "10.0.0.7", 3, clock) == 0


# ---------------------------------------------------------------------------- damaged files


def scramble_after_first_page(data):
    return data[:4096] + os.urandom(len(data) - 4096)


DAMAGES = {
    "scrambled after the first page": scramble_after_first_page,
    "cut in half": lambda data: data[: len(data) // 2],
}
PAGES = ("app_pages/draw.py", "app_pages/digits.py", "app_pages/train.py", "app_pages/about.py")


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_every_shared_file_damaged_at_once_leaves_every_page_up(server, monkeypatch, damage):
    from lenet.jobs.runs import Metric

    monkeypatch.setenv("LENET_TRAINING_PASSWORD", "correct horse")
    store = RunStore.of(server)
    run_id = store.create_run({"architecture": "lenet5", "epochs": 1})
    store.add_metrics(run_id, [Metric("batch", 0.0, 0, step, step / 500, loss=1.0) for step in range(2000)])
    store.update(run_id, status="done", model_name="lenet5-run1")
    server.trained_dir.mkdir(parents=True)
    shutil.copy(Catalog(server).find("lenet5").path, server.trained_dir / "lenet5-run1.keras")
    Catalog(server).activate("lenet5-run1")
    app = app_on()
    keep_fours(mine(app).get("my digits"), 6)
    broken = [server.runs_path, server.trained_dir / "lenet5-run1.keras", server.active_file]
    broken += sorted(server.collections_dir.rglob("*.png"))[:4]
    assert server.runs_path.stat().st_size > 3 * 4096
    for path in broken:
        path.write_bytes(DAMAGES[damage](path.read_bytes()) if path.stat().st_size > 4096 else os.urandom(64))
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
    app.switch_page("app_pages/train.py").run()
    assert "can't be read" in texts(app) and "move the file aside" in texts(app)  # the Train page's own message
    assert app.sidebar.text_input(key="training_password")  # a trainer can still unlock
    app.switch_page("app_pages/digits.py").run()
    assert "**4** · " in texts(app)  # the undamaged digits are still shown
