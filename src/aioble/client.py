# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble client: the peer's GATT database seen from our side of a connection.
#
# Discovery (services, characteristics, descriptors) is one async iterator per request; reads
# and writes with response are one request at a time per connection; notifications and
# indications land in a per-(connection, value handle) ValueSlot shared by every
# ClientCharacteristic object for that handle.

import asyncio
import struct
from collections import deque

import bluetooth

from .core import GattError, ThreadSafeFlag, const, log_warn, register_irq_handler
from .device import DeviceConnection, DeviceDisconnectedError

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    from .core import Radio

_IRQ_GATTC_SERVICE_RESULT = const(9)
_IRQ_GATTC_SERVICE_DONE = const(10)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)

_CCCD_UUID = const(0x2902)
_CCCD_NOTIFY = const(1)
_CCCD_INDICATE = const(2)

_READ = const(1)
_WRITE = const(2)


class _Request:
    """A read or write-with-response in flight on a connection."""

    __slots__ = ("kind", "handle", "flag", "data", "status", "done")

    def __init__(self, kind: int, handle: int) -> None:
        self.kind = kind
        self.handle = handle
        self.flag = ThreadSafeFlag()
        self.data: bytes | None = None
        self.status = 0
        self.done = False

    def is_done(self) -> bool:
        return self.done


async def _request(
    connection: DeviceConnection, kind: int, handle: int, data: "Any", timeout_ms: "int | None"
) -> "bytes | None":
    async with connection._lock():
        request = _Request(kind, handle)
        connection._request = request
        ble = connection._radio.ble
        try:
            if kind == _READ:
                connection._call(ble.gattc_read, handle)
            else:
                connection._call(ble.gattc_write, handle, data, 1)
            await connection._wait(request.flag, request.is_done, timeout_ms)
        finally:
            if connection._request is request:
                connection._request = None
    if request.status:
        raise connection._status_error(request.status)
    return request.data


class ClientDiscover:
    """Async iterator over one discovery request (services, characteristics or descriptors).

    One discovery runs per connection at a time; one started while an abandoned one (a loop
    that broke early) is still running waits for it to finish first.
    """

    def __init__(
        self,
        connection: DeviceConnection,
        disc_type: "Any",
        parent: "Any",
        timeout_ms: "int | None",
        *args: "Any",
    ) -> None:
        self._connection = connection
        self._disc_type = disc_type
        self._parent = parent
        self._timeout_ms = timeout_ms
        self._args = args
        self._queue: deque = deque((), 256)
        # Set by each result and by the done IRQ (the consumer waits on it) ...
        self._flag = ThreadSafeFlag()
        # ... and by the done IRQ only (a later discovery waits on it).
        self._done_flag = ThreadSafeFlag()
        self._status: int | None = None
        self._started = False

    def __aiter__(self) -> "ClientDiscover":
        return self

    def _ready(self) -> bool:
        return bool(self._queue) or self._status is not None

    def _finished(self) -> bool:
        return self._status is not None

    async def _start(self) -> None:
        connection = self._connection
        connection._check_connected()
        lock = connection._discover_lock
        if lock is None:
            lock = connection._discover_lock = asyncio.Lock()
        async with lock:
            previous = connection._discover
            if previous is not None and previous._status is None:
                try:
                    await connection._wait(
                        previous._done_flag, previous._finished, self._timeout_ms
                    )
                except asyncio.TimeoutError:
                    log_warn("previous discovery did not finish")
            self._started = True
            connection._discover = self
            try:
                started = self._disc_type._start_discovery(self._parent, *self._args)
            except BaseException:
                connection._discover = None
                raise
            if not started:
                # Nothing to discover (e.g. a characteristic with no descriptors).
                connection._discover = None
                self._status = 0

    async def __anext__(self) -> "Any":
        if not self._started:
            await self._start()
        queue = self._queue
        if not queue and self._status is None:
            await self._connection._wait(self._flag, self._ready, self._timeout_ms)
        if queue:
            return self._disc_type(self._parent, *queue.popleft())
        if self._connection._discover is self:
            self._connection._discover = None
        if self._status:
            # The link dropped (the DONE may come just before the disconnect event), an
            # ATT error or timeout: not the same as "nothing (more) found".
            raise self._connection._status_error(self._status)
        raise StopAsyncIteration


