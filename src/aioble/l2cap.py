# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble l2cap: LE credit-based channels (L2CAP CoC) on a connection.
#
# Channels are kept per connection, by CID, so one connection carries as many channels as the
# stack allows, opened by either side, and a radio may connect while it also listens (the
# reference library allows one channel per connection and either listening or connecting).
#
# The stack does the flow control: a peer's credits come back only as the program reads with
# recvinto(), so a slow reader stalls the sender; `bluetooth.l2cap_send` takes one SDU and
# returns False when it could not go out whole, after which L2CAP_SEND_READY must arrive
# before the next one. Events arrive on the IRQ thread; they update plain state and wake the
# coroutines waiting through ThreadSafeFlags (one per kind of waiter, so a task sending and a
# task receiving on the same channel never share a flag).
#
# Incoming channels: every channel the peer opens is announced first by L2CAP_ACCEPT. A
# channel on a PSM we listen on is accepted if an `l2cap_accept()` waits for it, or if the
# connection's backlog has room (it then waits there for the next `l2cap_accept()`, so a peer
# that connects before the program calls accept is not refused); otherwise it is refused with
# "no resources".

import asyncio

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
from .device import DeviceConnection, DeviceDisconnectedError, _check_connection

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

_IRQ_L2CAP_ACCEPT = const(22)
_IRQ_L2CAP_CONNECT = const(23)
_IRQ_L2CAP_DISCONNECT = const(24)
_IRQ_L2CAP_RECV = const(25)
_IRQ_L2CAP_SEND_READY = const(26)

# L2CAP result "refused - no resources available": our answer to a channel nobody will take.
_REFUSED_NO_RESOURCES = const(4)

# Channels the peer may open on one PSM of one connection before the program accepts them.
_ACCEPT_BACKLOG = const(4)

_EBUSY = const(16)

# `_status` of a channel closed by the link going down under it (or by aioble.stop()).
_STATUS_LINK_LOST = const(-1)


class L2CAPDisconnectedError(Exception):
    """The channel closed while `send()`, `recvinto()`, `flush()` or `available()` needed it:
    either side disconnected it, the link dropped, or `aioble.stop()` was called."""


