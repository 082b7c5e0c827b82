"""Compiled code of the archive's modules, kept between runs.

zipimport compiles every module of ``asciinema.pyz`` from source at every start: the archive
ships no ``.pyc`` files, which are tied to one interpreter version. That compiling is about
half of the start-up time of ``rec``, and more for what imports the vendored packages (pyte
and wcwidth for ``convert -f txt``, websockets for a server). :func:`install` puts a finder
first on ``sys.meta_path`` that loads the archive's top-level packages (ours and the vendored
ones, as the archive's ``__main__.py`` lists them) as zipimport would, but keeps each
module's code in the user's cache directory, one file per module and interpreter, checked
against a hash of the module's source (like a hash-based ``.pyc``, PEP 552). Even with no
cache it compiles each module once where zipimport compiles it twice (its ``get_filename``,
which the import system calls to make the module's spec, compiles the source too). A stale,
foreign or broken cache file is recompiled and replaced; a cache directory that can't be
written only means compiling as before. ``python -B`` (or ``PYTHONDONTWRITEBYTECODE``)
stops the writing, as it does for ``__pycache__``.

This module runs before anything else of ours, from the archive's ``__main__.py``; it
imports only what the interpreter has already loaded to run the archive.
"""

from __future__ import annotations

import _imp
import marshal
import os
import sys
import zipimport
from importlib.machinery import ModuleSpec
from importlib.util import MAGIC_NUMBER, source_hash
from types import CodeType, ModuleType

TYPE_CHECKING = False  # typing costs about 5 ms to import; annotations need it only for mypy
if TYPE_CHECKING:
    from importlib.abc import Loader as _Loader
    from typing import Dict, FrozenSet, Iterable, Optional, Sequence
else:
    _Loader = object  # importlib.abc imports typing: the protocol is checked, not inherited

#: the file's first bytes: the interpreter's magic number, then the hash-based-pyc flags
_STAMP = MAGIC_NUMBER + b"\x03\x00\x00\x00"


def cache_dir(environ: "os._Environ[str]" = os.environ) -> str:
    """Where the code is kept: under ``sys.pycache_prefix`` if set, else the XDG cache."""
    base = sys.pycache_prefix or environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "asciinema", "pyz-" + (sys.implementation.cache_tag or "none"))


def install(archive: str, packages: Iterable[str]) -> None:
    """Load ``packages`` and their submodules from ``archive`` through the cache.

    ``packages`` are top-level names the archive holds: only they are looked for there, so
    every other import costs the finder one set lookup. A no-op where the cache can't work.
    """
    if sys.implementation.cache_tag is None:
        return
    directory = cache_dir()
    if not sys.dont_write_bytecode:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError:
            return
    # the path as runpy and zipimport have it: zipimport reads the archive's directory once per path
    sys.meta_path.insert(0, CachingFinder(archive, directory, packages))


class CachingFinder:
    """Finds the given packages and their submodules in the archive; see the module docstring."""

    def __init__(self, archive: str, directory: str, packages: Iterable[str]) -> None:
        self.archive = archive
        self.directory = directory
        self.packages: FrozenSet[str] = frozenset(packages)
        self._importers: Dict[str, zipimport.zipimporter] = {}

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Optional[ModuleSpec]:
        if fullname.partition(".")[0] not in self.packages:
            return None
        parts = fullname.split(".")
        parent = os.path.join(self.archive, *parts[:-1])
        importer = self._importers.get(parent)
        try:
            if importer is None:
                importer = self._importers[parent] = zipimport.zipimporter(parent)
            is_package = importer.is_package(fullname)
        except zipimport.ZipImportError:
            return None  # not in the archive: let the other finders say so
        where = os.path.join(self.archive, *parts)
        filename = os.path.join(where, "__init__.py") if is_package else where + ".py"
        loader = CachingLoader(importer, filename, os.path.join(self.directory, fullname + ".pyc"))
        spec = ModuleSpec(fullname, loader, origin=filename, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [where]
        return spec


class CachingLoader(_Loader):
    """Loads one module's code from the cache file, or compiles it and writes that file."""

    def __init__(self, importer: zipimport.zipimporter, filename: str, cache_file: str) -> None:
        self.importer = importer
        self.filename = filename
        self.cache_file = cache_file

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        exec(self.get_code(module.__name__), module.__dict__)

    def get_code(self, fullname: str) -> CodeType:
        source = self.importer.get_data(self.filename)
        stamp = _STAMP + source_hash(source)
        try:
            with open(self.cache_file, "rb") as f:
                data = f.read()
            if data[:16] == stamp:
                code = marshal.loads(memoryview(data)[16:])
                if isinstance(code, CodeType):
                    # the same source may have been cached by a copy of the archive elsewhere:
                    # tracebacks must name this one (importlib does the same for .pyc files)
                    _imp._fix_co_filename(code, self.filename)  # type: ignore[attr-defined]  # not in typeshed's _imp
                    return code
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = compile(source, self.filename, "exec", dont_inherit=True)
        if not sys.dont_write_bytecode:
            _write_atomically(self.cache_file, stamp + marshal.dumps(code))
        return code

    # what importlib.resources, linecache and pkgutil ask a zip loader for
    def get_source(self, fullname: str) -> Optional[str]:
        return self.importer.get_source(fullname)

    def get_data(self, path: str) -> bytes:
        return self.importer.get_data(path)

    def get_filename(self, fullname: str) -> str:
        return self.filename

    def is_package(self, fullname: str) -> bool:
        return self.importer.is_package(fullname)

    def get_resource_reader(self, fullname: str) -> object:
        return self.importer.get_resource_reader(fullname)


def _write_atomically(path: str, data: bytes) -> None:
    """A whole file or none: written to a name of our own, then renamed over ``path``."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
