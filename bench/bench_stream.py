"""Benchmark the local live stream (asciinema/stream/live.py), side by side in one run.

1. Session throughput: 64 MB of base64 text (`cat FILE`) through the session engine on a
   real pty (drained by `cat` as a fast terminal), recording to a file, without and with
   the local stream and 0, 1 and 100 loopback viewers (another process, reading as fast as
   they can), and 100 viewers plus one that never reads; `rec` of the same command beside
   them. Prints the time the program took to print it all (the throughput the user sees),
   the time to the recorder's exit, its CPU and peak RSS, and the ratio to `rec`.
   While the CLI has no `session` command, the engine runs in a small harness in its own
   process (:data:`HARNESS`: asciinema.session.Session with FileOutput and LiveStreamOutput,
   as `session -o FILE --stream-local ADDR` will); once it has, the command itself runs
   (:func:`session_argv`).
2. Flood replay without a pty: 64 MB in 64 KiB events paced at 60 MB/s straight into
   LiveStreamOutput.send with 0, 1 and 100 viewers (+1 stalled): the time spent in send
   (p50, p99, max), the sender's CPU, peak RSS, Inits per viewer, right final screens.
3. Latency, send to viewer, with 100 viewers and with 1: one line every 20 ms (typing
   rates) and 20 KB every 20 ms (1 MB/s); p50, p99, max. Beside each, the floor: the same
   viewers against a bare websockets server that broadcasts the same ALiS messages from
   its own loop (websockets' broadcast; no pipe, no stream process, no hub, no terminal),
   so that what our path adds shows apart from what the viewers' process costs.
   ``--stream-sched normal`` and ``--stream-nice N`` run the stream process without
   SCHED_BATCH and at another niceness (asciinema.stream.live.NICENESS), to compare.
4. A viewer joining right after a 64 MB flood: time to its Init, and whether the Init shows
   the final screen.

Targets (issue 12): >= 0.9x rec's throughput with 0 viewers and >= 0.8x with 100; peak RSS
<= 80 MB with 100 viewers and a stalled one; latency p99 <= 10 ms at typing rates and
< 50 ms at 1 MB/s; the Init within 1 s after the flood, with the final screen.
Not a test: nothing asserts. Usage: python3 bench/bench_stream.py [--size-mb 64] [--only 1,2,3,4]
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from common import ROOT, ours, parser, session_env

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rec import make_input, run_with_terminal  # noqa: E402

CHUNK = 64000  #: characters per event in the replays: about what the session reads at once
PTY_RATE = 60e6  #: bytes/s a pty delivers in a flood
FINAL = "FINAL-SCREEN"  #: what the screen shows at the end of every run
VIEWER_SCREENS = 5  #: viewers per run whose final screen is rebuilt and checked


# --------------------------------------------------------------------------- viewers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stalled_viewer(port: int) -> socket.socket:
    """A viewer that completes the WebSocket handshake and then never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: v1.alis\r\n\r\n").encode())
    return s


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


#: niceness of the viewers' process (--viewers-nice): real viewers are on other machines
VIEWERS_NICE = [0]


