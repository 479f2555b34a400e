"""IRQ delivery: one thread per radio calls the program's handler, one event at a time.

The stack thread queues events in the order they happen and never waits for the handler,
except for the events whose return value matters (READ_REQUEST, L2CAP_ACCEPT, GET_SECRET,
SET_SECRET), which it awaits without blocking its loop. Handlers therefore run whatever the
program's own thread is doing (even ``time.sleep``), never two at once, and may call any BLE
method (those wait only on the stack thread).
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

Handler = Callable[[int, tuple[Any, ...]], Any]

# Writes carry the value that was written, so that a handler reading the attribute sees that
# write's value even when later writes have already landed (as with MicroPython's synchronous
# IRQs, where the stack calls the handler before it processes the next write).
Snapshot = tuple[int, bytes] | None

IDLE_EXIT = 10.0  # seconds without events after which the thread ends


class IrqDispatcher:
    def __init__(self, context: contextvars.Context, name: str) -> None:
        self._context = context
        self._name = name
        self._queue: queue.SimpleQueue[
            tuple[int, tuple[Any, ...], Snapshot, asyncio.Future[Any] | None, Any]
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.handler: Handler | None = None
        # Set while a GATTS_WRITE handler runs: (attr_handle, value written).
        self.snapshot: Snapshot = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def in_handler_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def emit(self, event: int, data: tuple[Any, ...], snapshot: Snapshot = None) -> None:
        """Queue an event (any thread). Dropped when no handler is set, as on a board."""
        if self.handler is None:
            return
        self._queue.put((event, data, snapshot, None, None))
        self._ensure_thread()

    async def ask(self, event: int, data: tuple[Any, ...], default: Any) -> Any:
        """Queue an event whose handler's return value matters; await that value (stack loop)."""
        if self.handler is None:
            return default
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put((event, data, None, future, default))
        self._ensure_thread()
        return await future

    def _ensure_thread(self) -> None:
        """Start the thread if it is not running (it ends after a while with no events, so
        a process that makes many radios does not keep an idle thread for each)."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name=f"bluetooth-irq-{self._name}", daemon=True
                    )
                    self._thread.start()

    def _next(
        self,
    ) -> tuple[int, tuple[Any, ...], Snapshot, asyncio.Future[Any] | None, Any] | None:
        while True:
            try:
                return self._queue.get(timeout=IDLE_EXIT)
            except queue.Empty:
                with self._start_lock:
                    # Events are queued before _ensure_thread looks at _thread, under this
                    # lock: whatever is queued now is seen here or by a new thread.
                    if self._queue.empty():
                        self._thread = None
                        return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            event, data, snapshot, future, default = item
            handler = self.handler
            result = default
            if handler is not None:
                self.snapshot = snapshot
                try:
                    result = self._context.run(handler, event, data)
                except BaseException as error:  # noqa: BLE001 - a handler's bug must not kill IRQs
                    _report(error)
                    result = default
                finally:
                    self.snapshot = None
            if future is not None:
                loop = future.get_loop()
                try:
                    loop.call_soon_threadsafe(_resolve, future, result)
                except RuntimeError:
                    pass  # the stack loop is gone (interpreter exit)


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _report(error: BaseException) -> None:
    # MicroPython prints this and carries on.
    print("Unhandled exception in IRQ callback handler", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)