class L2CAPConnectionError(Exception):
    """`l2cap_connect()` failed. The first argument (also `status`) is the L2CAP result code
    the peer answered (2: no one listens on the PSM, 4: refused / no resources, 5-11:
    security or parameter refusals) or the stack's status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class L2CAPChannel:
    """An open L2CAP credit-based channel (from `DeviceConnection.l2cap_accept()` /
    `l2cap_connect()`).

    `our_mtu` is the largest SDU the peer may send us, `peer_mtu` the largest we may send.
    `async with channel:` disconnects it at the end of the block.
    """

    def __init__(
        self, connection: DeviceConnection, cid: int, psm: int, our_mtu: int, peer_mtu: int
    ) -> None:
        self.connection = connection
        self.psm = psm
        self.our_mtu = our_mtu
        self.peer_mtu = peer_mtu
        self._cid = cid
        # The link's handle when the channel opened: unread data stays readable through it
        # after the link drops.
        self._handle = connection._conn_handle
        self._open = True
        # 0 for a normal close, else why it closed.
        self._status = 0
        # Nothing more to read once it is closed (stops us asking the stack about a CID that
        # a later channel may reuse).
        self._drained = False
        self._generation = connection._radio.generation
        # Flow control: L2CAP_SEND_READY events counted; the channel is stalled while the
        # count is still the one seen just before the l2cap_send() that returned False (so a
        # SEND_READY that arrives before l2cap_send() has returned is not lost).
        self._ready_count = 0
        self._stalled_at = -1
        self._recv_flag = ThreadSafeFlag()
        self._send_flag = ThreadSafeFlag()
        # Flags of coroutines waiting on this channel; all set when it closes.
        self._waiters: list = []
        # One send()/flush() and one recvinto() at a time (made on the event loop).
        self._send_lock: asyncio.Lock | None = None
        self._recv_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"L2CAPChannel(psm={self.psm}, cid={self._cid}, {state})"

    # --- state ---------------------------------------------------------------------------------

    def is_connected(self) -> bool:
        """True until the channel closes."""
        return self._open

    def _stalled(self) -> bool:
        return self._ready_count == self._stalled_at

    # IRQ thread (or stop()).
    def _closed(self, status: int) -> None:
        if not self._open:
            return
        self._open = False
        self._status = status
        for flag in list(self._waiters):
            flag.set()

    async def _wait(self, flag: "Any", done: "Any", timeout_ms: "int | None") -> None:
        """Wait until `done()` holds, waking on `flag` and when the channel closes;
        `asyncio.TimeoutError` after `timeout_ms`."""
        self._waiters.append(flag)
        try:
            await wait_for_ms(self._wait_loop(flag, done), timeout_ms)
        finally:
            self._waiters.remove(flag)

    async def _wait_loop(self, flag: "Any", done: "Any") -> None:
        while not done():
            await flag.wait()

    def _ble_handle(self) -> "tuple[Any, int]":
        handle = self.connection._conn_handle
        if not self._open or handle is None:
            raise L2CAPDisconnectedError
        return self.connection._radio.ble, handle

    # --- receiving ------------------------------------------------------------------------------

    def _read(self, buf: "Any") -> int:
        """Take what the stack holds into `buf` (None: just count it); 0 if nothing."""
        if self._drained:
            return 0
        radio = self.connection._radio
        if radio.generation != self._generation:
            # aioble.stop() since the channel opened: whatever it held went with the radio.
            self._drained = True
            return 0
        try:
            n = radio.ble.l2cap_recvinto(self._handle, self._cid, buf)
        except OSError:
            # The stack no longer has the channel: it closed and was emptied.
            n = 0
            if not self._open:
                self._drained = True
        if not n and not self._open:
            self._drained = True
        return n

    def available(self) -> int:
        """The number of received bytes waiting to be read (0 if none).

        Data received before the channel closed stays readable; `L2CAPDisconnectedError` once
        the channel is closed and nothing is left."""
        n = self._read(None)
        if not n and not self._open:
            raise L2CAPDisconnectedError
        return n

    async def recvinto(self, buf: "Any", timeout_ms: "int | None" = None) -> int:
        """Await received data and copy up to `len(buf)` bytes of it into `buf`; returns the
        count (at least 1). Reading returns credits to the peer, so a program that reads
        slowly slows the sender down, and nothing is lost.

        Data received before the channel closed is still returned; then it raises
        `L2CAPDisconnectedError`. Raises `asyncio.TimeoutError` after `timeout_ms`."""
        if not len(buf):
            raise ValueError("recvinto() needs a buffer of at least one byte")
        lock = self._recv_lock
        if lock is None:
            lock = self._recv_lock = asyncio.Lock()
        async with lock:
            n = self._read(buf)
            if n:
                return n
            return await wait_for_ms(self._recv_loop(buf), timeout_ms)

    async def _recv_loop(self, buf: "Any") -> int:
        flag = self._recv_flag
        self._waiters.append(flag)
        try:
            while True:
                n = self._read(buf)
                if n:
                    return n
                if not self._open:
                    raise L2CAPDisconnectedError
                await flag.wait()
        finally:
            self._waiters.remove(flag)

    # --- sending --------------------------------------------------------------------------------

    def _lock_send(self) -> asyncio.Lock:
        lock = self._send_lock
        if lock is None:
            lock = self._send_lock = asyncio.Lock()
        return lock

    async def send(
        self, buf: "Any", timeout_ms: "int | None" = None, chunk_size: "int | None" = None
    ) -> None:
        """Send `buf`, as SDUs of at most `peer_mtu` bytes (or `chunk_size`, if smaller).

        Returns once the last SDU is handed to the stack (`flush()` waits until it has gone
        out). When the peer has no room, waits for it; `timeout_ms` bounds each such wait
        (`asyncio.TimeoutError`: the peer took nothing for that long). Raises
        `L2CAPDisconnectedError` if the channel closes before everything was handed over.
        Concurrent sends on one channel go one after the other, never interleaved."""
        if isinstance(buf, str):
            buf = buf.encode()
        data = memoryview(buf)
        size = self.peer_mtu
        if chunk_size is not None:
            if chunk_size < 1:
                raise ValueError("chunk_size must be at least 1")
            size = min(size, chunk_size)
        async with self._lock_send():
            offset = 0
            total = len(data)
            while offset < total:
                if self._stalled():
                    await self._until_sent(timeout_ms)
                ble, handle = self._ble_handle()
                count = self._ready_count
                try:
                    sent = ble.l2cap_send(handle, self._cid, data[offset : offset + size])
                except OSError as e:
                    if e.args and e.args[0] == _EBUSY:
                        raise  # a stalled channel sent to: a bug here, not the peer
                    # ENOTCONN / ENODEV: the stack closed the channel (or the radio went
                    # off); its L2CAP_DISCONNECT may still be on its way to us.
                    raise L2CAPDisconnectedError from None
                if not sent:
                    self._stalled_at = count
                offset += size

    async def flush(self, timeout_ms: "int | None" = None) -> None:
        """Await the stack handing every SDU sent so far to the controller (the peer had
        room for it). Raises `L2CAPDisconnectedError` if the channel is or gets closed,
        `asyncio.TimeoutError` after `timeout_ms`."""
        async with self._lock_send():
            await self._until_sent(timeout_ms)
            if not self._open:
                raise L2CAPDisconnectedError

    async def _until_sent(self, timeout_ms: "int | None") -> None:
        if not self._stalled():
            return
        await self._wait(self._send_flag, self._sent_or_closed, timeout_ms)
        if self._stalled():
            # Closed with SDUs still queued: the stack dropped them.
            raise L2CAPDisconnectedError

    def _sent_or_closed(self) -> bool:
        return not self._open or not self._stalled()

    # --- closing --------------------------------------------------------------------------------

    async def disconnect(self, timeout_ms: "int | None" = 1000) -> None:
        """Close the channel and await the close (returns at once if it is closed).
        Raises `asyncio.TimeoutError` after `timeout_ms`."""
        if not self._open:
            return
        handle = self.connection._conn_handle
        if handle is not None:
            try:
                self.connection._radio.ble.l2cap_disconnect(handle, self._cid)
            except OSError:
                pass  # already closed in the stack: its L2CAP_DISCONNECT is on its way
        await self.disconnected(timeout_ms)

    async def disconnected(self, timeout_ms: "int | None" = 1000) -> None:
        """Await the channel closing (by either side, the link dropping or `aioble.stop()`).
        Raises `asyncio.TimeoutError` after `timeout_ms`."""
        if not self._open:
            return
        # A flag of its own: several tasks may await the close at once.
        await self._wait(ThreadSafeFlag(), self._is_closed, timeout_ms)

    def _is_closed(self) -> bool:
        return not self._open

    async def __aenter__(self) -> "L2CAPChannel":
        return self

    async def __aexit__(
        self,
        exc_type: "type[BaseException] | None",
        exc_val: "BaseException | None",
        exc_tb: "TracebackType | None",
    ) -> None:
        await self.disconnect()


class _Accept:
    """An `l2cap_accept()` waiting for a channel."""

    __slots__ = ("psm", "flag", "channel", "abandoned")

    def __init__(self, psm: int) -> None:
        self.psm = psm
        self.flag = ThreadSafeFlag()
        self.channel: L2CAPChannel | None = None
        self.abandoned = False

    def is_done(self) -> bool:
        return self.channel is not None


class _Connect:
    """An `l2cap_connect()` waiting for L2CAP_CONNECT (or a failing L2CAP_DISCONNECT)."""

    __slots__ = ("psm", "flag", "channel", "status", "done", "abandoned")

    def __init__(self, psm: int) -> None:
        self.psm = psm
        self.flag = ThreadSafeFlag()
        self.channel: L2CAPChannel | None = None
        self.status = 0
        self.done = False
        self.abandoned = False

    def is_done(self) -> bool:
        return self.done


class _Channels:
    """The L2CAP state of one connection."""

    def __init__(self, connection: DeviceConnection) -> None:
        self.connection = connection
        # cid -> open channel.
        self.channels: dict = {}
        # Waiting l2cap_accept() calls, oldest first.
        self.accepts: list = []
        # Channels the peer opened that no l2cap_accept() has taken yet, oldest first.
        self.backlog: list = []
        # (psm, cid the stack expects) of channels accepted, whose L2CAP_CONNECT is to come.
        self.incoming: list = []
        # Our l2cap_connect() attempts whose outcome is to come, oldest first (an abandoned
        # one stays until its outcome arrives, so it cannot be taken for a later one's).
        self.connects: list = []

    def _link_lost(self, connection: DeviceConnection) -> None:
        for channel in list(self.channels.values()):
            channel._closed(_STATUS_LINK_LOST)
        for channel in self.backlog:
            channel._closed(_STATUS_LINK_LOST)
        self.channels.clear()
        self.incoming.clear()
        # accept()/connect() waiters wait through the connection, which wakes them.


def _channels(connection: DeviceConnection) -> _Channels:
    state = connection._l2cap
    if state is None:
        # The program's thread (accept, connect) and the IRQ thread (a peer's channel) may
        # both get here first; dict.setdefault lets exactly one state win.
        candidate = _Channels(connection)
        state = connection._extensions.setdefault("l2cap", candidate)
        if state is candidate:
            connection._disconnect_handlers.append(state._link_lost)
            connection._l2cap = state
    return state


class _L2capState:
    def __init__(self, radio: Radio) -> None:
        # psm -> our MTU, for the PSMs this radio listens on (the stack keeps listening until
        # the radio is turned off).
        self.listening: dict = {}


def _l2cap(r: Radio) -> _L2capState:
    return r.role_state("l2cap", _L2capState)


def listen(psm: int, mtu: int) -> None:
    """Start accepting channels on `psm` now, on the current radio (turning it on).

    `l2cap_accept()` does this by itself; call it earlier (say, before advertising) so that a
    peer that opens a channel as soon as it connects is not refused: its channel waits in the
    connection's backlog for `l2cap_accept()`. Listening lasts until `aioble.stop()`."""
    _listen(ensure_active(), psm, mtu)


