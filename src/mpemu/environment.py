"""MicroPython's environment inside `aioble-python`: what `install()` changes in this process.

- `sys.path` starts as a board's does: the program's folder, then `lib/` beside it (where
  `mip` installs packages), then the shims folder (`micropython`, `machine`, ...), so a
  program's own `machine.py` or vendored `aioble` wins over anything of this project's.
- The program's own code (those two folders) is compiled in MicroPython's dialect
  (`mpemu.dialect`).
- `time` gets `sleep_ms`, `sleep_us`, `ticks_ms`, `ticks_us`, `ticks_cpu`, `ticks_diff`,
  `ticks_add` (`mpemu.ticks`).
- `asyncio` gets `sleep_ms`, `wait_for_ms` and `ThreadSafeFlag` (`mpemu.threadsafeflag`).
- `asyncio.Event.set()` may be called from an IRQ handler (on a board IRQs run on the main
  thread, between bytecodes, so programs do): called from another thread than the event's
  loop, it marks the event at once and wakes its waiters through that loop.
- `sys` gets `print_exception(exc, file=sys.stdout)`.
- `utime`, `uasyncio`, `ubluetooth`, ... import as the modules they name.
- `sys.stdout` becomes line-buffered, so output reaches a pipe line by line.
- `print` writes each call in one piece: on a board an IRQ handler never runs in the middle
  of a `print`, but here handlers run on other threads, and CPython's own `print` writes its
  arguments one by one, so two threads' lines could mix mid-line.

Only `aioble-python` calls `install()`; plain `python` is never patched.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TextIO, TypeVar

from mpemu import dialect, platform, ticks
from mpemu.threadsafeflag import ThreadSafeFlag

SHIMS_DIR = str(Path(__file__).resolve().parent / "shims")

_T = TypeVar("_T")

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


async def sleep_ms(ms: float) -> None:
    await asyncio.sleep(max(0.0, ms / 1000))


async def wait_for_ms(aw: Awaitable[_T], timeout_ms: float | None) -> _T:
    return await asyncio.wait_for(aw, None if timeout_ms is None else timeout_ms / 1000)


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


_event_set = asyncio.Event.set


def _wake_waiters(event: asyncio.Event) -> None:
    for waiter in event._waiters:  # type: ignore[attr-defined]
        if not waiter.done():
            waiter.set_result(True)


def event_set(event: asyncio.Event) -> None:
    """`asyncio.Event.set`, also from an IRQ handler's thread."""
    loop = getattr(event, "_loop", None)  # bound by the first wait
    if loop is not None and not loop.is_closed():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            event._value = True  # type: ignore[attr-defined]
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
                loop.call_soon_threadsafe(_wake_waiters, event)
            return
    _event_set(event)


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
    asyncio.sleep_ms = sleep_ms  # type: ignore[attr-defined]
    asyncio.wait_for_ms = wait_for_ms  # type: ignore[attr-defined]
    asyncio.ThreadSafeFlag = ThreadSafeFlag  # type: ignore[attr-defined]
    asyncio.Event.set = event_set  # type: ignore[method-assign]
    sys.print_exception = print_exception  # type: ignore[attr-defined]
    platform.install()
    builtins.print = atomic_print
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
