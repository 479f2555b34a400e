# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble server: our GATT database (services, characteristics, descriptors) and what peers
# do to it.
#
# Characteristic objects are made at module level, before any radio is on, and bound to the
# radio they are registered on. Writes, read requests and indication acks arrive as IRQs on
# the radio's IRQ thread, which serves them even while the program's loop is blocked; a
# capture characteristic copies each written value there and then, in order across all
# capture characteristics of the radio.

from collections import deque

import bluetooth

from .core import (
    Radio,
    ThreadSafeFlag,
    const,
    ensure_active,
    log_error,
    radio,
    register_activate_handler,
    register_irq_handler,
    register_stop_handler,
    wait_for_ms,
)
from .device import DeviceConnection, DeviceDisconnectedError, _check_connection

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_GATTS_INDICATE_DONE = const(20)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_READ_AUTHENTICATED = const(0x0400)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_FLAG_WRITE_AUTHENTICATED = const(0x2000)

# Not a bluetooth flag (bluetooth ignores bits above 0xFFFF; we mask them anyway).
_FLAG_WRITE_CAPTURE = const(0x10000)

# A descriptor's own flags (NimBLE's ATT bits, as the reference library uses them).
_FLAG_DESC_READ = const(0x0001)
_FLAG_DESC_WRITE = const(0x0002)

# Captured writes waiting for `written()`, per radio. Past this, a write is dropped and an
# error is logged (the reference library keeps 10 and drops silently).
_WRITE_CAPTURE_QUEUE_LIMIT = const(64)

# ATT "unlikely error": the answer to a read whose on_read() raised.
_ATT_UNLIKELY_ERROR = const(0x0E)

# `_write_data` value telling a waiting written() that the radio was stopped.
_STOPPED = object()

# Attribute handles are 16-bit (1 to 0xFFFF); the stack puts the GAP service (5 handles) and
# the GATT service (4) first, as on MicroPython boards.
_MAX_HANDLE = const(0xFFFF)
_STACK_HANDLES = const(9)


def _check_uuid(uuid: "Any", what: str) -> None:
    # bluetooth.UUID("notauuid") or 0x180F are common slips; the stack would only say so at
    # register_services(), far from the line that made the mistake.
    if not isinstance(uuid, bluetooth.UUID):
        raise TypeError(
            f"{what} uuid must be a bluetooth.UUID, not {type(uuid).__name__} ({uuid!r}); "
            "write bluetooth.UUID(...)"
        )


def _check_value(value: "Any", name: str) -> None:
    """TypeError naming `name` unless `value` is a str or a buffer (bytes, bytearray,
    memoryview, array). An int would be taken as a length (bytes(5): five zero bytes)."""
    if isinstance(value, str):
        return
    try:
        memoryview(value)
    except TypeError:
        raise TypeError(
            f"{name} must be bytes, bytearray, memoryview or str, not {type(value).__name__}"
        ) from None


class _ServerState:
    def __init__(self, radio: Radio) -> None:
        # value handle -> Characteristic / Descriptor registered on this radio.
        self.characteristics: dict = {}
        # What register_services() was last given, re-registered after stop() + restart.
        self.services: tuple = ()
        self.reregister = False
        # (connection, value, characteristic) for capture characteristics, in write order.
        self.capture: deque = deque((), _WRITE_CAPTURE_QUEUE_LIMIT)


def _server(r: Radio) -> _ServerState:
    return r.role_state("server", _ServerState)


class Service:
    """A primary service of our GATT database."""

    def __init__(self, uuid: "bluetooth.UUID") -> None:
        _check_uuid(uuid, "Service")
        self.uuid = uuid
        self.characteristics: list = []

    def _handles(self) -> int:
        """How many attribute handles this service takes in the database."""
        n = 1
        for c in self.characteristics:
            n += 2 + len(c.descriptors) + (1 if c.flags & (_FLAG_NOTIFY | _FLAG_INDICATE) else 0)
        return n

    def _tuple(self) -> tuple:
        return (self.uuid, tuple(c._tuple() for c in self.characteristics))


