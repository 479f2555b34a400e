"""`bluetooth.BLE`: MicroPython's low-level BLE object, a thin facade.

Thread: the caller's (the program's threads, its IRQ handlers included). Each method
validates its arguments there (so a mistake is a clear Python error at the call), then makes
one call to the stack side (``RadioHost``, its ``AttBearer``, ``L2cap``, ``Security``):
posted where the program need not wait (a GATT client procedure, a notification), run and
waited for where the call returns something or can fail (``active``, ``gap_advertise``).
It reads none of the host's state but what the host publishes for any thread
(``open_links``, ``address``, ``lost``). Results arrive as IRQ events, on the radio's IRQ
thread, never before the call that caused them has returned (``_irq``).

``close()`` (any thread, the radio's own handler included) ends the IRQ thread's delivery,
powers the radio down on the stack thread, takes it off the medium and drops the process's
at-exit hook for it, so nothing keeps the radio alive; from then on every method raises
OSError ENODEV. At interpreter exit, the stack thread's at-exit hook does the same for the
radios still open (``RadioHost.shutdown``).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from ._conn import Connection
from ._gatts_db import GattDatabase
from ._irq import IrqDispatcher
from ._settings import Settings
from ._stack import StackThread
from ._uuid import UUID

logger = logging.getLogger(__name__)

_current: contextvars.ContextVar[BLE | None] = contextvars.ContextVar(
    "bluetooth_radio", default=None
)
_default: BLE | None = None
_default_lock = threading.Lock()
_numbers = itertools.count(1)

_ADV_MAX = 31


def _closed_error() -> OSError:
    return OSError(errno.ENODEV, "this radio is closed: make another with new_radio() (ENODEV)")


def _not_active() -> OSError:
    return OSError(errno.ENODEV, "Bluetooth is not active: call BLE().active(True) first (ENODEV)")


def _buffer(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    try:
        return bytes(memoryview(value))
    except TypeError:
        raise TypeError(
            f"{what} must be a bytes-like object or str, not {type(value).__name__}"
        ) from None


def _adv_payload(value: Any, what: str, carrier: str) -> bytes:
    data = _buffer(value, what)
    if len(data) > _ADV_MAX:
        raise OSError(errno.EINVAL, f"{what} is {len(data)} bytes; {carrier} carries at most 31")
    return data


P = ParamSpec("P")
R = TypeVar("R")


def _in_progress(method: Callable[Concatenate[BLE, P], R]) -> Callable[Concatenate[BLE, P], R]:
    """Register the call with the radio's IRQ dispatcher while it runs, so that no event it
    causes reaches the handler before it returns (see _irq's docstring)."""

    @functools.wraps(method)
    def call(self: BLE, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._closed:
            raise _closed_error()
        irq = self._irq
        number = irq.call_started()
        try:
            return method(self, *args, **kwargs)
        finally:
            irq.call_ended(number)

    return call


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return int(value)


def _range(value: Any, what: str, low: int, high: int, unit: str = "") -> int:
    number = _int(value, what)
    if not low <= number <= high:
        raise ValueError(f"{what} must be between {low} and {high}{unit}, got {number}")
    return number


class BLE:
    """The radio. ``BLE()`` returns the radio of the current context (see ``bluetooth.use``),
    else the process's default radio, as MicroPython's singleton."""

    _label: str | None

    def __new__(cls, *args: Any, **kwargs: Any) -> BLE:
        if args or kwargs:
            raise TypeError("BLE() takes no arguments")
        return current()

    @classmethod
    def _create(cls, label: str | None) -> BLE:
        self = object.__new__(cls)
        self._init(label)
        return self

    def _init(self, label: str | None) -> None:
        from ._host import RadioHost  # imports Bumble (~0.5 s): only when a radio is made

        self._label = label
        self._number = next(_numbers)
        self._lock = threading.RLock()
        self._stack = StackThread.get()
        context = contextvars.copy_context()
        context.run(_current.set, self)
        self._irq = IrqDispatcher(context, label or str(self._number))
        self._db = GattDatabase()
        self._settings = Settings()
        self._active = False
        self._adv_data = b""
        self._resp_data = b""
        self._host = RadioHost(self._settings, self._irq, self._db, label, self._stack.spawn)
        self._att = self._host.att
        self._closed = False
        self._stack.on_shutdown(self._host.shutdown)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # the instance is made once, by _create

    def __repr__(self) -> str:
        name = f" {self._label!r}" if self._label else ""
        state = "closed" if self._closed else "active" if self._active else "inactive"
        return f"<BLE{name} {state}>"

    def __enter__(self) -> BLE:
        if self._closed:
            raise _closed_error()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Power the radio down and free it: its IRQ thread ends, it leaves the medium, and
        every method raises OSError ENODEV from now on. Closing twice does nothing.

        Beyond MicroPython (a board's radio lives as long as the board). Queued events are
        discarded and the handler is not called again. Closing the process's default radio
        is allowed: ``bluetooth.BLE()`` then makes a new default radio."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        thread = self._irq.close()
        self._active = False
        self._stack.remove_shutdown(self._host.shutdown)
        try:
            self._stack.run(self._host.close(), timeout=10.0)
        except Exception:  # noqa: BLE001 - the radio is gone either way
            logger.debug("error while closing a radio", exc_info=True)
        global _default
        with _default_lock:
            if _default is self:
                _default = None
        if thread is not None and thread is not threading.current_thread():
            # It ends once the handler call in progress returns; one that blocks for good
            # keeps its thread (nothing can stop it), so do not wait for it for long.
            thread.join(timeout=2.0)

    @property
    def irq_dropped(self) -> int:
        """The events dropped because the handler fell behind (GATTS_WRITE, SCAN_RESULT,
        GATTC_NOTIFY, GATTC_INDICATE beyond a bounded backlog; see ``bluetooth._irq``),
        as a board drops events its IRQ ring buffer cannot hold."""
        return self._irq.dropped

    # --- plumbing -----------------------------------------------------------------------------

    def _run(self, coro: Any) -> Any:
        """Run a coroutine on the stack thread, turning stack errors into MicroPython's.

        The coroutine may need a handler's answer (turning the radio on asks GET_SECRET for
        the stored bonds): from a handler, the IRQ thread answers such questions while it
        waits; from another thread, the wait is marked so that events are not held for it."""
        try:
            if self._irq.in_handler_thread():
                return self._stack.run(coro, wait=self._irq.wait_answering)
            return self._stack.run(self._irq.stack_waiting(coro))
        except (OSError, ValueError, TypeError):
            raise
        except Exception as error:
            raise _os_error(error) from error

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return self._stack.call(fn, *args)
        except (OSError, ValueError, TypeError):
            raise
        except Exception as error:
            raise _os_error(error) from error

    def _post_bulk(self, send: Callable[..., Any], *args: Any) -> None:
        """A send that need not wait for the stack: posted, under flow control (see
        _txwindow). Its arguments are already checked; if the link drops before it runs, it
        is dropped with the link, as on a board."""
        tx = self._att.tx
        tx.take()
        try:
            self._stack.post(send, *args)
        except RuntimeError:
            tx.give()
            raise _not_active() from None

    def _check_active(self) -> None:
        if not self._active:
            raise _not_active()
        if self._host.lost:
            raise OSError(errno.ENODEV, "the radio was lost: its transport closed (ENODEV)")

    def _connection(self, conn_handle: Any) -> Connection:
        """The open connection with this handle (to hand back to the stack side)."""
        handle = _int(conn_handle, "conn_handle")
        self._check_active()
        conn = self._host.open_links.get(handle)
        if conn is None:
            raise OSError(errno.ENOTCONN, f"no connection with handle {handle} (ENOTCONN)")
        return conn

    # --- radio --------------------------------------------------------------------------------

    @_in_progress
    def active(self, *args: Any) -> bool:
        """``active()`` tells whether the radio is on; ``active(bool)`` turns it on or off."""
        if len(args) > 1:
            raise TypeError("active() takes at most one argument")
        if args:
            want = bool(args[0])
            with self._lock:
                if want and not self._active:
                    self._run(self._host.power_on())
                    self._active = True
                elif not want and self._active:
                    self._active = False
                    self._run(self._host.power_off())
        return self._active

    @_in_progress
    def config(self, *args: Any, **kwargs: Any) -> Any:
        """``config('name')`` reads a setting; ``config(name=value, ...)`` changes settings."""
        if args and kwargs:
            raise TypeError("config() takes either one setting name or keyword settings, not both")
        if not args and not kwargs:  # as MicroPython: nothing to read or change is an error
            raise TypeError(
                "config() needs one setting name to read, or keyword settings to change"
            )
        if args:
            if len(args) != 1:
                raise TypeError("must query one param")
            return self._get_config(args[0])
        for key, value in kwargs.items():
            self._set_config(key, value)
        return None

    def _get_config(self, key: Any) -> Any:
        if not isinstance(key, str):
            raise TypeError(f"config parameter name must be a str, not {type(key).__name__}")
        if key == "mac":
            self._check_active()
            return self._host.address
        if key == "gap_name":
            return self._db.gap_name
        if key in Settings.NAMES:
            return self._settings.get(key)
        raise ValueError(f"unknown config param {key!r}")

    def _set_config(self, key: str, value: Any) -> None:
        if key == "gap_name":
            name = _buffer(value, "gap_name")
            if len(name) > 248:
                raise ValueError(f"gap_name is {len(name)} bytes; at most 248 fit")
            self._db.gap_name = name
        elif key == "mtu":
            self._settings.mtu = _range(value, "mtu", 23, 517)
        elif key == "rxbuf":
            self._settings.rxbuf = _range(value, "rxbuf", 0, 1 << 20)
        elif key == "addr_mode":
            self._settings.addr_mode = _range(value, "addr_mode", 0, 3)
            if self._active:
                self._run(self._host.apply_address_mode())
        elif key in ("bond", "mitm", "le_secure"):
            setattr(self._settings, key, bool(value))
        elif key == "io":
            self._settings.io = _range(value, "io", 0, 4)
        elif key == "mac":
            raise ValueError("'mac' is read-only; choose the address kind with addr_mode")
        else:
            raise ValueError(f"unknown config param {key!r}")

    def irq(self, handler: Callable[[int, tuple[Any, ...]], Any] | None) -> None:
        """Set the function called as ``handler(event, data)`` for every event."""
        if self._closed:
            raise _closed_error()
        if handler is not None and not callable(handler):
            raise TypeError(f"irq handler must be callable or None, not {type(handler).__name__}")
        self._irq.handler = handler

    # --- GAP ----------------------------------------------------------------------------------

    @_in_progress
    def gap_advertise(
        self,
        interval_us: int | None,
        adv_data: Any = None,
        *,
        resp_data: Any = None,
        connectable: bool = True,
    ) -> None:
        """Start advertising every ``interval_us`` (None stops). A None payload reuses the
        previous one. Under 625 us (zero units of 625 us) the stack's default interval is
        used, as NimBLE does (ESP32 tutorials pass 100): 30 ms, or 100 ms when not
        connectable, the bottom of its ranges."""
        self._check_active()
        if interval_us is None:
            self._run(self._host.stop_advertising())
            return
        interval = _int(interval_us, "interval_us")
        if 0 <= interval < 625:
            interval = 30_000 if connectable else 100_000
        if not 20_000 <= interval <= 10_240_000:
            raise OSError(
                errno.EINVAL,
                f"interval_us must be between 20000 and 10240000 (20 ms to 10.24 s), got {interval}",
            )
        if adv_data is not None:
            self._adv_data = _adv_payload(adv_data, "adv_data", "legacy advertising")
        if resp_data is not None:
            self._resp_data = _adv_payload(resp_data, "resp_data", "a scan response")
        self._run(
            self._host.advertise(interval, self._adv_data, self._resp_data, bool(connectable))
        )

    @_in_progress
    def gap_scan(
        self,
        duration_ms: int | None,
        interval_us: int = 1_280_000,
        window_us: int = 11_250,
        active: bool = False,
    ) -> None:
        """Scan for ``duration_ms`` (0: until stopped; None stops). Results arrive as
        SCAN_RESULT, the end as SCAN_DONE."""
        self._check_active()
        if duration_ms is None:
            self._run(self._host.stop_scan())
            return
        duration = _int(duration_ms, "duration_ms")
        if duration < 0:
            raise ValueError(f"duration_ms must not be negative, got {duration}")
        interval = _range(interval_us, "interval_us", 2500, 10_240_000, " us")
        window = _range(window_us, "window_us", 2500, 10_240_000, " us")
        if window > interval:
            raise ValueError(f"window_us ({window}) must not exceed interval_us ({interval})")
        self._run(self._host.scan(duration, interval, window, bool(active)))

    @_in_progress
    def gap_connect(
        self,
        addr_type: int | None,
        addr: Any = None,
        scan_duration_ms: int | None = 2000,
        min_conn_interval_us: int | None = None,
        max_conn_interval_us: int | None = None,
    ) -> None:
        """Connect to a peripheral (PERIPHERAL_CONNECT when done, PERIPHERAL_DISCONNECT with
        handle 65535 on failure). ``gap_connect(None)`` cancels a pending attempt."""
        self._check_active()
        if addr_type is None or addr is None:
            if addr_type is not None:
                raise TypeError("gap_connect() needs an address (or None alone to cancel)")
            self._run(self._host.cancel_connect())
            return
        kind = _range(addr_type, "addr_type", 0, 3)
        address = _buffer(addr, "addr")
        if len(address) != 6:
            raise ValueError(f"addr must be 6 bytes, got {len(address)}")
        duration = 2000 if scan_duration_ms is None else _int(scan_duration_ms, "scan_duration_ms")
        if duration < 0:
            raise ValueError(f"scan_duration_ms must not be negative, got {duration}")
        intervals = []
        for name, value in (
            ("min_conn_interval_us", min_conn_interval_us),
            ("max_conn_interval_us", max_conn_interval_us),
        ):
            intervals.append(None if value is None else _range(value, name, 7500, 4_000_000, " us"))
        if None not in intervals and intervals[0] > intervals[1]:  # type: ignore[operator]
            raise ValueError("min_conn_interval_us must not exceed max_conn_interval_us")
        self._run(self._host.connect(kind & 1, address, duration, intervals[0], intervals[1]))

    @_in_progress
    def gap_disconnect(self, conn_handle: int) -> bool:
        """Start disconnecting; False if there is no such connection."""
        handle = _int(conn_handle, "conn_handle")
        self._check_active()
        return bool(self._run(self._host.disconnect(handle)))

    # --- GATT server --------------------------------------------------------------------------

    @_in_progress
    def gatts_register_services(self, services_definition: Any) -> tuple[tuple[int, ...], ...]:
        """Register services; returns, per service, the value handles of its characteristics
        each followed by its descriptors' handles."""
        self._check_active()
        handles = self._db.register(services_definition)
        self._call(self._att.reset_subscriptions)
        return handles

    @_in_progress
    def gatts_read(self, value_handle: int) -> bytes:
        """The local value (an append-mode buffer is emptied)."""
        handle = _int(value_handle, "value_handle")
        self._check_active()
        snapshot = self._irq.snapshot
        if snapshot is not None and snapshot[0] == handle and self._irq.in_handler_thread():
            return snapshot[1]
        return self._db.read(handle)

    @_in_progress
    def gatts_write(self, value_handle: int, data: Any, send_update: bool = False) -> None:
        """Set the local value; with ``send_update``, notify/indicate subscribed clients."""
        handle = _int(value_handle, "value_handle")
        value = _buffer(data, "data")
        self._check_active()
        self._db.write(handle, value)
        snapshot = self._irq.snapshot
        if snapshot is not None and snapshot[0] == handle and self._irq.in_handler_thread():
            self._irq.snapshot = None  # the handler replaced the value it was shown
        if send_update:
            self._call(self._att.update_subscribers, handle)

    def _payload(self, value_handle: Any, data: Any) -> tuple[int, bytes]:
        """The value handle, and what a notification or indication carries: ``data``, else
        the value as it is at the call (a write right after the call does not change what
        goes out)."""
        handle = _int(value_handle, "value_handle")
        attribute = self._db.get(handle)
        if attribute is None or attribute.entry is None:
            raise OSError(errno.EINVAL, f"no characteristic value with handle {handle} (EINVAL)")
        if data is not None:
            return handle, _buffer(data, "data")
        return handle, self._db.peek(attribute)

    @_in_progress
    def gatts_notify(self, conn_handle: int, value_handle: int, data: Any = None) -> None:
        """Send a notification (the local value if ``data`` is None), subscribed or not."""
        conn = self._connection(conn_handle)
        handle, payload = self._payload(value_handle, data)
        self._post_bulk(self._att.notify, conn, handle, payload)

    @_in_progress
    def gatts_indicate(self, conn_handle: int, value_handle: int, data: Any = None) -> None:
        """Send an indication; GATTS_INDICATE_DONE reports the acknowledgement."""
        conn = self._connection(conn_handle)
        handle, payload = self._payload(value_handle, data)
        self._call(self._att.indicate, conn, handle, payload)

    @_in_progress
    def gatts_set_buffer(self, value_handle: int, len: int, append: bool = False) -> None:  # noqa: A002
        """Size a value's buffer (default 20 bytes); append mode concatenates writes."""
        handle = _int(value_handle, "value_handle")
        length = _range(len, "len", 0, 65535)
        self._check_active()
        self._db.set_buffer(handle, length, bool(append))

    # --- GATT client --------------------------------------------------------------------------

    def _client(self, procedure: Callable[..., None], conn_handle: Any, *args: Any) -> None:
        """Start a GATT client procedure (a method of the GATT client core); its events
        report the outcome (a link lost meanwhile ends it with a DONE event carrying a
        not-connected status)."""
        conn = self._connection(conn_handle)
        self._stack.post(self._att.start, procedure, conn, *args)

    @staticmethod
    def _handle_range(start: Any, end: Any) -> tuple[int, int]:
        first = _range(start, "start_handle", 1, 0xFFFF)
        last = _range(end, "end_handle", 1, 0xFFFF)
        if first > last:
            raise ValueError(f"start_handle ({first}) must not exceed end_handle ({last})")
        return first, last

    @staticmethod
    def _optional_uuid(uuid: Any) -> UUID | None:
        if uuid is not None and not isinstance(uuid, UUID):
            raise TypeError(f"uuid must be a bluetooth.UUID or None, not {type(uuid).__name__}")
        return uuid

    @_in_progress
    def gattc_discover_services(self, conn_handle: int, uuid: UUID | None = None) -> None:
        self._client(self._att.client.discover_services, conn_handle, self._optional_uuid(uuid))

    @_in_progress
    def gattc_discover_characteristics(
        self, conn_handle: int, start_handle: int, end_handle: int, uuid: UUID | None = None
    ) -> None:
        first, last = self._handle_range(start_handle, end_handle)
        self._client(
            self._att.client.discover_characteristics,
            conn_handle,
            first,
            last,
            self._optional_uuid(uuid),
        )

    @_in_progress
    def gattc_discover_descriptors(
        self, conn_handle: int, start_handle: int, end_handle: int
    ) -> None:
        first, last = self._handle_range(start_handle, end_handle)
        self._client(self._att.client.discover_descriptors, conn_handle, first, last)

    @_in_progress
    def gattc_read(self, conn_handle: int, value_handle: int) -> None:
        self._client(
            self._att.client.read, conn_handle, _range(value_handle, "value_handle", 1, 0xFFFF)
        )

    @_in_progress
    def gattc_write(self, conn_handle: int, value_handle: int, data: Any, mode: int = 0) -> None:
        """Write without (mode 0) or with (mode 1, GATTC_WRITE_DONE) response; the value is
        cut to MTU - 3 bytes."""
        handle = _range(value_handle, "value_handle", 1, 0xFFFF)
        value = _buffer(data, "data")
        kind = _int(mode, "mode")
        if kind not in (0, 1):
            raise ValueError(f"mode must be 0 (no response) or 1 (with response), got {kind}")
        if kind == 0:
            conn = self._connection(conn_handle)
            self._post_bulk(self._att.write_command, conn, handle, value)
        else:
            self._client(self._att.client.write_request, conn_handle, handle, value)

    @_in_progress
    def gattc_exchange_mtu(self, conn_handle: int) -> None:
        """Exchange the ATT MTU (``config(mtu=...)`` is ours); MTU_EXCHANGED gives the result."""
        self._call(self._att.exchange_mtu, self._connection(conn_handle))

    # --- L2CAP ---------------------------------------------------------------------------------

    @_in_progress
    def l2cap_listen(self, psm: int, mtu: int) -> None:
        """Accept channels on ``psm`` (L2CAP_ACCEPT asks first; L2CAP_CONNECT follows)."""
        number = _range(psm, "psm", 1, 0xFF)
        size = _range(mtu, "mtu", 23, 65535)
        self._check_active()
        self._call(self._host.l2cap.listen, number, size)

    @_in_progress
    def l2cap_connect(self, conn_handle: int, psm: int, mtu: int) -> None:
        """Open a channel: L2CAP_CONNECT, or L2CAP_DISCONNECT with a non-zero status."""
        number = _range(psm, "psm", 1, 0xFF)
        size = _range(mtu, "mtu", 23, 65535)
        conn = self._connection(conn_handle)
        self._stack.post(self._host.start, self._host.l2cap.connect(conn, number, size))

    def _channel(self, conn_handle: Any, cid: Any) -> Any:
        handle = _int(conn_handle, "conn_handle")
        number = _int(cid, "cid")
        self._check_active()
        return self._host.l2cap.channel(handle, number)

    @_in_progress
    def l2cap_disconnect(self, conn_handle: int, cid: int) -> None:
        """Close a channel; L2CAP_DISCONNECT follows on both sides."""
        channel = self._channel(conn_handle, cid)
        self._stack.post(self._host.start, channel.disconnect())

    @_in_progress
    def l2cap_send(self, conn_handle: int, cid: int, buf: Any) -> bool:
        """Send ``buf`` as one SDU. False means the channel is now stalled: the SDU goes out
        as credits arrive, L2CAP_SEND_READY says when, and until then sending raises."""
        channel = self._channel(conn_handle, cid)
        data = _buffer(buf, "buf")
        channel.check_send(data)
        if channel.reserve(data):
            # The peer has granted the credits: post it, no need to wait for the stack.
            self._stack.post(channel.send_reserved, data)
            return True
        return bool(self._call(channel.send, data))

    @_in_progress
    def l2cap_recvinto(self, conn_handle: int, cid: int, buf: Any) -> int:
        """Read received data into ``buf``; returns the byte count (``buf`` None: the bytes
        available). Consuming data returns credits to the peer."""
        channel = self._channel(conn_handle, cid)
        if buf is None:
            return channel.available
        try:
            view = memoryview(buf).cast("B")
        except TypeError:
            raise TypeError(
                f"buf must be a writable buffer or None, not {type(buf).__name__}"
            ) from None
        if view.readonly:
            raise TypeError("buf must be a writable buffer")
        data, freed = channel.read(len(view))
        view[: len(data)] = data
        if freed:
            self._stack.post(channel.give_credits, freed)
        if not channel.open and not channel.available:
            self._stack.post(self._host.l2cap.drained, channel)
        return len(data)

    # --- security ------------------------------------------------------------------------------

    @_in_progress
    def gap_pair(self, conn_handle: int) -> None:
        """Pair (or re-encrypt with a stored bond) per ``config(bond, mitm, io, le_secure)``;
        ENCRYPTION_UPDATE reports the outcome, PASSKEY_ACTION asks for what a person must do."""
        conn = self._connection(conn_handle)
        self._stack.post(self._host.start, self._host.security.pair(conn))

    @_in_progress
    def gap_passkey(self, conn_handle: int, action: int, passkey: int) -> None:
        """Answer PASSKEY_ACTION: the passkey shown (DISPLAY, 3) or typed (INPUT, 2), or
        1 / 0 to accept / reject a NUMERIC_COMPARISON (4)."""
        handle = self._connection(conn_handle).handle
        kind = _int(action, "action")
        if kind not in (2, 3, 4):
            raise ValueError(
                f"action must be 2 (input), 3 (display) or 4 (numeric comparison), got {kind}"
            )
        value = _range(passkey, "passkey", 0, 999_999)
        self._call(self._host.security.answer, handle, kind, value)


# HCI Connection Limit Exceeded: NimBLE's host refuses such a call itself with ENOMEM (its
# connection pool is full), so that is what a board program sees.
_CONNECTION_LIMIT_EXCEEDED = 0x09


def _os_error(error: Exception) -> OSError:
    """A Bumble or controller error, as the OSError a MicroPython program expects."""
    code = getattr(error, "error_code", None)
    name = type(error).__name__
    if code == _CONNECTION_LIMIT_EXCEEDED:
        return OSError(errno.ENOMEM, f"no room for another connection: {error} (ENOMEM)")
    if code is not None:
        return OSError(errno.EIO, f"the controller refused: {error} (EIO)")
    return OSError(errno.EIO, f"bluetooth stack error: {name}: {error} (EIO)")


# --- which radio is current -------------------------------------------------------------------


def current() -> BLE:
    """The radio of the current context, else the process default (made on first use)."""
    ble = _current.get()
    if ble is not None:
        return ble
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = BLE._create(os.environ.get("AIOBLE_LABEL") or None)
    return _default


def new_radio(label: str | None = None) -> BLE:
    """Make another radio on the same medium (for tests and simulations with several devices
    in one process). It starts inactive, with its own address."""
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a str, not {type(label).__name__}")
    return BLE._create(label)


@contextlib.contextmanager
def use(ble: BLE) -> Iterator[BLE]:
    """Make ``ble`` what ``bluetooth.BLE()`` returns in this context (and in asyncio tasks
    created inside it)."""
    if not isinstance(ble, BLE):
        raise TypeError(f"use() needs a BLE, not {type(ble).__name__}")
    token = _current.set(ble)
    try:
        yield ble
    finally:
        _current.reset(token)
