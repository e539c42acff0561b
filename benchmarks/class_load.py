"""What a class of N costs the server: N sessions drawing on the Draw page while a model trains,
through 1 or 2 replicas behind nginx (`scripts/serve.py`).

    python -m benchmarks.class_load [--sessions 10 20 40] [--replicas 1 2] [--seconds 60]

Each session is a client of Streamlit's own websocket protocol (`/_stcore/stream`, the
protobuf messages the browser sends and receives), so it costs the server what a browser costs
it and this machine little: it loads the page, gets its replica cookie from nginx, and draws
real people's digits (UJI's held-out writers, `HANDWRITING_DIR`) the way the canvas sends them,
one message per stroke with the whole drawing (its PNG and its strokes' JSON) 0.7 s apart,
a digit every 5-7 s, and fetches every picture the page shows (`/media/...`) as a browser
does. A training job runs all the while (restarted when it ends), as in a class where the
teacher trains.

Reported per (replicas, N): stroke->answer p50/p95, from a stroke's message leaving the client
to the answer (the Prediction metric) arriving, with the client on the same host that is what
the server takes; errors (exceptions, timeouts, lost sockets); and server CPU milliseconds per
answered stroke (the replicas' and nginx's process time over the window, divided by the page
runs that answered). The client's own CPU share is reported beside them.
"""

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import functools
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from lenet.config import CANVAS_SIZE, DEFAULT_BRUSH, PROJECT_ROOT, Settings

STROKE_GAP_S = 0.7  # between two strokes' messages, as a person lifts the pen and goes on
DIGIT_EVERY_S = (5.0, 7.0)  # a new digit this often, per session
ANSWER_TIMEOUT_S = 60
FINISHED_OK = (1, 3)  # ScriptFinishedStatus: a full run or a fragment's run ended normally


# ------------------------------------------------------------------------ what the canvas sends
def canvas_messages(strokes, width=DEFAULT_BRUSH):
    """The canvas's value after each stroke of a digit (pen strokes, y down, any units), as the
    component sends it: `{"drawing": {"raw": fabric JSON of the strokes so far, "data": PNG data URL}}`."""
    from PIL import Image

    from lenet.datasets import ink

    placed = [s * CANVAS_SIZE for s in ink.place(ink.unit_box(strokes), 0.6, 0.2, 0.2)]
    values = []
    for count in range(1, len(placed) + 1):
        picture = ink.render([s / CANVAS_SIZE for s in placed[:count]], CANVAS_SIZE, width, margin=0)
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, "PNG")
        objects = [_fabric_path(s, width) for s in placed[:count]]
        data = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        values.append(json.dumps({"drawing": {"raw": {"version": "7.4.0", "objects": objects}, "data": data}}))
    return values


def _fabric_path(points, width):
    low, high = points.min(axis=0), points.max(axis=0)
    path = [["M", *map(float, points[0])]] + [["L", *map(float, p)] for p in points[1:]]
    return {
        "type": "Path",
        "left": float((low[0] + high[0]) / 2),
        "top": float((low[1] + high[1]) / 2),
        "width": float(high[0] - low[0]),
        "height": float(high[1] - low[1]),
        "stroke": "#FFFFFF",
        "strokeWidth": width,
        "strokeLineCap": "round",
        "strokeLineJoin": "round",
        "fill": None,
        "path": [[step[0], *(round(v, 3) for v in step[1:])] for step in path],
    }


def real_digits(count, seed=0):
    """`count` (label, canvas messages) of UJI's test writers (never trained on)."""
    from lenet.datasets import handwriting

    folder = handwriting.find_folder(os.environ.get("HANDWRITING_DIR"))
    test = handwriting.load("uji", folder).part("test")
    picks = np.random.default_rng(seed).choice(len(test), size=count, replace=False)
    return [(int(test.labels[i]), canvas_messages(test.strokes[i])) for i in picks]