def _listen(r: Radio, psm: int, mtu: int) -> None:
    state = _l2cap(r)
    if state.listening.get(psm) != mtu:
        r.ble.l2cap_listen(psm, mtu)
        state.listening[psm] = mtu


# Use connection.l2cap_accept() rather than calling this directly.
async def accept(
    connection: DeviceConnection, psm: int, mtu: int, timeout_ms: "int | None" = None
) -> L2CAPChannel:
    """Await a channel the peer opens on `psm` (listening on it with `mtu` if not already).

    Returns at once with a channel the peer opened earlier (see `listen`). Raises
    `asyncio.TimeoutError` after `timeout_ms`, `DeviceDisconnectedError` if the link drops
    (or `aioble.stop()`)."""
    _check_connection(connection)
    connection._check_connected()
    _listen(connection._radio, psm, mtu)
    state = _channels(connection)
    for channel in state.backlog:
        if channel.psm == psm:
            state.backlog.remove(channel)
            return channel
    waiter = _Accept(psm)
    state.accepts.append(waiter)
    try:
        await connection._wait(waiter.flag, waiter.is_done, timeout_ms)
    except BaseException:
        # Mark it first: a channel handed over right now is either seen here or sees the
        # mark (_give), and goes back to the backlog either way.
        waiter.abandoned = True
        if waiter in state.accepts:
            state.accepts.remove(waiter)
        if waiter.channel is not None:
            state.backlog.insert(0, waiter.channel)
        raise
    return waiter.channel


