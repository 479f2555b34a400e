"""The shared radio: one medium served over TCP, one virtual controller per connection.

A client may start with the hello of ``transport.encode_hello`` (it names the device);
a client that starts with H4 at once (Bumble's plain ``tcp-client:``) is served too.
When a connection closes, its controller leaves the medium abruptly: its advertising
stops and its peers lose their links (supervision timeout, reason 0x08), and the server
keeps only a summary of it (label, address, energy; a bounded history).

A long-running server must survive careless clients, so what one client costs is bounded
(``RadioServer`` attributes, lowered by tests): a client that does not read what it is sent
stops being read once ``pause_backlog`` bytes wait for it (it cannot make the server work
for nothing), and is cut off, with one log line, when ``max_backlog`` bytes wait or the
backlog stays over ``pause_backlog`` for ``backlog_grace`` seconds. A device joining under a
label a connected device holds gets a distinct label (``alpha#2``) and a warning, unless
the holder's connection has in fact closed (a program that restarted quicker than the
server noticed): then the old one leaves first and the new one gets its label and address.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from bumble.transport.common import PacketParser

import vclock
from vclock import Traffic

from ..air.medium import DeviceInfo, Medium, MediumOptions, ScanRecord, format_address
from ..capture import capture_from_env
from ..controller import VirtualController
from .tcp import HELLO_MAGIC, HELLO_MAX_BODY, quickack, tune_socket

logger = logging.getLogger(__name__)

# What one client may cost (defaults of the RadioServer attributes of the same names).
PAUSE_BACKLOG = 1 << 20  # bytes waiting for a client: stop reading its packets
RESUME_BACKLOG = 256 << 10  # read it again once its backlog is down to this
MAX_BACKLOG = 8 << 20  # cut off: what others' traffic (scan reports...) may queue for it
BACKLOG_GRACE = 10.0  # s: cut off when the backlog stays over PAUSE_BACKLOG this long
# A client's H4 bytes handled per turn of the loop: one client sending a burst of commands
# (each read is up to 256 KB) must not hold up the others' radio events.
FEED_CHUNK = 4 << 10
DEPARTED_KEPT = 1024  # departed devices listed by devices() (summaries, not controllers)
# Warnings about clients, server-wide: at most this many per window, the rest counted.
WARNINGS_PER_WINDOW = 20
WARNING_WINDOW = 60.0  # s

_POLL_GONE = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR


class _Warnings:
    """Warnings about clients, rate-limited: a stream of bad clients must not flood the log.
    (Each connection also warns at most once.)"""

    def __init__(self) -> None:
        self.window_start = 0.0
        self.count = 0
        self.suppressed = 0

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.window_start >= WARNING_WINDOW:
            if self.suppressed:
                logger.warning("radio: %d more warnings about clients suppressed", self.suppressed)
            self.window_start, self.count, self.suppressed = now, 0, 0
        if self.count >= WARNINGS_PER_WINDOW:
            self.suppressed += 1
            return
        self.count += 1
        logger.warning(message, *args)


class _ControllerSink:
    """Controller->host packets written to the client's socket, within its bounds."""

    __slots__ = ("connection",)

    def __init__(self, connection: _Connection) -> None:
        self.connection = connection

    def on_packet(self, packet: bytes) -> None:
        self.connection.send(packet)


class _Member:
    """A device that joined: its controller while connected, a summary once it left."""

    __slots__ = ("key", "label", "address", "controller", "account")

    def __init__(self, key: int, controller: VirtualController, account: Any) -> None:
        self.key = key
        self.label = controller.label
        self.address = format_address(controller.public_address)
        self.controller: VirtualController | None = controller
        self.account = account  # the medium's record of its radio time (None: fast mode)


