"""Shared fixtures.

CLI tests live in tests/cli/ and in-process tests in tests/unit/. A test that runs the
command line does so through the ``cli`` fixture (or ``cli_argv``), so the same tests run
against the source tree (``python <repo>/asciinema``) and against the built archive
(``--pyz asciinema.pyz`` or ``ASCIINEMA_PYZ``). With ``--pyz`` only those tests are collected.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, settings

from server_api import ApiServer, Certificates, ConnectProxy, make_certificates, server_context

ROOT = Path(__file__).resolve().parent.parent

# Property tests check results, not speed: no time limit per example and no complaint about
# slow generation, which a machine busy with other work would trip at random.
settings.register_profile("busy-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("busy-machine")
CASTS = Path(__file__).resolve().parent / "casts"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--pyz", default=os.environ.get("ASCIINEMA_PYZ"), help="run CLI tests against this archive")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cli: runs the asciinema command line (source tree or --pyz)")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    pyz = config.getoption("--pyz")
    keep = []
    for item in items:
        if "cli" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cli)
            keep.append(item)
        elif not pyz:
            keep.append(item)
    if pyz:
        deselected = [i for i in items if i not in keep]
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


@pytest.fixture(scope="session")
def cli_argv(request: pytest.FixtureRequest) -> List[str]:
    """The command prefix that runs asciinema: source tree or built archive."""
    pyz = request.config.getoption("--pyz")
    if pyz:
        path = Path(pyz).resolve()
        if not path.is_file():
            pytest.fail(f"--pyz {pyz}: no such file (run `make` first)")
        return [sys.executable, str(path)]
    return [sys.executable, str(ROOT / "asciinema")]


@pytest.fixture
def cli_env(tmp_path: Path) -> Dict[str, str]:
    """An environment with config and state homes inside the test's temp dir."""
    env = dict(os.environ)
    env["ASCIINEMA_CONFIG_HOME"] = str(tmp_path / "config")
    env["ASCIINEMA_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # the archive's bytecode cache
    env.pop("PYTHONPATH", None)
    env.pop("ASCIINEMA_SERVER_URL", None)
    env.pop("ASCIINEMA_API_URL", None)
    env["LC_ALL"] = "C.UTF-8"
    return env


@pytest.fixture
def rec_env(cli_env: Dict[str, str], tmp_path: Path) -> Dict[str, str]:
    """cli_env for recording a shell: a known shell, terminal and prompt, and no desktop
    notifications."""
    env = dict(cli_env)
    env["SHELL"] = "/bin/sh"
    env["TERM"] = "xterm-256color"
    env["PS1"] = "$ "
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "config.toml").write_text("[notifications]\nenabled = false\n")
    return env


CLI = Callable[..., "subprocess.CompletedProcess[bytes]"]


@pytest.fixture
def cli(cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path) -> CLI:
    """Run asciinema with ``args`` in ``tmp_path``; returns the CompletedProcess (bytes)."""

    def run(
        *args: str,
        input: Optional[bytes] = None,
        env: Optional[Dict[str, str]] = None,
        timeout: float = 120,
        cwd: Optional[Path] = None,
    ) -> "subprocess.CompletedProcess[bytes]":
        full_env = dict(cli_env)
        if env:
            full_env.update(env)
        return subprocess.run(
            cli_argv + list(args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=full_env,
            cwd=str(cwd or tmp_path),
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def ref_asciinema() -> str:
    """asciinema 2.4.0 from PyPI, installed by `make test` into .venv-ref (test-only)."""
    path = os.environ.get("ASCIINEMA_REF") or str(ROOT / ".venv-ref" / "bin" / "asciinema")
    if not os.path.exists(path):
        pytest.fail(f"asciinema 2.4.0 not found at {path}; run `make test` to install it")
    return path


#: path -> (HTTP status, Content-Type or "" for none, body)
Routes = Dict[str, Tuple[int, str, bytes]]


class _RouteHandler(http.server.BaseHTTPRequestHandler):
    routes: Routes = {}

    def do_GET(self) -> None:  # noqa: N802
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[Tuple[str, Routes]]:
    """A local HTTP server on 127.0.0.1 (port 0): yields (base URL, routes to fill in)."""
    routes: Routes = {}
    handler = type("Handler", (_RouteHandler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    """The local asciinema server API (tests/server_api.py) over HTTP on 127.0.0.1."""
    with ApiServer() as server:
        yield server


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it (needs openssl)."""
    try:
        return make_certificates(tmp_path_factory.mktemp("tls"))
    except FileNotFoundError:
        pytest.skip("no openssl command to make a test certificate (Debian package openssl)")


@pytest.fixture
def tls_api_server(certificates: Certificates) -> Iterator[ApiServer]:
    """The same server over HTTPS, with a certificate no system trusts."""
    with ApiServer(tls=server_context(certificates)) as server:
        yield server


@pytest.fixture
def connect_proxy() -> Iterator[ConnectProxy]:
    """An HTTP proxy on 127.0.0.1 that records the CONNECT targets (and plain requests)."""
    with ConnectProxy() as proxy:
        yield proxy
