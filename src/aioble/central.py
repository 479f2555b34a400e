# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble central: scanning, and connecting to peripherals.
#
# One scan and one connection attempt at a time per radio (as a controller allows). A
# connection attempt that times out, is cancelled or fails is cancelled in the stack, and a
# link that completes after its attempt was given up is dropped at once: a failed connect
# never leaves a connection behind (the reference library does).

import asyncio
from collections import deque

import bluetooth

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
    from collections.abc import Iterator
    from types import TracebackType
    from typing import Any

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

_ADDR_RANDOM = const(1)

_ADV_IND = const(0)
_ADV_DIRECT_IND = const(1)
_ADV_SCAN_RSP = const(4)

# The conn handle of PERIPHERAL_DISCONNECT when a connection attempt fails.
_CONNECT_FAILED = const(0xFFFF)

# Raw scan events waiting for the scanning loop; past this the oldest are dropped (a scan
# result is repeated at the next advertising event anyway).
_SCAN_QUEUE_LEN = const(256)

_DEFAULT_SCAN_DURATION_MS = const(2000)

# How long to wait for the stack's SCAN_DONE after stopping a scan, and for the final event
# of a connection attempt that was given up, before going on regardless.
_SETTLE_MS = const(1000)


class _PendingConnect:
    __slots__ = ("device", "flag", "connection", "failed", "stopped", "abandoned")

    def __init__(self, device: Device) -> None:
        self.device = device
        self.flag = ThreadSafeFlag()
        self.connection: DeviceConnection | None = None
        self.failed = False
        self.stopped = False
        self.abandoned = False

    def finished(self) -> bool:
        return self.connection is not None or self.failed or self.stopped

    # The stack has reported the end of this attempt (connected or failed).
    def final(self) -> bool:
        return self.connection is not None or self.failed


class _CentralState:
    def __init__(self, radio: Radio) -> None:
        self.scanner: scan | None = None
        self.pending: _PendingConnect | None = None
        self.connect_lock: asyncio.Lock | None = None
        # stop() ended a scan whose SCAN_DONE is still to come through the IRQ queue; it
        # must not end the next scan.
        self.stale_scan_done = False


def _central(r: Radio) -> _CentralState:
    return r.role_state("central", _CentralState)


