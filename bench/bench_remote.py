"""Benchmark the remote stream (`session -o FILE -r ws://...`), side by side with `rec`, in one run.

64 MB of base64 text (`cat FILE`) through the session on a real pty (drained by `cat` as a
fast terminal), recorded to a file:

* `rec FILE`;
* `session -o FILE -r ws://...` to the test producer server (tests/server_producer.py, in
  this process, counting what it gets without decoding it: a real server runs elsewhere);
* the same with the server stalled: it takes the connection and the Init, then reads
  nothing more (the forwarder falls behind, is re-synced, times out its send and reconnects,
  to a server that stalls again).

For each: the time the program took to print it all (the throughput the user sees), the
time to the recorder's exit, CPU, the peak RSS of the session's process and of its stream
process (VmHWM, sampled from /proc), what the server received; then the throughput
relative to `rec`. Targets (issue 10): >= 0.8x rec's throughput; with the server stalled,
the session's throughput and memory unaffected (RSS <= 80 MB).
Not a test: nothing asserts. Usage: python3 bench/bench_remote.py [--size-mb 64] [--repeat 2]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from common import ROOT, ours, parser, session_env

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from bench_rec import make_input, spawn_on_pty  # noqa: E402
from bench_stream import timed_cat  # noqa: E402
from server_producer import STALL, Plan, ProducerServer  # noqa: E402



def hwm_kib(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid: int) -> List[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Sampler:
    """Peak RSS of the session's process and of its stream process (the child running
    python), read from /proc every few ms until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.session = 0
        self.stream = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.session = max(self.session, hwm_kib(self.pid) or 0)
            for child in children(self.pid):
                try:
                    with open(f"/proc/{child}/cmdline", "rb") as f:
                        is_python = b"python" in f.read().split(b"\0")[0]
                except OSError:
                    continue
                if is_python:  # the stream process is a fork of ours; the program is /bin/sh
                    self.stream = max(self.stream, hwm_kib(child) or 0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_on_terminal(argv: List[str], env: Dict[str, str], cwd: str) -> Tuple[float, float, int, int, int]:
    """(seconds to exit, CPU s, peak RSS KiB of the whole tree, of the session, of the stream process)."""
    start = time.perf_counter()
    pid, master = spawn_on_pty(argv, env, cwd)
    sampler = Sampler(pid)
    drainer = subprocess.Popen(["cat"], stdin=master, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    sampler.stop()
    os.close(master)
    drainer.wait(30)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, sampler.session, sampler.stream


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--size-mb", type=int, default=64)
    p.set_defaults(repeat=2)
    args = p.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    work = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    base = ours(args.pyz)
    env = session_env(work, base)
    data = work / f"input-{args.size_mb}.txt"
    make_input(data, args.size_mb)
    size = data.stat().st_size
    out_dir = Path(tempfile.mkdtemp(prefix="bench-remote-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    print(f"`cat` of {size / 1e6:.1f} MB on a pty, recorded to a file ({out_dir}):")
    rows: Dict[str, Tuple[float, float, float, float, float, float]] = {}
    for _ in range(args.repeat):
        for name in ("rec", "session -o -r", "session -o -r, server stalled"):
            command, go, done = timed_cat(out_dir, data)
            stalled = "stalled" in name
            plan = Plan(STALL, after=2) if stalled else Plan()
            with ProducerServer(default=plan, keep=False) as server:
                if name == "rec":
                    argv = base + ["rec", "-q", "--overwrite", "-c", command, str(out_dir / "rec.cast")]
                else:
                    argv = base + ["session", "-q", "--overwrite", "-o", str(out_dir / "session.cast"),
                                   "-r", server.url, "-c", command]
                result: Dict[str, object] = {}
                t = threading.Thread(target=lambda: result.setdefault("run", run_on_terminal(argv, env, str(work))))
                t.start()
                if name != "rec":
                    server.wait_for(lambda: any(c.received >= 2 for c in server.connections), "the Init")
                start = time.time()
                go.touch()
                t.join()
                total = time.time() - start
                printed = float(done.read_text()) - start if done.exists() else float("nan")
                _, cpu, tree_rss, session_rss, stream_rss = result["run"]  # type: ignore[misc]
                got = sum(c.received_bytes for c in server.connections)
                conns = len(server.connections)
                last = server.connections[-1].close if server.connections else None
            extra = ""
            if name != "rec":
                extra = (f"; session RSS {session_rss / 1024:5.1f} MB, stream process {stream_rss / 1024:5.1f} MB; "
                         f"server got {got / 1e6:5.1f} MB in {conns} connection(s), last Close {last}")
            print(f"  {name:<32} program printed it in {printed:6.2f} s, recorder exited after {total:6.2f} s, "
                  f"CPU {cpu:5.2f} s, peak RSS (tree) {tree_rss / 1024:5.1f} MB{extra}", flush=True)
            best = rows.get(name)
            if best is None or printed < best[0]:
                rows[name] = (printed, total, cpu, tree_rss / 1024, session_rss / 1024, stream_rss / 1024)
    rec = rows["rec"][0]
    rec_exit = rows["rec"][1]
    print("  best of each, relative to rec (time rec / time):")
    for name, (printed, total, cpu, tree, session, stream) in rows.items():
        print(f"    {name:<32} throughput {rec / printed:5.2f}x ({size / 1e6 / printed:5.1f} MB/s), "
              f"to exit {rec_exit / total:5.2f}x ({total:5.2f} s), peak RSS session {session:5.1f} MB, "
              f"stream process {stream:5.1f} MB")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
