"""The process's simulated clock: real time plus the waits it skipped.

Simulated now = the real monotonic clock + ``offset``. While anything in the simulation runs
(computes, or waits for something the clock cannot see), simulated time passes at the wall
clock's rate, so a program that computes without waiting still sees time pass and makes
progress. When every participant waits (each in a wait the clock sees: a sleep, a timer, a
condition, an event loop with nothing ready) and no message is on its way between them, the
clock jumps to the earliest deadline: waiting costs no wall time.

A *participant* is a thread the clock counts: while one runs, the clock does not jump. Threads
join by ``enlist`` (explicitly: the program's main thread, the stack thread, IRQ threads, timer
threads); other threads are ignored (a thread pool blocked on a C queue would otherwise hold
the clock forever). A participant parks with a deadline (or none) and a wake-up function; it
unparks itself when it resumes, and whoever hands it work unparks it first (a notify) or holds
the clock until it runs (a post to its loop), so the clock never sees everyone idle while work
is on its way.

One thread per process keeps the time (``vclock-timer``): it wakes participants whose deadline
has passed, and decides the jumps. Across processes one clock (the master, beside the shared
radio) decides every jump; the others report when they are idle and apply the offset it sends
(``remote.py``).
"""

from __future__ import annotations

import _thread
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)

real_monotonic = time.monotonic
real_time = time.time
real_sleep = time.sleep

RUNNING = 0
PARKED = 1


class Participant:
    """A thread the clock counts; ``deadline`` and ``wake`` are set while it is parked."""

    __slots__ = ("name", "state", "deadline", "wake", "ident")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = RUNNING
        self.deadline: float | None = None
        self.wake: Callable[[], None] | None = None
        self.ident = 0

    def __repr__(self) -> str:
        state = "running" if self.state == RUNNING else f"parked until {self.deadline}"
        return f"<Participant {self.name} {state}>"


class Coordinator(Protocol):
    """What the clock asks of the processes beyond it (``remote.py``)."""

    def idle(self) -> tuple[bool, float | None]:
        """Whether every other process is idle with nothing in flight, and their earliest
        deadline."""
        ...

    def jumped(self, offset: float, now: float) -> None:
        """Tell every other process the new offset (returns once they have applied it)."""
        ...


class Reporter(Protocol):
    """How a clock that does not decide jumps tells the master it is idle."""

    def report(self, deadline: float | None) -> None: ...


