"""`micropython.schedule` for CPython.

On a board, scheduled callbacks run on the main thread between bytecodes: soon, one at a
time, in order, even while the program sleeps. Here they run on one dedicated daemon thread,
which gives the same promises (soon, in order, one at a time, also while the main thread is
blocked in `time.sleep` or an event loop) except one: the main thread keeps running while a
callback runs, as if the callback were another thread. Stopping the main thread between
bytecodes is not possible in CPython without signals, which would interrupt the program's
own system calls. Each callback runs in the `contextvars` context of its `schedule` call, so
`bluetooth.BLE()` inside it is the radio that was current there.

As in MicroPython, an exception raised by a callback is printed (here to stderr) and the
scheduler carries on, and `schedule` raises RuntimeError("schedule queue full") when
`depth` callbacks are already waiting.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import vclock

DEFAULT_DEPTH = 16


class Scheduler:
    def __init__(self, depth: int = DEFAULT_DEPTH) -> None:
        self.depth = depth
        self._cond = threading.Condition()
        self._queue: deque[tuple[Callable[[Any], Any], Any, contextvars.Context]] = deque()
        self._thread: threading.Thread | None = None

    def schedule(self, func: Callable[[Any], Any], arg: Any) -> None:
        with self._cond:
            if len(self._queue) >= self.depth:
                raise RuntimeError("schedule queue full")
            self._queue.append((func, arg, contextvars.copy_context()))
            if self._thread is None:
                self._thread = vclock.enlist(
                    threading.Thread(target=self._run, name="micropython.schedule", daemon=True)
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                func, arg, context = self._queue.popleft()
            try:
                context.run(func, arg)
            except BaseException as exc:  # noqa: BLE001 - a board prints it and carries on
                print("Uncaught exception in scheduled callback:", file=sys.stderr)
                traceback.print_exception(exc, file=sys.stderr)
                sys.stderr.flush()
