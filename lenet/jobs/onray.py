"""Training jobs as tasks on a Ray cluster (`Settings.training == "ray"`, `RAY_ADDRESS`).

`start()` records a run and submits the job's own body (`lenet.jobs.job.work`) as a Ray task,
asking for a GPU when the cluster has one. Nothing is shared with the node but Ray: the task
reads MNIST from the node's own MNIST_DIR, sends its progress rows, phases and log lines to a
`Channel` actor on this app's node, reads the Stop request from it, and returns the finished
model's bytes through the object store. A `Watcher` thread here writes what the channel holds
into this app's runs database, and the model, once it is back, as a version (atomically, with
the activation rules of a local job). A task that dies with its node is failed, and nothing of
it is written. Ray is imported here only, and only when a job goes to a cluster.
"""

import contextlib
import dataclasses
import io
import os
import socket
import tempfile
import threading
import time
import traceback
from pathlib import Path

from lenet.config import Settings
from lenet.errors import Refused
from lenet.jobs import job
from lenet.jobs.runs import Status
from lenet.jobs.supervisor import TrainingDisabled, log_tail
from lenet.nets.modelio import metadata_path, write_model_files

NAMESPACE = "lenet"
TICK_S = 0.25  # how often the watcher looks at the task, the channel and the Stop flag
BEAT_EVERY_S = 1.0  # the task says it is alive this often, whatever it is doing
LOST_AFTER_S = 6.0  # a started task silent this long is lost with its node (the run fails within 10 s)
STOP_GRACE_S = 60.0  # a stop asked for and not obeyed in this time (a phase that can't stop) cancels the task

_watchers = {}  # run id -> Watcher, in this process
_connected = {}  # the address this process's Ray connection goes to


class ClusterUnavailable(TrainingDisabled):
    """The Ray cluster can't take a job now (unreachable, no free CPU, Ray not installed); one line says why."""


# ---------------------------------------------------------------------------- the app's side


def connect(settings):
    """The `ray` module, connected to `settings.ray_address`; `ClusterUnavailable` says why not."""
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(
            "LENET_TRAINING=ray needs the ray package on this server: pip install -r requirements-ray.txt."
        ) from None
    address = settings.ray_address
    if ray.is_initialized():
        if _connected.get("address") == address:
            return ray
        ray.shutdown()  # settings name another cluster now
    if not address:
        raise ClusterUnavailable(
            "LENET_TRAINING=ray needs RAY_ADDRESS: auto, host:6379 or ray://host:10001 (README: Training on Ray)."
        )
    probe(address)
    import lenet

    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            log_to_driver=False,  # the job's output comes back through its channel, into its log
            logging_level="ERROR",
            runtime_env={"py_modules": [lenet]},  # the node runs this app's own job code
        )
    except Exception as error:  # Ray raises ConnectionError, RuntimeError, TimeoutError...
        raise ClusterUnavailable(f"The Ray cluster at {address} can't be reached: {first_line(error)}") from None
    _connected["address"] = address
    return ray


def probe(address, timeout=3.0):
    """Refuse at once an address where nothing listens (`ray.init` would retry for a minute)."""
    if address == "auto":
        return  # Ray looks for a cluster started on this machine, and says at once when there is none
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise ClusterUnavailable(
            f"No Ray cluster answers at RAY_ADDRESS={address} ({reason}); start its head (README) or fix the address."
        ) from None


# A task that has just ended gives its CPU back a moment after its run reads as ended (seen: a
# Start right after a Teach was refused for want of a free CPU); so much is waited for one.
FREE_CPU_GRACE_S = 5.0


def resources(ray):
    """What a job asks the cluster for: one CPU, and a GPU when the cluster has one."""
    waited_until = time.monotonic() + FREE_CPU_GRACE_S
    while True:
        try:
            total, free = ray.cluster_resources(), ray.available_resources()
        except Exception as error:
            ray.shutdown()  # the cluster went away since we connected: connect afresh next time
            raise ClusterUnavailable(f"The Ray cluster stopped answering: {first_line(error)}") from None
        if free.get("CPU", 0) >= 1 or time.monotonic() > waited_until:
            break
        time.sleep(0.25)
    if free.get("CPU", 0) < 1:
        raise ClusterUnavailable(
            f"The Ray cluster has no free CPU for a job ({total.get('CPU', 0):g} CPUs in all, none free): "
            "join a node to it (ray start --address=...) or wait for the running tasks to end."
        )
    return {"num_cpus": 1, "num_gpus": 1 if total.get("GPU", 0) >= 1 else 0}


