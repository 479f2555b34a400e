"""`machine.WDT`: once started it cannot be stopped; if the program does not `feed()` it
within `timeout` ms, the board resets (`mpemu.restart`, with `reset_cause()` WDT_RESET).
The reset is logged to "mpemu.machine.wdt" as a warning, so an unexpected one is seen."""

from __future__ import annotations

import logging
import threading
import time

import vclock
from mpemu import restart

log = logging.getLogger("mpemu.machine.wdt")


class _Watchdog:
    """The board's one watchdog: a thread that resets the board when the deadline passes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._timeout_s = 0.0
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def start(self, timeout_ms: int) -> None:
        with self._cond:
            self._timeout_s = timeout_ms / 1000
            self._deadline = time.monotonic() + self._timeout_s
            if self._thread is None:
                self._thread = vclock.enlist(
                    threading.Thread(target=self._run, name="machine.WDT", daemon=True)
                )
                self._thread.start()
            self._cond.notify()

    def feed(self) -> None:
        with self._cond:
            self._deadline = time.monotonic() + self._timeout_s

    def _run(self) -> None:
        with self._cond:
            while (left := self._deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            timeout_ms = round(self._timeout_s * 1000)
        log.warning("watchdog not fed for %d ms: the board resets", timeout_ms)
        restart.restart(restart.WDT_RESET)


_watchdog = _Watchdog()


class WDT:
    def __init__(self, id: int = 0, timeout: int = 5000) -> None:
        if id != 0:
            raise ValueError(f"WDT({id}) doesn't exist")
        if int(timeout) < 1:
            raise ValueError("WDT timeout too short")
        _watchdog.start(int(timeout))

    def feed(self) -> None:
        _watchdog.feed()
