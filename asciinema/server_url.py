"""Which asciinema server to talk to, and who talks: server URL, install ID, user name.

The server URL comes from, lowest first: the config files (``server.url``, the first-use
answer in ``defaults.toml`` among them), ``ASCIINEMA_API_URL`` (asciinema 2.x's name, with a
warning), ``ASCIINEMA_SERVER_URL``, then ``--server-url``. With none of them, the user is
asked once on the terminal and the answer is saved to ``<config home>/defaults.toml``;
without a terminal that is an error saying how to set it. Only commands that need a server
ask (upload, auth, remote streaming to a server).
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Mapping, NamedTuple, Optional, Tuple

from asciinema import status
from asciinema.api import DEFAULT_SERVER_URL, parse_server_url
from asciinema.config import Config, config_home, install_id, load
from asciinema.errors import ConfigError, OutputError

NO_TERMINAL = (
    "no asciinema server configured for this CLI, and no terminal to ask for one: set it with "
    "--server-url, ASCIINEMA_SERVER_URL or server.url in {config}"
)


class Access(NamedTuple):
    """What a request to the server needs."""

    server_url: str
    install_id: str
    user: str


def choose(config_url: Optional[str], env: Mapping[str, str], flag: Optional[str]) -> Tuple[Optional[str], str]:
    """The server URL in effect and where it came from (None, "" when none is set)."""
    url, source = config_url, "config"
    for name in ("ASCIINEMA_API_URL", "ASCIINEMA_SERVER_URL"):
        if env.get(name):
            url, source = env[name], name
    if flag:
        url, source = flag, "--server-url"
    return (url, source) if url else (None, "")


def defaults_toml(url: str) -> str:
    """The text of defaults.toml that holds the first-use answer."""
    import json

    # a JSON string is a TOML basic string
    return f"[server]\nurl = {json.dumps(url, ensure_ascii=False)}\n"


def resolve(
    env: Mapping[str, str],
    flag: Optional[str] = None,
    config: Optional[Config] = None,
    ask: Optional[Callable[[str], str]] = None,
) -> str:
    """The normalised server URL; asks for it (once for good) when none is set."""
    if config is None:
        config = load(env)
    url, source = choose(config.server_url, env, flag)
    if source == "ASCIINEMA_API_URL":
        status.warning("ASCIINEMA_API_URL is deprecated and will stop working; use ASCIINEMA_SERVER_URL instead")
    if url is not None:
        return parse_server_url(url).text
    return _first_use(env, ask)


def access(env: Mapping[str, str], flag: Optional[str] = None, config: Optional[Config] = None) -> Access:
    """Server URL (asking when none is set), install ID (created on first use) and user name."""
    url = resolve(env, flag, config)
    return Access(url, install_id(env), env.get("USER", ""))


def _first_use(env: Mapping[str, str], ask: Optional[Callable[[str], str]]) -> str:
    path = os.path.join(config_home(env), "defaults.toml")
    if ask is None:
        if not _stdin_is_terminal():
            raise ConfigError(NO_TERMINAL.format(config=os.path.join(config_home(env), "config.toml")))
        ask = _ask_on_terminal
    try:
        print("No asciinema server configured for this CLI.", flush=True)
        answer = ask(DEFAULT_SERVER_URL).strip() or DEFAULT_SERVER_URL
        print(flush=True)
    except EOFError:
        raise ConfigError("no server URL given") from None
    url = parse_server_url(answer).text
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        from asciinema.atomic_file import AtomicOutput

        with AtomicOutput(path, overwrite=True) as f:
            f.write(defaults_toml(url).encode("utf-8"))
    except OSError as e:
        raise OutputError(f"can't write {path}: {e.strerror or e}") from None
    return url


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


PROMPT = "Enter the server URL to use by default: "


def _ask_on_terminal(default: str) -> str:
    """Ask with ``default`` already typed in and editable, where readline can do that; else
    show it and take an empty answer as it."""
    try:
        if not sys.stdout.isatty():
            raise ImportError  # input() edits with readline only on a terminal
        import readline
    except ImportError:
        return input(f"Enter the server URL to use by default [{default}]: ")

    def prefill() -> None:
        readline.insert_text(default)
        readline.redisplay()

    readline.set_startup_hook(prefill)
    try:
        return input(PROMPT)
    finally:
        readline.set_startup_hook(None)
