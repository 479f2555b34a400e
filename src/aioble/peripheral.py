# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble peripheral: advertising, and the links centrals open to us.

from . import _advdata
from .core import (
    Radio,
    ThreadSafeFlag,
    const,
    ensure_active,
    log_warn,
    register_irq_handler,
    register_stop_handler,
    wait_for_ms,
)
from .device import Device, DeviceConnection, DeviceDisconnectedError

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    import bluetooth

_IRQ_CENTRAL_CONNECT = const(1)


class _Advertisement:
    """An advertise() call waiting for a central."""

    __slots__ = ("flag", "connection", "stopped", "abandoned")

    def __init__(self) -> None:
        self.flag = ThreadSafeFlag()
        self.connection: DeviceConnection | None = None
        # Set by stop() (the radio is off) / by advertise() giving up.
        self.stopped = False
        self.abandoned = False

    def is_done(self) -> bool:
        return self.connection is not None or self.stopped


class _PeripheralState:
    def __init__(self, radio: Radio) -> None:
        self.advertisement: _Advertisement | None = None


def _peripheral(r: Radio) -> _PeripheralState:
    return r.role_state("peripheral", _PeripheralState)


async def advertise(
    interval_us: int,
    adv_data: "bytes | str | None" = None,
    resp_data: "bytes | str | None" = None,
    connectable: bool = True,
    limited_disc: bool = False,
    br_edr: bool = False,
    name: "str | None" = None,
    services: "Iterable[bluetooth.UUID] | None" = None,
    appearance: int = 0,
    manufacturer: "tuple[int, bytes] | None" = None,
    timeout_ms: "int | None" = None,
) -> DeviceConnection:
    """Advertise until a central connects; returns the new `DeviceConnection`.

    Without `adv_data` / `resp_data` the payload is built from the other arguments (see
    `aioble._advdata.build`; `ValueError` names a field that does not fit, `TypeError` /
    `ValueError` an argument of the wrong type or out of range). Advertising stops
    when this returns or raises. Raises `asyncio.TimeoutError` after `timeout_ms`,
    `DeviceDisconnectedError` if `aioble.stop()` is called meanwhile. A non-connectable
    advertisement only ends by timeout, cancellation or stop().
    """
    # Built first: a bad argument raises before the radio is turned on.
    if not adv_data and not resp_data:
        adv_data, resp_data = _advdata.build(
            limited_disc=limited_disc,
            br_edr=br_edr,
            name=name,
            services=services,
            appearance=appearance,
            manufacturer=manufacturer,
        )
    r = ensure_active()
    state = _peripheral(r)
    if state.advertisement is not None:
        raise ValueError("already advertising")
    advertisement = state.advertisement = _Advertisement()
    try:
        r.ble.gap_advertise(
            interval_us, adv_data=adv_data, resp_data=resp_data, connectable=connectable
        )
        await wait_for_ms(_wait(advertisement), timeout_ms)
    except BaseException:
        # Timed out, cancelled or stopped. Mark the advertisement abandoned before looking at
        # it: a connection that races in either is seen here or sees the mark (_connect_irq),
        # and is dropped either way rather than left with no owner.
        advertisement.abandoned = True
        if state.advertisement is advertisement:
            state.advertisement = None
        if not advertisement.stopped:
            connection = advertisement.connection
            try:
                if connection is not None:
                    if connection._conn_handle is not None:
                        r.ble.gap_disconnect(connection._conn_handle)
                else:
                    r.ble.gap_advertise(None)
            except OSError as e:
                log_warn("stopping advertising:", e)
        raise
    state.advertisement = None
    return advertisement.connection


async def _wait(advertisement: _Advertisement) -> None:
    while not advertisement.is_done():
        await advertisement.flag.wait()
    if advertisement.connection is None:
        raise DeviceDisconnectedError


def _connect_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, addr_type, addr = data
    connection = DeviceConnection(r, Device(addr_type, bytes(addr)), conn_handle)
    advertisement = _peripheral(r).advertisement
    if advertisement is not None and advertisement.connection is None:
        advertisement.connection = connection
        if not advertisement.abandoned:
            advertisement.flag.set()
            return
    # Nobody is advertising through aioble any more (advertise() timed out or was cancelled
    # just as this central connected): do not leave a link nobody owns.
    connection._drop("dropping unexpected connection from")


def _stop(r: Radio) -> None:
    state = r.roles.get("peripheral")
    if state is not None and state.advertisement is not None:
        state.advertisement.stopped = True
        state.advertisement.flag.set()
        # advertise() may be called again at once, before the stopped one has woken.
        state.advertisement = None


register_irq_handler((_IRQ_CENTRAL_CONNECT,), _connect_irq)
register_stop_handler(_stop)

__all__ = ["advertise"]