class BaseCharacteristic:
    def _init(self, uuid: "bluetooth.UUID", flags: int, initial: "Any", writable: bool) -> None:
        self.uuid = uuid
        self.flags = flags
        self._initial = initial
        self._value_handle: int | None = None
        self._radio: Radio | None = None
        self._write_flag = ThreadSafeFlag() if writable else None
        self._write_data: Any = None
        self._write_waiting = False

    def _register(self, r: Radio, state: _ServerState, value_handle: int) -> None:
        previous = self._radio
        if previous is not None and previous is not r:
            # A characteristic belongs to one radio at a time: registering it on another
            # takes it off the first.
            old = _server(previous).characteristics
            if old.get(self._value_handle) is self:
                del old[self._value_handle]
        self._radio = r
        self._value_handle = value_handle
        state.characteristics[value_handle] = self
        if self._initial is not None:
            self.write(self._initial)
            self._initial = None

    def read(self) -> bytes:
        """The value in our database (before registration or while the radio is stopped,
        the value it will get)."""
        if self._value_handle is None:
            initial = self._initial
            if initial is None:
                return b""
            return initial.encode() if isinstance(initial, str) else bytes(initial)
        return self._radio.ble.gatts_read(self._value_handle)

    def write(self, data: "bytes | str", send_update: bool = False) -> None:
        """Set the value in our database; with `send_update`, also notify/indicate the
        clients subscribed to it."""
        _check_value(data, "data")
        if self._value_handle is None:
            self._initial = data
        else:
            self._radio.ble.gatts_write(self._value_handle, data, send_update)

    async def written(self, timeout_ms: "int | None" = None) -> "Any":
        """Await a write by a client; returns the connection that wrote (None if unknown), or
        `(connection, value)` for a capture characteristic.

        Returns at once if a write arrived since the last call. Without capture, several
        writes before the call count as one (read the value with `read()`); with capture every
        write is kept, in order across all capture characteristics (a capture write waits
        until the writes to other capture characteristics before it have been taken).
        Raises `asyncio.TimeoutError` after `timeout_ms`, `DeviceDisconnectedError` if
        `aioble.stop()` is called meanwhile, `ValueError` if not writable.
        """
        flag = self._write_flag
        if flag is None:
            raise ValueError("Not writable")
        self._write_waiting = True
        try:
            if self.flags & _FLAG_WRITE_CAPTURE:
                return await wait_for_ms(self._next_capture(), timeout_ms)
            await wait_for_ms(flag.wait(), timeout_ms)
        finally:
            self._write_waiting = False
        data = self._write_data
        self._write_data = None
        if data is _STOPPED:
            raise DeviceDisconnectedError
        return data

    async def _next_capture(self) -> "tuple[DeviceConnection | None, bytes]":
        queue = _server(self._radio or radio()).capture
        while True:
            if queue and queue[0][2] is self:
                connection, value, _ = queue.popleft()
                if queue:
                    queue[0][2]._write_flag.set()
                return connection, value
            if self._write_data is _STOPPED:
                self._write_data = None
                raise DeviceDisconnectedError
            await self._write_flag.wait()

    def on_read(self, connection: "DeviceConnection | None") -> int:
        """Override to allow (0) or deny (an ATT error code) a client's read. Runs in IRQ
        context: keep it short and do not await."""
        return 0


