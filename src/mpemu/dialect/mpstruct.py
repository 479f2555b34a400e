"""The program's `struct` (and `ustruct`): CPython's, with MicroPython's leniency.

Checked on MicroPython 1.27:
- `pack`/`pack_into` cut an out-of-range integer to its field (`pack("B", 256)` is
  `b"\\x00"`, `pack("<h", 40000)` wraps), pad missing arguments with zeros, ignore extra
  ones, take a str for `s`, and pack a float too large for `f` as infinity;
- `unpack` reads the front of a buffer longer than the format (`unpack("<h", b"\\x01\\x02\\x03")`
  is `(513,)`); a shorter one is still an error;
- its errors are ValueErrors (board programs catch ValueError): here `struct.error` is
  both CPython's `struct.error` and a ValueError.
Anything CPython accepts takes CPython's own path, unchanged.
"""

from __future__ import annotations

import math
import re
import struct as _struct
from struct import Struct, calcsize, iter_unpack
from typing import Any

__all__ = [
    "Struct",
    "calcsize",
    "error",
    "iter_unpack",
    "pack",
    "pack_into",
    "unpack",
    "unpack_from",
]

_ITEM = re.compile(r"\s*(\d*)([xcbB?hHiIlLqQnNefdspP])")
_INTS = "bBhHiIlLqQnN"
_FLOAT_MAX = 3.4028234663852886e38
_HALF_MAX = 65504.0


class error(_struct.error, ValueError):  # noqa: N818 - the module's own name
    """What MicroPython raises (a ValueError), still caught by `except struct.error`."""


error.__module__ = "struct"  # a traceback names it as the program's module: struct.error


def _fields(fmt: str) -> tuple[str, list[tuple[str, int]]]:
    """The byte-order prefix and (code, count) of each field of `fmt`."""
    prefix = fmt[:1] if fmt[:1] in "@=<>!" else ""
    fields = [
        (code, int(count) if count else 1) for count, code in _ITEM.findall(fmt[len(prefix) :])
    ]
    return prefix, fields


def _coerce(fmt: str | bytes, args: tuple[Any, ...]) -> list[Any]:
    """`args` as MicroPython takes them for `fmt`: one per value, each fitted to its field."""
    text = fmt.decode() if isinstance(fmt, bytes) else fmt
    prefix, fields = _fields(text)
    values: list[Any] = []
    given = iter(args)
    for code, count in fields:
        if code == "x":
            continue
        for _ in range(1 if code in "sp" else count):
            value = next(given, b"" if code in "sp" else 0)
            values.append(_fit(prefix, code, value))
    return values


def _fit(prefix: str, code: str, value: Any) -> Any:
    if code in "sp" and isinstance(value, str):
        return value.encode()
    if code in _INTS and type(value) is int:
        bits = 8 * calcsize(prefix + code)
        value &= (1 << bits) - 1
        if code.islower() and value >> (bits - 1):
            value -= 1 << bits
        return value
    if code in "fe" and isinstance(value, float) and math.isfinite(value):
        limit = _FLOAT_MAX if code == "f" else _HALF_MAX
        if abs(value) > limit:
            return math.copysign(math.inf, value)
    return value


def _reraised(exc: _struct.error) -> error:
    return error(*exc.args).with_traceback(exc.__traceback__)


def pack(fmt: str | bytes, *args: Any) -> bytes:
    try:
        return _struct.pack(fmt, *args)
    except (_struct.error, OverflowError):
        pass
    try:
        return _struct.pack(fmt, *_coerce(fmt, args))
    except _struct.error as exc:
        raise _reraised(exc) from None


def pack_into(fmt: str | bytes, buffer: Any, offset: int, *args: Any) -> None:
    try:
        return _struct.pack_into(fmt, buffer, offset, *args)
    except (_struct.error, OverflowError):
        pass
    try:
        _struct.pack_into(fmt, buffer, offset, *_coerce(fmt, args))
    except _struct.error as exc:
        raise _reraised(exc) from None


def unpack(fmt: str | bytes, buffer: Any) -> tuple[Any, ...]:
    try:
        return _struct.unpack(fmt, buffer)
    except _struct.error as exc:
        if len(buffer) <= calcsize(fmt):
            raise _reraised(exc) from None
    return _struct.unpack_from(fmt, buffer)


def unpack_from(fmt: str | bytes, buffer: Any, offset: int = 0) -> tuple[Any, ...]:
    try:
        return _struct.unpack_from(fmt, buffer, offset)
    except _struct.error as exc:
        raise _reraised(exc) from None