class ScanResult:
    """What one scan heard from one device (updated as more advertisements arrive)."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.adv_data: bytes | None = None
        self.resp_data: bytes | None = None
        self.rssi: int | None = None
        self.connectable = False

    # Returns True if this event changed what we know (the scan then yields the result again).
    def _update(self, adv_type: int, rssi: int, adv_data: bytes) -> bool:
        updated = False
        if rssi != self.rssi:
            self.rssi = rssi
            updated = True
        if adv_type == _ADV_SCAN_RSP:
            if adv_data != self.resp_data:
                self.resp_data = adv_data
                updated = True
        else:
            connectable = adv_type in (_ADV_IND, _ADV_DIRECT_IND)
            if adv_data != self.adv_data or connectable != self.connectable:
                self.adv_data = adv_data
                self.connectable = connectable
                updated = True
        return updated

    def __str__(self) -> str:
        return f"Scan result: {self.device} {self.rssi}"

    __repr__ = __str__

    def _payloads(self) -> "tuple[bytes | None, bytes | None]":
        return (self.adv_data, self.resp_data)

    def name(self) -> "str | None":
        """The advertised (complete or shortened) name, or None."""
        return _advdata.name(self._payloads())

    def services(self) -> "Iterator[bluetooth.UUID]":
        """Yield the advertised service UUIDs (16-, 32- then 128-bit)."""
        for uuid in _advdata.service_uuids(self._payloads()):
            yield bluetooth.UUID(uuid)

    def manufacturer(self, filter: "int | None" = None) -> "Iterator[tuple[int, bytes]]":
        """Yield `(company_id, data)` for the manufacturer-specific data (only `filter`'s)."""
        return _advdata.manufacturer(self._payloads(), filter)


class scan:
    """`async with aioble.scan(duration_ms, ...) as scanner: async for result in scanner:`

    Scans for `duration_ms` (0: until cancelled), yielding a `ScanResult` each time a device
    is heard with something new. Leaving the block (or `await scanner.cancel()`) stops the
    scan. Starting a scan stops this radio's previous one; `Device.connect()` and
    `aioble.stop()` stop it too, which ends the iteration.
    """

    def __init__(
        self,
        duration_ms: int,
        interval_us: "int | None" = None,
        window_us: "int | None" = None,
        active: bool = False,
        **kwargs: "Any",
    ) -> None:
        self._queue: deque = deque((), _SCAN_QUEUE_LEN)
        self._flag = ThreadSafeFlag()  # the iterating task's
        self._done = False
        self._done_waiters: list = []  # a flag per task awaiting the end in cancel()
        # (addr_type, addr) -> ScanResult.
        self._results: dict = {}
        self._duration_ms = duration_ms
        self._interval_us = interval_us or 1280000
        self._window_us = window_us or 11250
        self._active = active
        self._kwargs = kwargs
        self._radio: Radio | None = None

    async def __aenter__(self) -> "scan":
        r = self._radio = ensure_active()
        state = _central(r)
        if state.scanner is not None:
            await state.scanner.cancel()
        state.scanner = self
        try:
            r.ble.gap_scan(
                self._duration_ms, self._interval_us, self._window_us, self._active, **self._kwargs
            )
        except BaseException:
            state.scanner = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: "type[BaseException] | None",
        exc_val: "BaseException | None",
        exc_tb: "TracebackType | None",
    ) -> None:
        await self.cancel()

    def __aiter__(self) -> "scan":
        if self._radio is None:
            raise RuntimeError("use scan() with `async with`")
        return self

    async def __anext__(self) -> ScanResult:
        queue = self._queue
        results = self._results
        while True:
            while queue:
                addr_type, addr, adv_type, rssi, adv_data = queue.popleft()
                key = (addr_type, addr)
                result = results.get(key)
                if result is None:
                    result = results[key] = ScanResult(Device(addr_type, addr))
                if result._update(adv_type, rssi, adv_data):
                    return result
            if self._done:
                self._release()
                raise StopAsyncIteration
            await self._flag.wait()

    def _release(self) -> None:
        state = _central(self._radio)
        if state.scanner is self:
            state.scanner = None

    async def cancel(self) -> None:
        """Stop the scan and await the stack's confirmation."""
        if self._radio is None or self._done:
            if self._radio is not None:
                self._release()
            return
        self._radio.ble.gap_scan(None)
        try:
            await wait_for_ms(self._until_done(), _SETTLE_MS)
        except asyncio.TimeoutError:
            log_warn("no SCAN_DONE after stopping the scan")
            self._done = True
        self._release()

    async def _until_done(self) -> None:
        # Its own flag: the iterating task may be waiting on _flag at the same time (a
        # ThreadSafeFlag has one waiter), e.g. when another task connects or cancels.
        flag = ThreadSafeFlag()
        self._done_waiters.append(flag)
        try:
            while not self._done:
                await flag.wait()
        finally:
            self._done_waiters.remove(flag)

    def _end(self) -> None:
        # The scan is over (SCAN_DONE, or stop()): wake every task waiting on it.
        self._done = True
        self._flag.set()
        for flag in self._done_waiters:
            flag.set()


async def _connect(
    device: Device,
    timeout_ms: "int | None",
    scan_duration_ms: "int | None",
    min_conn_interval_us: "int | None",
    max_conn_interval_us: "int | None",
) -> DeviceConnection:
    r = ensure_active()
    state = _central(r)
    lock = state.connect_lock
    if lock is None:
        lock = state.connect_lock = asyncio.Lock()
    async with lock:
        existing = device._connection
        if existing is not None and existing.is_connected() and existing._radio is r:
            return existing
        if state.scanner is not None:
            await state.scanner.cancel()
        await _settle(state)
        if scan_duration_ms is None:
            # Let the controller try for as long as we wait; without a timeout, for
            # MicroPython's default 2 s (the controller giving up ends the wait).
            scan_duration_ms = timeout_ms or _DEFAULT_SCAN_DURATION_MS
        pending = state.pending = _PendingConnect(device)
        try:
            r.ble.gap_connect(
                device.addr_type,
                device.addr,
                scan_duration_ms,
                min_conn_interval_us,
                max_conn_interval_us,
            )
        except BaseException:
            state.pending = None
            raise
        try:
            await wait_for_ms(_wait(pending), timeout_ms)
        except BaseException:
            _give_up(r, pending)
            raise
        state.pending = None
        return pending.connection


