"""`scripts/serve.py`'s proxy config: every replica reachable, a cookie naming one, a config nginx accepts."""

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("serve", ROOT / "scripts" / "serve.py")
serve = importlib.util.module_from_spec(spec)
sys.path.insert(0, str(ROOT / "scripts"))  # for its `import _path`, as when run as a script
try:
    spec.loader.exec_module(serve)
finally:
    sys.path.remove(str(ROOT / "scripts"))

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def test_each_replica_leads_its_own_group_with_the_others_as_backups(tmp_path):
    config = serve.nginx_config("127.0.0.1:8600", [9001, 9002, 9003], tmp_path)
    assert not re.search(r"\{\{[A-Z]+\}\}", config)  # every field filled in
    groups = dict(re.findall(r"upstream (r\d) \{\n(.*?)\n    \}", config, re.S))
    assert list(groups) == ["r1", "r2", "r3"]
    for name, port in zip(groups, (9001, 9002, 9003)):
        servers = re.findall(r"server 127\.0\.0\.1:(\d+)( backup)?;", groups[name])
        assert servers[0] == (str(port), "") and {p for p, _ in servers} == {"9001", "9002", "9003"}
    assert re.search(r"33\.33% r1;\s+33\.33% r2;\s+\* r3;", config)  # a new browser's draw, evenly
    assert "listen 127.0.0.1:8600;" in config


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian/Ubuntu: apt-get install nginx)")
@pytest.mark.parametrize("replicas", [1, 2, 4])
def test_nginx_accepts_the_config_unprivileged(tmp_path, replicas):
    path = tmp_path / "nginx.conf"
    path.write_text(serve.nginx_config("127.0.0.1:8600", list(range(9001, 9001 + replicas)), tmp_path))
    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
