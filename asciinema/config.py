"""Configuration: file locations, TOML loading with precedence, key definitions, install ID.

Precedence, lowest first: built-in defaults, ``/etc/asciinema/config.toml``,
``<config home>/defaults.toml``, ``<config home>/config.toml``. Command-line flags are applied
by the commands on top; the server URL's environment variables and flag are weighed in
:mod:`asciinema.server_url`. The environment is passed in, never read at import time, so tests can
drive everything. Unknown keys are ignored; a value of the wrong type is an error naming the
file and the key.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from asciinema import status
from asciinema.errors import ConfigError

SYSTEM_CONFIG = "/etc/asciinema/config.toml"

#: ctrl+\ — the default pause key; the ``^X`` syntax cannot spell it.
DEFAULT_PAUSE_KEY = b"\x1c"


def config_home(env: Mapping[str, str]) -> str:
    if env.get("ASCIINEMA_CONFIG_HOME"):
        return env["ASCIINEMA_CONFIG_HOME"]
    if env.get("XDG_CONFIG_HOME"):
        return os.path.join(env["XDG_CONFIG_HOME"], "asciinema")
    if env.get("HOME"):
        return os.path.join(env["HOME"], ".config", "asciinema")
    raise ConfigError("need $HOME or $XDG_CONFIG_HOME or $ASCIINEMA_CONFIG_HOME")


def state_home(env: Mapping[str, str]) -> str:
    if env.get("ASCIINEMA_STATE_HOME"):
        return env["ASCIINEMA_STATE_HOME"]
    if env.get("XDG_STATE_HOME"):
        return os.path.join(env["XDG_STATE_HOME"], "asciinema")
    if env.get("HOME"):
        return os.path.join(env["HOME"], ".local", "state", "asciinema")
    raise ConfigError("need $HOME or $XDG_STATE_HOME or $ASCIINEMA_STATE_HOME")


def parse_key(value: str, where: str = "") -> Optional[bytes]:
    """A key definition to the bytes one read of that key returns; None means disabled.

    ``""`` disables; one character is itself; ``^x``, ``C-x`` and ``C+x`` (x a letter) are
    control keys.
    """
    if value == "":
        return None
    if len(value) == 1:
        return value.encode("utf-8")
    if len(value) == 2 and value[0] == "^" and value[1].isascii() and value[1].isalpha():
        return bytes([ord(value[1].upper()) - 0x40])
    if (
        len(value) == 3
        and value[0] in "cC"
        and value[1] in "-+"
        and value[2].isascii()
        and value[2].isalpha()
    ):
        return bytes([ord(value[2].upper()) - 0x40])
    raise ConfigError(f"invalid key definition '{value}'" + (f" ({where})" if where else ""))


# Plain classes, not dataclasses: importing dataclasses and running its decorator costs
# about 15 ms at every start of the program.


class SessionConfig:
    def __init__(self) -> None:
        self.command: Optional[str] = None
        self.capture_input = False
        self.capture_env: Optional[str] = None
        self.idle_time_limit: Optional[float] = None
        self.prefix_key: Optional[bytes] = None
        self.pause_key: Optional[bytes] = DEFAULT_PAUSE_KEY
        self.add_marker_key: Optional[bytes] = None
        #: regular expressions whose matches are masked in what is recorded and streamed
        self.redact: List[str] = []


class PlaybackConfig:
    def __init__(self) -> None:
        self.speed: Optional[float] = None
        self.idle_time_limit: Optional[float] = None
        self.pause_key: Optional[bytes] = b" "
        self.step_key: Optional[bytes] = b"."
        self.next_marker_key: Optional[bytes] = b"]"


class NotificationsConfig:
    def __init__(self) -> None:
        self.enabled = True
        self.command: Optional[str] = None


class Config:
    def __init__(self) -> None:
        self.server_url: Optional[str] = None
        self.session = SessionConfig()
        self.playback = PlaybackConfig()
        self.notifications = NotificationsConfig()
        #: the files that were read, lowest precedence first
        self.files: List[str] = []


# (section, key) -> (kind, attribute holder name). Kinds: str, bool, float, key, patterns (a
# list of regular expressions).
_SCHEMA: Dict[Tuple[str, str], str] = {
    ("server", "url"): "str",
    ("session", "command"): "str",
    ("session", "capture_input"): "bool",
    ("session", "capture_env"): "str",
    ("session", "idle_time_limit"): "float",
    ("session", "prefix_key"): "key",
    ("session", "pause_key"): "key",
    ("session", "add_marker_key"): "key",
    ("session", "redact"): "patterns",
    ("playback", "speed"): "float",
    ("playback", "idle_time_limit"): "float",
    ("playback", "pause_key"): "key",
    ("playback", "step_key"): "key",
    ("playback", "next_marker_key"): "key",
    ("notifications", "enabled"): "bool",
    ("notifications", "command"): "str",
}


def _toml_loads(text: str) -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib  # novermin (behind the version check)
    else:
        import tomli as tomllib
    return tomllib.loads(text)


def _read_toml(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"can't read config file {path}: Is a directory") from None
    except OSError as e:
        raise ConfigError(f"can't read config file {path}: {e.strerror}") from None
    try:
        return _toml_loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"invalid config file {path}: not UTF-8") from None
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"invalid config file {path}: {e}") from None


class NotANumber(ValueError):
    """Text that is no number at all."""


def non_negative_number(value: Union[str, int, float], *, positive: bool = False) -> float:
    """``value`` as a finite float, at least 0 (above 0 with ``positive``).

    The one check behind every speed and number of seconds, from the command line or the
    config; each caller words its own message. Text is read as a number. Raises
    :class:`NotANumber` for text that is none, ValueError for a number out of range.
    """
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise NotANumber(value) from None
    else:
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise ValueError(value) from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ValueError(value)
    return number


def _convert(kind: str, value: Any, where: str) -> Any:
    if kind == "str":
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false")
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return non_negative_number(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a non-negative number") from None
        raise ConfigError(f"{where}: expected a number")
    if kind == "patterns":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings")
        from asciinema.redact import compile_pattern

        for pattern in value:
            try:
                compile_pattern(pattern)
            except ValueError as e:
                raise ConfigError(f"{where}: invalid regular expression {pattern!r}: {e}") from None
        return list(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a key definition string")
    return parse_key(value, where)


def _apply(config: Config, data: Dict[str, Any], path: str) -> None:
    for section_name, section in data.items():
        if not isinstance(section, dict):
            continue
        for key, value in section.items():
            kind = _SCHEMA.get((section_name, key))
            if kind is None:
                continue
            where = f"{path}: {section_name}.{key}"
            converted = _convert(kind, value, where)
            if (section_name, key) == ("server", "url"):
                config.server_url = converted
            else:
                setattr(getattr(config, section_name), key, converted)


def load(env: Mapping[str, str], system_path: str = SYSTEM_CONFIG) -> Config:
    """Read every config file and the environment into one :class:`Config`."""
    config = Config()
    home = config_home(env)
    for path in (system_path, os.path.join(home, "defaults.toml"), os.path.join(home, "config.toml")):
        data = _read_toml(path)
        if data is not None:
            _apply(config, data, path)
            config.files.append(path)
    return config


def warn_legacy_config(env: Mapping[str, str]) -> None:
    """Warn when only a 2.x INI config exists: 3.x reads config.toml instead."""
    try:
        home = config_home(env)
    except ConfigError:
        return
    legacy, new = os.path.join(home, "config"), os.path.join(home, "config.toml")
    if os.path.isfile(legacy) and not os.path.exists(new):
        status.warning(f"Your config file at {legacy} uses the location and format from asciinema 2.x.")
        status.warning(f"For asciinema 3.x (this version) create a new config file at {new}.")
        status.warning("Read the documentation (CLI -> Configuration) for details.\n")


def install_id(env: Mapping[str, str]) -> str:
    """The install ID: read from the state home, else from the config home (where asciinema
    2.x kept it), else created there once: a UUID v4, no trailing newline, readable by its
    owner only (it is the password of every server request)."""
    path = os.path.join(state_home(env), "install-id")
    for candidate in (path, os.path.join(config_home(env), "install-id")):
        try:
            with open(candidate, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise ConfigError(f"can't read install ID {candidate}: {e.strerror}") from None
        try:
            value = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"can't read install ID {candidate}: not UTF-8 text") from None
        if value:
            return value
    import uuid

    value = str(uuid.uuid4())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
                os.fchmod(fd, 0o600)  # an empty file left by someone else keeps its mode otherwise
            os.write(fd, value.encode("ascii"))
        finally:
            os.close(fd)
    except OSError as e:
        raise ConfigError(f"can't save install ID {path}: {e.strerror}") from None
    return value