async def _wait(pending: _PendingConnect) -> None:
    while not pending.finished():
        await pending.flag.wait()
    if pending.stopped:
        raise DeviceDisconnectedError
    if pending.connection is None:
        # The controller gave up (scan_duration_ms passed without reaching the peer).
        raise asyncio.TimeoutError


def _give_up(r: Radio, pending: _PendingConnect) -> None:
    # Mark it abandoned before looking at it: a link completing right now is either seen here
    # or sees the mark in _connect_irq, and is dropped either way.
    pending.abandoned = True
    if pending.stopped or pending.failed:
        return
    connection = pending.connection
    try:
        if connection is None:
            r.ble.gap_connect(None)
        elif connection._conn_handle is not None:
            r.ble.gap_disconnect(connection._conn_handle)
    except OSError as e:
        log_warn("cancelling connect:", e)


async def _settle(state: _CentralState) -> None:
    # An attempt given up earlier (timed out, cancelled, stopped) still has its final event
    # (connected or failed) to come; wait for it so it cannot be taken for this attempt's.
    previous = state.pending
    if previous is None:
        return
    try:
        await wait_for_ms(_until_final(previous), _SETTLE_MS)
    except asyncio.TimeoutError:
        log_warn("previous connection attempt did not finish")
    state.pending = None


async def _until_final(pending: _PendingConnect) -> None:
    while not pending.final():
        await pending.flag.wait()


def _scan_irq(r: Radio, event: int, data: "Any") -> None:
    state = _central(r)
    if event == _IRQ_SCAN_DONE and state.stale_scan_done:
        state.stale_scan_done = False
        return
    scanner = state.scanner
    if scanner is None:
        return
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        scanner._queue.append((addr_type, bytes(addr), adv_type, rssi, bytes(adv_data)))
        scanner._flag.set()
    else:
        scanner._end()


def _is_resolvable(device: Device) -> bool:
    # A random address whose two most significant bits are 0b01.
    return device.addr_type == _ADDR_RANDOM and device.addr[0] >> 6 == 1


def _ours(pending: "_PendingConnect", addr: bytes) -> bool:
    """Whether the link just made is the one `pending` dialled. A bonded peer dialled at a
    resolvable private address is reported by its identity address (the stack resolved it,
    as NimBLE does), so for such a dial any address is taken: a radio makes one
    connection attempt at a time."""
    return pending.device.addr == addr or _is_resolvable(pending.device)


def _connect_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, addr_type, addr = data
    addr = bytes(addr)
    pending = _central(r).pending
    if pending is not None and not pending.final() and _ours(pending, addr):
        connection = pending.connection = DeviceConnection(r, pending.device, conn_handle)
        pending.flag.set()
        if not pending.abandoned:
            return
    else:
        connection = DeviceConnection(r, Device(addr_type, addr), conn_handle)
    connection._drop("dropping connection nobody waits for:")


def _connect_failed_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, addr_type, addr = data
    if conn_handle != _CONNECT_FAILED:
        return
    pending = _central(r).pending
    if pending is not None and not pending.final() and _ours(pending, bytes(addr)):
        pending.failed = True
        pending.flag.set()


def _stop(r: Radio) -> None:
    state = r.roles.get("central")
    if state is None:
        return
    scanner = state.scanner
    state.scanner = None
    if scanner is not None and not scanner._done:
        # The stack reports the end of the scan it was running (as boards do).
        state.stale_scan_done = True
        scanner._end()
    # The attempt stays in `pending` until the stack reports its end (see _settle).
    pending = state.pending
    if pending is not None:
        pending.stopped = True
        pending.flag.set()


register_irq_handler((_IRQ_SCAN_RESULT, _IRQ_SCAN_DONE), _scan_irq)
register_irq_handler((_IRQ_PERIPHERAL_CONNECT,), _connect_irq)
register_irq_handler((_IRQ_PERIPHERAL_DISCONNECT,), _connect_failed_irq)
register_stop_handler(_stop)

__all__ = ["ScanResult", "scan"]
