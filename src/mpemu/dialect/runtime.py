"""The run-time half of MicroPython's dialect: what the transformed program calls.

Each helper first does what CPython does; only where CPython refuses (a TypeError,
ValueError or OverflowError) and MicroPython would not, it does what MicroPython does. So a
program that runs on CPython behaves exactly as before, and pays one function call per
rewritten operation. What MicroPython does was checked on MicroPython 1.27 (the table tests
in `tests/mpemu` run the same snippets through both).
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Callable
from typing import Any

_BYTES = (bytes, bytearray)
# Containers whose integer elements have a fixed width: a store keeps the low bits.
_SIZED = (bytearray, memoryview, array)
_STORE_ERRORS = (ValueError, OverflowError, TypeError)
_SIGNED = "bhilq"

# In the order of `transform.AUG_OPS`: the in-place forms, as `x[k] op= v` uses them.
_AUG_FUNCS: tuple[Callable[[Any, Any], Any], ...] = (
    operator.iadd,
    operator.isub,
    operator.imul,
    operator.imatmul,
    operator.itruediv,
    operator.ifloordiv,
    operator.imod,
    operator.ipow,
    operator.ilshift,
    operator.irshift,
    operator.ior,
    operator.ixor,
    operator.iand,
)


def add(a: Any, b: Any) -> Any:
    """`a + b`; bytes or bytearray + str concatenates the str's UTF-8 bytes."""
    try:
        return a + b
    except TypeError:
        if isinstance(b, str) and isinstance(a, _BYTES):
            return a + b.encode()
        raise


def iadd(a: Any, b: Any) -> Any:
    """`a += b` (the result is stored back by the caller); a bytearray grows in place."""
    try:
        a += b
    except TypeError:
        if not (isinstance(b, str) and isinstance(a, _BYTES)):
            raise
        a += b.encode()
    return a


def iadd_attr(obj: Any, name: str, value: Any) -> None:
    """`obj.name += value`, with `obj` evaluated once."""
    setattr(obj, name, iadd(getattr(obj, name), value))


def wrap(container: Any, value: int) -> int | None:
    """`value` cut to the width of `container`'s elements, as MicroPython stores it; None
    where they are not integers."""
    if isinstance(container, memoryview):
        code = container.format[-1:]
        size = container.itemsize
    elif isinstance(container, array):
        code = container.typecode
        size = container.itemsize
    else:
        code, size = "B", 1
    if code not in _SIGNED and code not in _SIGNED.upper():
        return None
    bits = 8 * size
    value &= (1 << bits) - 1
    if code in _SIGNED and value >> (bits - 1):
        value -= 1 << bits
    return value


def setitem(obj: Any, key: Any, value: Any) -> None:
    """`obj[key] = value`; an int stored into a bytearray, memoryview or array keeps the
    element's low bits (`buf[0] = 256` stores 0, `buf[0] = -1` stores 255)."""
    try:
        obj[key] = value
    except _STORE_ERRORS:
        wrapped = wrap(obj, value) if type(value) is int and isinstance(obj, _SIZED) else None
        if wrapped is None:
            raise
        obj[key] = wrapped


def augitem(obj: Any, key: Any, op: int, value: Any) -> None:
    """`obj[key] op= value`, with `obj` and `key` evaluated once."""
    current = obj[key]
    result = iadd(current, value) if op == 0 else _AUG_FUNCS[op](current, value)
    setitem(obj, key, result)


def append(obj: Any, value: Any) -> Any:
    """`obj.append(value)`; a bytearray or array keeps the int's low bits."""
    try:
        return obj.append(value)
    except _STORE_ERRORS:
        ok = type(value) is int and isinstance(obj, bytearray | array)
        wrapped = wrap(obj, value) if ok else None
        if wrapped is None:
            raise
        return obj.append(wrapped)


