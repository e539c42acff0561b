"""Serve the app from several processes on this host, behind nginx with session affinity.

    python scripts/serve.py --replicas 2 --port 8501

Starts N `streamlit run app.py` replicas on free ports of 127.0.0.1, all over one data folder
(`LENET_DATA_DIR`), and nginx in front of them on `--port` with a config filled in from
`deploy/nginx.conf`: a browser stays on the replica it was first sent to (the `lenet_replica`
cookie), websockets pass through. Waits until every replica and the proxy answer their health
check, restarts a replica that ends, and stops them all on Ctrl-C (or SIGTERM). nginx is the
distribution's (`apt-get install nginx`), run unprivileged in a temporary folder of its own.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _path  # noqa: F401

from lenet.cli import run_main
from lenet.config import PROJECT_ROOT, Settings
from lenet.errors import Refused
from lenet.people.owners import owner_secret

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf"
START_TIMEOUT_S = 120  # a replica's first start imports Streamlit on a busy machine
STOP_TIMEOUT_S = 20
RESTART_PAUSE_S = 5  # a replica that keeps ending is not restarted in a tight loop


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(listen, ports, work):
    """`deploy/nginx.conf` filled in for replicas on `ports` of 127.0.0.1, nginx listening on `listen`."""
    names = [f"r{i + 1}" for i in range(len(ports))]
    upstreams = []
    for i, name in enumerate(names):
        others = ports[i + 1 :] + ports[:i]
        servers = [f"        server 127.0.0.1:{ports[i]};"] + [f"        server 127.0.0.1:{p} backup;" for p in others]
        upstreams.append(f"    upstream {name} {{\n" + "\n".join(servers) + "\n    }")
    share = f"{100 / len(names):.2f}".rstrip("0").rstrip(".")
    split = [f"        {share}% {name};" for name in names[:-1]] + [f"        * {names[-1]};"]
    fields = {
        "WORK": str(work),
        "LISTEN": listen,
        "UPSTREAMS": "\n".join(upstreams),
        "PINNED": "\n".join(f"        {name} {name};" for name in names),
        "SPLIT": "\n".join(split),
    }
    text = TEMPLATE.read_text()
    for field, value in fields.items():
        text = text.replace("{{" + field + "}}", value)
    return text


def healthy(url):
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


def log_tail(path, lines=15):
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


class Replica:
    """One `streamlit run app.py` on a port of 127.0.0.1, its output in a log file."""

    def __init__(self, name, port, env, work):
        self.name, self.port, self.env = name, port, env
        self.log_path = work / f"{name}.log"
        self.process, self.started = None, 0.0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port)]
        command += ["--server.address", "127.0.0.1", "--server.headless", "true"]  # reached only through nginx
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started = time.monotonic()

    def wait_healthy(self, timeout=START_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while not healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log_tail(self.log_path)
                raise Refused(f"replica {self.name} did not start; the end of {self.log_path}:\n{tail}")
            time.sleep(0.3)


def replica_environment(settings):
    """What every replica shares besides the data folder: the proxy's address header is to be
    trusted (nginx replaces it), and Streamlit's own cookies (st.login) are signed alike."""
    env = {**os.environ, "LENET_TRUSTED_PROXY": "on"}
    # Made once in the data folder, as the owner key is, unless the host sets one.
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", owner_secret(settings.cookie_key).hex())
    return env


def start_nginx(nginx, config, work):
    path = work / "nginx.conf"
    path.write_text(config)
    # -e: the error log before the config is read (the compiled-in one is root's).
    command = [nginx, "-p", str(work), "-c", str(path), "-e", str(work / "error.log"), "-g", "daemon off;"]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if check.returncode:
        raise Refused(f"nginx refused the config {path}: {check.stderr.strip()}")
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)


def stop(process):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def supervise(replicas, proxy):
    """Until stopped: restart a replica that ends (its sessions reconnect to a backup meanwhile)."""
    while True:
        if proxy.poll() is not None:
            raise Refused(f"nginx ended with status {proxy.returncode}")
        for replica in replicas:
            if replica.process.poll() is None:
                continue
            if time.monotonic() - replica.started < RESTART_PAUSE_S:
                continue
            print(f"replica {replica.name} ended (status {replica.process.returncode}); starting it again", flush=True)
            replica.start()
        time.sleep(1)


def serve(args):
    settings = Settings.from_env()
    nginx = args.nginx or shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not nginx:
        raise Refused("nginx was not found: install it (apt-get install nginx) or name it with --nginx.")
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="lenet-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    env = replica_environment(settings)
    replicas = [Replica(f"r{i + 1}", free_port(), env, work) for i in range(args.replicas)]
    proxy = None
    try:
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.wait_healthy()
        listen = f"{args.address}:{args.port}"
        proxy = start_nginx(nginx, nginx_config(listen, [r.port for r in replicas], work), work)
        url = f"http://{'127.0.0.1' if args.address in ('0.0.0.0', '*') else args.address}:{args.port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(url):
            if proxy.poll() is not None or time.monotonic() > deadline:
                raise Refused(f"nginx did not start on {listen}: {log_tail(work / 'error.log')}")
            time.sleep(0.2)
        print(
            f"LeNet Studio: {url} ({len(replicas)} replicas on 127.0.0.1:"
            f"{', '.join(str(r.port) for r in replicas)} over {settings.data_dir}; logs in {work}). Ctrl-C stops.",
            flush=True,
        )
        supervise(replicas, proxy)
    finally:
        stop(proxy)
        for replica in replicas:
            stop(replica.process)
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="app processes to start (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="the port people open (default 8501)")
    parser.add_argument("--address", default="0.0.0.0", help="the address nginx listens on (default: all)")
    parser.add_argument("--nginx", help="the nginx binary (default: nginx on PATH, or /usr/sbin/nginx)")
    parser.add_argument(
        "--work-dir",
        help="keep nginx's config and temporary files and the replicas' logs here (default: a "
        "temporary folder, removed on stop)",
    )
    args = parser.parse_args()
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped like Ctrl-C: every child goes too
    serve(args)


if __name__ == "__main__":
    run_main(main)
