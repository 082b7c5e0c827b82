"""asciicast v1: one JSON document with ``stdout`` as ``[delay, data]`` pairs. Read only."""

from __future__ import annotations

from math import floor
from typing import List

from asciinema.asciicast import MAX_TIME, OUTPUT, Event, Header, Recording, json_loads, json_reason, make_event
from asciinema.asciicast.header import decode_env, optional_text
from asciinema.errors import FormatError

_NOT_ASCIICAST = "not a v1, v2 or v3 asciicast file"


def decode(content: bytes, name: str) -> Recording:
    try:
        obj = json_loads(content)
    except UnicodeDecodeError as e:
        raise FormatError(f"{name}: invalid UTF-8 at byte {e.start}: {_NOT_ASCIICAST}") from None
    except ValueError as e:
        lineno = getattr(e, "lineno", None)
        where = f"{name}:{lineno}" if lineno else name
        raise FormatError(f"{where}: invalid JSON: {json_reason(e)}: {_NOT_ASCIICAST}") from None
    if not isinstance(obj, dict) or obj.get("version") != 1:
        raise FormatError(f"{name}:1: {_NOT_ASCIICAST}")
    width, height, stdout = obj.get("width"), obj.get("height"), obj.get("stdout")
    if type(width) is not int or type(height) is not int or width <= 0 or height <= 0:
        raise FormatError(f"{name}: asciicast v1 needs positive integer width and height")
    if not isinstance(stdout, list):
        raise FormatError(f"{name}: asciicast v1 needs a stdout array")
    env = decode_env(obj.get("env"), name)
    header = Header(
        cols=width,
        rows=height,
        term_type=env.get("TERM"),
        command=optional_text(obj, "command", name),
        title=optional_text(obj, "title", name),
        env=env,
    )
    recording = Recording(1, header)
    events = _events(stdout, name, recording)
    if not events:
        return recording
    recording.last_time = events[-1][0]
    times, codes, datas = map(list, zip(*events))
    return recording.set_batches(iter([(times, codes, datas)]))


def _events(stdout: List[object], name: str, recording: Recording) -> List[Event]:
    # Validated up front: the whole document is in memory already, and a v1 error found
    # half-way through a conversion would leave a partial output behind.
    events = []
    now = 0  # the sum of the delays so far
    time = 0  # the time of the event before: that sum, but never going backwards
    warned = False
    for k, frame in enumerate(stdout):
        if (
            not isinstance(frame, list)
            or len(frame) != 2
            or isinstance(frame[0], bool)
            or not isinstance(frame[0], (int, float))
            or not -MAX_TIME < frame[0] < MAX_TIME
            or not isinstance(frame[1], str)
        ):
            raise FormatError(f"{name}: stdout frame {k + 1} must be [delay, text]")
        now += floor(frame[0] * 1000000 + 0.5)
        if now >= time:
            time = now
        elif not warned:
            warned = True
            recording.warn(
                f"{name}: stdout frame {k + 1} has a negative delay ({frame[0]});"
                " such frames are moved to the time of the one before them"
            )
        events.append(make_event(time, OUTPUT, frame[1]))
    return events
