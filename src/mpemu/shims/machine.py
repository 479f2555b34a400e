"""MicroPython's `machine` module: the parts a BLE program uses that mean something here.

- `idle()` waits about a millisecond (a board waits for its next interrupt, typically the
  1 ms tick); it sleeps, so a program spinning on it does not burn a core.
- `reset()`, `soft_reset()` start the program again from the top in the same process (the
  process image is replaced, so the radio connection drops as a board's radio does), with
  `reset_cause()` telling why. `deepsleep(ms)` does the same after `ms` milliseconds with the
  radio off (forever without `ms`); `lightsleep(ms)` just sleeps, the program carries on.
- `Timer` runs its callback from a timer thread: through `micropython.schedule` (soft, the
  default) or directly on that thread (`hard=True`).

No `Pin`, `I2C`, `UART`...: there is no hardware behind them here.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import micropython

from mpemu import restart

PWRON_RESET = restart.PWRON_RESET
HARD_RESET = restart.HARD_RESET
WDT_RESET = restart.WDT_RESET
DEEPSLEEP_RESET = restart.DEEPSLEEP_RESET
SOFT_RESET = restart.SOFT_RESET

_DEFAULT_FREQ = 160_000_000
_freq = _DEFAULT_FREQ


def idle() -> None:
    time.sleep(0.001)


def reset() -> NoReturn:
    restart.restart(HARD_RESET)


def soft_reset() -> NoReturn:
    restart.restart(SOFT_RESET)


def deepsleep(time_ms: int | None = None) -> NoReturn:
    restart.restart(DEEPSLEEP_RESET, sleep_ms=time_ms)


def lightsleep(time_ms: int | None = None) -> None:
    if time_ms is None:
        threading.Event().wait()
    elif time_ms > 0:
        time.sleep(time_ms / 1000)


def reset_cause() -> int:
    return restart.reset_cause()


def unique_id() -> bytes:
    """8 bytes, the same across resets of this program, different for each program of a run
    (derived from the host name and `AIOBLE_LABEL`, else the process id)."""
    who = os.environ.get("AIOBLE_LABEL") or str(os.getpid())
    return hashlib.sha256(f"{socket.gethostname()}/{who}".encode()).digest()[:8]


def freq(hz: int | None = None) -> int | None:
    """The CPU frequency a program sees: 160 MHz unless set; setting it changes nothing else."""
    global _freq
    if hz is None:
        return _freq
    _freq = int(hz)
    return None


def disable_irq() -> int:
    return 0


def enable_irq(state: int = 0) -> None:
    pass


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id: int = -1, *args: Any, **kwargs: Any) -> None:
        self._stop: threading.Event | None = None
        if args or kwargs:
            self.init(*args, **kwargs)

    def init(
        self,
        *,
        mode: int = PERIODIC,
        freq: float | None = None,
        period: float | None = None,
        tick_hz: float = 1000,
        callback: Callable[[Timer], Any] | None = None,
        hard: bool = False,
    ) -> None:
        self.deinit()
        if freq is not None:
            interval = 1 / freq
        elif period is not None:
            interval = period / tick_hz
        else:
            raise ValueError("Timer needs freq or period")
        stop = self._stop = threading.Event()
        threading.Thread(
            target=self._run,
            args=(stop, interval, mode, callback, hard),
            name="machine.Timer",
            daemon=True,
        ).start()

    def deinit(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def _run(
        self,
        stop: threading.Event,
        interval: float,
        mode: int,
        callback: Callable[[Timer], Any] | None,
        hard: bool,
    ) -> None:
        due = time.monotonic() + interval
        while not stop.wait(max(0.0, due - time.monotonic())):
            if callback is not None:
                if hard:
                    callback(self)
                else:
                    try:
                        micropython.schedule(callback, self)
                    except RuntimeError:
                        pass  # queue full: the tick is lost, as on a board
            if mode == Timer.ONE_SHOT:
                return
            due += interval