# ------------------------------------------------------------------------------ one session
@dataclasses.dataclass
class Run:
    """One page run as the client sees it."""

    sent: float
    answer: float | None = None  # when the Prediction metric arrived with an answer
    finished: float | None = None
    status: int | None = None
    text: str = ""
    error: str = ""
    pictures: list = dataclasses.field(default_factory=list)  # /media URLs the run showed


class Session:
    """One visitor speaking Streamlit's websocket protocol, as the browser does."""

    def __init__(self, url, tab=None):
        self.url, self.tab = url, tab  # the result tab this visitor keeps open (None: the first)
        self.host, self.port = url.split("//")[1].split(":")
        self.cookie = ""
        self.runs = []
        self.fetched = set()  # pictures the browser has in its cache already
        self.canvas_id = self.fragment_id = self.page_hash = self.tabs_id = None
        self._run = None
        self._finished = asyncio.Event()

    async def open(self):
        import websockets

        self.cookie = await asyncio.to_thread(self._first_request)
        headers = {"Origin": self.url, **({"Cookie": self.cookie} if self.cookie else {})}
        address = f"ws://{self.host}:{self.port}/_stcore/stream"
        self.socket = await websockets.connect(
            address, subprotocols=["streamlit"], additional_headers=headers, max_size=None, open_timeout=120
        )
        self.reader = asyncio.create_task(self._read())
        await self.rerun(None)  # the page's first run
        if self.canvas_id is None:
            raise RuntimeError("the Draw page showed no canvas")

    def _first_request(self):
        # The page itself, as a browser loads it first: nginx names this browser's replica in a cookie.
        with urllib.request.urlopen(self.url + "/", timeout=120) as response:
            response.read()
            cookies = response.headers.get_all("Set-Cookie") or []
        return "; ".join(c.split(";")[0] for c in cookies)

    async def rerun(self, canvas_value):
        """Send a rerun (the page's first, or the canvas fragment's with `canvas_value`) and wait
        for it to end; returns its `Run`."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        rerun = message.rerun_script
        rerun.context_info.url = self.url + "/"
        rerun.context_info.timezone = "UTC"
        rerun.context_info.locale = "en-US"
        if canvas_value is not None:
            widget = rerun.widget_states.widgets.add()
            widget.id, widget.json_value = self.canvas_id, canvas_value
            if self.tab and self.tabs_id:  # the browser sends the open tab with every stroke
                tabs = rerun.widget_states.widgets.add()
                tabs.id, tabs.string_value = self.tabs_id, self.tab
            rerun.page_script_hash, rerun.fragment_id = self.page_hash, self.fragment_id
        else:
            rerun.widget_states.SetInParent()
        self._finished.clear()
        self._run = run = Run(sent=time.perf_counter())
        self.runs.append(run)
        await self.socket.send(message.SerializeToString())
        try:
            await asyncio.wait_for(self._finished.wait(), ANSWER_TIMEOUT_S)
        except TimeoutError:
            run.error = run.error or "timeout"
        await self._fetch_pictures(run)
        return run

    async def _read(self):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for payload in self.socket:
                message = ForwardMsg()
                message.ParseFromString(payload)
                self._on(message)
        except Exception as error:  # the socket closed under us: the run waiting is an error
            if self._run is not None and self._run.finished is None:
                self._run.error = f"socket: {error}"
                self._finished.set()

    def _on(self, message):
        run, kind = self._run, message.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = message.new_session.page_script_hash
        elif kind == "delta" and message.delta.WhichOneof("type") == "add_block":
            block = message.delta.add_block
            which = block.WhichOneof("type")
            if which and getattr(getattr(block, which), "id", "").endswith("-draw_tabs"):
                self.tabs_id = getattr(block, which).id
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element" and run is not None:
            element = message.delta.new_element
            which = element.WhichOneof("type")
            if which == "bidi_component" and element.bidi_component.id.endswith("-canvas"):
                self.canvas_id, self.fragment_id = element.bidi_component.id, message.delta.fragment_id
            elif which == "metric" and element.metric.body not in ("", "–") and run.answer is None:
                run.answer, run.text = time.perf_counter(), element.metric.body
            elif which == "exception":
                run.error = run.error or f"exception: {element.exception.message[:80]}"
            elif which == "imgs":
                run.pictures += [i.url for i in element.imgs.imgs]
        elif kind == "script_finished" and run is not None:
            run.finished, run.status = time.perf_counter(), message.script_finished
            if message.script_finished not in FINISHED_OK:
                run.error = run.error or f"run ended with status {message.script_finished}"
            self._finished.set()

    async def _fetch_pictures(self, run):
        for url in run.pictures:
            if url.startswith("/media/") and url not in self.fetched:
                self.fetched.add(url)
                await self._get(url)

    async def _get(self, path):
        reader, writer = await asyncio.open_connection(self.host, int(self.port))
        cookie = f"Cookie: {self.cookie}\r\n" if self.cookie else ""
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{cookie}Connection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        await reader.read()
        writer.close()

    async def close(self):
        with contextlib.suppress(Exception):
            await self.socket.close()
        self.reader.cancel()


async def opened(url, number, tab=None):
    """A session with the Draw page loaded (an error's text instead when it could not be)."""
    session = Session(url, tab)
    await asyncio.sleep(random.Random(number).uniform(0, 3))  # a class does not press Enter in one instant
    try:
        await session.open()
    except Exception as error:
        return f"open: {error}"
    return session


async def draws(session, number, digits, until, results):
    """Draw a digit every 5-7 s until `until`; the stroke->answer of each digit's last stroke."""
    rng, turn = random.Random(number), number
    await asyncio.sleep(rng.uniform(0, DIGIT_EVERY_S[0]))
    while time.perf_counter() < until:
        label, strokes = digits[turn % len(digits)]
        turn += 7
        started = time.perf_counter()
        for index, value in enumerate(strokes):
            if index:
                await asyncio.sleep(max(0, started + STROKE_GAP_S * index - time.perf_counter()))
            run = await session.rerun(value)
            if run.error:
                results["errors"].append(run.error)
            elif run.answer is not None:
                results["answered"] += 1
                if index == len(strokes) - 1:
                    results["latencies"].append(run.answer - run.sent)
                    results["right"] += run.text == str(label)
        await asyncio.sleep(max(0, started + rng.uniform(*DIGIT_EVERY_S) - time.perf_counter()))


async def crowd(url, count, digits, seconds, trainer, results, measured, tab=None):
    """`count` sessions open the page, then draw for `seconds` with `tab` open; `measured` is
    entered around the drawing."""
    sessions = await asyncio.gather(*(opened(url, n, tab) for n in range(count)))
    results["errors"] += [s for s in sessions if isinstance(s, str)]
    sessions = [s for s in sessions if not isinstance(s, str)]
    with measured():
        until = time.perf_counter() + seconds
        tasks = [asyncio.create_task(draws(s, n, digits, until, results)) for n, s in enumerate(sessions)]
        while not all(t.done() for t in tasks):
            if trainer:
                await asyncio.to_thread(trainer.keep_going)
            await asyncio.sleep(1)
        for task in tasks:
            if task.exception():
                results["errors"].append(f"client: {task.exception()}")
    for session in sessions:
        await session.close()


# --------------------------------------------------------------------------------- the server
@contextlib.contextmanager
def served(data_dir, replicas):
    """`scripts/serve.py --replicas N` on a free port; yields (url, its process)."""
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    from serve import free_port, log_tail

    port = free_port()
    env = {**os.environ, "LENET_DATA_DIR": str(data_dir)}
    log = open(data_dir.parent / f"serve-{replicas}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "scripts/serve.py", "--replicas", str(replicas), "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while "Ctrl-C stops" not in Path(log.name).read_text():
            if process.poll() is not None or time.time() > deadline:
                said = log_tail(log.name, 1).strip() or "(nothing)"
                raise RuntimeError(f"scripts/serve.py did not start ({said}); its log: {log.name}")
            time.sleep(0.5)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def server_cpu_s(process):
    """CPU seconds used so far by the serving processes under `process` (replicas and nginx;
    not the training job, whose process the supervisor started, nor serve.py's own loop)."""
    import psutil

    total = 0.0
    for child in psutil.Process(process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "streamlit" in " ".join(child.cmdline()) or child.name().startswith("nginx"):
                times = child.cpu_times()
                total += times.user + times.system
    return total


class Trainer:
    """A training job kept running in the data folder while the class draws."""

    def __init__(self, data_dir):
        from lenet.jobs.runs import RunStore

        self.settings = dataclasses.replace(Settings.from_env(), data_dir=data_dir)
        self.store = RunStore.of(self.settings)
        self.run_id = None

    def keep_going(self):
        from lenet.jobs import supervisor
        from lenet.nets.training import TrainConfig

        if self.run_id is None or not self.store.run(self.run_id).status.active:
            config = TrainConfig(epochs=3, max_samples=20000)
            self.run_id = supervisor.start_training(self.settings, config)

    def stop(self):
        from lenet.jobs import supervisor

        if self.run_id is not None and self.store.run(self.run_id).status.active:
            supervisor.stop(self.store, self.run_id)


@contextlib.contextmanager
def timed(process, spent):
    """Fill `spent` with the server's CPU seconds, this client's and the wall time of the block."""
    cpu, mine, wall = server_cpu_s(process), time.process_time(), time.perf_counter()
    yield
    spent["cpu"], spent["mine"] = server_cpu_s(process) - cpu, time.process_time() - mine
    spent["wall"] = time.perf_counter() - wall


def measure(replicas, sessions, seconds, digits, data_dir, train=True, tab=None):
    figures = {}
    trainer = Trainer(data_dir) if train else None
    with served(data_dir, replicas) as (url, process):
        # Warm every replica up (its first page loads TensorFlow and the model) before measuring.
        warm = {"latencies": [], "errors": [], "answered": 0, "right": 0}
        asyncio.run(crowd(url, 3 * replicas, digits, 10, None, warm, contextlib.nullcontext))
        if trainer:
            trainer.keep_going()  # started (and TensorFlow's config imported here) before the clock
        for count in sessions:
            results = {"latencies": [], "errors": [], "answered": 0, "right": 0}
            spent = {}
            measured = functools.partial(timed, process, spent)
            asyncio.run(crowd(url, count, digits, seconds, trainer, results, measured, tab))
            times = sorted(results["latencies"])
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
            figures[count] = {
                "digits answered": len(times),
                "read right": results["right"],
                "p50 s": round(statistics.median(times), 3) if times else None,
                "p95 s": round(p95, 3),
                "errors": len(results["errors"]),
                "first errors": sorted(set(results["errors"]))[:3],
                "server CPU ms per answered stroke": round(1000 * spent["cpu"] / max(1, results["answered"]), 1),
                "answered strokes": results["answered"],
                "client CPU share of the machine": round(spent["mine"] / spent["wall"] / os.cpu_count(), 4),
            }
            print(f"replicas {replicas}, N={count}, tab {tab or 'first'}: {json.dumps(figures[count])}", flush=True)
    if trainer:
        trainer.stop()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=60, help="how long each class draws")
    parser.add_argument("--no-training", action="store_true", help="no training job meanwhile")
    parser.add_argument(
        "--tab",
        help='the result tab every visitor keeps open, e.g. "Inside the network" (default: the first, Probabilities)',
    )
    args = parser.parse_args()
    digits = real_digits(60)
    report = {}
    with tempfile.TemporaryDirectory() as folder:
        for replicas in args.replicas:
            data_dir = Path(folder) / f"data-{replicas}"
            report[replicas] = measure(
                replicas, args.sessions, args.seconds, digits, data_dir, not args.no_training, args.tab
            )
    print(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    from lenet.cli import run_main

    run_main(main)
