"""Checks on the built archive: build_zipapp.py's output is deterministic and complete.

The builder runs as a subprocess into a temp dir. It reuses the hash-checked download cache
in build/ (wheels and the npm tarball), so these tests need the network only when that
cache is empty.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import pythons

from paths import CASTS, GOLDEN, ROOT  # noqa: E402
BUILDER = ROOT / "build_zipapp.py"

DISTRIBUTIONS = ("pyte", "wcwidth", "websockets", "tomli")


def run_builder(*args: str, env: Optional[Dict[str, str]] = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(BUILDER), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def build_into(path: Path, *args: str) -> Path:
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    proc = run_builder("-o", str(path), *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_into(tmp_path_factory.mktemp("pyz") / "asciinema.pyz")


@pytest.fixture(scope="session")
def names(pyz: Path) -> List[str]:
    with zipfile.ZipFile(pyz) as zf:
        return zf.namelist()


def run_python(python: str, code: str, pyz: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [python, "-I", "-W", "error", "-c", f"import sys; sys.path.insert(0, {str(pyz)!r}); {code}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_names_are_sorted_and_unique(names: List[str]) -> None:
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_members_share_one_date_and_fixed_attributes(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.create_system for i in infos} == {3}
    assert {i.external_attr for i in infos} == {0o644 << 16}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_no_compiled_or_cache_files(names: List[str]) -> None:
    bad = [n for n in names if n.endswith((".pyc", ".so", ".c", ".pyi", ".pyx")) or "__pycache__" in n]
    assert bad == []


def test_shebang_and_executable_mode(pyz: Path) -> None:
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert stat.S_IMODE(pyz.stat().st_mode) == 0o755


def test_sources_and_player_assets_are_packed(names: List[str]) -> None:
    sources = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "asciinema").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert set(sources) <= set(names)
    for asset in ("asciinema-player.min.js", "asciinema-player.css", "LICENSE-asciinema-player"):
        assert f"asciinema/assets/{asset}" in names
    assert "__main__.py" in names
    assert not [n for n in names if n.startswith("websockets/legacy/")]


def test_licence_file_for_every_distribution(names: List[str]) -> None:
    for dist in DISTRIBUTIONS:
        licences = [n for n in names if n.startswith(f"{dist}-") and n.endswith(".dist-info/LICENSE")]
        metadata = [n for n in names if n.startswith(f"{dist}-") and n.endswith(".dist-info/METADATA")]
        assert licences and metadata, dist
    assert "asciinema/assets/LICENSE-asciinema-player" in names


def test_player_licence_is_apache(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as zf:
        assert b"Apache License" in zf.read("asciinema/assets/LICENSE-asciinema-player")


def test_notices_list_everything(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as zf:
        text = zf.read("THIRD_PARTY_NOTICES.txt").decode("utf-8")
    for entry in ("pyte 0.8.2", "wcwidth 0.2.13", "websockets 15.0.1", "tomli 2.2.1", "asciinema-player 3.17.0"):
        assert entry in text
    assert "Apache-2.0" in text
    assert "85db42a35798a5aafa96ac4d8da78b090b2c933248819157fc0e6f78876a0135" in text


def test_two_builds_are_byte_identical(pyz: Path, tmp_path: Path) -> None:
    again = build_into(tmp_path / "again.pyz", "--offline")
    assert sha256(again) == sha256(pyz)


def test_source_date_epoch_sets_the_date(tmp_path: Path) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    proc = run_builder("-o", str(tmp_path / "dated.pyz"), "--offline", env=env)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "dated.pyz") as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    env["SOURCE_DATE_EPOCH"] = "0"  # before 1980: clamped
    proc = run_builder("-o", str(tmp_path / "old.pyz"), "--offline", env=env)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "old.pyz") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_wrong_hash_fails_the_build(pyz: Path, tmp_path: Path) -> None:
    good = "f7a866fbc1e97b5c617ee4116daaa09b722101d4a3c170c787450ba409f9736f"
    text = (ROOT / "vendor.txt").read_text(encoding="utf-8")
    assert good in text
    vendor = tmp_path / "vendor.txt"
    vendor.write_text(text.replace(good, "0" * 64), encoding="utf-8")
    out = tmp_path / "bad.pyz"
    proc = run_builder("--vendor", str(vendor), "--offline", "-o", str(out))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "sha256 mismatch" in errors[0] and "websockets" in errors[0]
    assert not out.exists()
    assert not list(tmp_path.glob("bad.pyz*"))


def test_tampered_player_fails_the_build(tmp_path: Path) -> None:
    tgz = ROOT / "build" / "npm" / "asciinema-player-3.17.0.tgz"
    if not tgz.is_file():
        pytest.skip("no cached player tarball")
    bad = tmp_path / "player.tgz"
    shutil.copyfile(tgz, bad)
    with bad.open("ab") as f:
        f.write(b"\0")
    proc = run_builder("--offline", "--player-tgz", str(bad), "-o", str(tmp_path / "x.pyz"))
    assert proc.returncode == 1
    assert "error: sha256 mismatch" in proc.stderr


def test_unpacked_player_matches_the_archive_and_is_never_packed_from_the_tree(tmp_path: Path) -> None:
    tgz = ROOT / "build" / "npm" / "asciinema-player-3.17.0.tgz"
    if not tgz.is_file():
        pytest.skip("no cached player tarball")
    tree = tmp_path / "tree"
    (tree / "asciinema").mkdir(parents=True)
    shutil.copyfile(BUILDER, tree / "build_zipapp.py")
    shutil.copyfile(ROOT / "vendor.txt", tree / "vendor.txt")
    (tree / "asciinema" / "__init__.py").write_text("")
    builder = [sys.executable, str(tree / "build_zipapp.py"), "--build-dir", str(ROOT / "build"), "--offline"]

    def run(*args: str) -> "subprocess.CompletedProcess[str]":
        proc = subprocess.run(builder + list(args), capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        return proc

    assert run("--unpack-player").stdout.count("unpacked: ") == 3
    assert run("--unpack-player").stdout == ""  # unchanged files are left alone
    js = tree / "asciinema" / "assets" / "asciinema-player.min.js"
    good = js.read_bytes()
    js.write_bytes(b"tampered")
    run("-o", str(tmp_path / "x.pyz"))
    with zipfile.ZipFile(tmp_path / "x.pyz") as zf:
        assert zf.read("asciinema/assets/asciinema-player.min.js") == good
        assert zf.read("asciinema/assets/asciinema-player.css") == js.with_name("asciinema-player.css").read_bytes()


def test_vendored_packages_import_from_the_archive(pyz: Path) -> None:
    code = (
        "import pyte, wcwidth, websockets.sync.server, websockets.sync.client, "
        "websockets.asyncio.server, websockets.asyncio.client, tomli; "
        "assert all(m.__file__.startswith(sys.path[0]) for m in (pyte, wcwidth, websockets, tomli)); "
        "print('ok')"
    )
    proc = run_python(sys.executable, code, pyz)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_distribution_metadata_from_the_archive(pyz: Path) -> None:
    code = (
        "import importlib.metadata as m; "
        "print(m.version('pyte'), m.version('wcwidth'), m.version('websockets'), m.version('tomli'))"
    )
    proc = run_python(sys.executable, code, pyz)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0.8.2", "0.2.13", "15.0.1", "2.2.1"]


def test_player_is_readable_as_package_data(pyz: Path) -> None:
    code = (
        "import importlib.resources as r; "
        "js = r.files('asciinema').joinpath('assets/asciinema-player.min.js').read_bytes(); "
        "print(len(js) > 1000)"
    )
    proc = run_python(sys.executable, code, pyz)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "True\n"


def test_old_interpreters_get_one_line_and_exit_1(pyz: Path) -> None:
    """Every Python older than 3.9 that the machine has (found as the Makefile finds the
    test matrix's, see tests/pythons.py) refuses with one line, also Python 2."""
    old = pythons.find(maximum=(3, 8))
    if not old:
        reason = f"no Python older than 3.9 in {pythons.pyenv_root()}/versions or on the PATH"
        print(reason)
        pytest.skip(reason)
    for (major, minor), python in old:
        proc = subprocess.run(
            [python, str(pyz), "--version"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            1, "", f"asciinema needs Python 3.9 or newer (this is {major}.{minor})\n"), python


def test_archive_runs_isolated_on_this_python(pyz: Path, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-I", str(pyz), "--version"], capture_output=True, timeout=60,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"asciinema ")
    # and it does real work from the zip: pyte-backed txt export
    src = CASTS / "full-v3.cast"
    r = subprocess.run([sys.executable, "-I", str(pyz), "convert", str(src), "-f", "txt", "-"],
                       capture_output=True, timeout=60, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == (GOLDEN / "full-v3.cast.txt").read_bytes()


# --- the bytecode cache (asciinema/bytecode_cache.py) -----------------------------------

def run_archive(pyz: Path, cache: Path, *args: str, **env: str) -> "subprocess.CompletedProcess[str]":
    full_env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    full_env.update(env)
    return subprocess.run([sys.executable, str(pyz), *args], capture_output=True, text=True, env=full_env,
                          stdin=subprocess.DEVNULL, timeout=60)


#: the top-level packages of the archive, as its generated __main__.py hands them to the cache
ARCHIVE_PACKAGES = ("asciinema", "pyte", "tomli", "wcwidth", "websockets")


def run_installed(pyz: Path, cache: Path, statements: str) -> "subprocess.CompletedProcess[str]":
    """``statements`` run in a Python that imports the archive's modules through the cache."""
    code = (f"import sys; sys.path.insert(0, {str(pyz)!r}); from asciinema import bytecode_cache; "
            f"bytecode_cache.install({str(pyz)!r}, {ARCHIVE_PACKAGES!r})\n{statements}")
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def cache_files(cache: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in cache.glob("asciinema/pyz-*/*.pyc")}


def test_bytecode_cache_is_written_then_used(pyz: Path, tmp_path: Path) -> None:
    from importlib.util import MAGIC_NUMBER, source_hash

    cache = tmp_path / "cache"
    first = run_archive(pyz, cache, "--version")
    assert first.returncode == 0, first.stderr
    files = cache_files(cache)
    assert {"asciinema.cli.pyc", "asciinema.errors.pyc"} <= files.keys()
    with zipfile.ZipFile(pyz) as zf:
        source = zf.read("asciinema/cli.py")
    stamp = MAGIC_NUMBER + b"\x03\x00\x00\x00" + source_hash(source)
    assert files["asciinema.cli.pyc"].startswith(stamp)
    # the next run takes the code from the file: here, code of ours under the right stamp
    path = next(cache.glob("asciinema/pyz-*/asciinema.cli.pyc"))
    path.write_bytes(stamp + marshal.dumps(compile("raise SystemExit('code from the cache')", "x", "exec")))
    second = run_archive(pyz, cache, "--version")
    assert second.returncode == 1 and second.stderr == "code from the cache\n"


@pytest.mark.parametrize("damage", ["wrong hash", "broken body", "empty", "directory"])
def test_bad_cache_files_are_recompiled(pyz: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    assert run_archive(pyz, cache, "--version").returncode == 0
    path = next(cache.glob("asciinema/pyz-*/asciinema.cli.pyc"))
    good = path.read_bytes()
    if damage == "wrong hash":  # the cache of another version of the archive
        path.write_bytes(good[:8] + b"\x00" * 8 + good[16:])
    elif damage == "broken body":
        path.write_bytes(good[:16] + b"\xff" * 40)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
        path.mkdir()
    r = run_archive(pyz, cache, "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("asciinema ")
    if damage != "directory":
        assert path.read_bytes() == good


def test_no_bytecode_cache_with_dont_write_bytecode_or_nowhere_to_write(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    r = run_archive(pyz, cache, "--version", PYTHONDONTWRITEBYTECODE="1")
    assert r.returncode == 0, r.stderr
    assert cache_files(cache) == {}
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    r = run_archive(pyz, blocked, "convert", str(CASTS / "full-v3.cast"), "-f", "raw", "-")
    assert r.returncode == 0, r.stderr


def test_modules_from_the_cache_have_source_and_files(pyz: Path, tmp_path: Path) -> None:
    filename = os.path.join(str(pyz), "asciinema", "commands", "cat.py")
    r = run_installed(pyz, tmp_path / "cache", (
        "import inspect, asciinema.commands.cat as m; "
        f"print(type(m.__loader__).__name__, m.__file__ == {filename!r}); "
        "print(inspect.getsource(m).splitlines()[0])"
    ))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(pyz) as zf:
        first_line = zf.read("asciinema/commands/cat.py").decode().splitlines()[0]
    assert r.stdout.splitlines() == ["CachingLoader True", first_line]


def test_code_cached_by_another_copy_names_this_copy(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    other = tmp_path / "elsewhere" / "asciinema.pyz"
    other.parent.mkdir()
    shutil.copy(pyz, other)
    assert run_archive(other, cache, "--version").returncode == 0  # fills the cache
    r = run_installed(pyz, cache, "import asciinema.cli as m; print(m.main.__code__.co_filename)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(str(pyz), "asciinema", "cli.py")


def test_main_hands_every_package_of_the_archive_to_the_cache(pyz: Path, names: List[str]) -> None:
    tops = {n.split("/")[0] for n in names if n.endswith(".py") and n != "__main__.py"}
    assert tops == set(ARCHIVE_PACKAGES)
    with zipfile.ZipFile(pyz) as zf:
        main_py = zf.read("__main__.py").decode()
    assert f"bytecode_cache.install(__file__[: -len(\"/__main__.py\")], {ARCHIVE_PACKAGES!r})" in main_py


def test_vendored_packages_come_from_the_cache(pyz: Path, tmp_path: Path) -> None:
    from importlib.util import MAGIC_NUMBER, source_hash

    cache = tmp_path / "cache"
    cast = str(CASTS / "full-v3.cast")
    first = run_archive(pyz, cache, "convert", cast, "-f", "txt", "-")
    assert first.returncode == 0, first.stderr
    files = cache_files(cache)
    assert {"pyte.pyc", "pyte.screens.pyc", "wcwidth.pyc", "wcwidth.table_wide.pyc"} <= files.keys()
    # the next run takes pyte's code from the file: here, code of ours under the right stamp
    with zipfile.ZipFile(pyz) as zf:
        source = zf.read("pyte/__init__.py")
    path = next(cache.glob("asciinema/pyz-*/pyte.pyc"))
    stamp = MAGIC_NUMBER + b"\x03\x00\x00\x00" + source_hash(source)
    path.write_bytes(stamp + marshal.dumps(compile("raise SystemExit('pyte from the cache')", "x", "exec")))
    second = run_archive(pyz, cache, "convert", cast, "-f", "txt", "-")
    assert second.returncode == 1 and second.stderr == "pyte from the cache\n"


#: imports every vendored package, then prints which packages had files compiled, how many
#: files, how many vendored modules were loaded and by which loaders
COUNT_COMPILES = """
import builtins
compiled = []
real_compile = builtins.compile
def counting_compile(source, filename, *args, **kwargs):
    compiled.append(filename)
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = counting_compile
import pyte, wcwidth, tomli, websockets.asyncio.server, websockets.asyncio.client, websockets.sync.server
vendored = [m for n, m in sys.modules.items() if n.split(".")[0] in ("pyte", "wcwidth", "tomli", "websockets")]
from_archive = [f for f in compiled if f.startswith(sys.path[0])]
print(sorted({f[len(sys.path[0]) + 1:].split("/")[0] for f in from_archive}), len(from_archive))
print(sorted({type(m.__loader__).__name__ for m in vendored}), len(vendored))
"""


def test_vendored_modules_are_compiled_once(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_installed(pyz, cache, COUNT_COMPILES)
    assert first.returncode == 0, first.stderr
    compiled, loaders = first.stdout.splitlines()
    # each module compiled once (zipimport compiles twice: its get_filename compiles too)
    assert compiled == "['pyte', 'tomli', 'wcwidth', 'websockets'] " + loaders.split()[-1]
    assert loaders.startswith("['CachingLoader'] ")
    files = cache_files(cache)
    assert {"tomli.pyc", "tomli._parser.pyc", "websockets.pyc", "websockets.asyncio.server.pyc",
            "websockets.sync.server.pyc", "websockets.frames.pyc"} <= files.keys()
    second = run_installed(pyz, cache, COUNT_COMPILES)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == ["[] 0", loaders]
    assert cache_files(cache) == files
