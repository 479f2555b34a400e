"""`@micropython.viper` on CPython: the function runs as plain Python, with viper's pointer
types.

Inside a viper function `ptr8(buf)`, `ptr16(buf)` and `ptr32(buf)` view a buffer as unsigned
8/16/32-bit machine words (little-endian, as on every MicroPython port's CPU); an argument
annotated `ptr8`/`ptr16`/`ptr32` is viewed so on the way in, as viper casts it. A store
keeps the word's low bits. `uint(x)` is the unsigned cast. Not emulated: pointers made from
integer addresses (there is no memory map here: a clear error says so) and viper's 32-bit
wrap-around of plain integer arithmetic (results here are Python ints; programs that
mask with `& 0xFF...`, as portable ones do, get the same values).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class _Pointer:
    _size = 1

    def __init__(self, target: Any) -> None:
        if isinstance(target, _Pointer):
            target = target._buffer
        if isinstance(target, int):
            raise NotImplementedError(
                f"{type(self).__name__}({target:#x}): a viper pointer to a memory address is not "
                "emulated by aioble-python (no memory map); point it at a buffer instead"
            )
        self._buffer = memoryview(target).cast("B")
        self._mask = (1 << (8 * self._size)) - 1

    def __getitem__(self, index: int) -> int:
        start = index * self._size
        return int.from_bytes(self._buffer[start : start + self._size], "little")

    def __setitem__(self, index: int, value: int) -> None:
        start = index * self._size
        word = (int(value) & self._mask).to_bytes(self._size, "little")
        self._buffer[start : start + self._size] = word

    def __int__(self) -> int:
        raise NotImplementedError("the address of a viper pointer is not emulated by aioble-python")


class ptr8(_Pointer):  # noqa: N801 - viper's names
    _size = 1


class ptr16(_Pointer):  # noqa: N801
    _size = 2


class ptr32(_Pointer):  # noqa: N801
    _size = 4


class ptr(_Pointer):  # noqa: N801 - viper's generic pointer: machine words
    _size = 4


def uint(value: Any) -> int:
    return int(value) & 0xFFFFFFFF


def viper(func: _F) -> _F:
    """The decorator: casts the arguments annotated with a pointer type, as viper does."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return func
    casts = {}
    for name, parameter in signature.parameters.items():
        cast = parameter.annotation
        if isinstance(cast, str):  # under `from __future__ import annotations`
            cast = NAMES.get(cast.rpartition(".")[2])
        if isinstance(cast, type) and issubclass(cast, _Pointer):
            casts[name] = cast
    if not casts:
        return func

    @functools.wraps(func)
    def cast_call(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name, cast in casts.items():
            if name in bound.arguments:
                bound.arguments[name] = cast(bound.arguments[name])
        return func(*bound.args, **bound.kwargs)

    return cast_call  # type: ignore[return-value]


NAMES: dict[str, Any] = {"ptr": ptr, "ptr8": ptr8, "ptr16": ptr16, "ptr32": ptr32, "uint": uint}
