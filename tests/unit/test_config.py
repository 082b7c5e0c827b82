"""Config: directories, precedence, TOML keys, key syntax, errors naming file and key."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Dict

import pytest

from asciinema.config import (
    DEFAULT_PAUSE_KEY,
    config_home,
    install_id,
    load,
    parse_key,
    state_home,
    warn_legacy_config,
)
from asciinema.errors import ConfigError


def test_config_home_resolution() -> None:
    assert config_home({"ASCIINEMA_CONFIG_HOME": "/a", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == "/a"
    assert config_home({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == "/x/asciinema"
    assert config_home({"HOME": "/h"}) == "/h/.config/asciinema"
    with pytest.raises(ConfigError) as e:
        config_home({})
    assert str(e.value) == "need $HOME or $XDG_CONFIG_HOME or $ASCIINEMA_CONFIG_HOME"


def test_state_home_resolution() -> None:
    assert state_home({"ASCIINEMA_STATE_HOME": "/s", "HOME": "/h"}) == "/s"
    assert state_home({"XDG_STATE_HOME": "/x", "HOME": "/h"}) == "/x/asciinema"
    assert state_home({"HOME": "/h"}) == "/h/.local/state/asciinema"
    with pytest.raises(ConfigError):
        state_home({})


@pytest.mark.parametrize(
    "text,expected",
    [("", None), ("p", b"p"), (" ", b" "), ("ż", "ż".encode()), ("^a", b"\x01"), ("^B", b"\x02"),
     ("C-x", b"\x18"), ("c+X", b"\x18"), ("C-a", b"\x01")],
)
def test_parse_key(text: str, expected: object) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["^\\", "^1", "ctrl-x", "C-", "C-xy", "Cx", "ab", "^ab", "M-x"])
def test_parse_key_errors(text: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_key(text)
    assert f"invalid key definition '{text}'" in str(e.value)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def env(tmp_path: Path) -> Dict[str, str]:
    return {"ASCIINEMA_CONFIG_HOME": str(tmp_path / "home")}


def test_defaults(env: Dict[str, str], tmp_path: Path) -> None:
    c = load(env, system_path=str(tmp_path / "none.toml"))
    assert c.server_url is None
    assert c.session.command is None
    assert c.session.capture_input is False
    assert c.session.capture_env is None
    assert c.session.idle_time_limit is None
    assert c.session.prefix_key is None
    assert c.session.pause_key == DEFAULT_PAUSE_KEY == b"\x1c"
    assert c.session.add_marker_key is None
    assert c.notifications.enabled is True
    assert c.notifications.command is None
    assert c.files == []


def test_session_keys(env: Dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "home" / "config.toml", """
[session]
command = "bash -l"
capture_input = true
capture_env = "SHELL,TERM,USER"
idle_time_limit = 2
prefix_key = "^a"
pause_key = "p"
add_marker_key = "C-b"
unknown_key = 1

[notifications]
enabled = false
command = 'tmux display-message "$TEXT"'