class Characteristic(BaseCharacteristic):
    """A characteristic of `service`; `initial` is written when it is registered.

    `capture=True` makes `written()` return `(connection, value)` for every write, in order.

    Protected access (the client gets ATT error 0x0F "insufficient encryption" or 0x05
    "insufficient authentication", a `GattError` in aioble, until it pairs; see
    `aioble.security`): `read_encrypted` / `write_encrypted` need an encrypted link,
    `read_authenticated` / `write_authenticated` one encrypted with MITM-protected keys
    (passkey or numeric comparison). Each implies the access it protects (`read`, or `write`
    unless `write_no_response` is given).
    """

    def __init__(
        self,
        service: Service,
        uuid: "bluetooth.UUID",
        read: bool = False,
        write: bool = False,
        write_no_response: bool = False,
        notify: bool = False,
        indicate: bool = False,
        initial: "bytes | str | None" = None,
        capture: bool = False,
        read_encrypted: bool = False,
        read_authenticated: bool = False,
        write_encrypted: bool = False,
        write_authenticated: bool = False,
    ) -> None:
        if not isinstance(service, Service):
            raise TypeError(f"service must be a Service, not {type(service).__name__}")
        _check_uuid(uuid, "Characteristic")
        if initial is not None:
            _check_value(initial, "initial")
        service.characteristics.append(self)
        self.descriptors: list = []
        flags = 0
        if read_encrypted or read_authenticated:
            read = True
            flags |= _FLAG_READ_AUTHENTICATED if read_authenticated else _FLAG_READ_ENCRYPTED
        if write_encrypted or write_authenticated:
            if not write_no_response:
                write = True
            flags |= _FLAG_WRITE_AUTHENTICATED if write_authenticated else _FLAG_WRITE_ENCRYPTED
        if read:
            flags |= _FLAG_READ
        writable = write or write_no_response
        if writable:
            flags |= (_FLAG_WRITE if write else 0) | (
                _FLAG_WRITE_NO_RESPONSE if write_no_response else 0
            )
            if capture:
                flags |= _FLAG_WRITE_CAPTURE
        if notify:
            flags |= _FLAG_NOTIFY
        if indicate:
            flags |= _FLAG_INDICATE
        self._init(uuid, flags, initial, writable)
        # conn_handle -> _Indication in flight.
        self._indications: dict = {}

    def _tuple(self) -> tuple:
        flags = self.flags & 0xFFFF
        if self.descriptors:
            return (self.uuid, flags, tuple(d._tuple() for d in self.descriptors))
        return (self.uuid, flags)

    def _handle_for(self, connection: DeviceConnection, flag: int) -> "tuple[Any, int, int]":
        _check_connection(connection)
        if not (self.flags & flag):
            raise ValueError("Not supported")
        conn_handle = connection._check_connected()
        if self._value_handle is None:
            raise ValueError("Not registered")
        return self._radio.ble, conn_handle, self._value_handle

    def notify(self, connection: DeviceConnection, data: "bytes | str | None" = None) -> None:
        """Send a notification to `connection` (whether or not it subscribed) with `data`, or
        the current value. Raises `DeviceDisconnectedError` if the link is down."""
        if data is not None:
            _check_value(data, "data")
        ble, conn_handle, value_handle = self._handle_for(connection, _FLAG_NOTIFY)
        if data is None:
            ble.gatts_notify(conn_handle, value_handle)
        else:
            ble.gatts_notify(conn_handle, value_handle, data)

    async def indicate(
        self,
        connection: DeviceConnection,
        data: "bytes | str | None" = None,
        timeout_ms: "int | None" = 1000,
    ) -> None:
        """Send an indication to `connection` and await its acknowledgement.

        Raises `GattError` if it was not acknowledged, `DeviceDisconnectedError` if the link
        drops, `asyncio.TimeoutError` after `timeout_ms`, `ValueError` if one is already in
        flight on this connection."""
        if data is not None:
            _check_value(data, "data")
        ble, conn_handle, value_handle = self._handle_for(connection, _FLAG_INDICATE)
        if conn_handle in self._indications:
            raise ValueError("In progress")
        indication = self._indications[conn_handle] = _Indication()
        try:
            if data is None:
                ble.gatts_indicate(conn_handle, value_handle)
            else:
                ble.gatts_indicate(conn_handle, value_handle, data)
            await connection._wait(indication.flag, indication.is_done, timeout_ms)
        finally:
            if self._indications.get(conn_handle) is indication:
                del self._indications[conn_handle]
        if indication.status:
            raise connection._status_error(indication.status)


class _Indication:
    __slots__ = ("flag", "status", "done")

    def __init__(self) -> None:
        self.flag = ThreadSafeFlag()
        self.status = 0
        self.done = False

    def is_done(self) -> bool:
        return self.done


class BufferedCharacteristic(Characteristic):
    """A characteristic whose value buffer holds `max_len` bytes (default 20); with `append`,
    writes accumulate and `read()` returns and clears them."""

    def __init__(
        self, *args: "Any", max_len: int = 20, append: bool = False, **kwargs: "Any"
    ) -> None:
        super().__init__(*args, **kwargs)
        self._max_len = max_len
        self._append = append

    def _register(self, r: Radio, state: _ServerState, value_handle: int) -> None:
        # Size the buffer before the initial value goes in (else it is cut to 20 bytes).
        r.ble.gatts_set_buffer(value_handle, self._max_len, self._append)
        super()._register(r, state, value_handle)


class Descriptor(BaseCharacteristic):
    """A descriptor of `characteristic` (the CCCD of notify/indicate characteristics is made
    by the stack; do not declare it)."""

    def __init__(
        self,
        characteristic: Characteristic,
        uuid: "bluetooth.UUID",
        read: bool = False,
        write: bool = False,
        initial: "bytes | str | None" = None,
    ) -> None:
        if not isinstance(characteristic, Characteristic):
            raise TypeError(
                f"characteristic must be a Characteristic, not {type(characteristic).__name__}"
            )
        _check_uuid(uuid, "Descriptor")
        if initial is not None:
            _check_value(initial, "initial")
        characteristic.descriptors.append(self)
        flags = 0
        if read:
            flags |= _FLAG_DESC_READ
        if write:
            flags |= _FLAG_DESC_WRITE
        self._init(uuid, flags, initial, write)

    def _tuple(self) -> tuple:
        return (self.uuid, self.flags)