# Use connection.l2cap_connect() rather than calling this directly.
async def connect(
    connection: DeviceConnection, psm: int, mtu: int, timeout_ms: "int | None" = 1000
) -> L2CAPChannel:
    """Open a channel to the peer's `psm`, offering to receive SDUs of up to `mtu` bytes.

    Raises `L2CAPConnectionError(status)` if the peer refuses or does not listen on `psm`,
    `asyncio.TimeoutError` after `timeout_ms` (the attempt is abandoned: a channel that opens
    later is closed at once), `DeviceDisconnectedError` if the link drops."""
    _check_connection(connection)
    connection._check_connected()
    state = _channels(connection)
    pending = _Connect(psm)
    state.connects.append(pending)
    try:
        connection._call(connection._radio.ble.l2cap_connect, psm, mtu)
    except BaseException:
        state.connects.remove(pending)
        raise
    try:
        await connection._wait(pending.flag, pending.is_done, timeout_ms)
    except BaseException:
        pending.abandoned = True
        channel = pending.channel
        if channel is not None:
            _close_unwanted(state, channel)
        raise
    if pending.channel is None:
        if not connection.is_connected():
            raise DeviceDisconnectedError
        raise L2CAPConnectionError(pending.status)
    return pending.channel


def _close_unwanted(state: _Channels, channel: L2CAPChannel) -> None:
    handle = state.connection._conn_handle
    if handle is None or not channel._open:
        return
    try:
        state.connection._radio.ble.l2cap_disconnect(handle, channel._cid)
    except OSError as e:
        log_warn("closing an unwanted L2CAP channel:", e)


