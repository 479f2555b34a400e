"""Which code is the program's own, and loading it in MicroPython's dialect.

The program's own code is its main file and every module found in its folder or in `lib/`
beside it (where `mip` installs packages on a board), with their submodules. Never the
standard library, site-packages or this project's packages, even when one of those lies
under the program's folder (a virtual environment inside a project, say).

Modules are compiled from source on every import and never written to `__pycache__`: a
cached file is shared with plain `python`, which must not run dialect code.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import sysconfig
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from mpemu.dialect.transform import compile_program

_PROJECT_PACKAGES = ("aioble", "bleradio", "blerun", "bluetooth", "mpemu")


def _never_dialect() -> list[str]:
    src = Path(__file__).resolve().parents[2]
    roots = [str(src / name) for name in _PROJECT_PACKAGES]
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.append(os.path.realpath(path))
    return roots


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class DialectLoader(importlib.machinery.SourceFileLoader):
    """Loads a module of the program's own: its source, transformed, with the program's
    builtins (`builtins_factory()`)."""

    builtins_factory: Callable[[], dict[str, Any]]

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return compile_program(self.get_data(path), path)

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__builtins__"] = self.builtins_factory()
        super().exec_module(module)


class ProgramFinder(importlib.abc.MetaPathFinder):
    """Finds modules as `sys.path` does; those of the program's own get a `DialectLoader`."""

    def __init__(self, program_dirs: Sequence[str], builtins_factory: Callable[[], dict[str, Any]]):
        self.program_dirs = [os.path.realpath(d or os.curdir) for d in program_dirs]
        self.excluded = _never_dialect()
        self.builtins_factory = builtins_factory

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        if not self.is_program_module(fullname, spec):
            return None
        loader = DialectLoader(fullname, spec.loader.path)
        loader.builtins_factory = self.builtins_factory
        spec.loader = loader
        return spec

    def is_program_module(self, fullname: str, spec: importlib.machinery.ModuleSpec) -> bool:
        origin = os.path.realpath(spec.origin or "")
        if any(_inside(origin, root) for root in self.excluded):
            return False
        parent = fullname.rpartition(".")[0]
        if parent:
            parent_module = sys.modules.get(parent)
            return isinstance(getattr(parent_module, "__loader__", None), DialectLoader)
        folder = os.path.dirname(origin)
        if spec.submodule_search_locations is not None:  # a package: its folder's parent
            folder = os.path.dirname(folder)
        return folder in self.program_dirs


def install(program_dirs: Sequence[str], builtins_factory: Callable[[], dict[str, Any]]) -> None:
    """Put a `ProgramFinder` for `program_dirs` right before the path finder."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, ProgramFinder)]
    index = next(
        (i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder),
        len(sys.meta_path),
    )
    sys.meta_path.insert(index, ProgramFinder(program_dirs, builtins_factory))
