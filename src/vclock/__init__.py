"""vclock: one simulated clock for every program, the stack and the radio.

``AIOBLE_VIRTUAL_TIME=1`` (or ``install()``) puts a process on simulated time: its clocks
(``time``, asyncio loops, ``threading`` timeouts) read the simulated clock, and waits cost no
wall time once everything waits (``clock.py`` says how; ``patches.py`` what is patched).
``AIOBLE_VIRTUAL_TIME=HOST:PORT/NAME`` makes the process follow the clock of the run that
started it (``remote.py``). Nothing changes in a process that does neither.

Threads count towards the clock only when enlisted: ``enlist(thread)`` before ``start()``
(a no-op without simulated time), or ``clock.enlist_current()`` for the calling thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from . import patches
from .clock import Clock, Participant, real_monotonic, real_sleep, real_time
from .remote import Client, Master, Traffic, program_traffic

ENV = "AIOBLE_VIRTUAL_TIME"
T = TypeVar("T")

_master: Master | None = None
_follower_name: str | None = None


def current() -> Clock | None:
    """The process's simulated clock, or None on real time."""
    return patches.installed()


def install(*, serve: bool = False) -> Clock:
    """Put this process on a simulated clock of its own (and enlist the calling thread);
    ``serve``: also accept other processes (``master()``)."""
    global _master
    clock = Clock()
    clock.enlist_current()
    patches.install(clock)
    if serve:
        _master = Master(clock)
    return clock


def master() -> Master | None:
    """The master of a process installed with ``serve=True``."""
    return _master


def follow(address: str, name: str) -> Clock:
    """Put this process on the clock of the master at ``address`` (HOST:PORT)."""
    global _follower_name
    clock = Clock()
    clock.enlist_current()  # (first: with no participant the clock would report idle)
    Client(clock, address, name)
    patches.install(clock)
    _follower_name = name
    return clock


def follower_name() -> str | None:
    """The name this process has on a run's clock (``follow``), or None."""
    return _follower_name


def install_from_env(environ: Any = os.environ) -> Clock | None:
    """What ``AIOBLE_VIRTUAL_TIME`` asks: nothing (unset, empty, 0), a clock of this process
    (1), or the clock of a run (HOST:PORT/NAME). Raises ValueError on anything else."""
    value = (environ.get(ENV) or "").strip()
    if value in ("", "0"):
        return None
    if current() is not None:
        return current()
    if value == "1":
        return install()
    address, sep, name = value.partition("/")
    if not sep or ":" not in address or not name:
        raise ValueError(f"{ENV}={value!r}: expected 1, 0 or HOST:PORT/NAME")
    return follow(address, name)


async def wall_wait_for(aw: Awaitable[T], timeout: float) -> T:
    """``asyncio.wait_for`` with ``timeout`` in wall-clock seconds, also on a simulated clock
    (a grace given to another process, whose work the clock does not wait for)."""
    if current() is None:
        return await asyncio.wait_for(aw, timeout)
    loop = asyncio.get_running_loop()
    expired: asyncio.Future[None] = loop.create_future()

    def expire() -> None:
        if not expired.done():
            expired.set_result(None)

    timer = threading.Timer(timeout, loop.call_soon_threadsafe, (expire,))
    timer.daemon = True
    timer.start()
    task = asyncio.ensure_future(aw)
    try:
        await asyncio.wait({task, expired}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        timer.cancel()
    if task.done():
        return task.result()
    task.cancel()
    raise TimeoutError


def enlist(thread: threading.Thread) -> threading.Thread:
    """Make ``thread`` (not started yet) count towards the clock from its ``start()`` to its
    end; returns it. A no-op on real time."""
    clock = current()
    if clock is None:
        return thread
    target: Callable[..., Any] = thread.run
    start: Callable[[], None] = thread.start
    reserved: list[Participant] = []

    def start_counted() -> None:
        reserved.append(clock.reserve(thread.name))
        try:
            start()
        except BaseException:
            clock.retire(reserved[0])
            raise

    def run() -> None:
        clock.adopt(reserved[0])
        try:
            target()
        finally:
            clock.retire(reserved[0])

    thread.start = start_counted  # type: ignore[method-assign]
    thread.run = run  # type: ignore[method-assign]
    return thread


__all__ = [
    "ENV",
    "Client",
    "Clock",
    "Master",
    "Participant",
    "Traffic",
    "current",
    "enlist",
    "follow",
    "follower_name",
    "install",
    "install_from_env",
    "master",
    "program_traffic",
    "real_monotonic",
    "real_sleep",
    "real_time",
    "wall_wait_for",
]