class ClientService:
    """A primary service of the peer (from `DeviceConnection.services()` / `.service()`)."""

    def __init__(
        self,
        connection: DeviceConnection,
        start_handle: int,
        end_handle: int,
        uuid: "bluetooth.UUID",
    ) -> None:
        self.connection = connection
        self.uuid = uuid
        self._start_handle = start_handle
        self._end_handle = end_handle

    def __str__(self) -> str:
        return f"Service: {self._start_handle} {self._end_handle} {self.uuid}"

    async def characteristic(
        self, uuid: "bluetooth.UUID", timeout_ms: "int | None" = 2000
    ) -> "ClientCharacteristic | None":
        """Discover characteristic `uuid` in this service; returns it or None.

        Raises `DeviceDisconnectedError`, `asyncio.TimeoutError` (`timeout_ms` per event)."""
        result = None
        # Run the discovery to completion so the next one can start at once.
        async for characteristic in self.characteristics(uuid, timeout_ms):
            if result is None and characteristic.uuid == uuid:
                result = characteristic
        return result

    def characteristics(
        self, uuid: "bluetooth.UUID | None" = None, timeout_ms: "int | None" = 2000
    ) -> ClientDiscover:
        """Async iterator of this service's characteristics (`ClientCharacteristic`)."""
        return ClientDiscover(self.connection, ClientCharacteristic, self, timeout_ms, uuid)

    @staticmethod
    def _start_discovery(
        connection: DeviceConnection, uuid: "bluetooth.UUID | None" = None
    ) -> bool:
        ble = connection._radio.ble
        if uuid is None:
            connection._call(ble.gattc_discover_services)
        else:
            connection._call(ble.gattc_discover_services, uuid)
        return True


class BaseClientCharacteristic:
    def __init__(self, value_handle: int, properties: int, uuid: "bluetooth.UUID") -> None:
        self._value_handle = value_handle
        self.properties = properties
        self.uuid = uuid

    def _connection(self) -> DeviceConnection:
        raise NotImplementedError

    def _check(self, flag: int) -> None:
        if not (self.properties & flag):
            raise ValueError("Unsupported")

    async def read(self, timeout_ms: "int | None" = 1000) -> bytes:
        """Read the value from the peer.

        Raises `GattError` (non-zero ATT status, e.g. read denied), `DeviceDisconnectedError`,
        `asyncio.TimeoutError` after `timeout_ms`."""
        self._check(_FLAG_READ)
        data = await _request(self._connection(), _READ, self._value_handle, None, timeout_ms)
        return data if data is not None else b""

    async def write(
        self, data: "bytes | str", response: "bool | None" = None, timeout_ms: "int | None" = 1000
    ) -> None:
        """Write the value. With response (the default when only write-with-response is
        supported) awaits the peer's acknowledgement: raises `GattError`,
        `DeviceDisconnectedError`, `asyncio.TimeoutError`. Without response returns once the
        stack has taken the data (`DeviceDisconnectedError` if the link is down)."""
        self._check(_FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE)
        if response is None:
            p = self.properties
            response = bool(p & _FLAG_WRITE) and not (p & _FLAG_WRITE_NO_RESPONSE)
        connection = self._connection()
        if response:
            await _request(connection, _WRITE, self._value_handle, data, timeout_ms)
        else:
            connection._call(connection._radio.ble.gattc_write, self._value_handle, data, 0)


class ValueSlot:
    """Where notifications and indications of one (connection, value handle) land.

    `notified()` / `indicated()` see only the newest value (board semantics); every
    `NotificationQueue` open on the handle sees all of them.
    """

    __slots__ = ("notify_queue", "notify_flag", "indicate_queue", "indicate_flag", "queues")

    def __init__(self) -> None:
        self.notify_queue: deque = deque((), 1)
        self.notify_flag = ThreadSafeFlag()
        self.indicate_queue: deque = deque((), 1)
        self.indicate_flag = ThreadSafeFlag()
        self.queues: list = []

    # IRQ context.
    def put(self, value: bytes, indicate: bool) -> None:
        if indicate:
            self.indicate_queue.append(value)
            self.indicate_flag.set()
        else:
            self.notify_queue.append(value)
            self.notify_flag.set()
        for queue in self.queues:
            queue._put(value, indicate)