def start(settings, store, config, activate_when_done=False, kind="train", inputs=None):
    """Record a run of `config` and submit its job to the cluster; returns the run id.

    `inputs`, for kind 'teach', are `(base model path, images, labels)` (default: the config's
    base model and collection here). Nothing is recorded when the cluster can't take the job.
    """
    ray = connect(settings)
    needs = resources(ray)
    run_id = store.create_run(config.to_dict(), activate_when_done, kind)
    log_path = settings.logs_dir / f"run-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    store.update(run_id, cluster=settings.ray_address, log_path=str(log_path), heartbeat=time.time())
    run = store.run(run_id)
    try:
        payload = job_inputs(settings, run, inputs)
        here = ray.get_runtime_context().get_node_id()
        channel = ray.remote(Channel).options(num_cpus=0, scheduling_strategy=pinned_to(here)).remote()
        task = ray.remote(run_on_node).options(max_retries=0, **needs)
        ref = task.remote(run, payload, channel)
    except Refused as refusal:  # a teaching run without its base model or digits, as a local job says
        fail(store, run_id, job.public_reason(refusal))
        return run_id
    except Exception as error:
        fail(store, run_id, f"The Ray cluster did not take the job: {first_line(error)}")
        raise ClusterUnavailable(f"The Ray cluster did not take the job: {first_line(error)}") from None
    watcher = Watcher(settings, store, run_id, ref, channel, log_path)
    _watchers[run_id] = watcher
    watcher.start()
    return run_id


def job_inputs(settings, run, inputs):
    """What the node needs besides the run: for teaching, the base model's bytes and the digits."""
    if run.kind != "teach":
        return None
    base_path, x_own, y_own = inputs or job.teach_inputs(settings, run)
    return {"base_name": Path(base_path).stem, "base_bytes": Path(base_path).read_bytes(), "x": x_own, "y": y_own}


def pinned_to(node_id):
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


def wait(run_id, timeout=None):
    """Block until this process's watcher of `run_id` is done (a script waiting for its job)."""
    watcher = _watchers.get(run_id)
    if watcher is not None:
        watcher.join(timeout)


def fail(store, run_id, reason, log_path=None):
    store.update(run_id, status=Status.FAILED, finished=time.time(), error=reason, log_tail=log_tail(log_path))


class Watcher(threading.Thread):
    """Follows one task: its channel into the runs database, Stop to the task, its end into a version."""

    def __init__(self, settings, store, run_id, ref, channel, log_path):
        super().__init__(name=f"ray-run-{run_id}", daemon=True)
        self.settings, self.store, self.run_id = settings, store, run_id
        self.ref, self.channel, self.log_path = ref, channel, log_path
        self.started = None  # when the task first said it runs
        self.last_beat = None
        self.stop_sent = None

    def run(self):
        import ray

        try:
            while not ray.wait([self.ref], timeout=TICK_S)[0]:
                self.drain()
                ended = self.follow()
                if ended:
                    ray.cancel(self.ref, force=True)
                    if ended is not True:
                        fail(self.store, self.run_id, ended, self.log_path)
                    return
            self.drain()
            self.conclude(ray)
        except Exception as error:  # the watcher itself broke: the run must not stay "running"
            traceback.print_exc()
            fail(self.store, self.run_id, f"Watching it on the Ray cluster failed: {first_line(error)}", self.log_path)
        finally:
            _watchers.pop(self.run_id, None)
            ray.kill(self.channel)

    def drain(self):
        """Write what the task sent since the last look; the heartbeat says this app still watches."""
        import ray

        messages, beat = ray.get(self.channel.take.remote(), timeout=30)
        if beat is not None:
            self.last_beat = beat
            self.started = self.started or beat
        run = self.store.run(self.run_id)
        if not run.status.active:
            return  # cancelled here before it started: the task's late words change nothing
        lines = []
        for kind, value in messages:
            if kind == "update":
                self.store.update(self.run_id, **value)
            elif kind == "metrics":
                self.store.add_metrics(self.run_id, value)
            elif kind == "log":
                lines.append(value)
        if lines:
            with open(self.log_path, "a") as log:
                log.write("".join(lines))
        self.store.update(self.run_id, heartbeat=time.time())

    def follow(self):
        """Pass Stop on; returns True (cancelled: nothing to keep), a failure's reason, or None (go on)."""
        run = self.store.run(self.run_id)
        if not run.status.active:
            return True  # cancelled before it started (supervisor.stop)
        now = time.time()
        if run.stop_requested and self.stop_sent is None:
            self.stop_sent = now
            self.channel.request_stop.remote()
            if self.started is None:
                return "Cancelled before it started."
        if self.stop_sent is not None and now - self.stop_sent > STOP_GRACE_S:
            return f"Stopped: it did not stop within {STOP_GRACE_S:.0f} s of being asked, so its task was cancelled."
        if self.started is not None and now - self.last_beat > LOST_AFTER_S:
            return f"The Ray node running it ({run.host or 'unknown'}) stopped answering for {LOST_AFTER_S:.0f} s."
        return None

    def conclude(self, ray):
        """The task ended: its model written as a version and served if it earns it, or its failure recorded."""
        try:
            result = ray.get(self.ref)
        except ray.exceptions.TaskCancelledError:
            return fail(self.store, self.run_id, "Cancelled on the Ray cluster.", self.log_path)
        except ray.exceptions.RayError as error:
            return fail(self.store, self.run_id, f"Its Ray task failed: {type(error).__name__}", self.log_path)
        if "error" in result:
            return fail(self.store, self.run_id, result["error"], self.log_path)
        metadata = result["metadata"]
        path = self.settings.trained_dir / f"{metadata['name']}.keras"
        write_model_files(path, result["model"], metadata)
        job.finish(self.settings, self.store, self.store.run(self.run_id), metadata)


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