def start_viewers(port: int, count: int) -> subprocess.Popen:
    """``count`` viewers in another process; returns once all have their Init."""
    nice = ["nice", "-n", str(VIEWERS_NICE[0])] if VIEWERS_NICE[0] else []
    proc = subprocess.Popen(nice + [sys.executable, __file__, "--viewers", str(port), str(count)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        raise RuntimeError(f"viewers did not start: {line!r}")
    return proc


def viewer_results(proc: subprocess.Popen, timeout: float = 600) -> List[Dict[str, object]]:
    out, _ = proc.communicate(timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def viewers_main(port: int, count: int) -> None:
    """Viewer process: ``count`` connections that read as fast as they can. Prints "ready"
    when all have their Init, and one JSON line when the stream has ended."""
    sys.path.insert(0, str(ROOT))
    from websockets.asyncio.client import connect

    from asciinema.stream.alis import AlisDecoder, Init
    from asciinema.vt import Terminal

    ready: List[int] = []
    results: List[Dict[str, object]] = []

    async def viewer(n: int) -> None:
        async with connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["v1.alis"], max_size=None,
                           open_timeout=120, ping_interval=None, close_timeout=30) as ws:
            decoder = AlisDecoder()
            decoder.feed(await ws.recv())  # type: ignore[arg-type]
            init = decoder.feed(await ws.recv())  # type: ignore[arg-type]
            ready.append(1)
            if len(ready) == count:
                print("ready", flush=True)
            inits, received, code = 1, 0, None
            latencies: List[float] = []
            # Enough to rebuild the final screen: the last Init and the output since its
            # last full clear (every run ends with one).
            size = (init.cols, init.rows)  # type: ignore[union-attr]
            screen: List[str] = [init.init]  # type: ignore[union-attr]
            try:
                async for message in ws:
                    now = time.monotonic()
                    received += len(message)
                    item = decoder.feed(message)  # type: ignore[arg-type]
                    if isinstance(item, Init):
                        inits += 1
                        size, screen = (item.cols, item.rows), [item.init]
                    elif isinstance(item, tuple) and item[1].code == "o":
                        data = item[1].data
                        if data.startswith("@"):
                            latencies.append(now - float(data[1:].split(None, 1)[0]))
                        if n < VIEWER_SCREENS:
                            clear = data.rfind("\x1b[2J")
                            if clear >= 0:
                                screen = [data[clear:]]
                            else:
                                screen.append(data)
                                if len(screen) > 64:
                                    screen = ["".join(screen)[-(4 << 20):]]
            except Exception:
                pass
            if ws.close_code is not None:
                code = ws.close_code
            right = None
            if n < VIEWER_SCREENS:
                term = Terminal(*size, collect=False)
                term.feed("".join(screen))
                right = term.display[0].startswith(FINAL)
            results.append({"inits": inits, "bytes": received, "latencies": latencies, "right": right,
                            "code": code})

    async def main() -> None:
        await asyncio.gather(*(viewer(n) for n in range(count)))

    asyncio.run(main())
    print(json.dumps(results), flush=True)


def summary(results: List[Dict[str, object]]) -> str:
    if not results:
        return ""
    inits = [int(r["inits"]) for r in results]  # type: ignore[call-overload]
    got = [int(r["bytes"]) / 1e6 for r in results]  # type: ignore[call-overload]
    checked = [r["right"] for r in results if r["right"] is not None]
    closed = sum(1 for r in results if r["code"] == 1000)
    return (f"Inits/viewer {min(inits)}..{max(inits)}, MB/viewer {min(got):.1f}..{max(got):.1f}, "
            f"final screen right {sum(1 for c in checked if c)}/{len(checked)}, Close 1000 {closed}/{len(results)}")


def percentile(values: List[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


# --------------------------------------------------------------------------- 1. session throughput

#: The engine as `session -o FILE --stream-local ADDR` runs it, until that command exists:
#: argv: output file, listen address ("" for no stream), "process" or "inline", command.
#: "inline" runs the stream's Broadcast in the session's process (for comparison: the
#: design the stream process replaced). Writes the session process's own CPU time and that
#: of its reaped children (the stream process) to $BENCH_STATS.
HARNESS = r"""
import json, os, resource, sys, time
sys.path.insert(0, os.environ["BENCH_ROOT"])
from asciinema.asciicast import Header
try:
    from asciinema.commands.session import prepare_terminal
except ImportError:  # before the session command
    from asciinema.commands.record import prepare_terminal
from asciinema.outputs import FileOutput, open_recording_file
from asciinema.session import Session, SessionSpec
path, listen, mode, command = sys.argv[1:5]

class Inline:
    fatal = False
    name = "local stream (inline)"
    def __init__(self, listen):
        from asciinema.stream.broadcast import Broadcast
        from asciinema.stream.server import StreamServer
        from asciinema.stream.web import parse_address
        server = StreamServer(None, *parse_address(listen))
        server.bind()
        self.broadcast = Broadcast(server)
        self.last_id = 0
    def start(self, header, wake):
        self.broadcast.start(header.cols, header.rows, header.theme)
    def send(self, event):
        self.last_id += 1
        self.broadcast.send(self.last_id, event)
    def congested(self):
        return False
    def failure(self):
        return None
    def close(self, timeout):
        self.broadcast.close(timeout)

outputs = [FileOutput(open_recording_file(path, fmt=None, append=False, overwrite=True))]
if listen and mode == "inline":
    outputs.append(Inline(listen))
elif listen:
    from asciinema.stream.live import LiveStreamOutput
    stream = LiveStreamOutput(listen)
    stream.open()
    outputs.append(stream)
terminal, stdin_fd = prepare_terminal(False, None, os.environ)
cols, rows = terminal.size()
spec = SessionSpec(command, dict(os.environ), Header(cols, rows, timestamp=int(time.time())), input_fd=stdin_fd)
try:
    Session(spec, terminal, outputs).run()
finally:
    terminal.close()
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
with open(os.environ["BENCH_STATS"], "w") as f:
    json.dump({"session_cpu": me.ru_utime + me.ru_stime, "children_cpu": kids.ru_utime + kids.ru_stime,
               "session_rss": me.ru_maxrss / 1024, "children_rss": kids.ru_maxrss / 1024}, f)
"""


def session_command_exists(base: List[str], env: Dict[str, str]) -> bool:
    r = subprocess.run(base + ["session", "--help"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, env=env, text=True)
    return r.returncode == 0 and "--stream-local" in r.stdout


def session_argv(base: List[str], path: str, listen: Optional[str], command: str, have_session: bool,
                 mode: str = "process") -> List[str]:
    """The recorder's command line: `session` (or, until it exists, the harness) with a
    file and, if ``listen``, the local stream."""
    if have_session and mode == "process":
        return base + ["session", "-q", "--overwrite", "-o", path] + (["--stream-local", listen] if listen else []) + [
            "-c", command]
    return [sys.executable, "-c", HARNESS, path, listen or "", mode, command]


def timed_cat(out_dir: Path, data: Path) -> Tuple[str, Path, Path]:
    """A command that waits for the file ``go``, prints ``data``, writes the time it was done
    to the file ``done`` and clears the screen to :data:`FINAL`; and those two paths (removed)."""
    go, done = out_dir / "go", out_dir / "done"
    for f in (go, done):
        if f.exists():
            f.unlink()
    command = (f"while [ ! -e {go} ]; do sleep 0.01; done; cat {data}; date +%s.%N > {done}; "
               f"printf '\\033[H\\033[2J{FINAL}\\r\\n'")
    return command, go, done


def throughput(args: object, work: Path, base: List[str], env: Dict[str, str]) -> None:
    size_mb: int = args.size_mb  # type: ignore[attr-defined]
    data = work / f"input-{size_mb}.txt"
    make_input(data, size_mb)
    have_session = session_command_exists(base, env)
    print(f"\n1. session throughput: `cat` of {data.stat().st_size / 1e6:.1f} MB on a pty, recorded to a file "
          f"({'`session` command' if have_session else 'engine harness: no `session` command yet'}):")
    out_dir = Path(tempfile.mkdtemp(prefix="bench-stream-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    env = dict(env, BENCH_ROOT=str(Path(base[-1]).parent if base[-1].endswith("asciinema") else base[-1]))
    rows: Dict[str, Tuple[float, float, float, float]] = {}
    variants = [("rec", None, 0, False), ("file only", None, 0, False), ("stream, 0 viewers", "process", 0, False),
                ("stream, 1 viewer", "process", 1, False), ("stream, 100 viewers", "process", 100, False),
                ("stream, 100 + 1 stalled", "process", 100, True)]
    if args.inline:  # type: ignore[attr-defined]
        variants += [("inline, 0 viewers", "inline", 0, False), ("inline, 1 viewer", "inline", 1, False),
                     ("inline, 100 viewers", "inline", 100, False)]
    if args.variants:  # type: ignore[attr-defined]
        wanted = args.variants.split(",")  # type: ignore[attr-defined]
        variants = [v for v in variants if v[0] == "rec" or any(w in v[0] for w in wanted)]
    stats = out_dir / "stats.json"
    env["BENCH_STATS"] = str(stats)
    for _ in range(args.repeat):  # type: ignore[attr-defined]
        for name, stream, viewers, stalled in variants:
            if stats.exists():
                stats.unlink()
            # The program waits for the viewers, then prints; its own clock says when it ended.
            command, go, done = timed_cat(out_dir, data)
            port = free_port()
            listen = f"127.0.0.1:{port}" if stream else None
            if name == "rec":
                argv = base + ["rec", "-q", "--overwrite", "-c", command, str(out_dir / "rec.cast")]
            else:
                argv = session_argv(base, str(out_dir / "session.cast"), listen, command, have_session,
                                    stream or "process")
            result: Dict[str, object] = {}
            import threading

            def run() -> None:
                result["run"] = run_with_terminal(argv, env, str(work))

            t = threading.Thread(target=run)
            t.start()
            proc, blocker = None, None
            if listen:
                wait_port(port)
                if stalled:
                    blocker = stalled_viewer(port)
                if viewers:
                    proc = start_viewers(port, viewers)
            start = time.time()
            go.touch()
            t.join()
            seconds, rss, cpu = result["run"]  # type: ignore[misc]
            total = time.time() - start
            printed = float(done.read_text()) - start if done.exists() else float("nan")
            results = viewer_results(proc) if proc is not None else []
            if blocker is not None:
                blocker.close()
            best = rows.get(name)
            if best is None or printed < best[0]:
                rows[name] = (printed, total, cpu, rss / 1024)
            split = ""
            if stats.exists():
                st = json.loads(stats.read_text())
                split = (f" (session {st['session_cpu']:5.2f} s, children {st['children_cpu']:5.2f} s; "
                         f"RSS session {st['session_rss']:5.1f} MB, children {st['children_rss']:5.1f} MB)")
            print(f"  {name:<24} program printed it in {printed:6.2f} s, recorder exited after {total:6.2f} s, "
                  f"CPU {cpu:5.2f} s{split}, peak RSS {rss / 1024:5.1f} MB"
                  + (f"; {summary(results)}" if results else ""), flush=True)
    rec = rows["rec"][0]
    print("  best of each, throughput relative to rec (time rec / time):")
    for name, (printed, total, cpu, rss) in rows.items():
        print(f"    {name:<24} {rec / printed:5.2f}x   ({size_mb / printed:5.1f} MB/s, peak RSS {rss:5.1f} MB)")


# --------------------------------------------------------------------------- 2-4. replays in this process


#: how the stream process is scheduled in this run (--stream-sched, --stream-nice)
STREAM_SCHED = ["batch", None, None]


def set_stream_scheduling(sched: str, nice: Optional[int], switch: Optional[float] = None) -> None:
    """Run the stream process without SCHED_BATCH (``normal``), at niceness ``nice`` or with
    the switch interval ``switch``: set in the forked stream process, which inherits what
    is patched here."""
    from asciinema.stream import live

    if nice is not None:
        live.NICENESS = nice
    if switch is not None:
        live.SWITCH_INTERVAL = switch
    if sched == "normal":
        os.sched_setscheduler = lambda *args: None


def floor_phase(phase: str, viewers: int) -> None:
    """The floor of section 3: the same viewers and messages, a bare websockets server."""
    sys.path.insert(0, str(ROOT))
    import threading

    from websockets.asyncio.server import ServerConnection, broadcast, serve

    from asciinema.asciicast import make_event
    from asciinema.stream.alis import MAGIC, SUBPROTOCOL, Init, event_message, init_message

    conns: List[ServerConnection] = []
    box: Dict[str, object] = {}
    ready, done = threading.Event(), threading.Event()
    size = 40 if phase == "typing" else 20_000
    sends: List[float] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(MAGIC)
        await ws.send(init_message(Init(0, 0, 80, 24, None, "")))
        conns.append(ws)
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL], compression=None,  # type: ignore[list-item]
                         ping_interval=None, max_queue=4) as server:
            box["port"] = list(server.sockets)[0].getsockname()[1]
            ready.set()
            while len(conns) < viewers:
                await asyncio.sleep(0.01)
            t0 = time.monotonic()
            deadline = t0 + 5
            next_at, n, base = t0, 0, 0
            while time.monotonic() < deadline:
                s = time.perf_counter()
                now = time.monotonic()
                message, base = event_message(n + 1, make_event(int((now - t0) * 1e6), "o",
                                                                f"@{now:.6f} {n} " + "y" * size + "\r\n"), base)
                broadcast(conns, message)  # type: ignore[arg-type]
                sends.append(time.perf_counter() - s)
                n += 1
                next_at += 0.02
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            message, base = event_message(n + 1, make_event(base, "o", f"\x1b[H\x1b[2J{FINAL}\r\n"), base)
            broadcast(conns, message)  # type: ignore[arg-type]
            await asyncio.gather(*(ws.close(1000, "Stream ended") for ws in conns))
        done.set()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait()
    proc = start_viewers(int(box["port"]), viewers)  # type: ignore[call-overload]
    results = viewer_results(proc)
    done.wait(60)
    lat = [x for r in results for x in r["latencies"]]  # type: ignore[attr-defined]
    label = f"{viewers:>3} viewer{'s' if viewers != 1 else ' '}"
    print(f"  {phase:<7} {label} floor: {len(lat)} samples, p50 {percentile(lat, 0.5) * 1e3:6.2f} ms, "
          f"p99 {percentile(lat, 0.99) * 1e3:6.2f} ms, max {max(lat) * 1e3:6.2f} ms; broadcast "
          f"p50 {percentile(sends, 0.5) * 1e6:5.1f} µs, p99 {percentile(sends, 0.99) * 1e6:6.1f} µs; "
          f"{summary(results)}", flush=True)


def replay_phase(phase: str, viewers: int, stalled: bool, size_mb: int) -> None:
    """One measurement in a process of its own, so that its peak RSS is its own."""
    sys.path.insert(0, str(ROOT))
    if phase.startswith("floor-"):
        floor_phase(phase[len("floor-"):], viewers)
        return
    from asciinema.asciicast import Header, make_event
    from asciinema.stream.live import LiveStreamOutput

    set_stream_scheduling(*STREAM_SCHED)  # type: ignore[arg-type]

    out = LiveStreamOutput("127.0.0.1:0")
    out.open()
    out.start(Header(80, 24), lambda: None)
    port = out.server.port
    blocker = stalled_viewer(port) if stalled else None
    proc = start_viewers(port, viewers) if viewers else None
    t0 = time.monotonic()
    clock = lambda: int((time.monotonic() - t0) * 1e6)  # noqa: E731
    sends: List[float] = []
    cpu0 = time.thread_time()
    wall0 = time.perf_counter()
    if phase in ("flood", "init"):
        block = "".join(f"{i:05d} " + "z" * 73 + "\r\n" for i in range(CHUNK // 80))
        count = (size_mb << 20) // CHUNK
        start = time.monotonic()
        for n in range(count):
            data = block if n < count - 1 else block + f"\x1b[H\x1b[2J{FINAL}\r\n"
            event = make_event(clock(), "o", data)
            s = time.perf_counter()
            out.send(event)
            sends.append(time.perf_counter() - s)
            time.sleep(max(0.0, start + (n + 1) * CHUNK / PTY_RATE - time.monotonic()))
    else:
        size = 40 if phase == "typing" else 20_000
        deadline = time.monotonic() + 5
        next_at = time.monotonic()
        n = 0
        while time.monotonic() < deadline:
            data = f"@{time.monotonic():.6f} {n} " + "y" * size + "\r\n"
            event = make_event(clock(), "o", data)
            s = time.perf_counter()
            out.send(event)
            sends.append(time.perf_counter() - s)
            n += 1
            next_at += 0.02
            time.sleep(max(0.0, next_at - time.monotonic()))
        out.send(make_event(clock(), "o", f"\x1b[H\x1b[2J{FINAL}\r\n"))
    wall = time.perf_counter() - wall0
    cpu = time.thread_time() - cpu0
    if phase == "init":
        from websockets.sync.client import connect

        from asciinema.stream.alis import AlisDecoder
        from asciinema.vt import Terminal

        t = time.perf_counter()
        with connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["v1.alis"], max_size=None) as ws:
            decoder = AlisDecoder()
            decoder.feed(ws.recv())  # type: ignore[arg-type]
            init = decoder.feed(ws.recv())  # type: ignore[arg-type]
        took = time.perf_counter() - t
        term = Terminal(init.cols, init.rows, collect=False)  # type: ignore[union-attr]
        term.feed(init.init)  # type: ignore[union-attr]
        print(f"  Init {took * 1e3:6.1f} ms after a {size_mb} MB flood (sent in {wall:.2f} s), "
              f"{'final screen' if term.display[0].startswith(FINAL) else 'WRONG screen'} "
              f"(last_id {init.last_id}, {out.dropped_events} events dropped on the way)")  # type: ignore[union-attr]
        out.close(10)
        return
    out.send(make_event(clock(), "x", "0"))
    out.close(10)
    # the stream process is reaped, the viewers' process not yet
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    stream_cpu = kids.ru_utime + kids.ru_stime
    results = viewer_results(proc) if proc is not None else []
    if blocker is not None:
        blocker.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    send = (f"send p50 {percentile(sends, 0.5) * 1e6:5.1f} µs, p99 {percentile(sends, 0.99) * 1e6:6.1f} µs, "
            f"max {max(sends) * 1e3:5.2f} ms")
    label = f"{viewers:>3} viewer{'s' if viewers != 1 else ' '}" + (" + 1 stalled" if stalled else "")
    if phase == "flood":
        print(f"  {label:<22} sent in {wall:5.2f} s (sender CPU {cpu:5.2f} s, stream process CPU {stream_cpu:5.2f} s), "
              f"{send}; peak RSS {rss:5.1f} MB, stream process {kids.ru_maxrss / 1024:5.1f} MB"
              + (f"; {summary(results)}" if results else ""), flush=True)
    else:
        lat = [x for r in results for x in r["latencies"]]  # type: ignore[attr-defined]
        print(f"  {phase:<7} {label} ours:  {len(lat)} samples, p50 {percentile(lat, 0.5) * 1e3:6.2f} ms, "
              f"p99 {percentile(lat, 0.99) * 1e3:6.2f} ms, max {max(lat) * 1e3:6.2f} ms; {send}; "
              f"stream process CPU {stream_cpu:5.2f} s; {summary(results)}", flush=True)


def replay(phase: str, viewers: int, stalled: bool, size_mb: int) -> None:
    sched, nice, switch = STREAM_SCHED
    subprocess.run([sys.executable, __file__, "--phase", phase, "--n", str(viewers), "--size-mb", str(size_mb),
                    "--viewers-nice", str(VIEWERS_NICE[0]), "--stream-sched", str(sched)]
                   + (["--stream-nice", str(nice)] if nice is not None else [])
                   + (["--stream-switch", str(switch)] if switch is not None else [])
                   + (["--stalled"] if stalled else []),
                   check=True)


def main() -> None:
    if sys.argv[1:2] == ["--viewers"]:
        viewers_main(int(sys.argv[2]), int(sys.argv[3]))
        return
    p = parser(__doc__ or "")
    p.add_argument("--size-mb", type=int, default=64)
    p.add_argument("--only", default="1,2,3,4", help="sections to run")
    p.add_argument("--inline", action="store_true", help="section 1 also with the stream in the session's process")
    p.add_argument("--variants", help="section 1: only rec and the variants whose names contain one of these (comma list)")
    p.add_argument("--phase", help=argparse_hidden())
    p.add_argument("--n", type=int, default=0, help=argparse_hidden())
    p.add_argument("--stalled", action="store_true", help=argparse_hidden())
    p.add_argument("--viewers-nice", type=int, default=0,
                   help="run the viewers' process at this niceness (they are on other machines in real use)")
    p.add_argument("--stream-sched", choices=("batch", "normal"), default="batch",
                   help="the stream process's scheduling policy (batch: as asciinema.stream.live sets it)")
    p.add_argument("--stream-nice", type=int, help="the stream process's niceness (default: asciinema.stream.live's)")
    p.add_argument("--stream-switch", type=float,
                   help="the stream process's switch interval in seconds (default: asciinema.stream.live's)")
    p.set_defaults(repeat=2)
    args = p.parse_args()
    VIEWERS_NICE[0] = args.viewers_nice
    STREAM_SCHED[:] = [args.stream_sched, args.stream_nice, args.stream_switch]
    if args.phase:
        replay_phase(args.phase, args.n, args.stalled, args.size_mb)
        return
    if args.viewers_nice:
        print(f"viewers' process at niceness {args.viewers_nice}")
    only = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if "1" in only:
        work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
        base = ours(args.pyz)
        env = session_env(work, base)
        throughput(args, work, base, env)
    if "2" in only:
        print(f"\n2. flood replay: {args.size_mb} MB in {CHUNK // 1000} KB events paced at {PTY_RATE / 1e6:.0f} MB/s "
              "into LiveStreamOutput.send:")
        for viewers, stalled in ((0, False), (1, False), (100, False), (100, True)):
            replay("flood", viewers, stalled, args.size_mb)
    if "3" in only:
        sched, nice, switch = STREAM_SCHED
        print("\n3. latency, send to viewer (viewers in another process), ours beside the floor (a bare websockets "
              f"server); stream process {'without' if sched == 'normal' else 'with'} SCHED_BATCH"
              + (f", niceness {nice}" if nice is not None else "")
              + (f", switch interval {switch * 1e3:g} ms" if switch is not None else "") + ":")
        for phase in ("typing", "1MB/s"):
            for viewers in (100, 1):
                replay(phase, viewers, False, args.size_mb)
                replay("floor-" + phase, viewers, False, args.size_mb)
    if "4" in only:
        print("\n4. a viewer joining right after the flood:")
        replay("init", 0, False, args.size_mb)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
