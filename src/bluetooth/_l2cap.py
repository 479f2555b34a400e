"""L2CAP LE credit-based channels with MicroPython's semantics.

Bumble does the signalling (connection request/response, disconnection, credit frames
arriving); this module owns the data path, because MicroPython's needs differ from Bumble's:

- a slow reader stalls the sender: credits go back to the peer only as the program consumes
  SDUs with ``l2cap_recvinto`` (Bumble returns them on receipt, so its buffer grows without
  bound);
- each ``l2cap_send`` is one SDU (Bumble merges queued writes), returns False when it could
  not be sent whole for lack of credits, and SEND_READY follows once it has gone;
- L2CAP_ACCEPT asks the program before the channel is accepted.

The module reaches the radio only through ``L2capHooks`` (the host implements them).

Thread: the stack thread, except what is for the program's threads (``L2cap.channel``,
and a ``Channel``'s ``check_send``, ``reserve``, ``read``, ``available``): the receive buffer and the send
credits are shared with them under locks, so ``l2cap_recvinto`` and a send the peer has
granted credits for do not wait for the stack.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import threading
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from bumble import l2cap as bl

from . import _events as ev
from ._threads import stack_side

if TYPE_CHECKING:
    from ._conn import Connection

logger = logging.getLogger(__name__)

MPS = 247  # a K-frame plus its L2CAP header fills one 251-byte LL packet
# Bytes a peer may send ahead of what the program has read. Credits come back only as the
# program reads, one connection event or more later, so the window must cover the link's rate
# times that round trip: 64 kB keeps a 2M link with DLE full at 50 ms intervals, and a reader
# that stops still stalls the sender after 64 kB.
RX_WINDOW = 65536
_Response = bl.L2CAP_LE_Credit_Based_Connection_Response
# Plain ints: they go out as IRQ statuses, where MicroPython has no IntEnum.
REFUSED_NO_PSM = int(_Response.Result.CONNECTION_REFUSED_LE_PSM_NOT_SUPPORTED)  # 0x0002
REFUSED_NO_RESOURCES = int(_Response.Result.CONNECTION_REFUSED_NO_RESOURCES_AVAILABLE)  # 0x0004


class L2capHooks(Protocol):
    def connection(self, handle: int) -> Connection | None: ...
    def emit(self, event: int, data: tuple[Any, ...]) -> None: ...
    async def ask(self, event: int, data: tuple[Any, ...], default: Any) -> Any: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any: ...
    def send_l2cap(self, conn: Connection, cid: int, pdu: bytes) -> None: ...


def _spec(psm: int, mtu: int) -> bl.LeCreditBasedChannelSpec:
    mps = min(mtu, MPS)
    credits = max(1, math.ceil(max(RX_WINDOW, 2 * (mtu + 2)) / mps))
    return bl.LeCreditBasedChannelSpec(psm=psm, mtu=mtu, mps=mps, max_credits=credits)


class Channel:
    def __init__(self, owner: L2cap, conn: Connection, link: bl.LeCreditBasedChannel) -> None:
        self.owner = owner
        self.hooks = owner.hooks
        self.conn = conn
        self.link = link
        # (int(): Bumble's fields may be int subclasses; these go out in IRQ payloads.)
        self.cid = int(link.source_cid)
        self.psm = int(link.psm)
        self.our_mtu = int(link.mtu)
        self.peer_mtu = int(link.peer_mtu)
        self.open = True
        # receive side (shared with program threads)
        self.lock = threading.Lock()
        self.rx: deque[list[Any]] = deque()  # [sdu, frames]; the front may be part-read
        self.rx_offset = 0
        self.available = 0
        self.granted = link.peer_credits  # credits the peer may still use
        self._sdu = bytearray()
        self._sdu_length = -1
        self._sdu_frames = 0
        # send side: credits are reserved under tx_lock by whoever sends, so a program's
        # thread can send without waiting for the stack when it sees enough credits
        self.tx_lock = threading.Lock()
        self.credits = link.credits  # the peer's credits not yet spent or reserved
        self.tx: deque[bytes] = deque()  # frames waiting for credits (stack thread)
        self.stalled = False
        link.on_pdu = self._on_frame  # type: ignore[method-assign]
        link.on_credits = self._on_credits  # type: ignore[method-assign]
        link.on(link.EVENT_CLOSE, self._on_close)

    # --- receiving ----------------------------------------------------------------------------

    def _on_frame(self, frame: bytes) -> None:
        if not self.open:
            return
        if self.granted <= 0:
            return self._violation("a K-frame arrived without credit")
        self.granted -= 1
        self._sdu_frames += 1
        if self._sdu_length < 0:
            if len(frame) < 2:
                return self._violation("a first K-frame without an SDU length")
            self._sdu_length = frame[0] | frame[1] << 8
            frame = frame[2:]
            if self._sdu_length > self.our_mtu:
                return self._violation(f"an SDU of {self._sdu_length} bytes exceeds our MTU")
        self._sdu += frame
        if len(self._sdu) > self._sdu_length:
            return self._violation("an SDU longer than its declared length")
        if len(self._sdu) < self._sdu_length:
            return
        sdu, frames = bytes(self._sdu), self._sdu_frames
        self._sdu.clear()
        self._sdu_length = -1
        self._sdu_frames = 0
        with self.lock:
            self.rx.append([sdu, frames])
            self.available += len(sdu)
        self.hooks.emit(ev.L2CAP_RECV, (self.conn.handle, self.cid))

    def _violation(self, what: str) -> None:
        logger.warning("L2CAP channel %d: %s; disconnecting", self.cid, what)
        self.hooks.spawn(self.disconnect())

    def read(self, size: int) -> tuple[bytes, int]:
        """Take up to ``size`` bytes (a program thread); returns them and the credits that
        consuming them frees."""
        out = bytearray()
        freed = 0
        with self.lock:
            while self.rx and len(out) < size:
                entry = self.rx[0]
                sdu = entry[0]
                take = min(size - len(out), len(sdu) - self.rx_offset)
                out += sdu[self.rx_offset : self.rx_offset + take]
                self.rx_offset += take
                if self.rx_offset == len(sdu):
                    self.rx.popleft()
                    self.rx_offset = 0
                    freed += entry[1]
            self.available -= len(out)
        return bytes(out), freed

    @stack_side
    def give_credits(self, count: int) -> None:
        """Return credits to the peer (stack thread)."""
        if not self.open or count <= 0:
            return
        self.granted += count
        manager = self.link.manager
        manager.send_control_frame(
            self.conn.link,
            bl.L2CAP_LE_SIGNALING_CID,
            bl.L2CAP_LE_Flow_Control_Credit(
                identifier=manager.next_identifier(self.conn.link),
                cid=self.cid,
                credits=count,
            ),
        )

    # --- sending ------------------------------------------------------------------------------

    def check_send(self, data: bytes) -> None:
        """What makes a send fail at once (any thread)."""
        if not self.open:
            raise OSError(errno.ENOTCONN, f"L2CAP channel {self.cid} is closed (ENOTCONN)")
        if self.stalled:
            raise OSError(
                errno.EBUSY,
                f"L2CAP channel {self.cid} is stalled: wait for L2CAP_SEND_READY (EBUSY)",
            )
        if len(data) > self.peer_mtu:
            raise ValueError(f"{len(data)} bytes exceed the peer's L2CAP MTU of {self.peer_mtu}")

    def _frames(self, data: bytes) -> list[bytes]:
        sdu = len(data).to_bytes(2, "little") + data
        mps = self.link.peer_mps
        return [sdu[i : i + mps] for i in range(0, len(sdu), mps)]

    def reserve(self, data: bytes) -> bool:
        """Reserve the credits to send ``data`` whole (a program's thread); False if the
        peer has not granted enough, or earlier data still waits."""
        needed = -(-(len(data) + 2) // self.link.peer_mps)
        with self.tx_lock:
            if self.stalled or self.credits < needed:
                return False
            self.credits -= needed
            return True

    @stack_side
    def send_reserved(self, data: bytes) -> None:
        """Send data whose credits ``reserve`` took (stack thread)."""
        if self.open:
            for frame in self._frames(data):
                self.hooks.send_l2cap(self.conn, self.link.destination_cid, frame)

    @stack_side
    def send(self, data: bytes) -> bool:
        """Send what credits allow and queue the rest (stack thread); False when stalled."""
        self.check_send(data)
        self.tx.extend(self._frames(data))
        self._pump()
        return not self.stalled

    def _pump(self) -> None:
        with self.tx_lock:
            count = min(len(self.tx), self.credits)
            self.credits -= count
            frames = [self.tx.popleft() for _ in range(count)]
            self.stalled = bool(self.tx)
        for frame in frames:
            self.hooks.send_l2cap(self.conn, self.link.destination_cid, frame)

    def _on_credits(self, credits: int) -> None:
        with self.tx_lock:
            self.credits += credits
            was_stalled = self.stalled
        self._pump()
        if was_stalled and not self.stalled:
            self.hooks.emit(ev.L2CAP_SEND_READY, (self.conn.handle, self.cid, 0))

    # --- closing ------------------------------------------------------------------------------

    @stack_side
    async def disconnect(self) -> None:
        if self.open and self.link.state == self.link.State.CONNECTED:
            await self.link.disconnect()

    def _on_close(self) -> None:
        if not self.open:
            return
        self.open = False
        self.tx.clear()
        # Bumble 0.0.236 forgets a closed LE channel in one of its two tables only, and then
        # refuses a new channel from the peer with the same CID: forget it in both.
        manager = self.link.manager
        manager.channels.get(self.conn.handle, {}).pop(self.cid, None)
        manager.le_coc_channels.get(self.conn.handle, {}).pop(self.link.destination_cid, None)
        self.owner.closed(self)
        self.hooks.emit(ev.L2CAP_DISCONNECT, (self.conn.handle, self.cid, self.psm, 0))


class L2cap:
    """The radio's channels and listening PSMs."""

    def __init__(self, hooks: L2capHooks) -> None:
        self.hooks = hooks
        self.channels: dict[tuple[int, int], Channel] = {}
        self.listening: dict[int, int] = {}  # psm -> our MTU
        self._manager: Any = None

    def attach(self, manager: Any) -> None:
        """Hook a freshly powered-on device's channel manager."""
        self._manager = manager
        original = manager.on_l2cap_le_credit_based_connection_request

        def on_request(connection: Any, cid: int, request: Any) -> None:
            if request.le_psm not in manager.le_coc_servers:
                original(connection, cid, request)  # Bumble refuses: PSM not supported
                return
            self.hooks.spawn(self._ask_accept(connection, cid, request, original))

        manager.on_l2cap_le_credit_based_connection_request = on_request
        for psm, mtu in self.listening.items():
            self._serve(psm, mtu)

    def _serve(self, psm: int, mtu: int) -> None:
        manager = self._manager
        if psm in manager.le_coc_servers:
            manager.le_coc_servers[psm].close()
        manager.create_le_credit_based_server(_spec(psm, mtu), self._accepted)

    @stack_side
    def listen(self, psm: int, mtu: int) -> None:
        self.listening[psm] = mtu
        if self._manager is not None:
            self._serve(psm, mtu)

    async def _ask_accept(self, connection: Any, cid: int, request: Any, original: Any) -> None:
        conn = self.hooks.connection(connection.handle)
        server = self._manager.le_coc_servers.get(request.le_psm)
        if conn is None or server is None:
            return
        expected_cid = self._manager.find_free_le_cid(
            self._manager.channels.get(connection.handle, {})
        )
        answer = await self.hooks.ask(
            ev.L2CAP_ACCEPT,
            (
                conn.handle,
                int(expected_cid or 0),
                int(request.le_psm),
                int(server.mtu),
                int(request.mtu),
            ),
            0,
        )
        if not conn.connected:
            return
        if not answer:
            original(connection, cid, request)  # creates the channel; _accepted follows
            return
        result = answer if isinstance(answer, int) and 2 <= answer <= 0x0B else REFUSED_NO_RESOURCES
        self._manager.send_control_frame(
            connection,
            cid,
            _Response(
                identifier=request.identifier,
                destination_cid=0,
                mtu=server.mtu,
                mps=server.mps,
                initial_credits=0,
                result=result,
            ),
        )

    def _accepted(self, link: bl.LeCreditBasedChannel) -> None:
        conn = self.hooks.connection(link.connection.handle)
        if conn is not None:
            self._opened(conn, link)

    def _opened(self, conn: Connection, link: bl.LeCreditBasedChannel) -> None:
        channel = Channel(self, conn, link)
        self.channels[(conn.handle, channel.cid)] = channel
        self.hooks.emit(
            ev.L2CAP_CONNECT,
            (conn.handle, channel.cid, channel.psm, channel.our_mtu, channel.peer_mtu),
        )

    @stack_side
    async def connect(self, conn: Connection, psm: int, mtu: int) -> None:
        """Open a channel (a stack task); L2CAP_CONNECT or L2CAP_DISCONNECT reports it."""
        manager = self._manager
        spec = _spec(psm, mtu)
        channels = manager.channels.setdefault(conn.handle, {})
        cid = manager.find_free_le_cid(channels)
        if cid is None:
            self.hooks.emit(ev.L2CAP_DISCONNECT, (conn.handle, 0, psm, REFUSED_NO_RESOURCES))
            return
        link = bl.LeCreditBasedChannel(
            manager=manager,
            connection=conn.link,
            psm=psm,
            source_cid=cid,
            destination_cid=0,
            mtu=spec.mtu,
            mps=spec.mps,
            credits=0,
            peer_mtu=0,
            peer_mps=0,
            peer_credits=spec.max_credits,
            connected=False,
        )
        # Take over the data path as the channel opens, before any K-frame can arrive.
        link.once(link.EVENT_OPEN, lambda: self._opened(conn, link))
        channels[cid] = link
        try:
            await link.connect()
        except (Exception, asyncio.CancelledError) as error:  # noqa: BLE001 - each ends the attempt
            channels.pop(cid, None)
            # Bumble keeps a request nobody answered (the link dropped) and would refuse a
            # later connect that reuses its identifier.
            for identifier, request in list(manager.le_coc_requests.items()):
                if request.source_cid == cid and request.le_psm == psm:
                    del manager.le_coc_requests[identifier]
            if isinstance(error, bl.L2capError):
                status = int(error.error_code)  # the peer refused
            elif conn.connected:
                logger.warning("L2CAP connect on PSM %d failed: %r", psm, error)
                status = REFUSED_NO_RESOURCES
            else:
                status = ev.STATUS_NOT_CONNECTED
            self.hooks.emit(ev.L2CAP_DISCONNECT, (conn.handle, cid, psm, status))
            return
        manager.le_coc_channels.setdefault(conn.handle, {})[link.destination_cid] = link

    def channel(self, conn_handle: int, cid: int) -> Channel:
        channel = self.channels.get((conn_handle, cid))
        if channel is None:
            raise OSError(
                errno.ENOTCONN, f"no L2CAP channel {cid} on connection {conn_handle} (ENOTCONN)"
            )
        return channel

    def closed(self, channel: Channel) -> None:
        # Unread data stays readable after the channel closes; the entry goes once drained.
        if not channel.available:
            self.channels.pop((channel.conn.handle, channel.cid), None)

    @stack_side
    def drained(self, channel: Channel) -> None:
        if not channel.open and not channel.available:
            self.channels.pop((channel.conn.handle, channel.cid), None)

    def connection_gone(self, conn: Connection) -> None:
        """The link dropped (or the radio went off): its channels close."""
        for channel in list(self.channels.values()):
            if channel.conn is conn and channel.open:
                channel._on_close()
