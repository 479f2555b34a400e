"""MicroPython's environment inside `aioble-python`: what `install()` changes in this process.

- `sys.path` starts as a board's does: the program's folder, then `lib/` beside it (where
  `mip` installs packages), then the shims folder (`micropython`, `machine`, ...), so a
  program's own `machine.py` or vendored `aioble` wins over anything of this project's.
- The program's own code (those two folders) is compiled in MicroPython's dialect
  (`mpemu.dialect`).
- `time` gets `sleep_ms`, `sleep_us`, `ticks_ms`, `ticks_us`, `ticks_cpu`, `ticks_diff`,
  `ticks_add` (`mpemu.ticks`).
- `asyncio` gets MicroPython's extras and leniencies (`mpemu.asyncio_extras`): `sleep_ms`,
  `wait_for_ms`, `ThreadSafeFlag`, `Event.set()` from an IRQ handler, `create_task()` before
  `run()`.
- `sys` gets `print_exception(exc, file=sys.stdout)`.
- `utime`, `uasyncio`, `ubluetooth`, ... import as the modules they name.
- `sys.stdout` becomes line-buffered, so output reaches a pipe line by line.
- `print` writes each call in one piece: on a board an IRQ handler never runs in the middle
  of a `print`, but here handlers run on other threads, and CPython's own `print` writes its
  arguments one by one, so two threads' lines could mix mid-line.

Only `aioble-python` calls `install()`; plain `python` is never patched.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TextIO

from mpemu import asyncio_extras, dialect, platform, ticks

SHIMS_DIR = str(Path(__file__).resolve().parent / "shims")

# MicroPython's old `u`-prefixed names, still found in board programs.
U_ALIASES = {
    "u" + name: name
    for name in (
        "array",
        "asyncio",
        "binascii",
        "bluetooth",
        "collections",
        "errno",
        "hashlib",
        "heapq",
        "io",
        "json",
        "os",
        "random",
        "re",
        "select",
        "socket",
        "ssl",
        "struct",
        "sys",
        "time",
        "zlib",
    )
}


def atomic_print(
    *args: object,
    sep: str | None = " ",
    end: str | None = "\n",
    file: TextIO | None = None,
    flush: bool = False,
) -> None:
    """`print` with one `write` per call (see the module docstring)."""
    if sep is not None and not isinstance(sep, str):
        raise TypeError(f"sep must be None or a string, not {type(sep).__name__}")
    if end is not None and not isinstance(end, str):
        raise TypeError(f"end must be None or a string, not {type(end).__name__}")
    if file is None:
        file = sys.stdout
        if file is None:
            return
    file.write((" " if sep is None else sep).join(map(str, args)) + ("\n" if end is None else end))
    if flush:
        file.flush()


def print_exception(exc: BaseException, file: TextIO | None = None) -> None:
    exc.__traceback__ = dialect.program_traceback(exc.__traceback__)
    traceback.print_exception(exc, file=sys.stdout if file is None else file)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Consulted last, so a program's own `utime.py` still wins."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        real = U_ALIASES.get(fullname)
        if real is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real))


def install(program_dir: str) -> None:
    """Make this process look like MicroPython's unix port to the program in `program_dir`
    (`''` for `-c`/stdin, as CPython does: the current directory)."""
    lib = os.path.join(program_dir, "lib")
    sys.path[:1] = [program_dir, lib, SHIMS_DIR]
    dialect.install([program_dir, lib])
    for name in ticks.NAMES:
        setattr(time, name, getattr(ticks, name))
    asyncio_extras.install()
    sys.print_exception = print_exception  # type: ignore[attr-defined]
    platform.install()
    builtins.print = atomic_print
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