def extend(obj: Any, value: Any) -> Any:
    """`obj.extend(value)`; a bytearray extends with a str's UTF-8 bytes."""
    try:
        return obj.extend(value)
    except TypeError:
        if not (isinstance(value, str) and isinstance(obj, bytearray)):
            raise
        return obj.extend(value.encode())


def contains(container: Any, item: str) -> bool:
    """`item in container` for a str literal `item`: a str is a buffer, so it is found in
    bytes as its UTF-8 bytes."""
    try:
        return item in container
    except TypeError:
        if not isinstance(container, _BYTES):
            raise
        return item.encode() in container


def startswith(obj: Any, prefix: Any, *args: Any) -> bool:
    try:
        return obj.startswith(prefix, *args)
    except TypeError:
        if not (isinstance(obj, _BYTES) and isinstance(prefix, str)):
            raise
        return obj.startswith(prefix.encode(), *args)


def endswith(obj: Any, suffix: Any, *args: Any) -> bool:
    try:
        return obj.endswith(suffix, *args)
    except TypeError:
        if not (isinstance(obj, _BYTES) and isinstance(suffix, str)):
            raise
        return obj.endswith(suffix.encode(), *args)


# The `except` halves of the guarded statements (see `transform`): the statement ran as
# CPython runs it and raised `error`; do what MicroPython does where it differs, else raise
# `error` itself (re-raising the same object adds no "during handling" chain). Each retries
# only where the failed attempt changed nothing (an int element, or a str that bytes refused
# before any change), so no operation runs twice.


def setitem_retry(obj: Any, key: Any, value: Any, error: BaseException) -> None:
    wrapped = wrap(obj, value) if type(value) is int and isinstance(obj, _SIZED) else None
    if wrapped is None:
        raise error
    obj[key] = wrapped


def augitem_retry(obj: Any, key: Any, op: int, value: Any, error: BaseException) -> None:
    current = obj[key]
    if op == 0 and isinstance(value, str) and isinstance(current, _BYTES):
        current += value.encode()
        obj[key] = current
    elif isinstance(obj, _SIZED) and type(current) is int:
        setitem_retry(obj, key, _AUG_FUNCS[op](current, value), error)
    else:
        raise error


def iadd_retry(target: Any, value: Any, error: BaseException) -> Any:
    if not (isinstance(value, str) and isinstance(target, _BYTES)):
        raise error
    target += value.encode()
    return target


def iadd_attr_retry(obj: Any, name: str, value: Any, error: BaseException) -> None:
    setattr(obj, name, iadd_retry(getattr(obj, name), value, error))


def append_retry(obj: Any, value: Any, error: BaseException) -> None:
    ok = type(value) is int and isinstance(obj, bytearray | array)
    wrapped = wrap(obj, value) if ok else None
    if wrapped is None:
        raise error
    obj.append(wrapped)


def extend_retry(obj: Any, value: Any, error: BaseException) -> None:
    if not (isinstance(value, str) and isinstance(obj, bytearray)):
        raise error
    obj.extend(value.encode())


_memoryview = memoryview


class _MemoryviewType(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _memoryview)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _memoryview)


class MicroMemoryview(metaclass=_MemoryviewType):
    """The program's `memoryview`: CPython's, which a str may also back (its UTF-8 bytes,
    read-only). `isinstance(x, memoryview)` is unchanged."""

    def __new__(cls, obj: Any) -> memoryview:  # type: ignore[misc]
        return _memoryview(obj.encode() if isinstance(obj, str) else obj)


HELPERS: dict[str, Any] = {
    f"__mp_{f.__name__}__": f
    for f in (
        add,
        iadd,
        iadd_attr,
        setitem,
        augitem,
        append,
        extend,
        contains,
        startswith,
        endswith,
        setitem_retry,
        augitem_retry,
        iadd_retry,
        iadd_attr_retry,
        append_retry,
        extend_retry,
    )
}
HELPERS["__mp_store_errors__"] = _STORE_ERRORS
HELPERS["__mp_type_error__"] = TypeError
HELPERS["__mp_any_error__"] = BaseException
