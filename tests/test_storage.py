"""One holder at a time of a file lock, among threads and among processes (app replicas)."""

import subprocess
import sys
import textwrap

from conftest import ROOT

from lenet.storage import file_lock


def test_a_held_lock_keeps_a_second_holder_out_until_it_is_released(tmp_path):
    path = tmp_path / "cache" / ".lock"
    with file_lock(path, 5) as first:
        with file_lock(path, 0.3) as second:
            assert first and not second
    with file_lock(path, 0.3) as again:
        assert again


def test_a_lock_held_by_another_process_keeps_this_one_out(tmp_path):
    path = tmp_path / ".lock"
    holder = textwrap.dedent(
        f"""
        import sys
        from lenet.storage import file_lock
        with file_lock({str(path)!r}, 5) as held:
            print(held, flush=True)
            sys.stdin.readline()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "True"
        with file_lock(path, 0.3) as held:
            assert not held
        process.stdin.write("done\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
        with file_lock(path, 0.3) as held:
            assert held
    finally:
        process.kill()
        process.wait()
