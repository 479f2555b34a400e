"""One core for the whole process, on request (``AIOBLE_CPU``).

CPython runs one thread's Python at a time (the GIL), and MicroPython's model makes a BLE
operation cross threads: a read through aioble goes from the program's thread to the stack
thread, to the peripheral's IRQ thread and back, then to the central's IRQ thread and on to
the program's loop. Each hop wakes a sleeping thread. On another core that costs the time the
core takes to wake (tens of microseconds on a virtual machine, whose idle cores sleep deeply),
for no gain: the GIL lets nothing run in parallel. On one core the woken thread runs as soon as
the waker waits, for the price of a context switch. So a process that makes many such hops
(several radios in one process: tests, benchmarks) runs faster on one core, and a board has
one core for its program anyway. It is not the default: a library does not move its host
process's threads on its own, and programs in processes of their own (``aioble run``) gain
nothing measurable, their hops crossing processes.

- ``AIOBLE_CPU=auto``: the core the process is running on when its first radio starts.
- ``AIOBLE_CPU=N``: core N (one this process may run on).
- unset, empty or ``all``: the cores the operating system gives it (the default).

Every thread the process has then is moved; threads started later, and child processes,
inherit the setting from the thread that starts them. Thread: the first radio's creator.

On one core the threads also become ``SCHED_BATCH`` (Linux; those on the default policy):
a thread woken while another runs no longer preempts it. Under the GIL such a preemption
only bounces back (the woken thread finds the GIL held and sleeps again until the running
thread waits), two context switches for nothing on every hop of a read; as a batch thread
it runs when the running one waits (or at the next tick), which it mostly has to anyway.
Threads started later inherit the policy too, a program's own included.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

ENV_CPU = "AIOBLE_CPU"

logger = logging.getLogger(__name__)


def cpus_from_env(environ: Mapping[str, str] = os.environ) -> set[int] | None:
    """The cores ``AIOBLE_CPU`` asks for, or None for no change; ValueError if malformed."""
    value = environ.get(ENV_CPU, "").strip()
    if value in ("", "all"):
        return None
    if not hasattr(os, "sched_setaffinity"):
        logger.warning("%s=%s is ignored: this system cannot pin threads to a core", ENV_CPU, value)
        return None
    allowed = os.sched_getaffinity(0)
    if value == "auto":
        cpu = _current_cpu()
        return {cpu if cpu in allowed else min(allowed)}
    try:
        cpu = int(value)
    except ValueError:
        raise ValueError(
            f"{ENV_CPU}={value!r}: expected auto, all or a core number "
            f"(this process may use {_cores(allowed)})"
        ) from None
    if cpu not in allowed:
        raise ValueError(f"{ENV_CPU}={value!r}: this process may use {_cores(allowed)} only")
    return {cpu}


def pin_from_env(environ: Mapping[str, str] = os.environ) -> set[int] | None:
    """Move every thread of this process to the cores ``AIOBLE_CPU`` asks for (if any)."""
    cpus = cpus_from_env(environ)
    if cpus is None:
        return None
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]  # no /proc: this thread, which the ones started later follow
    batch = len(cpus) == 1 and hasattr(os, "SCHED_BATCH")
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
            if batch:
                _batch(tid)
        except ProcessLookupError:
            pass  # a thread that has just ended
    logger.debug("%s: the process runs on core %s", ENV_CPU, _cores(cpus))
    return cpus


def _batch(tid: int) -> None:
    """Thread ``tid`` to SCHED_BATCH if it is on the default policy (see above)."""
    try:
        if os.sched_getscheduler(tid) == os.SCHED_OTHER:
            os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
    except PermissionError:
        pass  # it keeps its policy


def _current_cpu() -> int:
    """The core this thread is running on (Linux: field 39 of its stat); -1 if unknown."""
    try:
        with open("/proc/thread-self/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[36])
    except (OSError, IndexError, ValueError):
        return -1


def _cores(cpus: set[int]) -> str:
    return ", ".join(str(cpu) for cpu in sorted(cpus))
