"""`machine`'s functions about the board as a whole: resets, sleeps, clock, ids, IRQs.

- `idle()` waits about a millisecond (a board waits for its next interrupt, typically the
  1 ms tick); it sleeps, so a program spinning on it does not burn a core.
- `reset()`, `soft_reset()` start the program again from the top in the same process (the
  process image is replaced, so the radio connection drops as a board's radio does), with
  `reset_cause()` telling why. `deepsleep(ms)` does the same after `ms` milliseconds with the
  radio off (forever without `ms`), and `wake_reason()` then says TIMER_WAKE;
  `lightsleep(ms)` just sleeps, the program carries on.
- `bootloader()`, `mem8/16/32`, `SD`/`SDCard`, `I2S`: not emulated, with an error saying so.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from typing import Any, NoReturn

from mpemu import restart
from mpemu.shims import _unemulated

PWRON_RESET = restart.PWRON_RESET
HARD_RESET = restart.HARD_RESET
WDT_RESET = restart.WDT_RESET
DEEPSLEEP_RESET = restart.DEEPSLEEP_RESET
SOFT_RESET = restart.SOFT_RESET

# esp32's names for `wake_reason()` (ESP-IDF's esp_sleep_wakeup_cause_t values).
IDLE = 1
SLEEP = 2
DEEPSLEEP = 4
PIN_WAKE = EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6

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


def wake_reason() -> int:
    """TIMER_WAKE after a timed deep sleep (the only wake source here), else 0."""
    return TIMER_WAKE if restart.reset_cause() == DEEPSLEEP_RESET else 0


def unique_id() -> bytes:
    """8 bytes, the same across resets of this program, different for each program of a run
    (derived from the host name and `AIOBLE_LABEL`, else the process id)."""
    who = os.environ.get("AIOBLE_LABEL") or str(os.getpid())
    return hashlib.sha256(f"{socket.gethostname()}/{who}".encode()).digest()[:8]


def freq(hz: int | None = None, *more: int) -> int | None:
    """The CPU frequency a program sees: 160 MHz unless set; setting it changes nothing else.
    (Some ports take more clocks after the CPU's: they are accepted and ignored.)"""
    global _freq
    if hz is None:
        return _freq
    hz = int(hz)
    if hz <= 0:
        raise ValueError("frequency must be positive")
    _freq = hz
    return None


def disable_irq() -> int:
    return 0


def enable_irq(state: int = 0) -> None:
    pass


def bootloader(value: Any = None) -> NoReturn:
    raise _unemulated.error("machine.bootloader", "the virtual board has no bootloader to enter")


class _Mem:
    """`mem8[addr]`: reading or writing memory-mapped registers, which a PC has none of."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getitem__(self, addr: int) -> NoReturn:
        raise _unemulated.error(self._name, "the virtual board has no memory-mapped registers")

    def __setitem__(self, addr: int, value: int) -> NoReturn:
        self.__getitem__(addr)

    def __repr__(self) -> str:
        return f"<{self._name[len('machine.') :]}>"


mem8 = _Mem("machine.mem8")
mem16 = _Mem("machine.mem16")
mem32 = _Mem("machine.mem32")

SD = _unemulated.cls("machine.SD", "the virtual board has no SD card slot")
SDCard = _unemulated.cls("machine.SDCard", "the virtual board has no SD card slot")
I2S = _unemulated.cls("machine.I2S", "the virtual board has no audio interface")