class _Kick:
    """Wakes the timer thread (raw locks: the clock must not wait through its own patches)."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self._guard = _thread.allocate_lock()
        self._set = False

    def set(self) -> None:
        with self._guard:
            if not self._set:
                self._set = True
                self._lock.release()

    def wait(self, timeout: float | None) -> None:
        if timeout is None:
            self._lock.acquire()
        elif not self._lock.acquire(True, max(0.0, timeout)):
            return
        with self._guard:
            self._set = False


class Clock:
    """One process's simulated clock (see the module docstring).

    ``coordinator``: this clock is the master of other processes' clocks. ``reporter``: this
    clock follows a master's jumps and reports to it instead of jumping itself.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self._lock = _thread.allocate_lock()
        self._kick = _Kick()
        self._participants: dict[int, Participant] = {}  # by thread ident, once adopted
        self._pending: set[Participant] = set()  # reserved, thread not started yet
        self._busy = 0
        self._timer_due: float | None = None  # when the timer thread wakes next
        self.coordinator: Coordinator | None = None
        self.reporter: Reporter | None = None
        self.jumps = 0
        self.skipped = 0.0  # simulated seconds skipped by jumps
        self._thread = threading.Thread(target=self._run, name="vclock-timer", daemon=True)
        self._thread.start()

    # --- reading -----------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated monotonic time, in seconds."""
        return real_monotonic() + self.offset

    def time(self) -> float:
        """Simulated wall-clock time (seconds since the epoch)."""
        return real_time() + self.offset

    # --- who counts ---------------------------------------------------------------------------

    def current(self) -> Participant | None:
        return self._participants.get(_thread.get_ident())

    def enlist_current(self, name: str | None = None) -> Participant:
        """Count the calling thread (idempotent)."""
        ident = _thread.get_ident()
        with self._lock:
            p = self._participants.get(ident)
            if p is None:
                p = Participant(name or threading.current_thread().name)
                p.ident = ident
                self._participants[ident] = p
                self._busy += 1
            return p

    def reserve(self, name: str) -> Participant:
        """A participant for a thread about to start: it counts (running) from now on, so
        the clock cannot jump between ``start()`` and the thread's first instruction."""
        p = Participant(name)
        with self._lock:
            self._pending.add(p)
            self._busy += 1
        return p

    def adopt(self, p: Participant) -> None:
        """Called first thing by the thread ``p`` was reserved for."""
        with self._lock:
            self._pending.discard(p)
            p.ident = _thread.get_ident()
            self._participants[p.ident] = p

    def retire(self, p: Participant | None = None) -> None:
        """The participant's thread ends (or stops counting)."""
        with self._lock:
            if p is None:
                p = self._participants.get(_thread.get_ident())
                if p is None:
                    return
            self._pending.discard(p)
            if self._participants.get(p.ident) is p:
                del self._participants[p.ident]
            if p.state == RUNNING:
                self._busy -= 1
            p.state = RUNNING
            p.wake = None
            if self._busy == 0:
                self._kick.set()

    # --- parking ------------------------------------------------------------------------------

    def park(self, p: Participant, deadline: float | None, wake: Callable[[], None]) -> None:
        """``p`` (the calling thread) is about to wait until ``deadline`` (simulated; None:
        until woken). ``wake`` is how the timer thread ends the wait when the deadline comes;
        the caller must call ``unpark`` once it resumes, however it was woken."""
        with self._lock:
            if p.state == RUNNING:
                p.state = PARKED
                self._busy -= 1
            p.deadline = deadline
            p.wake = wake
            if self._busy == 0 or (
                deadline is not None and (self._timer_due is None or deadline < self._timer_due)
            ):
                self._kick.set()

    def unpark(self, p: Participant) -> None:
        """``p`` runs again (called by itself on resuming, or first by whoever hands it work:
        idempotent)."""
        if p.state == RUNNING:
            return
        with self._lock:
            if p.state == PARKED:
                p.state = RUNNING
                p.wake = None
                self._busy += 1

    def hold(self) -> None:
        """Keep the clock from jumping while work is on its way to a participant (``release``
        once the participant runs)."""
        with self._lock:
            self._busy += 1

    def release(self, holds: int = 1) -> None:
        with self._lock:
            self._busy -= holds
            if self._busy == 0:
                self._kick.set()

    # --- the timer thread ---------------------------------------------------------------------

    def kick(self) -> None:
        """Have the timer thread look again (a remote report or offset came)."""
        self._kick.set()

    def set_offset(self, offset: float) -> None:
        """A master's jump (``remote.py``): time moves on to ``offset``."""
        with self._lock:
            if offset > self.offset:
                self.skipped += offset - self.offset
                self.offset = offset
                self.jumps += 1
        self._kick.set()

    def _run(self) -> None:
        while True:
            wakes: list[Callable[[], None]] = []
            jumped = False
            report = False
            coordinator = self.coordinator
            with self._lock:
                now = self.now()
                local = self._earliest()
                if self._busy == 0 and self.reporter is None:
                    # Asked under the lock, with every participant parked: what they sent
                    # before parking is counted, and none can send more until it runs.
                    remote_idle, remote_deadline = (
                        (True, None) if coordinator is None else coordinator.idle()
                    )
                else:
                    remote_idle, remote_deadline = False, None
                if remote_idle:
                    target = _min(local, remote_deadline)
                    if target is not None and target > now:
                        self.skipped += target - now
                        self.offset += target - now
                        self.jumps += 1
                        now = target
                        jumped = True
                        if logger.isEnabledFor(logging.DEBUG):
                            logger.debug(
                                "jump to %.6f: %s",
                                target,
                                [p for p in self._participants.values()],
                            )
                for p in self._participants.values():
                    if p.state == PARKED and p.deadline is not None and p.deadline <= now:
                        p.state = RUNNING
                        self._busy += 1
                        if p.wake is not None:
                            wakes.append(p.wake)
                        p.wake = None
                local = self._earliest()
                self._timer_due = local
                report = self.reporter is not None and self._busy == 0
                offset = self.offset
            if jumped and coordinator is not None:
                coordinator.jumped(offset, now)
            for wake in wakes:
                try:
                    wake()
                except Exception:  # noqa: BLE001 - one bad waiter must not stop the clock
                    logger.exception("vclock: waking a participant failed")
            if report and self.reporter is not None:
                self.reporter.report(local)
            if wakes or jumped:
                continue
            self._kick.wait(None if local is None else local - self.now())

    def _earliest(self) -> float | None:
        """The earliest deadline of a parked participant (lock held)."""
        earliest = None
        for p in self._participants.values():
            if p.state == PARKED and p.deadline is not None:
                if earliest is None or p.deadline < earliest:
                    earliest = p.deadline
        return earliest


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
