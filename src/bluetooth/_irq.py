"""IRQ delivery: one thread per radio calls the program's handler, one event at a time.

Which thread runs what:

- **The program's threads** (its main thread, its asyncio loop, any thread it starts) run BLE
  methods. Each call is registered with its radio's dispatcher while it runs
  (``call_started`` / ``call_ended``). A call waits only on the stack thread: for its answer,
  or for the stack to drain the link (bulk sends).
- **The stack thread** owns every Bumble object. It queues events here (``emit``; ``ask`` for
  the events whose return value matters: READ_REQUEST, L2CAP_ACCEPT, GET_SECRET, SET_SECRET,
  whose answers come back to the stack loop: ``ask`` awaits one, ``ask_later`` has it passed
  to a callback) and never waits for the IRQ thread or a program's thread.
- **The IRQ thread** (one per radio, started on the first event, ended after a while idle)
  calls the handler for each event in the order queued, never two at once, inside the
  radio's ``contextvars`` context. A handler may call any BLE method.

Ordering. An event reaches the handler only once every BLE call that was in progress (on a
thread other than the IRQ thread) when the event was queued has returned. A call cannot cause
an event before it starts, so an event a call causes (its DONE, the disconnect after
``gap_disconnect``, SCAN_DONE after ``gap_scan(None)``, ...) never reaches the handler before
the call has returned, as on a board, where it comes a connection event later at the
earliest, however fast the radio here. Calls that start after an event was queued do not hold
it back, so a program calling methods in a tight loop does not starve its handler. A call made
by the handler itself runs on the IRQ thread, which delivers nothing meanwhile.

No deadlock. The IRQ thread waits only for program calls, which wait only for the stack,
which waits for no one: except where the stack's work for a call needs a handler's answer
(turning the radio on reads the stored bonds with GET_SECRET; Bumble may look a key up during
other calls). So while a question is pending, a call waiting on a stack coroutine no longer
holds events back, and the queue is delivered up to the question, as a board's stack calls
the handler inside such a call. If that call was made by a handler, the IRQ thread answers
the questions itself while it waits (``wait_answering``), re-entrantly, as a board would.

Bounded backlog. On a board the stack calls the handler for each event as it comes: a slow
handler holds the stack up, the controller's buffers fill and it stops acknowledging the
peer, whose sends slow down; nothing is lost. Here the events a peer or the air can raise
without end (GATTS_WRITE from writes without response, SCAN_RESULT, GATTC_NOTIFY,
GATTC_INDICATE) are bounded: at most ``BACKLOG[event]`` of each wait at once.

- The ones that come in ACL data (``ACL_EVENTS``: writes, notifications, indications) push
  back: once ``BACKLOG - HOST_ACL_BUFFERS`` of a kind wait, ``pushback`` is set and the host
  stops telling the controller it is done with ACL packets (controller-to-host flow control,
  ``_rxflow``), so the controller sends at most ``HOST_ACL_BUFFERS`` more and then stops
  acknowledging the peer. When the handler has worked the backlog down to half that mark,
  ``on_resume`` is called (on the IRQ thread) and the flow restarts.
- What still does not fit (scan results, which come in HCI events the host cannot hold back,
  or any of them from a controller without that flow control) drops the oldest of its
  kind, counted in ``dropped`` (``BLE.irq_dropped``) and logged, at most once per
  ``DROP_LOG_INTERVAL``. Writes and scan results keep few (the
handler sees the latest values; every write has already landed in the attribute table, and
an advertiser repeats itself), so a read request after a write flood waits for at most 64
slow handlers, not for the whole flood. Notifications and indications carry data a
program may want every piece of (aioble's `notifications()` queue): they keep thousands,
enough for a handler that keeps up on average to ride out the bursts of a fast link.
Every other event is kept: questions (READ_REQUEST, GET/SET_SECRET, L2CAP_ACCEPT),
connects and disconnects, and the events that answer a program's own call (its DONE),
which are bounded by the calls it makes.

Closing. ``close()`` (``BLE.close()``, and the at-exit power-down) ends delivery at once:
queued events are discarded, questions get their default answer, the IRQ thread ends after
the handler call in progress (if any) returns, and errors raised by handlers from then on
(a disconnect handler that re-advertises while the radio powers down) are not reported.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import vclock

if TYPE_CHECKING:
    from ._stack import _Reply

Handler = Callable[[int, tuple[Any, ...]], Any]
T = TypeVar("T")

# Writes carry the value that was written, so that a handler reading the attribute sees that
# write's value even when later writes have already landed (as with MicroPython's synchronous
# IRQs, where the stack calls the handler before it processes the next write).
Snapshot = tuple[int, bytes] | None

# An ask's answer goes to its reply, called once, from any thread (it hops to the stack loop).
Reply = Callable[[Any], None]
# (event, data, snapshot, reply of an ask or None, an ask's default answer,
#  the number of the last call started when the event was queued)
_Item = tuple[int, tuple[Any, ...], Snapshot, Reply | None, Any, int]

IDLE_EXIT = 10.0  # seconds without events after which the thread ends
# What a peer or the air can raise without end, and how many of each may wait: GATTS_WRITE
# and SCAN_RESULT 64 (with a 50 ms handler a read request behind them waits about 3 s;
# MicroPython's ring buffer holds fewer), GATTC_NOTIFY and GATTC_INDICATE 8192 (about 2 MB
# of 20-byte values at the most).
BACKLOG = {3: 64, 5: 64, 18: 8192, 19: 8192}
DROP_LOG_INTERVAL = 10.0  # seconds between two "dropped" log lines
DROPPABLE = frozenset(BACKLOG)
# The events that come in ACL data, and the ACL packets the host takes from the controller
# before it must say it is done with them (each brings at most one event).
ACL_EVENTS = (3, 18, 19)
HOST_ACL_BUFFERS = 32
PUSHBACK_AT = {kind: BACKLOG[kind] - HOST_ACL_BUFFERS for kind in ACL_EVENTS}
RESUME_AT = {kind: mark // 2 for kind, mark in PUSHBACK_AT.items()}

logger = logging.getLogger("bluetooth")


def plain(data: tuple[Any, ...]) -> tuple[Any, ...]:
    """``data`` with every int subclass (bool, Bumble's IntEnums) made a plain int: MicroPython
    builds each number of a payload as a small int, and a program printing them must see
    ``1``, not ``True`` or ``Result.CONNECTION_REFUSED``. The builders pass ints already; this
    keeps one that slips from ever reaching a handler."""
    for item in data:
        if isinstance(item, int) and type(item) is not int:
            return tuple(int(x) if isinstance(x, int) else x for x in data)
    return data


class IrqDispatcher:
    def __init__(self, context: contextvars.Context, name: str) -> None:
        self._context = context
        self._name = name
        # One lock for the queue, the calls in progress and the thread's life (taken directly,
        # not through the Condition's Python-level methods, on the per-call paths).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        # How the IRQ thread (the only thread that waits here) sleeps on real time: a lock
        # it blocks on, released by whoever wakes it (cheaper than the Condition's waiter
        # list, each wake being on a read's path). On a simulated clock, the Condition,
        # whose waits vclock parks.
        self._sleeping = False  # it sleeps on the bell
        self._in_cond = False  # it waits on the Condition
        self._bell = threading.Lock()
        self._bell.acquire()
        self._queue: deque[_Item] = deque()
        self._thread: threading.Thread | None = None
        self._thread_id = 0  # its ident (cheaper to compare than current_thread())
        self.handler: Handler | None = None
        # Set while a GATTS_WRITE handler runs: (attr_handle, value written).
        self.snapshot: Snapshot = None
        # Calls in progress on threads other than the IRQ thread: call number -> whether it is
        # waiting on a stack coroutine (which might need a handler's answer).
        self._calls: dict[int, bool] = {}
        self._numbered = 0  # the number of the last call started
        self._asks = 0  # questions queued and not answered yet
        self._gate_waiting = False  # the IRQ thread waits for calls to return
        self._delivering = False  # the IRQ thread is inside the handler
        self._local = threading.local()  # .number: this thread's registered call, or 0
        self._droppable = dict.fromkeys(BACKLOG, 0)  # droppable events in the queue, by kind
        # set while the ACL events waiting are too many (read by the stack thread)
        self.pushback = False
        self.on_resume: Callable[[], None] | None = None  # called when pushback ends
        self.dropped = 0  # droppable events dropped because the backlog was full
        self._dropped_logged = 0  # the count at the last log line
        self._drop_logged_at = -DROP_LOG_INTERVAL
        self.closed = False

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def in_handler_thread(self) -> bool:
        return threading.get_ident() == self._thread_id

    # --- calls in progress (the program's threads) ------------------------------------------

    def call_started(self) -> int:
        """A BLE method call begins on this thread; returns the token for ``call_ended``."""
        if threading.get_ident() == self._thread_id:
            return 0  # the handler's own call: the IRQ thread delivers nothing meanwhile
        local = self._local
        if getattr(local, "number", 0):
            return 0  # a call inside this thread's call, which is registered already
        with self._lock:
            self._numbered += 1
            number = self._numbered
            self._calls[number] = False
        local.number = number
        return number

    def call_ended(self, number: int) -> None:
        if not number:
            return
        self._local.number = 0
        with self._lock:
            del self._calls[number]
            if self._gate_waiting:
                self._notify()

    def stack_waiting(self, coro: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
        """``coro``, to be run on the stack for this thread's call, marked for as long as it
        runs as a call that may need a handler's answer (see the module docstring)."""
        number = getattr(self._local, "number", 0)
        if not number:
            return coro

        async def tracked() -> T:
            self._set_waiting(number, True)
            try:
                return await coro
            finally:
                self._set_waiting(number, False)

        return tracked()

    def _set_waiting(self, number: int, waiting: bool) -> None:
        with self._cond:
            if number in self._calls:
                self._calls[number] = waiting
                if self._gate_waiting and self._asks:
                    self._notify()

    # --- events (the stack thread) -------------------------------------------------------------

    def emit(self, event: int, data: tuple[Any, ...], snapshot: Snapshot = None) -> None:
        """Queue an event (any thread). Dropped when no handler is set, as on a board."""
        if self.handler is None:
            return
        self._put((event, plain(data), snapshot, None, None, 0))

    async def ask(self, event: int, data: tuple[Any, ...], default: Any) -> Any:
        """Queue an event whose handler's return value matters; await that value (stack loop)."""
        if self.handler is None:
            return default
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        loop = future.get_loop()
        self._put(
            (
                event,
                plain(data),
                None,
                lambda value: loop.call_soon_threadsafe(_resolve, future, value),
                default,
                0,
            )
        )
        return await future

    def ask_later(
        self, event: int, data: tuple[Any, ...], default: Any, answer: Callable[[Any], None]
    ) -> bool:
        """Queue a question whose answer is passed to ``answer`` on the stack loop, later
        (a call made on the stack loop). False, and nothing queued, if no handler is set: the
        answer is ``default`` then, as the caller knows."""
        if self.handler is None:
            return False
        loop = asyncio.get_running_loop()
        self._put(
            (
                event,
                plain(data),
                None,
                lambda value: loop.call_soon_threadsafe(answer, value),
                default,
                0,
            )
        )
        return True

    def _put(self, item: _Item) -> None:
        with self._lock:  # (the Condition's lock, without its Python-level wrapper)
            if self.closed:
                if item[3] is not None:
                    _answer(item[3], item[4])
                return
            kind = item[0]
            if kind in DROPPABLE:
                if self._droppable[kind] >= BACKLOG[kind]:
                    self._drop_oldest(kind)
                self._droppable[kind] += 1
                if kind in PUSHBACK_AT and self._droppable[kind] >= PUSHBACK_AT[kind]:
                    self.pushback = True
            # Mark the event with the last call started: the calls that may have caused it.
            self._queue.append((*item[:5], self._numbered))
            if item[3] is not None:
                self._asks += 1
            if self._thread is None:
                # (It ends after a while with no events, so a process that makes many radios
                # does not keep an idle thread for each.)
                self._thread = vclock.enlist(
                    threading.Thread(
                        target=self._run, name=f"bluetooth-irq-{self._name}", daemon=True
                    )
                )
                self._thread.start()
            self._notify()

    def _drop_oldest(self, kind: int) -> None:
        """Drop the oldest event of `kind` (lock held; its backlog is full)."""
        for index, queued in enumerate(self._queue):
            if queued[0] == kind:
                del self._queue[index]
                break
        self._droppable[kind] -= 1
        self.dropped += 1
        now = time.monotonic()
        if now - self._drop_logged_at >= DROP_LOG_INTERVAL:
            # As MicroPython prints when its ring buffer is full; once in a while, not per
            # event (a flood would otherwise flood the log too).
            logger.warning(
                "bluetooth %s: IRQ backlog full (the handler is slower than the events): "
                "%d event(s) dropped (%d in all; BLE.irq_dropped)",
                self._name,
                self.dropped - self._dropped_logged,
                self.dropped,
            )
            self._drop_logged_at = now
            self._dropped_logged = self.dropped

    def close(self) -> threading.Thread | None:
        """End delivery (any thread): discard the queue, answer the questions with their
        defaults, let the IRQ thread end. Returns that thread (to join, unless it is the
        caller's own)."""
        with self._cond:
            if self.closed:
                return self._thread
            self.closed = True
            self.handler = None
            queue, self._queue = self._queue, deque()
            self._droppable = dict.fromkeys(BACKLOG, 0)
            self.pushback = False
            self._asks = 0
            self._notify()
            thread = self._thread
        for item in queue:
            if item[3] is not None:
                _answer(item[3], item[4])
        return thread

    # --- delivery (the IRQ thread) -------------------------------------------------------------

    def _held(self, mark: int) -> bool:
        """Whether a call that may have caused an event marked ``mark`` is still running."""
        asked = self._asks > 0
        for number, waiting in self._calls.items():
            if number <= mark and not (waiting and asked):
                return True
        return False

    def _next(self) -> _Item | None:
        item = self._take()
        if item is not None and self.pushback and item[0] in PUSHBACK_AT:
            self._maybe_resume()
        return item

    def _maybe_resume(self) -> None:
        """End the push-back once every ACL kind is down to its resume mark."""
        with self._lock:
            counts = self._droppable
            if not self.pushback or any(counts[k] > RESUME_AT[k] for k in ACL_EVENTS):
                return
            self.pushback = False
            resume = self.on_resume
        if resume is not None:
            resume()

    def _take(self) -> _Item | None:
        with self._lock:
            while True:
                if self.closed:
                    self._gate_waiting = False
                    self._thread = None
                    self._thread_id = 0
                    return None
                if self._queue:
                    if not self._held(self._queue[0][5]):
                        self._gate_waiting = False
                        item = self._queue.popleft()
                        if item[0] in DROPPABLE:
                            self._droppable[item[0]] -= 1
                        return item
                    self._gate_waiting = True
                    self._wait()  # a call returns, or a question comes
                elif not self._wait(IDLE_EXIT) and not self._queue:
                    # Events are queued under this lock, after which _put looks at _thread:
                    # whatever is queued from now on starts a new thread.
                    self._gate_waiting = False
                    self._thread = None
                    self._thread_id = 0
                    return None

    def _run(self) -> None:
        self._thread_id = threading.get_ident()
        while (item := self._next()) is not None:
            self._deliver(item)

    def _deliver(self, item: _Item) -> None:
        event, data, snapshot, reply, default, _ = item
        handler = self.handler
        result = default
        if handler is not None:
            # (Saved and restored: a question answered inside a GATTS_WRITE handler's call
            # must not take that handler's snapshot away.)
            previous, self.snapshot = self.snapshot, snapshot
            nested, self._delivering = self._delivering, True
            try:
                if nested:  # a question answered inside a handler: in its context already
                    result = handler(event, data)
                else:
                    result = self._context.run(handler, event, data)
            except BaseException as error:  # noqa: BLE001 - a handler's bug must not kill IRQs
                if self.closed or sys.is_finalizing():
                    # The radio is closing or the process is exiting: the handler's calls
                    # fail because of that, not because of a bug (a disconnect handler
                    # re-advertising while the radio powers down).
                    logger.debug("IRQ handler error while closing", exc_info=error)
                else:
                    _report(error)
                result = default
            finally:
                self.snapshot = previous
                self._delivering = nested
        if reply is not None:
            with self._lock:
                if not self.closed:  # (close() reset the count)
                    self._asks -= 1
            _answer(reply, result)

    def wait_answering(self, reply: _Reply, timeout: float) -> Any:
        """Wait for a stack reply on the IRQ thread (a handler's call to a method that waits
        on a stack coroutine), answering the questions that come meanwhile: the stack's work
        for that call may need them, and nothing else would answer while the handler waits."""
        deadline = time.monotonic() + timeout
        reply.on_set = self._wake
        with self._cond:
            while not reply.ready:
                index = next(
                    (i for i, queued in enumerate(self._queue) if queued[3] is not None), None
                )
                if index is not None:
                    item = self._queue[index]
                    del self._queue[index]
                    self._cond.release()
                    try:
                        self._deliver(item)
                    finally:
                        self._cond.acquire()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wait(remaining)
        return reply.wait(0)

    def _wake(self) -> None:
        with self._lock:
            self._notify()

    # --- the IRQ thread's sleep -----------------------------------------------------------

    def _wait(self, timeout: float | None = None) -> bool:
        """Sleep until ``_notify`` or ``timeout`` (IRQ thread, lock held; it is let go
        meanwhile, as in a Condition's wait). False if the time ran out."""
        if vclock.current() is not None:
            self._in_cond = True
            try:
                return self._cond.wait(timeout)
            finally:
                self._in_cond = False
        self._sleeping = True
        self._lock.release()
        try:
            woken = self._bell.acquire(timeout=-1 if timeout is None else timeout)
        finally:
            self._lock.acquire()
        if not woken and not self._sleeping:
            # rung between the timeout and the lock: take the ring back (none left over)
            self._bell.acquire(False)
            woken = True
        self._sleeping = False
        return woken

    def _notify(self) -> None:
        """Wake the IRQ thread if it sleeps in ``_wait`` (lock held; any thread)."""
        if self._sleeping:
            self._sleeping = False
            self._bell.release()
        elif self._in_cond:
            self._cond.notify_all()


def _answer(reply: Reply, value: Any) -> None:
    """Hand an ask its answer (from any thread)."""
    try:
        reply(value)
    except RuntimeError:
        pass  # the stack loop is gone (interpreter exit)


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _report(error: BaseException) -> None:
    # MicroPython prints this and carries on.
    print("Unhandled exception in IRQ callback handler", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)
