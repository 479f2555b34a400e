"""MicroPython's asyncio where it differs from CPython's and board programs rely on it;
`install()` puts these into the process's `asyncio` (only `aioble-python` calls it).

- `sleep_ms`, `wait_for_ms` and `ThreadSafeFlag` (`mpemu.threadsafeflag`).
- `Event.set()` from an IRQ handler: on a board handlers run on the main thread between
  bytecodes, and programs set events from them; here they run on other threads, where
  CPython's `set` would not wake the waiting loop. Called from another thread than the
  event's loop, it marks the event at once and wakes its waiters through that loop.
- `create_task()` before `run()`: MicroPython keeps one task queue for the process, so a
  program may create tasks at module level and then call `asyncio.run(main())`, which runs
  them too. Here such tasks go to a loop made for them, and the next `run()` runs on it
  (and closes it, as `run()` closes its loop). With a loop running, both are CPython's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from mpemu.threadsafeflag import ThreadSafeFlag

_T = TypeVar("_T")

_event_set = asyncio.Event.set
_create_task = asyncio.create_task
_run = asyncio.run
# The loop of the tasks created before `run()`, which that `run()` runs on.
_early_loop: asyncio.AbstractEventLoop | None = None


async def sleep_ms(ms: float) -> None:
    await asyncio.sleep(max(0.0, ms / 1000))


async def wait_for_ms(aw: Awaitable[_T], timeout_ms: float | None) -> _T:
    return await asyncio.wait_for(aw, None if timeout_ms is None else timeout_ms / 1000)


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


def create_task(coro: Coroutine[Any, Any, _T], **kwargs: Any) -> asyncio.Task[_T]:
    """`asyncio.create_task`; without a running loop, a task for the next `run()`."""
    global _early_loop
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if _early_loop is None or _early_loop.is_closed():
            _early_loop = asyncio.new_event_loop()
        return _early_loop.create_task(coro, **kwargs)
    return _create_task(coro, **kwargs)


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """`asyncio.run`, on the loop of the tasks created before it, if any."""
    global _early_loop
    loop, _early_loop = _early_loop, None
    if loop is None or loop.is_closed():
        return _run(main, debug=debug)
    with asyncio.Runner(debug=debug, loop_factory=lambda: loop) as runner:
        return runner.run(main)


def install() -> None:
    asyncio.sleep_ms = sleep_ms  # type: ignore[attr-defined]
    asyncio.wait_for_ms = wait_for_ms  # type: ignore[attr-defined]
    asyncio.ThreadSafeFlag = ThreadSafeFlag  # type: ignore[attr-defined]
    asyncio.Event.set = event_set  # type: ignore[method-assign]
    asyncio.create_task = create_task  # type: ignore[assignment]
    asyncio.run = run  # type: ignore[assignment]