class ClientCharacteristic(BaseClientCharacteristic):
    """A characteristic of a peer's service (from `ClientService.characteristic(s)`)."""

    def __init__(
        self,
        service: ClientService,
        end_handle: int,
        value_handle: int,
        properties: int,
        uuid: "bluetooth.UUID",
    ) -> None:
        self.service = service
        self.connection = service.connection
        self._end_handle = end_handle
        self._cccd: ClientDescriptor | None = None
        super().__init__(value_handle, properties, uuid)
        # Every object for this handle shares one slot, made as soon as the characteristic
        # is known so that values sent before the program waits are kept (newest only).
        values = self.connection._values
        slot = values.get(value_handle)
        if slot is None:
            slot = values[value_handle] = ValueSlot()
        self._slot: ValueSlot = slot

    def __str__(self) -> str:
        return (
            f"Characteristic: {self._end_handle} {self._value_handle} {self.properties} {self.uuid}"
        )

    def _connection(self) -> DeviceConnection:
        return self.connection

    async def _newest(self, queue: deque, flag: "Any", timeout_ms: "int | None") -> bytes:
        if not queue:
            await self.connection._wait(flag, lambda: bool(queue), timeout_ms)
        return queue.popleft()

    async def notified(self, timeout_ms: "int | None" = None) -> bytes:
        """Await a notification and return its value.

        Returns at once if one arrived since the last call. Only the newest value is kept (as
        on a board): a program slower than the peer skips values; use `notifications()` to get
        every one. Raises `DeviceDisconnectedError` (link lost and nothing pending),
        `asyncio.TimeoutError` after `timeout_ms`."""
        self._check(_FLAG_NOTIFY)
        return await self._newest(self._slot.notify_queue, self._slot.notify_flag, timeout_ms)

    async def indicated(self, timeout_ms: "int | None" = None) -> bytes:
        """Await an indication (acknowledged by the stack) and return its value. Newest value
        only, like `notified()`; same exceptions."""
        self._check(_FLAG_INDICATE)
        return await self._newest(self._slot.indicate_queue, self._slot.indicate_flag, timeout_ms)

    def notifications(
        self, max_len: int = 64, notify: bool = True, indicate: bool = False
    ) -> "NotificationQueue":
        """Open a queue that receives every notification (and/or indication) of this
        characteristic, in order, from now on. See `NotificationQueue`.

        Open it before `subscribe()` so that nothing is missed::

            async with characteristic.notifications(max_len=128) as values:
                await characteristic.subscribe(notify=True)
                async for value in values:
                    ...
        """
        if not (notify or indicate):
            raise ValueError("notifications() needs notify or indicate")
        if notify:
            self._check(_FLAG_NOTIFY)
        if indicate:
            self._check(_FLAG_INDICATE)
        return NotificationQueue(self, max_len, notify, indicate)

    async def subscribe(
        self, notify: bool = True, indicate: bool = False, timeout_ms: "int | None" = 1000
    ) -> None:
        """Write this characteristic's CCCD (found by descriptor discovery the first time) so
        the peer sends notifications and/or indications; `subscribe(False)` unsubscribes.
        Awaits the peer's acknowledgement. Raises `ValueError` if the characteristic has no
        CCCD or does not support what is asked (`notify=True` alone on an indicate-only one:
        `subscribe(indicate=True)` there subscribes to indications only, since notify is
        True by default), `GattError`, `DeviceDisconnectedError`, `asyncio.TimeoutError`."""
        properties = self.properties
        if indicate and not properties & _FLAG_INDICATE:
            raise ValueError(
                f"indicate=True: characteristic {self.uuid} does not support indications "
                f"(properties 0x{properties:02x})"
            )
        if notify and not properties & _FLAG_NOTIFY:
            if not indicate:
                raise ValueError(
                    f"notify=True: characteristic {self.uuid} does not support notifications "
                    f"(properties 0x{properties:02x})"
                )
            notify = False  # the default, beside an explicit indicate=True
        cccd = self._cccd
        if cccd is None:
            cccd = self._cccd = await self.descriptor(bluetooth.UUID(_CCCD_UUID))
            if cccd is None:
                raise ValueError("CCCD not found")
        value = (_CCCD_NOTIFY if notify else 0) | (_CCCD_INDICATE if indicate else 0)
        await cccd.write(struct.pack("<H", value), response=True, timeout_ms=timeout_ms)

    async def descriptor(
        self, uuid: "bluetooth.UUID", timeout_ms: "int | None" = 2000
    ) -> "ClientDescriptor | None":
        """Discover descriptor `uuid` of this characteristic; returns it or None."""
        result = None
        async for descriptor in self.descriptors(timeout_ms):
            if result is None and descriptor.uuid == uuid:
                result = descriptor
        return result

    def descriptors(self, timeout_ms: "int | None" = 2000) -> ClientDiscover:
        """Async iterator of this characteristic's descriptors (`ClientDescriptor`)."""
        return ClientDiscover(self.connection, ClientDescriptor, self, timeout_ms)

    @staticmethod
    def _start_discovery(service: ClientService, uuid: "bluetooth.UUID | None" = None) -> bool:
        connection = service.connection
        discover = connection._radio.ble.gattc_discover_characteristics
        if uuid is None:
            connection._call(discover, service._start_handle, service._end_handle)
        else:
            connection._call(discover, service._start_handle, service._end_handle, uuid)
        return True