def register_services(*services: Service) -> None:
    """Register `services` as this radio's GATT database (turning the radio on), replacing
    what was there. Works before `asyncio.run`. After `aioble.stop()` they come back by
    themselves when the radio is next turned on.

    Raises `TypeError` if an argument is not a Service, `ValueError` if the database needs
    more than the 65535 attribute handles there are."""
    handles = _STACK_HANDLES
    for i, service in enumerate(services):
        if not isinstance(service, Service):
            raise TypeError(
                f"register_services: argument {i + 1} must be a Service, not {type(service).__name__}"
            )
        handles += service._handles()
    if handles > _MAX_HANDLE:
        raise ValueError(
            f"register_services: the database needs {handles} attribute handles "
            f"(with the stack's {_STACK_HANDLES}); at most {_MAX_HANDLE} fit"
        )
    r = radio()
    state = _server(r)
    state.services = services
    state.reregister = False
    ensure_active(r)
    _register_services(r, state)


def _register_services(r: Radio, state: _ServerState) -> None:
    services = state.services
    old = state.characteristics
    state.characteristics = {}
    for characteristic in old.values():
        characteristic._value_handle = None
    handles = r.ble.gatts_register_services(tuple(s._tuple() for s in services))
    for i, service in enumerate(services):
        service_handles = handles[i]
        n = 0
        for characteristic in service.characteristics:
            characteristic._register(r, state, service_handles[n])
            n += 1
            for descriptor in characteristic.descriptors:
                descriptor._register(r, state, service_handles[n])
                n += 1


def _write_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, value_handle = data
    state = _server(r)
    characteristic = state.characteristics.get(value_handle)
    if characteristic is None or characteristic._write_flag is None:
        return
    connection = r.connections.get(conn_handle)
    if characteristic.flags & _FLAG_WRITE_CAPTURE:
        # Copy the value now: the next write may replace it before written() runs.
        value = r.ble.gatts_read(value_handle)
        queue = state.capture
        if len(queue) >= _WRITE_CAPTURE_QUEUE_LIMIT:
            log_error("write capture queue full: dropped a write to", characteristic.uuid)
            return
        queue.append((connection, value, characteristic))
        queue[0][2]._write_flag.set()
    else:
        characteristic._write_data = connection
        characteristic._write_flag.set()


def _read_request_irq(r: Radio, event: int, data: "Any") -> "int | None":
    conn_handle, value_handle = data
    characteristic = _server(r).characteristics.get(value_handle)
    if characteristic is None:
        return None
    try:
        return characteristic.on_read(r.connections.get(conn_handle))
    except Exception as e:
        log_error("on_read raised", repr(e))
        return _ATT_UNLIKELY_ERROR


def _indicate_done_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, value_handle, status = data
    characteristic = _server(r).characteristics.get(value_handle)
    if characteristic is None:
        return
    indication = characteristic._indications.get(conn_handle)
    if indication is not None:
        indication.status = status
        indication.done = True
        indication.flag.set()


def _before_stop(r: Radio) -> None:
    # Keep each value so the database comes back as it was when the radio is turned on.
    state = r.roles.get("server")
    if state is None or not state.services:
        return
    for value_handle, characteristic in state.characteristics.items():
        try:
            characteristic._initial = r.ble.gatts_read(value_handle)
        except OSError as e:
            log_error("could not save value", characteristic.uuid, e)
    state.reregister = True


def _stop(r: Radio) -> None:
    state = r.roles.get("server")
    if state is None:
        return
    characteristics = state.characteristics
    state.characteristics = {}
    capture = state.capture
    while capture:  # (a board's deque has no clear())
        capture.popleft()
    for characteristic in characteristics.values():
        characteristic._value_handle = None
        if characteristic._write_flag is None:
            continue
        if characteristic._write_waiting:
            characteristic._write_data = _STOPPED
            characteristic._write_flag.set()
        else:
            # A write nobody took yet came over a link that is gone now.
            characteristic._write_data = None
            characteristic._write_flag.clear()


def _activate(r: Radio) -> None:
    state = r.roles.get("server")
    if state is not None and state.reregister:
        state.reregister = False
        _register_services(r, state)


register_irq_handler((_IRQ_GATTS_WRITE,), _write_irq)
register_irq_handler((_IRQ_GATTS_READ_REQUEST,), _read_request_irq)
register_irq_handler((_IRQ_GATTS_INDICATE_DONE,), _indicate_done_irq)
register_stop_handler(_before_stop, before=True)
register_stop_handler(_stop)
register_activate_handler(_activate)

__all__ = [
    "BufferedCharacteristic",
    "Characteristic",
    "Descriptor",
    "Service",
    "register_services",
]