# ---------------------------------------------------------------------------- between them


class Channel:
    """A run's messages from its task to the app that watches it, and the app's Stop back: an
    actor on the app's node (so it outlives the task's node)."""

    def __init__(self):
        self.messages, self.beat, self.stop = [], None, False

    def put(self, *messages):
        self.messages.extend(messages)
        self.beat = time.time()

    def take(self):
        messages, self.messages = self.messages, []
        return messages, self.beat

    def request_stop(self):
        self.stop = True

    def stop_requested(self):
        return self.stop


class ChannelStore:
    """What a task has of the runs database: its writes go into the channel, the Stop flag comes from it."""

    def __init__(self, channel):
        self.channel = channel

    def update(self, run_id, **fields):
        self.channel.put.remote(("update", fields))

    def add_metrics(self, run_id, metrics):
        self.channel.put.remote(("metrics", list(metrics)))

    def stop_requested(self, run_id):
        import ray

        return ray.get(self.channel.stop_requested.remote())


class ChannelLog(io.TextIOBase):
    """The task's stdout and stderr, line by line into the channel: the run's log on the app's side."""

    def __init__(self, channel):
        self.channel, self.pending = channel, ""

    def write(self, text):
        self.pending += text
        if "\n" in self.pending:
            done, _, self.pending = self.pending.rpartition("\n")
            self.channel.put.remote(("log", done + "\n"))
        return len(text)


# ---------------------------------------------------------------------------- the node's side


def run_on_node(run, payload, channel):
    """The Ray task: the job's body on this node, with this node's MNIST and a scratch data folder;
    returns `{"model": bytes, "metadata": card}`, or `{"error": one line}`."""
    import ray

    beating = threading.Event()
    threading.Thread(target=beat, args=(channel, beating), daemon=True).start()
    output = ChannelLog(channel)
    node = (
        f"{socket.gethostname()} ({ray.util.get_node_ip_address()}, node {ray.get_runtime_context().get_node_id()[:8]})"
    )
    with tempfile.TemporaryDirectory(prefix="lenet-job-") as scratch:
        # This node's own paths (MNIST_DIR, HANDWRITING_DIR, LENET_CACHE_DIR); versions in scratch.
        settings = dataclasses.replace(Settings.from_env(), data_dir=Path(scratch), training="on")
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                print(f"run {run.id} on Ray node {node}, worker pid {os.getpid()}", flush=True)
                inputs = node_inputs(Path(scratch), payload)
                metadata = job.work(settings, ChannelStore(channel), run, host=node, inputs=inputs)
                path = settings.trained_dir / f"{metadata['name']}.keras"
                return {"model": path.read_bytes(), "metadata": job_card(path, metadata)}
        except BaseException as error:  # every way of failing Python sees becomes the run's one line
            output.write(traceback.format_exc())
            return {"error": job.public_reason(error)}
        finally:
            output.write("\n")
            beating.set()
            flush(channel)


def flush(channel, timeout=30):
    """Wait until the channel holds all the task sent. A task's calls reach the actor in order, but
    its result can reach the app first: the watcher's last look then missed the traceback (seen
    once in CI's test_ray, a run failed with an empty log)."""
    import ray

    with contextlib.suppress(Exception):  # an app gone away: nobody is left to read it
        ray.get(channel.put.remote(), timeout=timeout)


def beat(channel, done):
    while not done.wait(BEAT_EVERY_S):
        channel.put.remote()


def node_inputs(scratch, payload):
    if payload is None:
        return None
    base = scratch / "base" / f"{payload['base_name']}.keras"
    base.parent.mkdir()
    base.write_bytes(payload["base_bytes"])
    return base, payload["x"], payload["y"]


def job_card(path, metadata):
    from lenet.storage import read_json

    return read_json(metadata_path(path)) or metadata