[unknown_section]
x = 1
""")
    c = load(env, system_path=str(tmp_path / "none.toml"))
    s = c.session
    assert (s.command, s.capture_input, s.capture_env) == ("bash -l", True, "SHELL,TERM,USER")
    assert s.idle_time_limit == 2.0 and isinstance(s.idle_time_limit, float)
    assert (s.prefix_key, s.pause_key, s.add_marker_key) == (b"\x01", b"p", b"\x02")
    assert c.notifications.enabled is False
    assert c.notifications.command == 'tmux display-message "$TEXT"'


def test_empty_pause_key_disables(env: Dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "home" / "config.toml", '[session]\npause_key = ""\n')
    assert load(env, system_path=str(tmp_path / "none.toml")).session.pause_key is None


def test_precedence(env: Dict[str, str], tmp_path: Path) -> None:
    system = write(tmp_path / "etc" / "config.toml",
                   '[server]\nurl = "https://system"\n[session]\ncommand = "sys"\nidle_time_limit = 1.0\n'
                   'capture_env = "A"\n')
    write(tmp_path / "home" / "defaults.toml", '[server]\nurl = "https://defaults"\n[session]\ncommand = "def"\n')
    write(tmp_path / "home" / "config.toml", '[session]\ncommand = "user"\n')
    c = load(env, system_path=str(system))
    assert c.session.command == "user"
    assert c.server_url == "https://defaults"
    assert c.session.idle_time_limit == 1.0
    assert c.session.capture_env == "A"
    assert c.files == [str(system), str(tmp_path / "home" / "defaults.toml"), str(tmp_path / "home" / "config.toml")]
    # the server URL's environment variables are weighed by server_url.choose, not here
    c = load(dict(env, ASCIINEMA_API_URL="https://api", ASCIINEMA_SERVER_URL="https://server"),
             system_path=str(system))
    assert c.server_url == "https://defaults"


def test_xdg_fallback_is_read(tmp_path: Path) -> None:
    write(tmp_path / "xdg" / "asciinema" / "config.toml", '[session]\ncommand = "from-xdg"\n')
    c = load({"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "h")},
             system_path=str(tmp_path / "none.toml"))
    assert c.session.command == "from-xdg"
    write(tmp_path / "h" / ".config" / "asciinema" / "config.toml", '[session]\ncommand = "from-home"\n')
    c = load({"HOME": str(tmp_path / "h")}, system_path=str(tmp_path / "none.toml"))
    assert c.session.command == "from-home"


@pytest.mark.parametrize(
    "text,where",
    [
        ('[session]\ncapture_input = "yes"\n', "session.capture_input"),
        ("[session]\nidle_time_limit = \"2\"\n", "session.idle_time_limit"),
        ("[session]\ncommand = 3\n", "session.command"),
        ('[session]\nadd_marker_key = "ctrl+b"\n', "session.add_marker_key"),
        ("[notifications]\nenabled = 1\n", "notifications.enabled"),
        ("[session]\nprefix_key = 1\n", "session.prefix_key"),
        ("[session]\nidle_time_limit = nan\n", "session.idle_time_limit"),
        ("[session]\nidle_time_limit = -2\n", "session.idle_time_limit"),
    ],
)
def test_wrong_values_name_file_and_key(env: Dict[str, str], tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path / "home" / "config.toml", text)
    with pytest.raises(ConfigError) as e:
        load(env, system_path=str(tmp_path / "none.toml"))
    assert str(path) in str(e.value) and where in str(e.value)


def test_broken_toml_names_the_file(env: Dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path / "home" / "config.toml", "[session\ncommand = 'x'\n")
    with pytest.raises(ConfigError) as e:
        load(env, system_path=str(tmp_path / "none.toml"))
    assert str(e.value).startswith(f"invalid config file {path}: ")
    path.write_bytes(b"[session]\ncommand = '\xff'\n")
    with pytest.raises(ConfigError) as e:
        load(env, system_path=str(tmp_path / "none.toml"))
    assert str(path) in str(e.value)


def test_broken_system_config(env: Dict[str, str], tmp_path: Path) -> None:
    system = write(tmp_path / "etc.toml", "session = [\n")
    with pytest.raises(ConfigError) as e:
        load(env, system_path=str(system))
    assert str(system) in str(e.value)


def test_config_directory_instead_of_file(env: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "home" / "config.toml").mkdir(parents=True)
    with pytest.raises(ConfigError) as e:
        load(env, system_path=str(tmp_path / "none.toml"))
    assert str(tmp_path / "home" / "config.toml") in str(e.value)


def test_legacy_config_warning(env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "home" / "config", "[api]\nurl = x\n")
    warn_legacy_config(env)
    err = capsys.readouterr().err
    assert err.startswith(f"!!! Your config file at {tmp_path}/home/config uses the location and format")
    assert err.endswith("Read the documentation (CLI -> Configuration) for details.\n\n")
    write(tmp_path / "home" / "config.toml", "")
    warn_legacy_config(env)
    assert capsys.readouterr().err == ""


# -- install ID -------------------------------------------------------------------------------

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def ids_env(tmp_path: Path) -> Dict[str, str]:
    return {"ASCIINEMA_CONFIG_HOME": str(tmp_path / "config"), "ASCIINEMA_STATE_HOME": str(tmp_path / "state" / "a")}


def test_install_id_is_created_once_private_and_without_newline(tmp_path: Path) -> None:
    env = ids_env(tmp_path)
    value = install_id(env)
    path = tmp_path / "state" / "a" / "install-id"
    assert UUID4.fullmatch(value)
    assert path.read_bytes() == value.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert install_id(env) == value
    path.write_text(" kept-as-written \n")
    assert install_id(env) == "kept-as-written"


def test_install_id_of_asciinema_2_is_read(tmp_path: Path) -> None:
    env = ids_env(tmp_path)
    write(tmp_path / "config" / "install-id", "legacy-id\n")
    assert install_id(env) == "legacy-id"
    assert not (tmp_path / "state" / "a" / "install-id").exists()


def test_an_empty_install_id_file_is_replaced_with_a_private_one(tmp_path: Path) -> None:
    env = ids_env(tmp_path)
    path = write(tmp_path / "state" / "a" / "install-id", "")
    path.chmod(0o644)
    value = install_id(env)
    assert UUID4.fullmatch(value) and path.read_text() == value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unreadable_install_id_is_one_error(tmp_path: Path) -> None:
    env = ids_env(tmp_path)
    (tmp_path / "state" / "a" / "install-id").mkdir(parents=True)
    with pytest.raises(ConfigError) as e:
        install_id(env)
    assert str(e.value) == f"can't read install ID {tmp_path}/state/a/install-id: Is a directory"
    (tmp_path / "state" / "a" / "install-id").rmdir()
    write(tmp_path / "state" / "a" / "install-id", "").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError) as e:
        install_id(env)
    assert str(e.value) == f"can't read install ID {tmp_path}/state/a/install-id: not UTF-8 text"


def test_install_id_under_a_file_is_one_error(tmp_path: Path) -> None:
    write(tmp_path / "state", "a file where the directory should be")
    with pytest.raises(ConfigError) as e:
        install_id(ids_env(tmp_path))
    assert str(e.value) == f"can't read install ID {tmp_path}/state/a/install-id: Not a directory"
