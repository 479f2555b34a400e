"""What puts a process's clocks and waits on the simulated clock (``install``).

- ``time``: ``monotonic``, ``time``, ``perf_counter`` (and their ``_ns`` forms) read the
  simulated clock; ``sleep`` in a participant is a park until the deadline. asyncio loops,
  ``threading`` and ``queue`` timeouts read ``time.monotonic``, so they follow.
- ``threading.Condition.wait`` (and with it ``Event``, ``Semaphore``, ``Barrier``,
  ``queue.Queue``): a participant's wait is a park; ``notify`` unparks the threads it wakes
  before it releases them.
- asyncio's selector loops: a participant's loop with nothing ready parks in its
  ``select``; ``call_soon_threadsafe`` holds the clock until that loop's next ``select``
  has returned.
- ``threading.Thread.start``: the starting participant counts as running until the new
  thread has started (it waits for a thread the clock may not count).
- ``_thread.start_new_thread`` (a program's threads): a thread a participant starts this
  way is a participant.

A participant's wait for a thread the clock does not count is a blind spot: the clock takes
it for idle. Such waits in the project go through a hold (``Thread.start``) or a real lock
(a stack call's reply), which counts as running.

A thread that is not a participant keeps real waits (of simulated durations).
"""

from __future__ import annotations

import _thread
import asyncio.base_events
import asyncio.selector_events
import queue
import threading
import time
from typing import Any

from .clock import Clock, Participant, real_sleep

_clock: Clock | None = None

_original: dict[str, Any] = {}


def _monotonic() -> float:
    assert _clock is not None
    return _clock.now()


def _monotonic_ns() -> int:
    return int(_monotonic() * 1e9)


def _time() -> float:
    assert _clock is not None
    return _clock.time()


def _time_ns() -> int:
    return int(_time() * 1e9)


def _sleep(seconds: float) -> None:
    clock = _clock
    p = clock.current() if clock is not None else None
    if p is None or seconds <= 0:
        real_sleep(seconds)
        return
    assert clock is not None
    lock = _thread.allocate_lock()
    lock.acquire()
    clock.park(p, clock.now() + seconds, lock.release)
    try:
        lock.acquire()
    finally:
        clock.unpark(p)


# --- threading.Condition ---------------------------------------------------------------------

# The parked participant behind each waiter lock a Condition holds.
_waiting: dict[Any, Participant] = {}


def _condition_wait(self: threading.Condition, timeout: float | None = None) -> bool:
    clock = _clock
    p = clock.current() if clock is not None else None
    if p is None or (timeout is not None and timeout <= 0):
        return _original["wait"](self, timeout)
    assert clock is not None
    if not self._is_owned():  # type: ignore[attr-defined]
        raise RuntimeError("cannot wait on un-acquired lock")
    waiter = _thread.allocate_lock()
    waiter.acquire()
    self._waiters.append(waiter)  # type: ignore[attr-defined]
    expired = [False]

    def end_wait() -> None:
        # (the condition's lock held) end the wait unless a notify already did
        try:
            self._waiters.remove(waiter)  # type: ignore[attr-defined]
        except ValueError:
            return
        expired[0] = True
        _waiting.pop(waiter, None)
        waiter.release()

    def expire() -> None:
        # The deadline came (timer thread). The timer thread must not wait for the lock: its
        # holder may itself wait for the clock (a sleep inside ``with condition:``).
        lock = self._lock  # type: ignore[attr-defined]
        if lock.acquire(False):
            try:
                end_wait()
            finally:
                lock.release()
        else:
            threading.Thread(target=_locked, args=(self, end_wait), daemon=True).start()

    _waiting[waiter] = p
    # Parked before the lock is let go: a notify (which needs the lock) comes after.
    clock.park(p, None if timeout is None else clock.now() + timeout, expire)
    saved = self._release_save()  # type: ignore[attr-defined]
    try:
        waiter.acquire()
        return not expired[0]
    finally:
        clock.unpark(p)
        _waiting.pop(waiter, None)
        self._acquire_restore(saved)  # type: ignore[attr-defined]


def _locked(condition: threading.Condition, action: Any) -> None:
    with condition:
        action()


def _condition_notify(self: threading.Condition, n: int = 1) -> None:
    if not self._is_owned():  # type: ignore[attr-defined]
        raise RuntimeError("cannot notify on un-acquired lock")
    waiters = self._waiters  # type: ignore[attr-defined]
    while waiters and n > 0:
        waiter = waiters[0]
        p = _waiting.pop(waiter, None)
        if p is not None and _clock is not None:
            _clock.unpark(p)
        try:
            waiter.release()
        except RuntimeError:
            pass
        else:
            n -= 1
        try:
            waiters.remove(waiter)
        except ValueError:
            pass


# --- asyncio ---------------------------------------------------------------------------------