class ClientDescriptor(BaseClientCharacteristic):
    """A descriptor of a peer's characteristic. Reads and writes (with response) like a
    characteristic."""

    def __init__(
        self, characteristic: ClientCharacteristic, dsc_handle: int, uuid: "bluetooth.UUID"
    ) -> None:
        self.characteristic = characteristic
        super().__init__(dsc_handle, _FLAG_READ | _FLAG_WRITE, uuid)

    def __str__(self) -> str:
        return f"Descriptor: {self._value_handle} {self.uuid}"

    def _connection(self) -> DeviceConnection:
        return self.characteristic.connection

    @staticmethod
    def _start_discovery(characteristic: ClientCharacteristic) -> bool:
        # As MicroPython (NimBLE's ble_gattc_disc_all_dscs) the range starts at the value
        # handle; the descriptors are the handles after it.
        start = characteristic._value_handle
        end = characteristic._end_handle
        if start >= end:
            return False
        connection = characteristic.connection
        connection._call(connection._radio.ble.gattc_discover_descriptors, start, end)
        return True


class NotificationQueue:
    """Every notification (and/or indication) of one characteristic, in arrival order.

    Holds up to `max_len` values. When it is full, a new value is dropped (the values already
    queued are kept, so what you receive is always in order) and `dropped` counts it; check
    `dropped` to know whether you missed any. `notified()` / `indicated()` keep working beside
    it (each value goes to both).

    Use as `async for value in queue` or `await queue.get()`; close it with `close()` or by
    leaving `with` / `async with`. When the link drops, the values already queued are still
    returned, then `DeviceDisconnectedError` is raised.
    """

    def __init__(
        self, characteristic: ClientCharacteristic, max_len: int, notify: bool, indicate: bool
    ) -> None:
        if max_len < 1:
            raise ValueError("max_len must be at least 1")
        self.max_len = max_len
        self.dropped = 0
        self._characteristic = characteristic
        self._notify = notify
        self._indicate = indicate
        self._queue: deque = deque((), max_len)
        self._flag = ThreadSafeFlag()
        self._slot = characteristic._slot
        self._slot.queues.append(self)

    def __len__(self) -> int:
        return len(self._queue)

    # IRQ context.
    def _put(self, value: bytes, indicate: bool) -> None:
        if not (self._indicate if indicate else self._notify):
            return
        if len(self._queue) >= self.max_len:
            if not self.dropped:
                log_warn("notification queue full: dropping values")
            self.dropped += 1
            return
        self._queue.append(value)
        self._flag.set()

    async def get(self, timeout_ms: "int | None" = None) -> bytes:
        """Await and return the next value. Raises `DeviceDisconnectedError` once the link is
        down and the queue is empty, `asyncio.TimeoutError` after `timeout_ms`."""
        queue = self._queue
        if not queue:
            await self._characteristic.connection._wait(self._flag, lambda: bool(queue), timeout_ms)
        return queue.popleft()

    def __aiter__(self) -> "NotificationQueue":
        return self

    async def __anext__(self) -> bytes:
        return await self.get()

    def close(self) -> None:
        """Stop receiving values (those queued stay readable)."""
        queues = self._slot.queues
        if self in queues:
            queues.remove(self)

    def __enter__(self) -> "NotificationQueue":
        return self

    def __exit__(
        self,
        exc_type: "type[BaseException] | None",
        exc_val: "BaseException | None",
        exc_tb: "TracebackType | None",
    ) -> None:
        self.close()

    async def __aenter__(self) -> "NotificationQueue":
        return self

    async def __aexit__(
        self,
        exc_type: "type[BaseException] | None",
        exc_val: "BaseException | None",
        exc_tb: "TracebackType | None",
    ) -> None:
        self.close()


