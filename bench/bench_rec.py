"""Benchmark `rec` against script(1) and asciinema 2.4.0, side by side in one run.

1. Throughput: ``rec -c 'cat FILE'`` of base64 text (64 MB, and 256 MB for the memory
   check), each recorder on a fresh pty as its controlling terminal, with ``cat`` as a
   fast terminal emulator draining the pty. Prints the best wall time of a few runs, the
   ratio to script(1) and to asciinema 2.4.0, and the recorder's peak RSS (ru_maxrss of
   the recorder and the processes it reaped).
   A 40-line Python relay (no events, no JSON) shows the floor for a Python recorder.
2. Echo latency: one byte typed, the same byte back from ``cat`` in raw mode, repeated;
   directly on a pty, then through ``rec -c``. Prints the medians and the difference.

Usage: python3 bench/bench_rec.py [--size-mb 64] [--big-mb 256] [--ref PATH] [--pyz PATH]
Targets (issue 4): time <= 1.0x script(1) and <= 0.8x asciinema 2.4.0; peak RSS <= 40 MB
and flat from 64 MB to 256 MB; echo latency added <= 1 ms. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import os
import select
import shutil
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Dict, List, Tuple

from common import warm_code_cache

ROOT = Path(__file__).resolve().parent.parent


def make_input(path: Path, megabytes: int) -> None:
    if path.exists() and path.stat().st_size >= megabytes << 20:
        return
    block = base64.encodebytes(os.urandom(3 << 20))  # 4 MB of 77-byte lines
    with open(path, "wb") as f:
        written = 0
        while written < megabytes << 20:
            f.write(block)
            written += len(block)


def spawn_on_pty(argv: List[str], env: Dict[str, str], cwd: str) -> Tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(slave)
    return pid, master


def run_with_terminal(argv: List[str], env: Dict[str, str], cwd: str) -> Tuple[float, int, float]:
    """Run ``argv`` on a pty drained by ``cat`` (a fast terminal): (seconds, peak RSS KiB, CPU s)."""
    import subprocess

    start = time.perf_counter()
    pid, master = spawn_on_pty(argv, env, cwd)
    drainer = subprocess.Popen(["cat"], stdin=master, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    os.close(master)
    drainer.wait(30)
    return seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


LABELS = {"script": "script -qfc", "script-file": "script -qfc (to a file)", "relay": "python relay (floor)",
          "ours": "asciinema.pyz rec", "2.4.0": "asciinema 2.4.0 rec"}

#: The least a Python recorder can do, for comparison: the program on a pty, its output
#: copied to the terminal by a writer thread and to a file as it is (no events, no JSON).
RELAY = """
import os, sys, pty, tty, termios, threading, collections
old = termios.tcgetattr(0)
tty.setraw(0)
pid, master = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["/bin/sh", "-c", sys.argv[1]])
out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
queue, ready, done = collections.deque(), threading.Event(), []
def show():
    while True:
        ready.wait(); ready.clear()
        while queue:
            parts = [queue.popleft() for _ in range(len(queue))]
            while parts:
                n = os.writev(1, parts)
                while n:
                    if n >= len(parts[0]): n -= len(parts.pop(0))
                    else: parts[0] = parts[0][n:]; n = 0
        if done and not queue: return
writer = threading.Thread(target=show); writer.start()
try:
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        queue.append(data); ready.set()
        os.write(out, data)
finally:
    done.append(1); ready.set(); writer.join()
    termios.tcsetattr(0, termios.TCSAFLUSH, old)
