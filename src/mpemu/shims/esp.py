"""MicroPython's `esp` under `aioble-python`: `osdebug()` (which only quiets the vendor
OS's log) is accepted; the flash functions raise NotImplementedError when used."""

from __future__ import annotations

from typing import Any

from mpemu.shims import _unemulated

_NO_FLASH = "the virtual board has no raw flash"

LOG_NONE = 0
LOG_ERROR = 1
LOG_WARNING = 2
LOG_INFO = 3
LOG_DEBUG = 4
LOG_VERBOSE = 5


def osdebug(uart_no: Any, level: int = LOG_ERROR) -> None:
    pass


flash_size = _unemulated.function("esp.flash_size", _NO_FLASH)
flash_user_start = _unemulated.function("esp.flash_user_start", _NO_FLASH)
flash_read = _unemulated.function("esp.flash_read", _NO_FLASH)
flash_write = _unemulated.function("esp.flash_write", _NO_FLASH)
flash_erase = _unemulated.function("esp.flash_erase", _NO_FLASH)