class _Connection(asyncio.Protocol):
    def __init__(self, server: RadioServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.sock: Any = None
        self.controller: VirtualController | None = None
        self.member: _Member | None = None
        self.parser: PacketParser | None = None
        self.name = "a client"  # for log lines: its label once known
        self._head = bytearray()  # bytes before the controller exists (hello)
        self._pending = bytearray()  # bytes read, not yet handled (FEED_CHUNK per turn)
        self._feeding = False  # a turn of _feed is scheduled
        self._write_paused = False  # its backlog is over pause_backlog
        self._grace: asyncio.TimerHandle | None = None
        self._gone = False  # cut off, closed or lost: write and read nothing more
        self._warned = False
        # On a run's simulated clock: the count of H4 bytes handled each way, by the master
        # (vclock.remote), which jumps only once both sides have handled all of them.
        self.traffic: Traffic | None = None

    # ------------------------------------------------------------------ asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sock = transport.get_extra_info("socket")
        tune_socket(self.sock)
        transport.set_write_buffer_limits(
            high=self.server.pause_backlog,
            low=min(self.server.resume_backlog, self.server.pause_backlog),
        )
        self.server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self._gone:
            return
        quickack(self.sock)
        if self.parser is None:
            self._head += data
            data = self._read_hello()
            if self.parser is None:
                return
        self._pending += data
        self._feed()

    def pause_writing(self) -> None:
        # Its backlog passed pause_backlog: stop handling its packets (no more answers pile
        # up), and give it backlog_grace seconds to catch up.
        self._write_paused = True
        self._update_reading()
        if self._grace is None and not self._gone:
            loop = asyncio.get_running_loop()
            self._grace = loop.call_later(self.server.backlog_grace, self._grace_over)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._update_reading()
        if self._pending and not self._feeding:
            self._feed()

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        self._pending = bytearray()
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self.server._connections.discard(self)
        controller, self.controller = self.controller, None  # (called again by asyncio)
        self.parser = None  # (it holds the controller)
        if controller is not None:
            logger.info("radio: %s left", controller.label)
            controller.set_packet_sink(None)
            controller.close()
            self.server._left(self)

    # ------------------------------------------------------------------ H4 in
    def _feed(self) -> None:
        """Handle up to FEED_CHUNK bytes of what the client sent; the rest on later turns,
        without reading more meanwhile."""
        self._feeding = False
        if self._gone or self.parser is None or self._write_paused:
            self._update_reading()
            return
        chunk = bytes(self._pending[:FEED_CHUNK])
        del self._pending[:FEED_CHUNK]
        try:
            self.parser.feed_data(chunk)
        except Exception as error:  # (Bumble's parser: InvalidPacketError, ValueError...)
            self.cut_off(f"malformed H4 data ({error})")
            return
        if self.traffic is not None:
            self.traffic.received += len(chunk)
        if self._pending and not self._gone and not self._write_paused:
            self._feeding = True
            asyncio.get_running_loop().call_soon(self._feed)
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or self._gone or transport.is_closing():
            return
        if self._write_paused or self._pending:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def _read_hello(self) -> bytes:
        head = self._head
        label: str | None = None
        if head[0] == HELLO_MAGIC[0]:
            if len(head) < len(HELLO_MAGIC) + 2:
                return b""
            if bytes(head[: len(HELLO_MAGIC)]) != HELLO_MAGIC:
                self.cut_off("bad hello")
                return b""
            (size,) = struct.unpack_from("<H", head, len(HELLO_MAGIC))
            start = len(HELLO_MAGIC) + 2
            if size > HELLO_MAX_BODY:
                self.cut_off("oversized hello")
                return b""
            if len(head) < start + size:
                return b""
            try:
                body = json.loads(bytes(head[start : start + size]).decode())
                label = body.get("label") if isinstance(body, dict) else None
                if label is not None:
                    label = str(label)
                clock = body.get("clock") if isinstance(body, dict) else None
                master = vclock.master()
                if clock is not None and master is not None:
                    self.traffic = master.traffic(str(clock))
            except ValueError:
                self._warn("radio: unreadable hello body from a client; it joins with no label")
            rest = bytes(head[start + size :])
        else:
            rest = bytes(head)
        self._head = bytearray()
        self._start_controller(label)
        return rest

    def _start_controller(self, label: str | None) -> None:
        assert self.transport is not None
        taken = self.server._take_label(self, label) if label else False
        controller = VirtualController(self.server.medium, label=label)
        controller.set_packet_sink(_ControllerSink(self))
        self.controller = controller
        self.name = controller.label
        self.server._joined(self, controller)
        self.parser = PacketParser(controller)
        logger.info(
            "radio: %s joined as %s", controller.label, format_address(controller.public_address)
        )
        if taken:
            self._warn(
                "radio: label %r is in use by a connected device; this one joins as %r, "
                "with another address (give each program its own AIOBLE_LABEL)",
                label,
                controller.label,
            )

    # ------------------------------------------------------------------ H4 out, bounds
    def send(self, packet: bytes) -> None:
        transport = self.transport
        # Once it is gone, write nothing: asyncio logs "socket.send() raised exception"
        # for every write to a lost connection.
        if self._gone or transport is None or transport.is_closing():
            return
        transport.write(packet)
        if self.traffic is not None:
            self.traffic.sent += len(packet)
        backlog = transport.get_write_buffer_size()
        if backlog > self.server.max_backlog:
            self.cut_off(f"{backlog} bytes wait for it (it reads nothing)")

    def _grace_over(self) -> None:
        self._grace = None
        transport = self.transport
        if transport is None or self._gone:
            return
        backlog = transport.get_write_buffer_size()
        self.cut_off(
            f"it read too little for {self.server.backlog_grace:g} s ({backlog} bytes wait for it)"
        )

    def cut_off(self, why: str) -> None:
        """Drop this client at once (its backlog is discarded), with one log line."""
        if self._gone:
            return
        self._warn("radio: cutting off %s: %s", self.name, why)
        self._gone = True
        if self.transport is not None:
            self.transport.abort()  # (close() would wait to send the backlog first)

    def peer_closed(self) -> bool:
        """Whether the client closed its end (or the connection broke) though the server
        has not read that yet: it is not reading this client (paused), or the news has not
        been handled yet (a restarted program whose new connection came first)."""
        if self._gone:
            return True
        sock = self.sock
        try:
            fd = sock.fileno()
            if fd < 0:
                return True
            if hasattr(select, "POLLRDHUP"):  # Linux: sees a FIN even behind unread data
                poller = select.poll()
                poller.register(fd, _POLL_GONE)
                return bool(poller.poll(0))
            # no POLLRDHUP: an end of file first in line shows the peer closed
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError, AttributeError):
            return True

    def leave_now(self) -> None:
        """The client is gone: let its controller leave now, not when asyncio notices."""
        self._gone = True
        if self.transport is not None:
            self.transport.abort()
        self.connection_lost(None)

    def _warn(self, message: str, *args: object) -> None:
        if not self._warned:  # one line per client
            self._warned = True
            self.server._warnings.warn(message, *args)


