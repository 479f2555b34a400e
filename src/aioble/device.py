# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble device: peers (Device), links to them (DeviceConnection), and the machinery that
# turns a lost link or a deadline into the right exception for whoever is waiting.
#
# A DeviceConnection is created by the IRQ that reports the link (peripheral.py, central.py)
# and registered in its radio's `connections` at once, so that a disconnect arriving right
# after the connect always finds it. Every coroutine waiting on a connection registers a
# ThreadSafeFlag in `_waiters`; the disconnect IRQ marks the link down and sets them all, and
# each waiter then raises DeviceDisconnectedError itself. No task is cancelled across threads.

import asyncio
import binascii
import errno

from .core import (
    GattError,
    Radio,
    ThreadSafeFlag,
    const,
    log_error,
    log_warn,
    register_irq_handler,
    register_stop_handler,
    wait_for_ms,
)

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    import bluetooth

    from .client import ClientDiscover, ClientService
    from .l2cap import L2CAPChannel

_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_MTU_EXCHANGED = const(21)

# The status of a procedure the stack ended because the link dropped (bluetooth's
# STATUS_NOT_CONNECTED, 0x1F; NimBLE on a board reports BLE_HS_ENOTCONN there).
_STATUS_NOT_CONNECTED = const(0x1F)

# The ATT MTU every link starts with, before an exchange.
_DEFAULT_MTU = const(23)


class DeviceDisconnectedError(Exception):
    """The link dropped (or was never made) while an operation was waiting on it."""


class Device:
    """A peer, by address. Equal and hashable by `(addr_type, addr)`."""

    def __init__(self, addr_type: int, addr: "bytes | str") -> None:
        if addr_type not in (0, 1) or isinstance(addr_type, bool):
            raise ValueError(
                f"addr_type must be 0 (ADDR_PUBLIC) or 1 (ADDR_RANDOM), not {addr_type!r}"
            )
        self.addr_type = addr_type
        if isinstance(addr, str):
            try:
                addr = binascii.unhexlify(addr.replace(":", ""))
            except ValueError:  # binascii.Error on CPython
                raise ValueError(
                    f"addr {addr!r} is not an address like 'aa:bb:cc:dd:ee:ff'"
                ) from None
        elif not isinstance(addr, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"addr must be 6 bytes or an 'aa:bb:cc:dd:ee:ff' str, not {type(addr).__name__}"
            )
        self.addr = bytes(addr)
        if len(self.addr) != 6:
            raise ValueError(f"addr: a Bluetooth address is 6 bytes, not {len(self.addr)}")
        # The live connection to this peer made by Device.connect(), if any.
        self._connection: DeviceConnection | None = None

    def __eq__(self, rhs: object) -> bool:
        return isinstance(rhs, Device) and self.addr_type == rhs.addr_type and self.addr == rhs.addr

    def __hash__(self) -> int:
        return hash((self.addr_type, self.addr))

    def __str__(self) -> str:
        return "Device({}, {}{})".format(
            "ADDR_PUBLIC" if self.addr_type == 0 else "ADDR_RANDOM",
            self.addr_hex(),
            ", CONNECTED" if self._connection and self._connection.is_connected() else "",
        )

    __repr__ = __str__

    def addr_hex(self) -> str:
        """The address as "aa:bb:cc:dd:ee:ff" (most significant byte first)."""
        return binascii.hexlify(self.addr, ":").decode()

    async def connect(
        self,
        timeout_ms: "int | None" = 10000,
        scan_duration_ms: "int | None" = None,
        min_conn_interval_us: "int | None" = None,
        max_conn_interval_us: "int | None" = None,
    ) -> "DeviceConnection":
        """Connect to this peripheral on the current radio (as central).

        Returns the existing connection if there is a live one on this radio. Stops an
        active scan first. Awaits the link; raises `asyncio.TimeoutError` after `timeout_ms`
        or when the controller gives up (after `scan_duration_ms`, which defaults to
        `timeout_ms`, or to 2 s, as MicroPython's, if `timeout_ms` is None or 0), and
        `DeviceDisconnectedError` if `aioble.stop()` ends the attempt. A failed or timed-out
        attempt is cancelled and leaves no connection behind.
        """
        from .central import _connect

        return await _connect(
            self, timeout_ms, scan_duration_ms, min_conn_interval_us, max_conn_interval_us
        )


