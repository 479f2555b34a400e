"""`asyncio.ThreadSafeFlag` for CPython, where asyncio lacks it.

MicroPython's ThreadSafeFlag is a flag (not a counter) that may be set from an IRQ handler or
another thread; one task at a time waits on it and `wait()` clears it. aioble's IRQ handlers run
on the radio's IRQ thread, so `set()` hands the wake-up to the waiting loop thread-safely.
`aioble-python` installs this class as `asyncio.ThreadSafeFlag`.
"""

from __future__ import annotations

import asyncio
import threading


class ThreadSafeFlag:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flag = False
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def set(self) -> None:
        with self._lock:
            self._flag = True
            waiter = self._waiter
        if waiter is None:
            return
        loop, future = waiter
        # (the IRQ thread has no running loop: no RuntimeError raised and caught per set)
        if asyncio._get_running_loop() is loop:
            _wake(future)
        else:
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:
                pass  # the waiting loop is closed: nobody left to wake

    def clear(self) -> None:
        with self._lock:
            self._flag = False

    def is_set(self) -> bool:
        return self._flag

    async def wait(self) -> None:
        with self._lock:
            if self._flag:
                self._flag = False
                return
            if self._waiter is not None:
                raise RuntimeError("ThreadSafeFlag: only one task may wait at a time")
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiter = (loop, future)
        try:
            await future
        finally:
            with self._lock:
                self._waiter = None
                if future.done() and not future.cancelled():
                    self._flag = False


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
