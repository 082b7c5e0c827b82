"""The stream hub and server in this process, loopback viewers in another: what publishing
costs the session's side, how output fans out to 0, 1 and 100 viewers, and the latency from
publish to viewer at typing rates and at 1 MB/s.

This measures the streaming foundation on its own, with a stand-in terminal whose snapshot is
the last 2,000 characters; the session benchmark (a real pty, `session --stream-local`) comes
with the stream command. Targets from the issue, for orientation: p99 <= 10 ms at typing rates
and < 50 ms at 1 MB/s with 100 viewers.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

from common import ROOT, parser

FLOOD = 64 << 20
CHUNK = 128 << 10  #: what the session reads from the pty at a time
PTY_RATE = 60e6  #: bytes/s a pty delivers in a flood (`cat` of a big file)
SCREEN = 2000  #: the stand-in terminal's screen: its last this many characters


def client_main(port: int, viewers: int) -> None:
    """Viewer process: ``viewers`` connections that read as fast as they can; prints one
    JSON line with what they got when the stream ends."""
    from websockets.asyncio.client import connect

    from asciinema.stream.alis import AlisDecoder, Init

    ready: List[int] = []
    results: List[Dict[str, object]] = []

    async def viewer() -> None:
        async with connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["v1.alis"], max_size=None,
                           open_timeout=120, ping_interval=None) as ws:
            decoder = AlisDecoder()
            decoder.feed(await ws.recv())  # type: ignore[arg-type]
            decoder.feed(await ws.recv())  # type: ignore[arg-type]
            ready.append(1)
            if len(ready) == viewers:
                print("ready", flush=True)
            inits = 0
            received = 0
            latencies: List[float] = []
            screen = ""
            try:
                async for message in ws:
                    now = time.monotonic()
                    received += len(message)
                    item = decoder.feed(message)  # type: ignore[arg-type]
                    if isinstance(item, Init):
                        inits += 1
                        screen = item.init
                    elif isinstance(item, tuple):
                        screen = (screen + item[1].data)[-SCREEN:]
                        if item[1].data.startswith("@"):
                            latencies.append(now - float(item[1].data[1:].split()[0]))
            except Exception:
                pass
            results.append({"inits": inits, "bytes": received, "latencies": latencies, "screen": screen})

    async def main() -> None:
        await asyncio.gather(*(viewer() for _ in range(viewers)))

    asyncio.run(main())
    print(json.dumps(results), flush=True)


def percentile(values: List[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def run(viewers: int, phase: str) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from streamutil import Stream

    stream = Stream(screen=SCREEN)
    clients = None
    if viewers:
        clients = subprocess.Popen([sys.executable, __file__, "--client", str(stream.port), str(viewers)],
                                   stdout=subprocess.PIPE, text=True)
        assert clients.stdout is not None
        assert clients.stdout.readline() == "ready\n"
    t0 = time.perf_counter()
    c0 = time.thread_time()
    if phase == "flood":
        start = time.monotonic()
        for n in range(FLOOD // CHUNK):
            stream.term.output(f"{n:08d}" + "x" * (CHUNK - 10) + "\r\n")
            time.sleep(max(0.0, start + (n + 1) * CHUNK / PTY_RATE - time.monotonic()))
    else:
        line_every, line_size = (0.02, 40) if phase == "typing" else (0.02, 20_000)  # 1 MB/s
        deadline = time.monotonic() + 5
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            stream.term.output(f"@{time.monotonic():.6f} " + "y" * line_size + "\r\n")
            next_at += line_every
            time.sleep(max(0.0, next_at - time.monotonic()))
    publish_wall = time.perf_counter() - t0
    publish_cpu = time.thread_time() - c0
    stream.hub.end()
    results: List[Dict[str, object]] = []
    if clients is not None:
        out, _ = clients.communicate(timeout=600)
        results = json.loads(out.strip().splitlines()[-1])
    done = time.perf_counter() - t0
    stream.server.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = f"CPU server {me.ru_utime + me.ru_stime:.2f} s, viewers {kids.ru_utime + kids.ru_stime:.2f} s"
    if phase == "flood":
        inits = [r["inits"] for r in results]
        got = [r["bytes"] for r in results]
        final = stream.term.snapshot().init
        right = sum(1 for r in results if r["screen"] == final)
        print(f"  {viewers:>3} viewers: {FLOOD >> 20} MB paced at {PTY_RATE / 1e6:.0f} MB/s, published in "
              f"{publish_wall:5.2f} s (producer CPU {publish_cpu:5.2f} s); all viewers done after {done:5.2f} s; "
              + (f"Inits per viewer {min(inits)}..{max(inits)}, MB received per viewer "  # type: ignore[type-var]
                 f"{min(got) / 1e6:.1f}..{max(got) / 1e6:.1f}, "  # type: ignore[type-var, operator]
                 f"{right}/{viewers} end on the right screen; " if results else "")
              + f"{cpu}; peak RSS {rss:.0f} MB")
    else:
        lat = [x for r in results for x in r["latencies"]]  # type: ignore[attr-defined]
        print(f"  {viewers:>3} viewers, {phase}: {len(lat)} samples, p50 {percentile(lat, 0.5) * 1e3:6.2f} ms, "
              f"p99 {percentile(lat, 0.99) * 1e3:6.2f} ms, max {max(lat) * 1e3:6.2f} ms; "
              f"producer CPU {publish_cpu:.2f} s; {cpu}; peak RSS {rss:.0f} MB")


def main() -> None:
    if sys.argv[1:2] == ["--client"]:
        sys.path.insert(0, str(ROOT))
        client_main(int(sys.argv[2]), int(sys.argv[3]))
        return
    p = parser(__doc__ or "")
    p.add_argument("--phase", help="run one phase in this process (internal)")
    p.add_argument("--viewers", type=int, default=0)
    args = p.parse_args()
    if args.phase:
        sys.path.insert(0, args.pyz or str(ROOT))
        run(args.viewers, args.phase)
        return
    # One process per measurement, so that each peak RSS is its own.
    print("fan-out of a 64 MB flood (128 KiB chunks), producer in this process:")
    for viewers in (0, 1, 100):
        subprocess.run([sys.executable, __file__, "--phase", "flood", "--viewers", str(viewers)]
                       + (["--pyz", args.pyz] if args.pyz else []), check=True)
    print("latency, publish to viewer (one process each side):")
    for phase in ("typing", "1MB/s"):
        subprocess.run([sys.executable, __file__, "--phase", phase, "--viewers", "100"]
                       + (["--pyz", args.pyz] if args.pyz else []), check=True)


if __name__ == "__main__":
    main()
