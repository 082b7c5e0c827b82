#!/usr/bin/env python3
"""Timing accuracy of ``play``: ours against asciinema 2.4.0, side by side in one run.

Each player replays generated asciicast v2 files on a fresh pty (its controlling terminal,
stdin and stdout). This process reads the pty master and stamps every chunk with
``time.perf_counter()`` as it arrives. Each event's data is a unique token, so every event's
arrival is known. The player's clock origin is not observable, so it is estimated as the
earliest (arrival - due) over all events; lateness of an event = (arrival - due) - that
minimum. Drift = (last arrival - first arrival) - (last due - first due): how much longer
(positive) or shorter than scheduled the whole replay took.

Casts: dense (1,000 events/s for 5 s by default), jittered (10,000 events with random gaps
of 0-1 ms, about 5 s: the recording tests/test_play.py plays, where only order and span are
checked) and sparse (100 events, gaps of 20-200 ms).
Runs alternate between the two players; each figure is the median over ``--repeat`` runs.
Tails are sensitive to other load on the machine (a woken process waits for a CPU), so the
load average is printed with the results.

    python3 bench/bench_play.py [--pyz asciinema.pyz] [--ref PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(rb"<(\d+)>")


def write_cast(path: str, times: Sequence[float]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"version": 2, "width": 80, "height": 24}) + "\n")
        for i, t in enumerate(times):
            f.write(json.dumps([round(t, 6), "o", f"<{i}>"]) + "\n")


def dense_times(rate: int, seconds: float) -> List[float]:
    return [(i + 1) / rate for i in range(int(rate * seconds))]


def jittered_times(count: int, seed: int = 5) -> List[float]:
    """The times of tests/test_play.py's dense recording (same generator and seed)."""
    rnd = random.Random(seed)
    t, out = 0.0, []
    for _ in range(count):
        t += rnd.uniform(0, 0.001)
        out.append(t)
    return out


def sparse_times(count: int, seed: int = 7) -> List[float]:
    rnd = random.Random(seed)
    t, out = 0.0, []
    for _ in range(count):
        t += rnd.uniform(0.02, 0.2)
        out.append(t)
    return out


def replay(argv: Sequence[str], env: Dict[str, str], timeout: float) -> Tuple[List[Tuple[float, bytes]], int]:
    """Run ``argv`` on a new pty; return its output chunks with arrival times, and its status."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def ctty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True, preexec_fn=ctty)
    os.close(slave)
    chunks: List[Tuple[float, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {' '.join(argv)}")
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child and its terminal are gone
                break
            if not data:
                break
            chunks.append((time.perf_counter(), data))
        status = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return chunks, status


def measure(chunks: List[Tuple[float, bytes]], times: Sequence[float]) -> Dict[str, float]:
    ends, stamps, total = [], [], 0
    for stamp, chunk in chunks:
        total += len(chunk)
        ends.append(total)
        stamps.append(stamp)
    data = b"".join(c for _, c in chunks)
    import bisect

    seen = [(int(m.group(1)), stamps[bisect.bisect_left(ends, m.end())]) for m in TOKEN.finditer(data)]
    if [i for i, _ in seen] != list(range(len(times))):
        raise SystemExit(f"output is missing events: saw {len(seen)} of {len(times)}; tail {data[-300:]!r}")
    offsets = [arrival - times[i] for i, arrival in seen]
    base = min(offsets)
    late = sorted(x - base for x in offsets)
    p99 = late[min(len(late) - 1, int(round(0.99 * (len(late) - 1))))]
    drift = (seen[-1][1] - seen[0][1]) - (times[-1] - times[0])
    return {"mean": statistics.fmean(late), "p99": p99, "max": late[-1], "drift": drift}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pyz", help="benchmark this archive instead of the source tree")
    p.add_argument("--ref", default=os.environ.get("ASCIINEMA_REF") or str(ROOT / ".venv-ref" / "bin" / "asciinema"),
                   help="asciinema 2.4.0 executable (default: $ASCIINEMA_REF or .venv-ref/bin/asciinema)")
    p.add_argument("--repeat", type=int, default=5, help="runs per player and cast (median reported)")
    p.add_argument("--rate", type=int, default=1000, help="events per second of the dense cast")
    p.add_argument("--seconds", type=float, default=5.0, help="length of the dense cast")
    p.add_argument("--jittered-events", type=int, default=10_000, help="events in the jittered cast")
    p.add_argument("--sparse-events", type=int, default=100, help="events in the sparse cast")
    args = p.parse_args()
    if not os.path.exists(args.ref):
        sys.exit(f"asciinema 2.4.0 not found at {args.ref}; run `make test` or pass --ref")

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCIINEMA_")}
    tmp = tempfile.mkdtemp(prefix="bench-play-")
    env["ASCIINEMA_CONFIG_HOME"] = os.path.join(tmp, "config")
    env["ASCIINEMA_STATE_HOME"] = os.path.join(tmp, "state")
    env["LC_ALL"] = "C.UTF-8"
    if args.pyz:
        ours = [sys.executable, str(Path(args.pyz).resolve())]
    else:
        ours = [sys.executable, "-m", "asciinema"]
        env["PYTHONPATH"] = str(ROOT)
    players = {"ours": ours + ["play", "-q"], "2.4.0": [args.ref, "play"]}

    casts = {
        f"dense {args.rate}/s": dense_times(args.rate, args.seconds),
        f"jittered {args.jittered_events}": jittered_times(args.jittered_events),
        f"sparse {args.sparse_events} ev": sparse_times(args.sparse_events),
    }
    load_before = os.getloadavg()[0]
    results: Dict[Tuple[str, str], List[Dict[str, float]]] = {}
    for cast_name, times in casts.items():
        path = os.path.join(tmp, re.sub(r"\W+", "-", cast_name) + ".cast")
        write_cast(path, times)
        for _ in range(args.repeat):
            for player, argv in players.items():
                chunks, status = replay(argv + [path], env, timeout=times[-1] * 3 + 60)
                if status != 0:
                    sys.exit(f"{player} exited with {status}")
                results.setdefault((cast_name, player), []).append(measure(chunks, times))

    def med(cast: str, player: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(cast, player)]) * 1000

    print(f"play timing, median of {args.repeat} runs (ms); ours = {'archive ' + args.pyz if args.pyz else 'source tree'}; "
          f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    head = f"{'cast':<16} {'player':<6} {'mean late':>10} {'p99 late':>10} {'max late':>10} {'drift':>8}"
    print(head)
    print("-" * len(head))
    for cast_name in casts:
        for player in players:
            print(f"{cast_name:<16} {player:<6} {med(cast_name, player, 'mean'):>10.3f} "
                  f"{med(cast_name, player, 'p99'):>10.3f} {med(cast_name, player, 'max'):>10.3f} "
                  f"{med(cast_name, player, 'drift'):>8.2f}")
        ratio = med(cast_name, "ours", "p99") / max(med(cast_name, "2.4.0", "p99"), 1e-6)
        print(f"{'':<16} p99 ratio ours/2.4.0: {ratio:.2f}")
    ok = all(med(c, "ours", "p99") <= 2.0 and med(c, "ours", "p99") <= med(c, "2.4.0", "p99") for c in casts)
    print("target (p99 <= 2 ms and <= 2.4.0):", "met" if ok else "NOT met")
    jittered = f"jittered {args.jittered_events}"
    ok = abs(med(jittered, "ours", "drift")) <= 20 and med(jittered, "ours", "max") <= 5
    print(f"target for {jittered} (|drift| <= 20 ms, max late <= 5 ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
