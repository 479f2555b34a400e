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

import os
import threading
from collections.abc import Callable
from typing import Any

from . import patches
from .clock import Clock, Participant, real_monotonic, real_sleep, real_time
from .remote import Client, Master, Traffic, program_traffic

ENV = "AIOBLE_VIRTUAL_TIME"

_master: Master | None = None


def current() -> Clock | None:
    """The process's simulated clock, or None on real time."""
    return patches.installed()


def install(*, serve: bool = False) -> Clock:
    """Put this process on a simulated clock of its own (and enlist the calling thread);
    ``serve``: also accept other processes (``master()``)."""
    clock = Clock()
    patches.install(clock)
    clock.enlist_current()
    if serve:
        _start_master(clock)
    return clock


def _start_master(clock: Clock) -> Master:
    global _master
    _master = Master(clock)
    return _master


def master() -> Master | None:
    """The master of a process installed with ``serve=True``."""
    return _master


def follow(address: str, name: str) -> Clock:
    """Put this process on the clock of the master at ``address`` (HOST:PORT)."""
    clock = Clock()
    Client(clock, address, name)
    patches.install(clock)
    clock.enlist_current()
    return clock


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
    "install",
    "install_from_env",
    "master",
    "program_traffic",
    "real_monotonic",
    "real_sleep",
    "real_time",
]
