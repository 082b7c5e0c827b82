"""Upload of a 200 MB cast to the local test server: ours against asciinema 2.4.0.

    python3 bench/bench_upload.py [--pyz asciinema.pyz] [--repeat N] [--size MB]

Both upload the same generated asciicast v2 file to the test server of the tests
(tests/server_api.py, in this process, storing uploads on disk): ours to
/api/v1/recordings, asciinema 2.4.0 (pointed there by ASCIINEMA_API_URL) to its
/api/asciicasts. Ours reads the whole file once to check it before sending; both send
it over loopback. Printed for each: wall time and the peak RSS of its process (from
wait4), best of ``--repeat`` runs, and the ratios. The target is a peak RSS of ours
<= 40 MB, whatever the file's size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

from common import ROOT, check_ref, clean_env, ours, parser

sys.path.insert(0, str(ROOT / "tests"))
from server_api import ApiServer  # noqa: E402


def write_cast(path: Path, size: int) -> None:
    text = json.dumps("output line of a build log, with \x1b[32mcolour\x1b[0m and words\r\n" * 12)
    with open(path, "w") as f:
        f.write('{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000}\n')
        written, i = 0, 0
        while written < size:
            block = "".join(f'[{(i + k) / 100:.2f}, "o", {text}]\n' for k in range(1000))
            f.write(block)
            written += len(block)
            i += 1000


def run(argv: List[str], env: dict) -> Tuple[float, int]:
    """Wall time and peak RSS (KiB) of one run."""
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if p.returncode != 0:
        sys.exit(f"{argv[0]} ... failed ({p.returncode}): {err.strip()}")
    return elapsed, usage.ru_maxrss


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=200, help="size of the cast in MB (default 200)")
    args = p.parse_args()
    check_ref(args.ref)
    work = Path(tempfile.mkdtemp(prefix="asciinema-bench-upload-"))
    cast = work / "big.cast"
    write_cast(cast, args.size * 10**6)
    size = cast.stat().st_size
    env = clean_env()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    env["ASCIINEMA_CONFIG_HOME"] = str(work / "config")
    env["ASCIINEMA_STATE_HOME"] = str(work / "state")
    (work / "config").mkdir()
    (work / "config" / "install-id").write_text("c3a0e7b4-8d5e-4d41-9f55-2f4c3b1a0d9e")  # read by both
    with ApiServer(workdir=str(work)) as server:
        env["ASCIINEMA_SERVER_URL"] = env["ASCIINEMA_API_URL"] = server.url
        env["ASCIINEMA_HTTP_TIMEOUT"] = "300"
        ours_argv = ours(args.pyz) + ["-q", "upload", str(cast)]
        ref_argv = [args.ref, "upload", str(cast)]
        results = {"ours": [], "2.4.0": []}  # type: dict
        for _ in range(args.repeat):
            for label, argv in (("ours", ours_argv), ("2.4.0", ref_argv)):
                results[label].append(run(argv, env))
                for upload in server.uploads:
                    os.unlink(upload)
                server.uploads.clear()
        paths = {r.path for r in server.requests}
        assert paths == {"/api/v1/recordings", "/api/asciicasts"}, paths
    print(f"upload of a {size / 1e6:.1f} MB cast to the local test server, best of {args.repeat}")
    print(f"{'':8} {'time':>9} {'peak RSS':>10}")
    best = {}
    for label, runs in results.items():
        t = min(r[0] for r in runs)
        rss = min(r[1] for r in runs) / 1024
        best[label] = (t, rss)
        print(f"{label:8} {t:8.2f}s {rss:8.1f} MB")
    (to, ro), (tr, rr) = best["ours"], best["2.4.0"]
    print(f"ratios ours/2.4.0: time {to / tr:.2f}x, peak RSS {ro / rr:.3f}x")
    print(f"target: ours peak RSS <= 40 MB: {'met' if ro <= 40 else 'NOT met'}")
    for f in work.glob("*.upload"):
        f.unlink()
    cast.unlink()


if __name__ == "__main__":
    main()
