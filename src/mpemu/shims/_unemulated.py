"""The error for a MicroPython API the virtual board cannot provide (Wi-Fi, PIO, flash...).

The module that holds such an API imports fine, so a program fails where it uses the API,
with an error naming it, rather than with a bare ImportError at the top.
Stateless, so importing it as `mpemu.shims._unemulated` is safe.
"""

from __future__ import annotations

from typing import Any, NoReturn


def error(api: str, why: str) -> NotImplementedError:
    return NotImplementedError(f"{api} is not emulated by aioble-python ({why})")


def function(api: str, why: str) -> Any:
    """A function that raises the not-emulated error for `api` whatever it is called with."""

    def unemulated(*args: Any, **kwargs: Any) -> NoReturn:
        raise error(api, why)

    unemulated.__name__ = unemulated.__qualname__ = api.rpartition(".")[2]
    return unemulated


class _UnemulatedMeta(type):
    # Class attributes (`network.WLAN.IF_STA`, `rp2.PIO.OUT_LOW`) are often read before the
    # constructor is called; they raise the same error, naming the class.
    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise error(cls._api, cls._why)  # type: ignore[attr-defined]


def cls(api: str, why: str) -> type:
    """A class whose construction and class attributes raise the not-emulated error."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise error(api, why)

    name = api.rpartition(".")[2]
    return _UnemulatedMeta(name, (), {"__init__": __init__, "_api": api, "_why": why})
