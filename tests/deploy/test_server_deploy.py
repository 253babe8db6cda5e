"""deploy/server: `nginx -t` on the example and `systemd-analyze verify` on the units.

nginx checks the example inside a scratch main config (its own pid, logs and temp paths)
with a throw-away self-signed certificate in place of the Let's Encrypt paths and the
cache folder moved into the scratch directory; nothing else of the file is changed.

The units name /opt/aushang/venv/bin/aushang, which a development machine lacks, so they
are verified against a scratch root (as tests/deploy/test_static_checks.py does for the
player): the host's stock units, stub executables for every Exec*= path, the units in
/etc/systemd/system. verify answers 0 even for unknown keys ("..., ignoring"), so any
output fails the test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_helpers import require_tool

SERVER_DIR = Path(__file__).parents[2] / "deploy" / "server"
UNITS = sorted(p.name for p in (SERVER_DIR / "systemd").glob("*.service"))


def test_units_exist():
    assert UNITS == [
        "aushang-players.service",
        "aushang-publisher.service",  # issue 15
        "aushang-scheduler.service",
        "aushang-web.service",
    ]


def scratch_nginx(tmp_path: Path) -> Path:
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=aushang.example.de", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    site = (SERVER_DIR / "nginx" / "aushang.conf").read_text()
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace("/var/cache/nginx/aushang", str(tmp_path / "cache"))
    # Push (issue 15): the nchan snippets beside it, the module loaded below.
    site = site.replace(
        "/etc/nginx/snippets/aushang-push-locations.conf",
        str(SERVER_DIR / "nginx" / "aushang-push-locations.conf"),
    )
    (tmp_path / "aushang.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs")}
    for path in temp.values():
        path.mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        "load_module /usr/lib/nginx/modules/ngx_nchan_module.so;\n"
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {temp['logs']}/error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"  access_log off;\n"
        f"  client_body_temp_path {temp['body']};\n"
        f"  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n"
        f"  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n"
        f"  include {SERVER_DIR / 'nginx' / 'aushang-push.conf'};\n"
        f"  include {tmp_path / 'aushang.conf'};\n"
        "}\n"
    )
    return main


def test_nginx_accepts_the_example(tmp_path):
    # /usr/sbin is not on every user's PATH.
    nginx = "/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else require_tool("nginx")
    main = scratch_nginx(tmp_path)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr


def test_nginx_example_covers_long_poll_and_caching():
    site = (SERVER_DIR / "nginx" / "aushang.conf").read_text()
    manifest = site.split("location = /api/player/v1/manifest {", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in manifest
    assert "proxy_pass http://aushang_players;" in manifest
    timeout = int(re.search(r"proxy_read_timeout (\d+)s;", manifest).group(1))
    assert timeout > 60  # the contract caps ?wait= at 60 s
    assert "immutable" in site and "gzip_types" in site and "application/rss+xml" in site
    assert "proxy_http_version 1.1;" in site and 'proxy_set_header Connection "";' in site


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory):
    require_tool("systemd-analyze")
    host_units = next(
        (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
        None,
    )
    if host_units is None:
        pytest.fail("no /usr/lib/systemd/system on this machine: install the systemd package")
    root = tmp_path_factory.mktemp("server-verify")
    shutil.copytree(host_units, root / "usr/lib/systemd/system", symlinks=True)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in UNITS:
        text = (SERVER_DIR / "systemd" / unit).read_text()
        (units / unit).write_text(text)
        for exe in re.findall(r"^Exec\w+=[-@:+!]*(/\S+)", text, flags=re.M):
            stub = root / exe.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    return root


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify(verify_root, unit):
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={verify_root}", f"/etc/systemd/system/{unit}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


@pytest.mark.parametrize("unit", UNITS)
def test_unit_hardening(unit):
    lines = (SERVER_DIR / "systemd" / unit).read_text().splitlines()
    for line in (
        "User=aushang",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "StateDirectory=aushang",
        "EnvironmentFile=/etc/aushang/aushang.env",
    ):
        assert line in lines, line
    command = {
        "aushang-web.service": "serve",
        "aushang-players.service": "serve --worker-class gevent --bind 127.0.0.1:8001 "
        "--connections 8000",
        "aushang-scheduler.service": "scheduler",
        "aushang-publisher.service": "publisher",
    }[unit]
    assert f"ExecStart=/opt/aushang/venv/bin/aushang {command}" in lines


def test_env_example_names_only_documented_variables():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    names = re.findall(r"^([A-Z_]+)=", (SERVER_DIR / "aushang.env.example").read_text(), re.M)
    assert names
    for name in names:
        assert f"`{name}`" in readme, name