def _discovery_irq(radio: "Radio", event: int, data: "Any") -> None:
    connection = radio.connections.get(data[0])
    if connection is None:
        return
    discover = connection._discover
    if discover is None:
        return
    if event in (
        _IRQ_GATTC_SERVICE_DONE,
        _IRQ_GATTC_CHARACTERISTIC_DONE,
        _IRQ_GATTC_DESCRIPTOR_DONE,
    ):
        discover._status = data[1]
        discover._flag.set()
        discover._done_flag.set()
    else:
        # The UUID is the stack's until the handler returns (as on a board): copy it.
        discover._queue.append(tuple(data[1:-1]) + (bluetooth.UUID(data[-1]),))
        discover._flag.set()


def _request_irq(radio: "Radio", event: int, data: "Any") -> None:
    connection = radio.connections.get(data[0])
    if connection is None:
        return
    request = connection._request
    if request is None or request.handle != data[1]:
        return
    if event == _IRQ_GATTC_READ_RESULT:
        if request.kind == _READ:
            value = bytes(data[2])
            request.data = value if request.data is None else request.data + value
        return
    if request.kind != (_READ if event == _IRQ_GATTC_READ_DONE else _WRITE):
        return
    request.status = data[2]
    request.done = True
    request.flag.set()


def _value_irq(radio: "Radio", event: int, data: "Any") -> None:
    conn_handle, value_handle, value = data
    connection = radio.connections.get(conn_handle)
    if connection is None:
        return
    slot = connection._values.get(value_handle)
    if slot is not None:
        slot.put(bytes(value), event == _IRQ_GATTC_INDICATE)


register_irq_handler(
    (
        _IRQ_GATTC_SERVICE_RESULT,
        _IRQ_GATTC_SERVICE_DONE,
        _IRQ_GATTC_CHARACTERISTIC_RESULT,
        _IRQ_GATTC_CHARACTERISTIC_DONE,
        _IRQ_GATTC_DESCRIPTOR_RESULT,
        _IRQ_GATTC_DESCRIPTOR_DONE,
    ),
    _discovery_irq,
)
register_irq_handler(
    (_IRQ_GATTC_READ_RESULT, _IRQ_GATTC_READ_DONE, _IRQ_GATTC_WRITE_DONE), _request_irq
)
register_irq_handler((_IRQ_GATTC_NOTIFY, _IRQ_GATTC_INDICATE), _value_irq)

__all__ = [
    "ClientCharacteristic",
    "ClientDescriptor",
    "ClientDiscover",
    "ClientService",
    "DeviceDisconnectedError",
    "GattError",
    "NotificationQueue",
]