class _ParkingSelector:
    """A loop's selector: a participant's loop with nothing ready parks while it selects.

    A post from another thread (``call_soon_threadsafe``) holds the clock until the loop's
    next ``select`` has returned: the post wakes that ``select`` (it writes to the loop's
    self-pipe after its hold is counted), and the loop runs (unparked) from then on. So the
    clock never sees everyone idle with a callback on its way, whichever comes first.
    """

    def __init__(self, selector: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._selector = selector
        self._loop = loop
        self._holds = 0
        self._holds_lock = _thread.allocate_lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)

    def hold(self, clock: Clock) -> None:
        """A post is on its way to this loop (before it is queued)."""
        clock.hold()
        with self._holds_lock:
            self._holds += 1

    def _release_holds(self) -> None:
        with self._holds_lock:
            holds, self._holds = self._holds, 0
        if holds and _clock is not None:
            _clock.release(holds)

    def select(self, timeout: float | None = None) -> Any:
        clock = _clock
        p = clock.current() if clock is not None else None
        if p is None or timeout is not None and timeout <= 0:
            try:
                return self._selector.select(timeout)
            finally:
                self._release_holds()
        assert clock is not None
        clock.park(p, None if timeout is None else clock.now() + timeout, self._wake)
        try:
            return self._selector.select(timeout)
        finally:
            clock.unpark(p)
            self._release_holds()

    def close(self) -> None:
        self._release_holds()
        self._selector.close()

    def _wake(self) -> None:
        if not self._loop.is_closed():
            self._loop._write_to_self()  # type: ignore[attr-defined]


def _loop_init(self: Any, selector: Any = None) -> None:
    _original["loop_init"](self, selector)
    self._selector = _ParkingSelector(self._selector, self)


def _call_soon_threadsafe(self: Any, callback: Any, *args: Any, context: Any = None) -> Any:
    selector = getattr(self, "_selector", None)
    if _clock is not None and isinstance(selector, _ParkingSelector) and not self.is_closed():
        selector.hold(_clock)
    return _original["call_soon_threadsafe"](self, callback, *args, context=context)


def _thread_start(self: threading.Thread) -> None:
    """``Thread.start`` waits until the new thread runs: a wait on a thread the clock may
    not count, so the starting participant counts as running meanwhile (parked there with
    no deadline, its loop's timers would be skipped)."""
    clock = _clock
    if clock is None or clock.current() is None:
        return _original["thread_start"](self)
    clock.hold()
    try:
        return _original["thread_start"](self)
    finally:
        clock.release()


def _start_new_thread(function: Any, args: Any, kwargs: Any = None) -> int:
    """``_thread.start_new_thread`` (MicroPython programs start threads this way): a thread
    started by a participant is one too, as ``enlist`` makes a ``threading.Thread``."""
    clock = _clock
    start = _original["start_new_thread"]
    if clock is None or clock.current() is None:
        return start(function, args, kwargs or {})
    p = clock.reserve(getattr(function, "__name__", "_thread"))

    def run(*a: Any, **k: Any) -> Any:
        clock.adopt(p)
        try:
            return function(*a, **k)
        finally:
            clock.retire(p)

    try:
        return start(run, args, kwargs or {})
    except BaseException:
        clock.retire(p)
        raise


def install(clock: Clock) -> None:
    """Put this process on ``clock`` (once; loops made before keep real waits)."""
    global _clock
    if _clock is not None:
        raise RuntimeError("the process already runs on a simulated clock")
    _clock = clock
    _original.update(
        wait=threading.Condition.wait,
        notify=threading.Condition.notify,
        loop_init=asyncio.selector_events.BaseSelectorEventLoop.__init__,
        call_soon_threadsafe=asyncio.base_events.BaseEventLoop.call_soon_threadsafe,
        thread_start=threading.Thread.start,
        start_new_thread=_thread.start_new_thread,
    )
    time.monotonic = _monotonic
    time.monotonic_ns = _monotonic_ns
    time.perf_counter = _monotonic
    time.perf_counter_ns = _monotonic_ns
    time.time = _time
    time.time_ns = _time_ns
    time.sleep = _sleep
    threading._time = _monotonic  # type: ignore[attr-defined]  # wait_for, Barrier
    queue.time = _monotonic  # type: ignore[attr-defined]  # Queue.get/put timeouts
    threading.Condition.wait = _condition_wait  # type: ignore[method-assign]
    threading.Condition.notify = _condition_notify  # type: ignore[method-assign]
    threading.Thread.start = _thread_start  # type: ignore[method-assign]
    # (threading keeps its own reference to the original: only direct callers see this)
    _thread.start_new_thread = _start_new_thread
    _thread.start_new = _start_new_thread  # type: ignore[attr-defined]
    asyncio.selector_events.BaseSelectorEventLoop.__init__ = _loop_init  # type: ignore[method-assign]
    asyncio.base_events.BaseEventLoop.call_soon_threadsafe = _call_soon_threadsafe  # type: ignore[method-assign]


def installed() -> Clock | None:
    return _clock
