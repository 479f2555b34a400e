"""MicroPython's `micropython` module, as far as it means something on CPython: `schedule`
(`mpemu.scheduler`), `mem_info`/`qstr_info`/`stack_use` in a board's formats and numbers
(`mpemu.platform`), and the rest accepted (`heap_lock` is counted, not enforced)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mpemu import platform
from mpemu.dialect.viper import viper as _viper
from mpemu.scheduler import Scheduler

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])

_scheduler = Scheduler()
_opt_level = 0
_heap_lock_depth = 0


def const(value: _T) -> _T:
    return value


def schedule(func: Callable[[Any], Any], arg: Any) -> None:
    """Run `func(arg)` soon, in order, one at a time (see `mpemu.scheduler`)."""
    _scheduler.schedule(func, arg)


def opt_level(level: int | None = None) -> int | None:
    global _opt_level
    if level is None:
        return _opt_level
    _opt_level = int(level)
    return None


def mem_info(verbose: Any = None) -> None:
    """A board's report of its stack and heap (`mpemu.platform`'s board-like heap); the
    verbose heap map is not drawn."""
    print(platform.mem_info_text())


def qstr_info(verbose: Any = None) -> None:
    print(platform.qstr_info_text())


def stack_use() -> int:
    return platform.stack_use()


def heap_lock() -> int:
    # Counted, not enforced: CPython cannot forbid allocation.
    global _heap_lock_depth
    _heap_lock_depth += 1
    return _heap_lock_depth - 1


def heap_unlock() -> int:
    global _heap_lock_depth
    _heap_lock_depth = max(0, _heap_lock_depth - 1)
    return _heap_lock_depth


def heap_locked() -> int:
    return _heap_lock_depth


def alloc_emergency_exception_buf(size: int) -> None:
    pass


def kbd_intr(chr: int) -> None:
    pass


def native(func: _F) -> _F:
    return func


def viper(func: _F) -> _F:
    """Viper runs as plain Python; arguments annotated `ptr8`/`ptr16`/`ptr32` are cast as
    viper casts them (see `mpemu.dialect.viper`)."""
    return _viper(func)


def bytecode(func: _F) -> _F:
    return func