class RadioServer:
    """A shared virtual radio listening on TCP (see ``serve``)."""

    def __init__(self, medium: Medium) -> None:
        self.medium = medium
        self.host = ""
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        # every device that joined and is listed, in join order (bounded, see _left)
        self._members: dict[int, _Member] = {}
        self._departed: collections.deque[int] = collections.deque()  # keys, oldest first
        self._by_label: dict[str, _Connection] = {}  # connected devices
        self._joins = 0
        self._warnings = _Warnings()
        self._member_watchers: list[Callable[[DeviceInfo], None]] = []
        # bounds (see the module docstring); set before clients connect
        self.pause_backlog = PAUSE_BACKLOG
        self.resume_backlog = RESUME_BACKLOG
        self.max_backlog = MAX_BACKLOG
        self.backlog_grace = BACKLOG_GRACE
        self.departed_kept = DEPARTED_KEPT

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def devices(self, profile: Any = None) -> list[DeviceInfo]:
        """Every device that joined, in order; ``connected`` is False once it left. Of the
        departed, only the latest ``departed_kept`` are listed (label, address, energy up
        to when it left). Energy figures use ``profile`` (an ``airtime.CurrentProfile``;
        the medium's by default)."""
        infos = []
        for member in self._members.values():
            controller = member.controller
            infos.append(
                DeviceInfo(
                    label=member.label,
                    address=member.address,
                    connected=controller is not None and not controller.closed,
                    links=len(controller.links) if controller is not None else 0,
                    energy=self._energy(member, profile),
                )
            )
        return infos

    def activity(self) -> list[Any]:
        """Each device's radio activity so far, as ``bleradio.activity.Activity`` spans
        (``label``, ``kind``, ``start``, ``end`` in seconds, ``on``): advertising events,
        scanning/connecting windows, connection events, merged where dense. Empty in fast
        mode (no air time). Departed devices' are kept up to a bound (the medium's)."""
        return self.medium.activity()

    def watch_scans(self, callback: Callable[[ScanRecord], None]) -> None:
        """Call ``callback(record)`` at the end of every scan of a device (air time only)."""
        self.medium.scan_watchers.append(callback)

    def watch_members(self, callback: Callable[[DeviceInfo], None]) -> None:
        """Call ``callback(info)`` when a device joins (``info.connected`` True) and when it
        leaves (False); ``info`` has its label and address (no energy figures)."""
        self._member_watchers.append(callback)

    def _tell_watchers(self, member: _Member, connected: bool) -> None:
        info = DeviceInfo(label=member.label, address=member.address, connected=connected)
        for callback in self._member_watchers:
            try:
                callback(info)
            except Exception:
                logger.exception("radio: a membership watcher failed")

    def _energy(self, member: _Member, profile: Any = None) -> Any:
        try:
            if member.controller is not None:
                return self.medium.energy(member.controller, profile)
            if member.account is not None:
                return self.medium.account_energy(member.account, profile)
        except (RuntimeError, KeyError):
            pass
        return None

    # ------------------------------------------------------------------ membership
    def _take_label(self, connection: _Connection, label: str) -> bool:
        """Before ``connection`` joins as ``label``: free the label if its holder's client
        has in fact gone; True if a connected device still holds it."""
        holder = self._by_label.get(label)
        if holder is None or holder is connection:
            return False
        if holder.peer_closed():
            logger.info("radio: %s rejoins; its previous connection had closed", label)
            holder.leave_now()
            return label in self._by_label
        return True

    def _joined(self, connection: _Connection, controller: VirtualController) -> None:
        self._joins += 1
        member = _Member(self._joins, controller, self.medium.account(controller))
        connection.member = member
        self._members[member.key] = member
        self._by_label[controller.label] = connection
        self._tell_watchers(member, connected=True)

    def _left(self, connection: _Connection) -> None:
        member = connection.member
        if member is None:
            return
        if self._by_label.get(member.label) is connection:
            del self._by_label[member.label]
        member.controller = None  # freed: only the summary stays
        self._tell_watchers(member, connected=False)
        if member.key not in self._members:
            return
        self._departed.append(member.key)
        while len(self._departed) > self.departed_kept:
            self._members.pop(self._departed.popleft(), None)

    async def _start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        sockname = self._server.sockets[0].getsockname()
        self.host, self.port = sockname[0], sockname[1]

    async def close(self) -> None:
        """Stop listening and drop every client (their controllers leave the medium), then
        finish the medium's capture, if it has one."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.leave_now()
        self.medium.close_capture()
        if self._server is not None:
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            await self.close()
            raise

    async def __aenter__(self) -> RadioServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    capture: Any = None,
    scenario: Any = None,
    **medium_options: Any,
) -> RadioServer:
    """Serve a new shared radio on TCP: a ``Medium`` with ``medium_options``
    (``MediumOptions`` fields), the environment's defaults (``AIOBLE_RADIO_FAST``,
    ``AIOBLE_RADIO_SEED``) for the others. ``capture``: a directory where the air goes
    (``air.pcap``), else ``AIOBLE_CAPTURE``'s, if set; ``scenario``: a
    ``bleradio.scenario.Scenario`` for its channel."""
    options = MediumOptions.merged(**medium_options)
    server = RadioServer(
        Medium(capture=capture or capture_from_env(), scenario=scenario, **options.__dict__)
    )
    try:
        await server._start(host, port)
    except OSError as error:
        server.medium.close_capture()
        raise OSError(error.errno, f"cannot serve the radio on {host}:{port}: {error}") from error
    return server