os.waitpid(pid, 0)
"""


def throughput(tools: Dict[str, List[str]], env: Dict[str, str], cwd: str, repeat: int) -> Dict[str, Tuple[float, int]]:
    """Each tool ``repeat`` times, interleaved so that load changes hit all of them alike.

    Returns the best time and the largest peak RSS of each.
    """
    runs: Dict[str, List[Tuple[float, int, float]]] = {name: [] for name in tools}
    for _ in range(repeat):
        for name, argv in tools.items():
            runs[name].append(run_with_terminal(argv, env, cwd))
    result = {}
    for name, rs in runs.items():
        seconds, rss, cpu = min(r[0] for r in rs), max(r[1] for r in rs), min(r[2] for r in rs)
        print(f"  {LABELS.get(name, name):<22} {seconds:7.2f} s (best of {repeat})   CPU {cpu:6.2f} s   peak RSS {rss / 1024:6.1f} MB",
              flush=True)
        result[name] = (seconds, rss)
    return result


def echo_latency(argv: List[str], env: Dict[str, str], cwd: str, rounds: int) -> List[float]:
    """Round trips of one byte through ``argv`` (which must echo its raw input)."""
    pid, master = spawn_on_pty(argv, env, cwd)
    attrs = termios.tcgetattr(master)
    # wait for the program to be ready: it prints READY
    buf = b""
    deadline = time.monotonic() + 20
    while b"READY" not in buf and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            buf += os.read(master, 65536)
    time.sleep(0.3)
    while select.select([master], [], [], 0.05)[0]:
        os.read(master, 65536)
    samples = []
    for i in range(rounds):
        byte = bytes([97 + i % 26])
        t = time.perf_counter()
        os.write(master, byte)
        got = b""
        while byte not in got:
            select.select([master], [], [], 5)
            got += os.read(master, 65536)
        samples.append(time.perf_counter() - t)
    os.write(master, b"\x03")  # cat in raw mode: ^C is a byte; end with a hangup instead
    os.close(master)
    try:
        os.kill(pid, 1)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    del attrs
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=64)
    ap.add_argument("--big-mb", type=int, default=256, help="second size for the flat-memory check (0: skip)")
    ap.add_argument("--ref", default=os.environ.get("ASCIINEMA_REF") or str(ROOT / ".venv-ref/bin/asciinema"))
    ap.add_argument("--pyz", help="benchmark this archive instead of the source tree")
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and size (best time is kept)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out-dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the recordings go (default: /dev/shm, so that disk write-back "
                         "throttling does not decide the result; script(1) writes to /dev/null)")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-rec-"))
    work.mkdir(parents=True, exist_ok=True)
    # the package directory runs as a script (like the tests); no PYTHONPATH, which would make
    # the reference asciinema 2.4.0 (a Python package of the same name) import our code
    ours = [sys.executable, str(Path(args.pyz).resolve())] if args.pyz else [sys.executable, str(ROOT / "asciinema")]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["ASCIINEMA_CONFIG_HOME"] = str(work / "config")
    (work / "config").mkdir(exist_ok=True)
    (work / "config" / "config.toml").write_text("[notifications]\nenabled = false\n")
    # TERM=dumb: `cat` as the terminal does not answer rec's start-up probe of the terminal's
    # colours (a real terminal answers in a millisecond), which would otherwise add its 1 s timeout
    env["TERM"] = "dumb"
    env["SHELL"] = "/bin/sh"
    # a user's every run after the first: the archive's compiled code is cached
    env = warm_code_cache([ours + ["rec", "-q", "--overwrite", "--headless", "-c", "true", str(work / "warm.cast")]],
                          env)
    have_ref = os.path.exists(args.ref)
    out_dir = Path(tempfile.mkdtemp(prefix="bench-rec-", dir=args.out_dir))
    have_script = shutil.which("script") is not None

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, work dir {work}, recordings in {out_dir}")
    results: Dict[str, Dict[str, Tuple[float, int]]] = {}
    sizes = [args.size_mb] + ([args.big_mb] if args.big_mb else [])
    for mb in sizes:
        data = work / f"input-{mb}.txt"
        make_input(data, mb)
        cmd = f"cat {data}"
        print(f"\nrecording `{cmd}` ({data.stat().st_size / 1e6:.1f} MB):")
        tools: Dict[str, List[str]] = {}
        if have_script:
            tools["script"] = ["script", "-qfc", cmd, "/dev/null"]
            # for comparison only: script(1) keeping its typescript where we keep the cast
            tools["script-file"] = ["script", "-qfc", cmd, str(out_dir / "typescript")]
        tools["relay"] = [sys.executable, "-c", RELAY, cmd, str(out_dir / "relay.raw")]
        tools["ours"] = ours + ["rec", "-q", "--overwrite", "-c", cmd, str(out_dir / "ours.cast")]
        if have_ref and mb == args.size_mb:
            tools["2.4.0"] = [args.ref, "rec", "-q", "--overwrite", "-c", cmd, str(out_dir / "ref.cast")]
        row = throughput(tools, env, str(work), args.repeat)
        results[str(mb)] = row
        ours_t = row["ours"][0]
        if "script" in row:
            print(f"  time vs script(1):      {ours_t / row['script'][0]:.2f}x  (target <= 1.0x)")
            print(f"  time vs script(1) writing its typescript to a file: {ours_t / row['script-file'][0]:.2f}x")
            print(f"  python relay (floor) vs script(1): {row['relay'][0] / row['script'][0]:.2f}x; "
                  f"ours vs that floor: {ours_t / row['relay'][0]:.2f}x")
        if "2.4.0" in row:
            print(f"  time vs asciinema 2.4.0: {ours_t / row['2.4.0'][0]:.2f}x  (target <= 0.8x)")
    if len(sizes) == 2:
        a, b = results[str(sizes[0])]["ours"][1], results[str(sizes[1])]["ours"][1]
        print(f"\npeak RSS: {a / 1024:.1f} MB at {sizes[0]} MB, {b / 1024:.1f} MB at {sizes[1]} MB "
              f"(target <= 40 MB, flat)")

    print(f"\necho latency, {args.rounds} one-byte round trips:")
    raw_cat = "stty raw -echo; echo READY; exec cat"
    direct = echo_latency(["/bin/sh", "-c", raw_cat], env, str(work), args.rounds)
    through = echo_latency(ours + ["rec", "-q", "--overwrite", "-c", raw_cat, str(work / "echo.cast")], env,
                           str(work), args.rounds)
    d, t = statistics.median(direct), statistics.median(through)
    d99 = sorted(direct)[int(len(direct) * 0.99)]
    t99 = sorted(through)[int(len(through) * 0.99)]
    print(f"  direct:        median {d * 1e3:.3f} ms, p99 {d99 * 1e3:.3f} ms")
    print(f"  through rec:   median {t * 1e3:.3f} ms, p99 {t99 * 1e3:.3f} ms")
    print(f"  added:         median {(t - d) * 1e3:.3f} ms  (target <= 1 ms)")
    shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