def _check_connection(connection: "Any", name: str = "connection") -> None:
    """TypeError naming the argument if `connection` is not a DeviceConnection (None is the
    usual mistake: a connect() or advertise() result that was never assigned)."""
    if not isinstance(connection, DeviceConnection):
        raise TypeError(f"{name} must be a DeviceConnection, not {type(connection).__name__}")


class DeviceConnection:
    """A link to a peer, as central or as peripheral.

    `async with connection:` disconnects at the end of the block.
    """

    def __init__(self, radio: Radio, device: Device, conn_handle: int) -> None:
        self.device = device
        device._connection = self  # (as the reference does, in either role)
        self.encrypted = False
        self.authenticated = False
        self.bonded = False
        self.key_size = 0
        self.mtu = _DEFAULT_MTU
        self._radio = radio
        self._conn_handle: int | None = conn_handle
        # One ThreadSafeFlag per coroutine waiting on this link; all set when it drops.
        self._waiters: list = []
        # One GATT client request at a time per link (ATT allows one outstanding request, and
        # the IRQs identify a result only by handle). Created on the event loop when needed.
        self._request_lock: asyncio.Lock | None = None
        # The client request in flight (client.py), the MTU exchange, the discovery.
        self._request: Any = None
        self._mtu_request: Any = None
        self._discover: Any = None
        self._discover_lock: asyncio.Lock | None = None
        # value_handle -> client.ValueSlot: where notifications and indications land.
        self._values: dict = {}
        # Called as handler(connection) when the link drops (l2cap, security hook in here).
        self._disconnect_handlers: list = []
        # l2cap.py: this link's channels (made on first use, from either thread: see
        # l2cap._channels), and the table that makes that creation race-free.
        self._l2cap: Any = None
        self._extensions: dict = {}
        # security.py: the pair() in progress, one at a time, and unanswered passkey prompts.
        self._pairing: Any = None
        self._pair_lock: asyncio.Lock | None = None
        self._passkey_requests: list = []
        radio.connections[conn_handle] = self

    def __repr__(self) -> str:
        return f"DeviceConnection({self.device}, handle={self._conn_handle})"

    def is_connected(self) -> bool:
        return self._conn_handle is not None

    def _status_error(self, status: int) -> Exception:
        """The exception for an operation on this link that ended with a non-zero `status`.

        A procedure cut short by the link dropping ends with _STATUS_NOT_CONNECTED, and its
        DONE event may arrive just before or after the disconnect event: either way that is a
        lost link, not an ATT error.
        """
        if status == _STATUS_NOT_CONNECTED or self._conn_handle is None:
            return DeviceDisconnectedError()
        return GattError(status)

    def _check_connected(self) -> int:
        handle = self._conn_handle
        if handle is None:
            raise DeviceDisconnectedError
        return handle

    def _drop(self, why: str) -> None:
        """Disconnect a link nobody owns (it completed as its attempt was given up)."""
        log_warn(why, self.device)
        try:
            self._radio.ble.gap_disconnect(self._conn_handle)
        except OSError as e:
            log_warn("disconnect:", e)

    def _call(self, method: "Any", *args: "Any") -> "Any":
        """`method(conn_handle, *args)` of the stack, for this link. A link the stack has
        dropped while its disconnect event is still on the way is DeviceDisconnectedError,
        not the stack's ENOTCONN."""
        handle = self._check_connected()
        try:
            return method(handle, *args)
        except OSError as e:
            if e.args and e.args[0] == errno.ENOTCONN:
                raise DeviceDisconnectedError from None
            raise

    # Called from the disconnect IRQ (any thread) and from stop().
    def _on_disconnect(self) -> None:
        handle = self._conn_handle
        if handle is None:
            return
        self._conn_handle = None
        # A bond outlives the link; the link's encryption does not.
        self.encrypted = False
        self.authenticated = False
        self.key_size = 0
        if self._radio.connections.get(handle) is self:
            del self._radio.connections[handle]
        if self.device._connection is self:
            self.device._connection = None
        for handler in self._disconnect_handlers:
            handler(self)
        for flag in list(self._waiters):
            flag.set()

    async def _wait(self, flag: "Any", done: "Any", timeout_ms: "int | None") -> None:
        """Wait until `done()` is true, waking on `flag` or on the loss of this link.

        Raises `asyncio.TimeoutError` after `timeout_ms`, and `DeviceDisconnectedError` if the
        link is down and `done()` is still false.
        """
        self._waiters.append(flag)
        try:
            await wait_for_ms(self._wait_loop(flag, done), timeout_ms)
        finally:
            self._waiters.remove(flag)

    async def _wait_loop(self, flag: "Any", done: "Any") -> None:
        while not done():
            if self._conn_handle is None:
                raise DeviceDisconnectedError
            await flag.wait()

    def _lock(self) -> asyncio.Lock:
        lock = self._request_lock
        if lock is None:
            lock = self._request_lock = asyncio.Lock()
        return lock

    async def disconnect(self, timeout_ms: "int | None" = 2000) -> None:
        """Disconnect and await the link going down; `asyncio.TimeoutError` after `timeout_ms`."""
        await self.disconnected(timeout_ms, disconnect=True)

    async def disconnected(self, timeout_ms: "int | None" = None, disconnect: bool = False) -> None:
        """Await the link going down (returns at once if it is down).

        With `disconnect=True`, ask for the disconnection first. Raises
        `asyncio.TimeoutError` after `timeout_ms`.
        """
        handle = self._conn_handle
        if handle is None:
            return
        if disconnect:
            try:
                if not self._radio.ble.gap_disconnect(handle):
                    # The stack no longer knows this link: no IRQ will come.
                    self._on_disconnect()
                    return
            except OSError as e:
                log_error("Disconnect", e)
        flag = ThreadSafeFlag()
        try:
            await self._wait(flag, lambda: self._conn_handle is None, timeout_ms)
        except DeviceDisconnectedError:
            pass

    async def service(
        self, uuid: "bluetooth.UUID", timeout_ms: "int | None" = 2000
    ) -> "ClientService | None":
        """Discover the peer's primary service `uuid`; returns a `ClientService` or None.

        Raises `DeviceDisconnectedError` if the link drops, `asyncio.TimeoutError` after
        `timeout_ms` without the next discovery event.
        """
        result = None
        # Run the discovery to completion so the next one can start at once.
        async for service in self.services(uuid, timeout_ms):
            if result is None and service.uuid == uuid:
                result = service
        return result

    def services(
        self, uuid: "bluetooth.UUID | None" = None, timeout_ms: "int | None" = 2000
    ) -> "ClientDiscover":
        """Async iterator of the peer's primary services (`ClientService`), optionally only
        `uuid`. Each step awaits the next discovery event (`asyncio.TimeoutError` after
        `timeout_ms`, `DeviceDisconnectedError` if the link drops)."""
        from .client import ClientDiscover, ClientService

        return ClientDiscover(self, ClientService, self, timeout_ms, uuid)

    def timeout(self, timeout_ms: "int | None") -> "DeviceTimeout":
        """A `with` block bounded by `timeout_ms` (`asyncio.TimeoutError`) and by this link
        (`DeviceDisconnectedError` if it drops while the block is running)."""
        return DeviceTimeout(self, timeout_ms)

    async def exchange_mtu(self, mtu: "int | None" = None, timeout_ms: "int | None" = 1000) -> int:
        """Exchange the ATT MTU (first setting this radio's preferred `mtu` if given); returns
        the agreed MTU. Raises `DeviceDisconnectedError`, `asyncio.TimeoutError`."""
        self._check_connected()
        ble = self._radio.ble
        if mtu:
            ble.config(mtu=mtu)
        request = self._mtu_request = _MtuRequest()
        try:
            self._call(ble.gattc_exchange_mtu)
            await self._wait(request.flag, request.is_done, timeout_ms)
        finally:
            if self._mtu_request is request:
                self._mtu_request = None
        return self.mtu

    async def l2cap_accept(
        self, psm: int, mtu: int, timeout_ms: "int | None" = None
    ) -> "L2CAPChannel":
        """Await an L2CAP channel the peer opens on `psm`, listening on it (our MTU `mtu`).

        Raises `asyncio.TimeoutError` after `timeout_ms`, `DeviceDisconnectedError` if the
        link drops. See `aioble.l2cap.accept`."""
        from .l2cap import accept

        return await accept(self, psm, mtu, timeout_ms)

    async def l2cap_connect(
        self, psm: int, mtu: int, timeout_ms: "int | None" = 1000
    ) -> "L2CAPChannel":
        """Open an L2CAP channel to the peer's `psm` (our MTU `mtu`).

        Raises `L2CAPConnectionError(status)` if the peer refuses or does not listen,
        `asyncio.TimeoutError` after `timeout_ms`, `DeviceDisconnectedError` if the link
        drops. See `aioble.l2cap.connect`."""
        from .l2cap import connect

        return await connect(self, psm, mtu, timeout_ms)

    async def pair(
        self,
        bond: bool = True,
        le_secure: bool = True,
        mitm: bool = False,
        io: int = 3,
        timeout_ms: "int | None" = 20000,
        passkey: "Any" = None,
    ) -> None:
        """Pair with the peer, or re-encrypt with its bond; awaits the outcome.

        Raises `PairingError`, `asyncio.TimeoutError`, `DeviceDisconnectedError`. See
        `aioble.security.pair` (and `PasskeyRequest` for `passkey`)."""
        from .security import pair

        await pair(self, bond, le_secure, mitm, io, timeout_ms, passkey)

    async def __aenter__(self) -> "DeviceConnection":
        return self

    async def __aexit__(
        self,
        exc_type: "type[BaseException] | None",
        exc_val: "BaseException | None",
        exc_tb: "TracebackType | None",
    ) -> None:
        await self.disconnect()


