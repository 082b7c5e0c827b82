"""`upload` and `auth` against the local test server (tests/server_api.py): what the server
sees, each answer's message, transport failures in one line, HTTPS and proxies, the server
URL's precedence and first-use prompt, and a 200 MB upload in flat memory."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from paths import CASTS
from ptyutil import PtyProc
from server_api import ApiServer, Certificates, ConnectProxy

CAST = CASTS / "full-v2.cast"


def error_line(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in stderr.decode(), stderr.decode()
    return errors[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_proxy_env() -> Dict[str, str]:
    return proxies(http="", https="", all="", no="")


def proxies(**values: str) -> Dict[str, str]:
    """Proxy variables in both spellings (urllib prefers the lower-case one, even empty)."""
    env = {}
    for scheme, value in values.items():
        env[f"{scheme}_proxy"] = env[f"{scheme.upper()}_PROXY"] = value
    return env


@pytest.fixture
def up(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """`asciinema upload` with no proxy, USER=alice and a short timeout."""

    def run(*args: str, env: Dict[str, str] = {}):  # type: ignore[no-untyped-def]
        full = dict(no_proxy_env(), USER="alice", ASCIINEMA_HTTP_TIMEOUT="60")
        full.update(env)
        return cli("upload", *args, env=full)

    return run


def installed_id(tmp_path: Path) -> str:
    return (tmp_path / "state" / "install-id").read_text()


# -- success ----------------------------------------------------------------------------------


def test_upload_sends_what_the_server_checks(up, api_server: ApiServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = up(str(CAST), "--server-url", api_server.url + "/some/path")
    assert r.returncode == 0, r.stderr
    (req,) = api_server.requests
    install_id = installed_id(tmp_path)
    url = f"{api_server.url}/a/1"
    assert r.stdout.decode() == (
        f"View the recording at:\n\n    {url}\n\n"
        "This CLI is not linked to an account on this server yet; recordings from unlinked CLIs may be "
        f"removed after a while. To keep them, link it with `asciinema auth` ({api_server.url}/connect/{install_id}).\n\n"
    )
    assert r.stderr == b""
    assert (req.method, req.path) == ("POST", "/api/v1/recordings")
    assert req.auth == ("alice", install_id)
    assert req.headers["user-agent"].startswith("asciinema/3.1.0 target/")
    assert req.headers["accept"] == "application/json"
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    part = req.body["file"]
    assert (part.filename, part.content_type) == ("full-v2.cast", "application/octet-stream")
    assert part.sha256 == hashlib.sha256(CAST.read_bytes()).hexdigest()
    assert list(req.body) == ["file"]


def test_upload_prints_the_url_when_there_is_no_message(up, api_server: ApiServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    api_server.answer(201, {"id": 7, "url": "https://example.com/a/7"})
    r = up(str(CASTS / "full-v3.cast"), "--server-url", api_server.url)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"https://example.com/a/7\n", b"")


def test_upload_without_user_sends_an_empty_user_name(cli, cli_argv: List[str], cli_env: Dict[str, str],  # type: ignore[no-untyped-def]
                                                     api_server: ApiServer, tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env.items() if k != "USER"}
    env.update(no_proxy_env(), ASCIINEMA_SERVER_URL=api_server.url)
    r = subprocess.run(cli_argv + ["upload", str(CASTS / "full-v1.json")], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert api_server.requests[0].auth == ("", installed_id(tmp_path))


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status,body,message", [
    (401, {"message": "Unauthorized"}, "HTTP status client error (401 Unauthorized) for url ({url})"),
    (413, {"message": "Recordings are limited to 5 kB"}, "Recordings are limited to 5 kB (the file is 609 bytes)"),
    (413, "<html><body>413 Request Entity Too Large</body></html>",
     "The recording exceeds the server-configured size limit (the file is 609 bytes)"),
    (422, {"message": "This doesn't look like a valid asciicast file"},
     "HTTP status client error (422 Unprocessable Entity) for url ({url})"),
    (500, "oops", "HTTP status server error (500 Internal Server Error) for url ({url})"),
])
def test_refusals(up, api_server: ApiServer, status: int, body: object, message: str) -> None:  # type: ignore[no-untyped-def]
    api_server.answer(status, body)  # type: ignore[arg-type]
    r = up(str(CAST), "--server-url", api_server.url)
    assert r.returncode == 1 and r.stdout == b""
    assert error_line(r.stderr) == "Error: " + message.format(url=f"{api_server.url}/api/v1/recordings")


def test_the_server_refuses_what_is_no_asciicast(up, api_server: ApiServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the server's own check, reached only when ours lets a file through: a v1 file that the
    # server's quick look does not take (no "version" in its first 4 KiB)
    doc = {"width": 80, "height": 24, "stdout": [[0.5, "x" * 5000]], "version": 1}
    (tmp_path / "v1.json").write_text(json.dumps(doc))
    r = up("v1.json", "--server-url", api_server.url)
    assert error_line(r.stderr) == (
        f"Error: HTTP status client error (422 Unprocessable Entity) for url ({api_server.url}/api/v1/recordings)"
    )


@pytest.fixture(scope="module")
def cast_20_mb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.cast"
    with open(path, "w") as f:
        f.write('{"version": 2, "width": 80, "height": 24}\n')
        for i in range(0, 500000, 1000):
            f.write("".join(f'[{j / 10:.1f}, "o", "line {j:06d} of output\\r\\n"]\n' for j in range(i, i + 1000)))
    return path


@pytest.mark.parametrize("drain", [True, False], ids=["server-reads-the-rest", "server-stops-reading"])
def test_a_413_answered_before_the_body_is_sent_says_the_size(up, api_server: ApiServer, cast_20_mb: Path,  # type: ignore[no-untyped-def]
                                                              drain: bool) -> None:
    # Answered as soon as the request head is read. A server that then stops reading makes
    # the rest of the body fail to send (asciinema 2.x showed "Broken pipe"): the answer is
    # read all the same.
    api_server.size_limit = 100_000
    api_server.drain_refused = drain
    size = cast_20_mb.stat().st_size
    r = up(str(cast_20_mb), "--server-url", api_server.url)
    assert error_line(r.stderr) == (
        f"Error: The recording exceeds the size limit of 100000 bytes (the file is {size / 1e6:.1f} MB)"
    )


def test_a_broken_file_is_refused_before_any_request(up, api_server: ApiServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = CAST.read_text().splitlines()
    lines[3] = '[1.3, "o", "unterminated'
    (tmp_path / "broken.cast").write_text("\n".join(lines) + "\n")
    r = up("broken.cast", "--server-url", api_server.url)
    assert error_line(r.stderr).startswith("Error: broken.cast:4: ")
    (tmp_path / "empty.cast").write_text("")
    r = up("empty.cast", "--server-url", api_server.url)
    assert error_line(r.stderr) == "Error: empty.cast: empty file"
    r = up("missing.cast", "--server-url", api_server.url)
    assert error_line(r.stderr) == "Error: can't open missing.cast: No such file or directory"
    assert api_server.requests == []
    # nor is the server URL asked for, nor the install ID created
    r = up("broken.cast")
    assert error_line(r.stderr).startswith("Error: broken.cast:4: ")
    assert not (tmp_path / "state").exists()


# -- transport failures -------------------------------------------------------------------------


def test_unknown_host(up) -> None:  # type: ignore[no-untyped-def]
    r = up(str(CAST), "--server-url", "http://asciinema.invalid")
    line = error_line(r.stderr)
    assert line.startswith("Error: upload failed: http://asciinema.invalid/api/v1/recordings: "
                           "can't resolve the host name of asciinema.invalid ("), line


def test_refused_connection(up) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    r = up(str(CAST), "--server-url", f"http://127.0.0.1:{port}")
    assert error_line(r.stderr) == (
        f"Error: upload failed: http://127.0.0.1:{port}/api/v1/recordings: connection refused by 127.0.0.1:{port}"
    )


def test_a_stalled_server_times_out(up, api_server: ApiServer) -> None:  # type: ignore[no-untyped-def]
    api_server.stall = True
    r = up(str(CAST), "--server-url", api_server.url, env={"ASCIINEMA_HTTP_TIMEOUT": "1"})
    assert error_line(r.stderr) == (
        f"Error: upload failed: {api_server.url}/api/v1/recordings: no answer within 1 s "
        "(timed out; ASCIINEMA_HTTP_TIMEOUT sets how long to wait)"
    )


def test_a_dropped_connection(up, api_server: ApiServer) -> None:  # type: ignore[no-untyped-def]
    api_server.drop = True
    r = up(str(CAST), "--server-url", api_server.url)
    line = error_line(r.stderr)
    assert line.startswith(f"Error: upload failed: {api_server.url}/api/v1/recordings: the server closed the connection")


# -- HTTPS and proxies --------------------------------------------------------------------------


def test_a_certificate_no_one_trusts_is_refused(up, tls_api_server: ApiServer) -> None:  # type: ignore[no-untyped-def]
    r = up(str(CAST), "--server-url", tls_api_server.url, env={"SSL_CERT_FILE": "/nonexistent", "SSL_CERT_DIR": "/nonexistent"})
    assert error_line(r.stderr) == (
        f"Error: upload failed: {tls_api_server.url}/api/v1/recordings: the server's TLS certificate could not be "
        "verified (unable to get local issuer certificate); to trust a certificate authority of your own, set "
        "SSL_CERT_FILE to its certificate file"
    )
    assert [r.method for r in tls_api_server.requests] == []


def test_a_certificate_trusted_through_ssl_cert_file(up, tls_api_server: ApiServer, certificates: Certificates) -> None:  # type: ignore[no-untyped-def]
    r = up(str(CAST), "--server-url", tls_api_server.url, env={"SSL_CERT_FILE": certificates.ca})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"View the recording at:\n\n    {tls_api_server.url}/a/1\n".encode())
    assert tls_api_server.requests[0].body["file"].size == CAST.stat().st_size


def test_https_through_a_proxy_tunnel(up, tls_api_server: ApiServer, certificates: Certificates,  # type: ignore[no-untyped-def]
                                      connect_proxy: ConnectProxy) -> None:
    r = up(str(CAST), "--server-url", tls_api_server.url,
           env=dict(proxies(https=connect_proxy.url), SSL_CERT_FILE=certificates.ca))
    assert r.returncode == 0, r.stderr
    assert connect_proxy.requests == [("CONNECT", f"127.0.0.1:{tls_api_server.port}")]
    assert len(tls_api_server.requests) == 1


def test_no_proxy_bypasses_the_proxy(up, api_server: ApiServer, connect_proxy: ConnectProxy) -> None:  # type: ignore[no-untyped-def]
    r = up(str(CAST), "--server-url", api_server.url,
           env=proxies(http=connect_proxy.url, no="127.0.0.1"))
    assert r.returncode == 0, r.stderr
    assert connect_proxy.requests == [] and len(api_server.requests) == 1
    r = up(str(CAST), "--server-url", api_server.url, env=proxies(http=connect_proxy.url))
    assert r.returncode == 0, r.stderr
    assert connect_proxy.requests == [("POST", f"{api_server.url}/api/v1/recordings")]


def test_a_proxy_that_is_down(up, tls_api_server: ApiServer) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    r = up(str(CAST), "--server-url", tls_api_server.url, env=proxies(https=f"http://127.0.0.1:{port}"))
    assert error_line(r.stderr) == (
        f"Error: upload failed: {tls_api_server.url}/api/v1/recordings: connection refused by the proxy 127.0.0.1:{port}"
    )


# -- server URL and auth --------------------------------------------------------------------------


def auth_host(r: "subprocess.CompletedProcess[bytes]") -> str:
    assert r.returncode == 0, r.stderr
    first = r.stdout.decode().splitlines()[0]
    return first.split("with your ")[1].split(" user account")[0]


def test_auth_prints_the_connect_url_and_makes_no_request(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    r = cli("auth", "--server-url", f"http://127.0.0.1:{port}/anything")
    assert r.returncode == 0, r.stderr
    install_id = installed_id(tmp_path)
    assert r.stdout.decode() == (
        "Open the following URL in a web browser to authenticate this CLI with your 127.0.0.1 user account:\n\n"
        f"http://127.0.0.1:{port}/connect/{install_id}\n\n"
        "This will associate all recordings uploaded from this machine with your account (including past "
        "uploads), and enable public live streaming via 127.0.0.1.\n"
    )
    assert r.stderr == b""
    r2 = cli("auth", "--server-url", f"http://127.0.0.1:{port}/anything")
    assert r2.stdout == r.stdout


def test_server_url_precedence(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('[server]\nurl = "https://from-config.example"\n')
    assert auth_host(cli("auth")) == "from-config.example"
    r = cli("auth", env={"ASCIINEMA_API_URL": "https://from-api-url.example"})
    assert auth_host(r) == "from-api-url.example"
    assert r.stderr.decode() == (
        "!!! ASCIINEMA_API_URL is deprecated and will stop working; use ASCIINEMA_SERVER_URL instead\n"
    )
    both = {"ASCIINEMA_API_URL": "https://from-api-url.example", "ASCIINEMA_SERVER_URL": "https://from-env.example"}
    r = cli("auth", env=both)
    assert auth_host(r) == "from-env.example" and r.stderr == b""
    assert auth_host(cli("auth", "--server-url", "https://from-flag.example", env=both)) == "from-flag.example"
    r = cli("auth", "-q", env={"ASCIINEMA_API_URL": "https://from-api-url.example"})
    assert auth_host(r) == "from-api-url.example" and r.stderr == b""


def test_server_url_without_host(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("auth", "--server-url", "http://")
    assert (r.returncode, error_line(r.stderr)) == (1, "Error: server URL is missing a host")
    r = cli("auth", env={"ASCIINEMA_SERVER_URL": "asciinema.org"})
    assert error_line(r.stderr) == (
        "Error: invalid server URL asciinema.org: it needs a scheme, as in https://asciinema.org"
    )


def test_no_server_url_and_no_terminal(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (["auth"], ["upload", str(CAST)]):
        r = cli(*args)
        assert r.returncode == 1 and r.stdout == b""
        assert error_line(r.stderr) == (
            "Error: no asciinema server configured for this CLI, and no terminal to ask for one: set it with "
            f"--server-url, ASCIINEMA_SERVER_URL or server.url in {tmp_path}/config/config.toml"
        )
    assert not (tmp_path / "config" / "defaults.toml").exists()


def test_first_use_prompt_on_a_terminal(cli, cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = dict(cli_env, TERM="xterm")
    with PtyProc(cli_argv + ["auth"], env=env, cwd=str(tmp_path)) as p:
        p.expect(b"No asciinema server configured for this CLI.\r\n")
        p.expect(b"Enter the server URL to use by default: https://asciinema.org")
        p.send(b"\x15")  # ctrl+u: the suggestion is editable
        p.send(b"http://Example.COM:80/some/path\r")
        assert p.wait(60) == 0, p.output
        out = p.output
    defaults = tmp_path / "config" / "defaults.toml"
    assert defaults.read_text() == '[server]\nurl = "http://example.com/some/path"\n'
    text = out.decode().replace("\r\n", "\n")
    assert "\n\nOpen the following URL in a web browser to authenticate this CLI with your example.com user account:" in text
    assert f"http://example.com/connect/{installed_id(tmp_path)}\n" in text
    # not asked again, with or without a terminal
    r = cli("auth")
    assert auth_host(r) == "example.com"
    with PtyProc(cli_argv + ["auth"], env=env, cwd=str(tmp_path)) as p:
        assert p.wait(60) == 0
        assert b"Enter the server URL" not in p.output and b"example.com user account" in p.output


def test_first_use_prompt_takes_the_suggestion(cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path) -> None:
    with PtyProc(cli_argv + ["auth"], env=dict(cli_env, TERM="xterm"), cwd=str(tmp_path)) as p:
        p.expect(b"Enter the server URL to use by default: https://asciinema.org")
        p.send(b"\r")
        assert p.wait(60) == 0, p.output
    assert (tmp_path / "config" / "defaults.toml").read_text() == '[server]\nurl = "https://asciinema.org/"\n'


# -- big files --------------------------------------------------------------------------------------

BIG = 200 * 10**6


def write_big_cast(path: Path, size: int) -> None:
    line = json.dumps("x" * 990)
    with open(path, "w") as f:
        f.write('{"version": 2, "width": 80, "height": 24}\n')
        i = 0
        block = []
        written = 0
        while written < size:
            entry = f"[{i / 1000:.3f}, \"o\", {line}]\n"
            block.append(entry)
            written += len(entry)
            i += 1
            if len(block) == 1000:
                f.write("".join(block))
                block = []
        f.write("".join(block))


PEAK_RSS = """\
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
sys.stdout.write(f"{r.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
sys.stderr.buffer.write(r.stderr)
"""


def test_a_200_mb_upload_in_flat_memory(cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path,
                                         api_server: ApiServer) -> None:
    path = tmp_path / "big.cast"
    write_big_cast(path, BIG)
    env = dict(cli_env, **no_proxy_env(), ASCIINEMA_SERVER_URL=api_server.url, ASCIINEMA_HTTP_TIMEOUT="120")
    # a process of its own measures the peak of its only child
    r = subprocess.run([sys.executable, "-c", PEAK_RSS] + cli_argv + ["upload", str(path)], env=env,
                       capture_output=True, cwd=str(tmp_path), timeout=900)
    status, peak_kib = map(int, r.stdout.split())
    assert status == 0, r.stderr
    assert peak_kib < 60 * 1024, f"peak RSS {peak_kib} KiB"
    part = api_server.requests[0].body["file"]
    assert part.size == path.stat().st_size
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    assert part.sha256 == h.hexdigest()


def test_a_proxy_that_cannot_reach_the_server(up, connect_proxy: ConnectProxy) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    r = up(str(CAST), "--server-url", f"https://127.0.0.1:{port}", env=proxies(https=connect_proxy.url))
    assert error_line(r.stderr) == (
        f"Error: upload failed: https://127.0.0.1:{port}/api/v1/recordings: the proxy 127.0.0.1:{connect_proxy.port} "
        f"refused to connect to 127.0.0.1:{port} (502 Bad Gateway)"
    )
    assert connect_proxy.requests == [("CONNECT", f"127.0.0.1:{port}")]
