"""A real two-node Ray cluster on 127.0.0.1 for the tests: a head (no CPUs: the app's node) and
a worker node with one CPU and its own MNIST_DIR, each started by `ray start` in a process of
its own, on ports and in a temporary folder of their own.

It is ended by the ids of its own processes, not `ray stop`: that ends every Ray process on
the machine, other people's clusters included.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def node_ports():
    """Every port a node listens on, picked free, so two nodes (and other clusters) never meet."""
    names = (
        "node-manager-port",
        "object-manager-port",
        "metrics-export-port",
        "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port",
        "runtime-env-agent-port",
    )
    flags = [f"--{name}={port}" for name, port in zip(names, free_ports(len(names)))]
    low = worker_port_range()
    return [*flags, f"--min-worker-port={low}", f"--max-worker-port={low + WORKER_PORTS - 1}"]


WORKER_PORTS = 40


def worker_port_range():
    """The first of WORKER_PORTS free ports in a row, below Linux's ephemeral range (where the
    ports picked by binding port 0 lie), so the two never overlap."""
    for low in random.sample(range(20000, 32000, WORKER_PORTS), 50):
        try:
            held = []
            for port in range(low, low + WORKER_PORTS):
                held.append(socket.socket())
                held[-1].bind(("127.0.0.1", port))
            return low
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no range of free worker ports found")


class RayCluster:
    def __init__(self, temp_dir, worker_env):
        self.temp_dir, self.worker_env = Path(temp_dir), worker_env
        self.gcs_port, self.client_port = free_ports(2)
        self.address = f"127.0.0.1:{self.gcs_port}"

    def start_head(self):
        self._ray_start(
            "--head",
            f"--port={self.gcs_port}",
            f"--ray-client-server-port={self.client_port}",
            "--num-cpus=0",  # the app's node: jobs go to the worker nodes
            "--num-gpus=0",
            "--include-dashboard=false",
            f"--temp-dir={self.temp_dir}",
            env=os.environ,
        )

    def start_worker(self, **env):
        """Join a node with one CPU; `env` changes its environment (its MNIST_DIR, say)."""
        self._ray_start(f"--address={self.address}", "--num-cpus=1", "--num-gpus=0", env={**self.worker_env, **env})

    def _ray_start(self, *flags, env):
        done = subprocess.run(
            [RAY, "start", "--node-ip-address=127.0.0.1", "--disable-usage-stats", "--object-store-memory=200000000"]
            + [*node_ports(), *flags],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "RAY_USAGE_STATS_ENABLED": "0"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")

    def processes(self):
        """This cluster's processes: those naming its temp folder or its head's port, and their children."""
        mine = []
        for process in psutil.process_iter(["cmdline"]):
            command = " ".join(process.info["cmdline"] or [])
            if str(self.temp_dir) in command or f"127.0.0.1:{self.gcs_port}" in command:
                mine.append(process)
        for process in list(mine):
            try:
                mine += process.children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        return list({p.pid: p for p in mine}.values())

    def stop(self):
        for process in self.processes():
            with_gone(process.send_signal, signal.SIGKILL)
        psutil.wait_procs(self.processes(), timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def kill_node_of(worker_pid):
    """kill -9 the Ray node whose worker process is `worker_pid`: its raylet and all it started."""
    raylet = psutil.Process(worker_pid).parent()
    doomed = [raylet, *raylet.children(recursive=True)]
    for process in doomed:
        with_gone(process.send_signal, signal.SIGKILL)
    return time.time()


def with_gone(action, *args):
    try:
        action(*args)
    except psutil.NoSuchProcess:
        pass
