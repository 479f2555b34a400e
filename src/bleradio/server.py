"""The shared radio: one medium served over TCP, one virtual controller per connection.

A client may start with the hello of ``transport.encode_hello`` (it names the device);
a client that starts with H4 at once (Bumble's plain ``tcp-client:``) is served too.
When a connection closes, its controller leaves the medium abruptly: its advertising
stops and its peers lose their links (supervision timeout, reason 0x08).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Callable
from typing import Any

from bumble.transport.common import PacketParser

from .controller import VirtualController
from .medium import DeviceInfo, Medium, MediumOptions, ScanRecord, format_address
from .transport import HELLO_MAGIC, HELLO_MAX_BODY, quickack, tune_socket

logger = logging.getLogger(__name__)


class _ControllerSink:
    """Controller->host packets written to the client's socket."""

    __slots__ = ("transport",)

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def on_packet(self, packet: bytes) -> None:
        self.transport.write(packet)


class _Connection(asyncio.Protocol):
    def __init__(self, server: RadioServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.sock: Any = None
        self.controller: VirtualController | None = None
        self.parser: PacketParser | None = None
        self._head = bytearray()  # bytes before the controller exists (hello)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sock = transport.get_extra_info("socket")
        tune_socket(self.sock)
        self.server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        quickack(self.sock)
        if self.parser is None:
            self._head += data
            data = self._read_hello()
            if self.parser is None:
                return
        try:
            self.parser.feed_data(data)
        except Exception:
            logger.warning("malformed H4 data from a client; closing it", exc_info=True)
            if self.transport is not None:
                self.transport.close()

    def _read_hello(self) -> bytes:
        head = self._head
        label: str | None = None
        if head[0] == HELLO_MAGIC[0]:
            if len(head) < len(HELLO_MAGIC) + 2:
                return b""
            if bytes(head[: len(HELLO_MAGIC)]) != HELLO_MAGIC:
                logger.warning("bad hello from a client; closing it")
                assert self.transport is not None
                self.transport.close()
                return b""
            (size,) = struct.unpack_from("<H", head, len(HELLO_MAGIC))
            start = len(HELLO_MAGIC) + 2
            if size > HELLO_MAX_BODY:
                logger.warning("oversized hello from a client; closing it")
                assert self.transport is not None
                self.transport.close()
                return b""
            if len(head) < start + size:
                return b""
            try:
                body = json.loads(bytes(head[start : start + size]).decode())
                label = body.get("label") if isinstance(body, dict) else None
                if label is not None:
                    label = str(label)
            except ValueError:
                logger.warning("unreadable hello body from a client; no label")
            rest = bytes(head[start + size :])
        else:
            rest = bytes(head)
        self._head = bytearray()
        self._start_controller(label)
        return rest

    def _start_controller(self, label: str | None) -> None:
        assert self.transport is not None
        controller = VirtualController(self.server.medium, label=label)
        controller.set_packet_sink(_ControllerSink(self.transport))
        self.controller = controller
        self.server._controllers.append(controller)
        self.parser = PacketParser(controller)
        logger.info(
            "radio: %s joined as %s", controller.label, format_address(controller.public_address)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        controller, self.controller = self.controller, None  # (called again by asyncio)
        if controller is not None:
            logger.info("radio: %s left", controller.label)
            controller.close()


class RadioServer:
    """A shared virtual radio listening on TCP (see ``serve``)."""

    def __init__(self, medium: Medium) -> None:
        self.medium = medium
        self.host = ""
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._controllers: list[VirtualController] = []

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def devices(self, profile: Any = None) -> list[DeviceInfo]:
        """Every device that joined, in order; ``connected`` is False once it left. Energy
        figures use ``profile`` (an ``airtime.CurrentProfile``; the medium's by default)."""
        return [
            DeviceInfo(
                label=c.label,
                address=format_address(c.public_address),
                connected=not c.closed,
                links=len(c.links),
                energy=self._energy(c, profile),
            )
            for c in self._controllers
        ]

    def activity(self) -> list[Any]:
        """Each device's radio activity so far, as ``bleradio.activity.Activity`` spans
        (``label``, ``kind``, ``start``, ``end`` in seconds, ``on``): advertising events,
        scanning/connecting windows, connection events, merged where dense. Empty in fast
        mode (no air time)."""
        return self.medium.activity()

    def watch_scans(self, callback: Callable[[ScanRecord], None]) -> None:
        """Call ``callback(record)`` at the end of every scan of a device (air time only)."""
        self.medium.scan_watchers.append(callback)

    def _energy(self, controller: VirtualController, profile: Any = None) -> Any:
        try:
            return self.medium.energy(controller, profile)
        except (RuntimeError, KeyError):
            return None

    async def _start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        sockname = self._server.sockets[0].getsockname()
        self.host, self.port = sockname[0], sockname[1]

    async def close(self) -> None:
        """Stop listening and drop every client (their controllers leave the medium)."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.close()
            connection.connection_lost(None)
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


async def serve(host: str = "127.0.0.1", port: int = 0, **medium_options: Any) -> RadioServer:
    """Serve a new shared radio on TCP: a ``Medium`` with ``medium_options``
    (``MediumOptions`` fields), the environment's defaults (``AIOBLE_RADIO_FAST``,
    ``AIOBLE_RADIO_SEED``) for the others."""
    options = MediumOptions.merged(**medium_options)
    server = RadioServer(Medium(**options.__dict__))
    try:
        await server._start(host, port)
    except OSError as error:
        raise OSError(error.errno, f"cannot serve the radio on {host}:{port}: {error}") from error
    return server
