"""The program's `time` (and `utime`): CPython's, with MicroPython's date tuples.

On MicroPython `localtime()` and `gmtime()` give a plain 8-tuple `(year, month, mday, hour,
minute, second, weekday, yearday)` (board programs unpack it into eight names) and
`mktime()` takes one. Here they give an 8-tuple that also has `struct_time`'s `tm_*`
attributes, and `mktime`, `strftime` and `asctime` take 8 or 9 items, so code written for
CPython keeps working. Everything else is the process's `time` module, with the
`ticks_*`/`sleep_ms`/`sleep_us` that `aioble-python` adds to it.
"""

from __future__ import annotations

import time as _time
from typing import Any

_FIELDS = ("tm_year", "tm_mon", "tm_mday", "tm_hour", "tm_min", "tm_sec", "tm_wday", "tm_yday")


class DateTuple(tuple):
    """MicroPython's 8-item date tuple, readable by name as CPython's `struct_time` is."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name in _FIELDS:
            return self[_FIELDS.index(name)]
        if name == "tm_isdst":
            return -1
        raise AttributeError(name)


def _board(value: _time.struct_time) -> DateTuple:
    return DateTuple(tuple(value)[:8])


def _cpython(value: Any) -> Any:
    """A date tuple as CPython's functions take it (9 items; -1: daylight saving unknown)."""
    if value is not None and not isinstance(value, _time.struct_time) and len(value) == 8:
        return (*value, -1)
    return value


def localtime(secs: float | None = None) -> DateTuple:
    return _board(_time.localtime(secs))


def gmtime(secs: float | None = None) -> DateTuple:
    return _board(_time.gmtime(secs))


def mktime(value: Any) -> int:
    """Seconds since the Epoch, local time; an int, as on MicroPython."""
    return int(_time.mktime(_cpython(value)))


def strftime(format: str, value: Any = None) -> str:
    return _time.strftime(format) if value is None else _time.strftime(format, _cpython(value))


def asctime(value: Any = None) -> str:
    return _time.asctime() if value is None else _time.asctime(_cpython(value))


def __getattr__(name: str) -> Any:
    return getattr(_time, name)