# --- IRQs (IRQ thread) ---------------------------------------------------------------------------


def _accept_irq(r: Radio, event: int, data: "Any") -> int:
    conn_handle, cid, psm, our_mtu, peer_mtu = data
    connection = r.connections.get(conn_handle)
    if connection is None:
        return _REFUSED_NO_RESOURCES
    state = _channels(connection)
    waiting = any(a.psm == psm and not a.abandoned for a in state.accepts)
    queued = sum(1 for c in state.backlog if c.psm == psm)
    queued += sum(1 for p, _ in state.incoming if p == psm)
    if not waiting and queued >= _ACCEPT_BACKLOG:
        log_warn("refusing an L2CAP channel on PSM", psm, ": nobody accepts it")
        return _REFUSED_NO_RESOURCES
    state.incoming.append((psm, cid))
    return 0


def _connect_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, cid, psm, our_mtu, peer_mtu = data
    connection = r.connections.get(conn_handle)
    if connection is None:
        return
    state = _channels(connection)
    channel = L2CAPChannel(connection, cid, psm, our_mtu, peer_mtu)
    incoming = _find_incoming(state, psm, cid)
    pending = None
    for p in state.connects:
        if p.psm == psm:
            pending = p
            break
    if incoming is not None and (incoming[1] == cid or pending is None):
        state.incoming.remove(incoming)
        state.channels[cid] = channel
        _give(state, channel)
    elif pending is not None:
        state.connects.remove(pending)
        state.channels[cid] = channel
        pending.channel = channel
        pending.done = True
        pending.flag.set()
        if pending.abandoned:
            _close_unwanted(state, channel)
    else:
        # Not announced by L2CAP_ACCEPT and not ours: nobody would ever read it.
        log_warn("closing an L2CAP channel nobody asked for, PSM", psm)
        state.channels[cid] = channel
        _close_unwanted(state, channel)


def _find_incoming(state: _Channels, psm: int, cid: int) -> "tuple[int, int] | None":
    found = None
    for entry in state.incoming:
        if entry[0] == psm:
            if entry[1] == cid:
                return entry
            if found is None:
                found = entry
    return found


def _give(state: _Channels, channel: L2CAPChannel) -> None:
    for waiter in list(state.accepts):
        if waiter.psm == channel.psm and not waiter.abandoned:
            state.accepts.remove(waiter)
            waiter.channel = channel
            waiter.flag.set()
            return
    state.backlog.append(channel)


def _disconnect_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, cid, psm, status = data
    connection = r.connections.get(conn_handle)
    if connection is None or connection._l2cap is None:
        return
    state = connection._l2cap
    channel = state.channels.pop(cid, None)
    if channel is not None:
        channel._closed(int(status))
        return
    # A channel that never opened: one of our connects failed.
    for pending in state.connects:
        if pending.psm == psm:
            state.connects.remove(pending)
            pending.status = int(status) or _REFUSED_NO_RESOURCES
            pending.done = True
            pending.flag.set()
            return


def _data_irq(r: Radio, event: int, data: "Any") -> None:
    connection = r.connections.get(data[0])
    if connection is None or connection._l2cap is None:
        return
    channel = connection._l2cap.channels.get(data[1])
    if channel is None:
        return
    if event == _IRQ_L2CAP_RECV:
        channel._recv_flag.set()
    else:
        channel._ready_count += 1
        channel._send_flag.set()


def _stop(r: Radio) -> None:
    # Listen again after a restart (l2cap_accept() calls l2cap_listen when the PSM is not in
    # here). Connections, and their channels, were closed by device.py's stop handler.
    state = r.roles.get("l2cap")
    if state is not None:
        state.listening.clear()


register_irq_handler((_IRQ_L2CAP_ACCEPT,), _accept_irq)
register_irq_handler((_IRQ_L2CAP_CONNECT,), _connect_irq)
register_irq_handler((_IRQ_L2CAP_DISCONNECT,), _disconnect_irq)
register_irq_handler((_IRQ_L2CAP_RECV, _IRQ_L2CAP_SEND_READY), _data_irq)
register_stop_handler(_stop)

__all__ = [
    "L2CAPChannel",
    "L2CAPConnectionError",
    "L2CAPDisconnectedError",
    "accept",
    "connect",
    "listen",
]