class _MtuRequest:
    __slots__ = ("flag", "done")

    def __init__(self) -> None:
        self.flag = ThreadSafeFlag()
        self.done = False

    def is_done(self) -> bool:
        return self.done


class DeviceTimeout:
    """`with DeviceTimeout(connection, timeout_ms):` bounds the block.

    A watcher task on the event loop cancels the block's task when the deadline passes or the
    connection drops; leaving the block turns that cancellation into `asyncio.TimeoutError`
    or `DeviceDisconnectedError`. Either argument may be None.
    """

    def __init__(self, connection: "DeviceConnection | None", timeout_ms: "int | None") -> None:
        self._connection = connection
        self._timeout_ms = timeout_ms
        self._task: Any = None
        self._watcher: Any = None
        self._flag: Any = None
        # What the watcher did: None, "timeout" or "disconnect".
        self._fired: str | None = None

    def __enter__(self) -> "DeviceTimeout":
        connection = self._connection
        if connection is not None:
            connection._check_connected()
            self._flag = ThreadSafeFlag()
            connection._waiters.append(self._flag)
        if self._flag is not None or self._timeout_ms:
            self._task = asyncio.current_task()
            self._watcher = asyncio.create_task(self._watch())
        return self

    async def _watch(self) -> None:
        connection = self._connection
        try:
            if connection is None:
                await asyncio.sleep(self._timeout_ms / 1000)
                self._fired = "timeout"
            else:
                try:
                    await wait_for_ms(self._until_disconnected(), self._timeout_ms)
                    self._fired = "disconnect"
                except asyncio.TimeoutError:
                    self._fired = "timeout"
        except asyncio.CancelledError:
            # The block finished first.
            return
        self._task.cancel()

    async def _until_disconnected(self) -> None:
        while self._connection._conn_handle is not None:
            await self._flag.wait()

    def __exit__(
        self,
        exc_type: "type[BaseException] | None",
        exc_val: "BaseException | None",
        exc_tb: "TracebackType | None",
    ) -> None:
        if self._flag is not None:
            self._connection._waiters.remove(self._flag)
        fired = self._fired
        if fired is None:
            if self._watcher is not None:
                self._watcher.cancel()
            return
        if exc_type is asyncio.CancelledError:
            # The cancellation was ours: take it back so asyncio.timeout() / TaskGroup
            # around us do not see a cancelled task.
            uncancel = getattr(self._task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            if fired == "timeout":
                raise asyncio.TimeoutError
            raise DeviceDisconnectedError


def _disconnect_irq(radio: Radio, event: int, data: "Any") -> None:
    connection = radio.connections.get(data[0])
    if connection is not None:
        connection._on_disconnect()


def _mtu_irq(radio: Radio, event: int, data: "Any") -> None:
    conn_handle, mtu = data
    connection = radio.connections.get(conn_handle)
    if connection is None:
        return
    connection.mtu = mtu
    request = connection._mtu_request
    if request is not None:
        request.done = True
        request.flag.set()


def _stop(radio: Radio) -> None:
    for connection in list(radio.connections.values()):
        connection._on_disconnect()


register_irq_handler((_IRQ_CENTRAL_DISCONNECT, _IRQ_PERIPHERAL_DISCONNECT), _disconnect_irq)
register_irq_handler((_IRQ_MTU_EXCHANGED,), _mtu_irq)
register_stop_handler(_stop)

__all__ = [
    "Device",
    "DeviceConnection",
    "DeviceDisconnectedError",
    "DeviceTimeout",
]
