# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble core: the radio, IRQ fan-out, logging, activation and shutdown.
#
# Everything aioble keeps is kept per radio: `bluetooth.BLE()` returns the radio of the
# current context (on a board there is one; on CPython several may share a process, see
# `bluetooth.use`). A `Radio` holds that radio's connections and each role module's state,
# and is the one IRQ handler registered with it. IRQ handlers may run on another thread
# (CPython runs them on the radio's IRQ thread), so they never touch asyncio objects directly:
# they update plain containers and wake coroutines through ThreadSafeFlag.

import asyncio

import bluetooth

try:
    from micropython import const
except ImportError:  # CPython without the aioble-python shims

    def const(x):
        return x


try:
    from typing import TYPE_CHECKING
except ImportError:  # MicroPython has no typing module
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any, TypeVar

    _T = TypeVar("_T")

ThreadSafeFlag = getattr(asyncio, "ThreadSafeFlag", None)
if ThreadSafeFlag is None:  # plain CPython: MicroPython's asyncio extras come with its emulation
    from mpemu.threadsafeflag import ThreadSafeFlag

# 0: errors only is too quiet for board programs; the reference library defaults to 1.
log_level = 1


def log_error(*args: object) -> None:
    if log_level > 0:
        print("[aioble] E:", *args)


def log_warn(*args: object) -> None:
    if log_level > 1:
        print("[aioble] W:", *args)


def log_info(*args: object) -> None:
    if log_level > 2:
        print("[aioble] I:", *args)


class GattError(Exception):
    """A GATT operation reached the peer but completed with a non-zero ATT status.

    The status is on `_status` (as in MicroPython's aioble) and is the first argument.
    """

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self._status = status


# Role modules register here at import time (static configuration, not state): each event
# number maps to the handlers of the modules that care about it.
_irq_handlers: "dict[int, list[Callable[[Radio, Any], Any]]]" = {}
# Called as handler(radio) when the radio is stopped, before `active(False)` (to save what
# survives a restart) and after it (to unwind everything in flight).
_before_stop_handlers: "list[Callable[[Radio], None]]" = []
_stop_handlers: "list[Callable[[Radio], None]]" = []
# Called as handler(radio) just before / after the radio is turned on (security loads its
# secrets before; the server re-registers its services after).
_before_activate_handlers: "list[Callable[[Radio], None]]" = []
_activate_handlers: "list[Callable[[Radio], None]]" = []
# Called as handler(radio) by every ensure_active() (advertise, scan, connect, config, ...),
# which usually runs inside the program's event loop: security starts its passkey task there.
_loop_handlers: "list[Callable[[Radio], None]]" = []


def register_irq_handler(events: "tuple[int, ...]", handler: "Callable[[Radio, Any], Any]") -> None:
    """Route the IRQ `events` to `handler(radio, event, data)` for every radio."""
    for event in events:
        _irq_handlers.setdefault(event, []).append(handler)


def register_stop_handler(handler: "Callable[[Radio], None]", before: bool = False) -> None:
    (_before_stop_handlers if before else _stop_handlers).append(handler)


def register_activate_handler(handler: "Callable[[Radio], None]", before: bool = False) -> None:
    (_before_activate_handlers if before else _activate_handlers).append(handler)


def register_loop_handler(handler: "Callable[[Radio], None]") -> None:
    _loop_handlers.append(handler)


class Radio:
    """Everything aioble keeps about one `bluetooth.BLE` instance.

    Role modules keep their own state in `roles` (see `role_state`), so each file owns what it
    uses and two radios in one process never share anything.
    """

    def __init__(self, ble: "bluetooth.BLE") -> None:
        self.ble = ble
        # conn_handle -> DeviceConnection, for every link up on this radio (device.py).
        self.connections: dict = {}
        self.roles: dict = {}
        # Bumped by stop(); lets waiters tell a restart from a normal wake-up.
        self.generation = 0
        ble.irq(self._irq)

    def _irq(self, event: int, data: "Any") -> "Any":
        handlers = _irq_handlers.get(event)
        if handlers is None:
            log_info("unhandled IRQ", event, data)
            return None
        for handler in handlers:
            result = handler(self, event, data)
            if result is not None:
                return result
        return None

    def role_state(self, key: str, factory: "Callable[[Radio], _T]") -> "_T":
        state = self.roles.get(key)
        if state is None:
            state = self.roles[key] = factory(self)
        return state

    def __repr__(self) -> str:
        return f"<aioble.core.Radio {self.ble!r}>"


# BLE instance -> Radio. This index is the only module-level table; what it points to is
# per radio. On a board it holds one entry.
_radios: "dict[Any, Radio]" = {}


def radio() -> Radio:
    """The aioble state of the current context's radio (`bluetooth.BLE()`)."""
    ble = bluetooth.BLE()
    r = _radios.get(ble)
    if r is None:
        r = _radios[ble] = Radio(ble)
    return r


def ensure_active(r: "Radio | None" = None) -> Radio:
    """Turn the radio on if it is off (aioble activates implicitly on first use)."""
    if r is None:
        r = radio()
    if not r.ble.active():
        for handler in _before_activate_handlers:
            handler(r)
        r.ble.active(True)
        for handler in _activate_handlers:
            handler(r)
    for handler in _loop_handlers:
        handler(r)
    return r


def config(*args: "Any", **kwargs: "Any") -> "Any":
    """Turn the radio on if needed, then forward to `bluetooth.BLE.config`."""
    return ensure_active().ble.config(*args, **kwargs)


def stop() -> None:
    """Turn the radio off and unwind everything in flight on it.

    Connections drop, scans and advertising stop, a pending connect fails; coroutines waiting
    on them raise their usual exception (`DeviceDisconnectedError` for connection operations,
    `advertise()`, `connect()` and `written()`; a scan simply ends). Registered services are
    remembered with their values and come back when the radio is next turned on, which any
    later aioble call does, with the same address.
    """
    r = radio()
    if r.ble.active():
        for handler in _before_stop_handlers:
            handler(r)
    r.ble.active(False)
    r.generation += 1
    for handler in _stop_handlers:
        handler(r)


# asyncio.timeout (CPython 3.11+) avoids the extra task that wait_for creates per call.
_timeout = getattr(asyncio, "timeout", None)


async def wait_for_ms(aw: "Awaitable[_T]", timeout_ms: "int | None") -> "_T":
    """Await `aw`; a non-zero `timeout_ms` turns a deadline into `asyncio.TimeoutError`."""
    if not timeout_ms:
        return await aw
    if _timeout is not None:
        async with _timeout(timeout_ms / 1000):
            return await aw
    return await asyncio.wait_for(aw, timeout_ms / 1000)


def __getattr__(name: str) -> "Any":
    # `aioble.core.ble` is the current radio, for programs written against the reference
    # library (which kept one module-level BLE object there).
    if name == "ble":
        return bluetooth.BLE()
    raise AttributeError(name)
