"""``open_hci``: the one seam between a host stack and the radio.

Whatever the radio, the result is a Bumble ``Transport``: ``.source`` (the host sets its
packet sink there and gets controller->host H4 packets, and ``on_transport_lost()`` if the
radio goes away), ``.sink`` (``on_packet(h4)`` for host->controller packets) and
``async close()``.

Every radio path goes through ``open_hci``, so that is where a device's HCI traffic is
captured (``capture.snoop_transport``: ``AIOBLE_CAPTURE=DIR`` writes ``DIR/LABEL.btsnoop``,
``BUMBLE_SNOOPER`` Bumble's snooper).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from typing import Any

from bumble.transport.common import ParserSource, Transport, TransportSink

from .capture import snoop_transport
from .config import RadioConfig, parse_host_port
from .controller import VirtualController
from .medium import process_medium

logger = logging.getLogger(__name__)

# The hello a client of an `aioble radio` server sends before any H4 traffic:
#   HELLO_MAGIC (10 bytes) + body length (uint16 LE) + body (UTF-8 JSON object).
# Its first byte, 0x00, is no H4 packet type, so a server tells it from a plain Bumble
# `tcp-client` that starts with H4 at once. Body keys: "label" (str, optional).
HELLO_MAGIC = b"\x00BLERADIO1"
HELLO_MAX_BODY = 4096


def encode_hello(label: str | None) -> bytes:
    body = json.dumps({"label": label} if label else {}).encode()
    return HELLO_MAGIC + struct.pack("<H", len(body)) + body


# ---------------------------------------------------------------------- in-process
class _ControllerSource(ParserSource):
    """The controller->host side of an in-process controller."""

    def __init__(self, controller: VirtualController) -> None:
        super().__init__()
        self.controller = controller

    def set_packet_sink(self, sink: TransportSink) -> None:
        super().set_packet_sink(sink)
        self.controller.set_packet_sink(sink)


class VirtualTransport(Transport):
    """An in-process VirtualController seen as a Bumble transport."""

    def __init__(self, controller: VirtualController) -> None:
        source = _ControllerSource(controller)
        super().__init__(source, controller)
        self.controller = controller

    async def close(self) -> None:
        self.controller.close()
        self.controller.set_packet_sink(None)


# ---------------------------------------------------------------------- TCP
def tune_socket(sock: Any) -> None:
    """TCP_NODELAY, and TCP_QUICKACK where the platform has it."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    quickack(sock)


_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def quickack(sock: Any) -> None:
    # Linux turns quick ACKs off again after a while: re-arm after every receive, so a peer
    # that writes a packet in two send() calls (rootcanal does) is not held ~40 ms by
    # Nagle waiting for our delayed ACK.
    if _TCP_QUICKACK is not None and sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            pass


class _TcpSource(asyncio.Protocol, ParserSource):
    def __init__(self) -> None:
        ParserSource.__init__(self)
        self.sock: Any = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sock = transport.get_extra_info("socket")
        tune_socket(self.sock)

    def data_received(self, data: bytes) -> None:
        quickack(self.sock)
        try:
            self.parser.feed_data(data)
        except Exception:
            logger.exception("invalid H4 data from the radio; resynchronising")
            self.parser.reset()

    def connection_lost(self, exc: Exception | None) -> None:
        logger.debug("HCI TCP connection lost: %s", exc)
        self.on_transport_lost()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _TcpSink:
    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def on_packet(self, packet: bytes) -> None:
        self.transport.write(packet)

    def close(self) -> None:
        self.transport.close()


async def open_tcp(host: str, port: int, *, hello: bytes | None = None, what: str) -> Transport:
    loop = asyncio.get_running_loop()
    try:
        transport, source = await loop.create_connection(_TcpSource, host=host, port=port)
    except OSError as error:
        raise ConnectionError(f"cannot connect to {what} at {host}:{port}: {error}") from error
    if hello:
        transport.write(hello)
    return Transport(source, _TcpSink(transport))


# ---------------------------------------------------------------------- the seam
async def open_hci(config: RadioConfig, *, label: str | None = None) -> Transport:
    """Open the radio ``config`` names, on the running loop; see the module docstring.
    With ``AIOBLE_CAPTURE`` or ``BUMBLE_SNOOPER`` set, its packets are captured."""
    if config.kind == "virtual":
        controller = VirtualController(process_medium(), label=label)
        transport: Transport = VirtualTransport(controller)
        label = controller.label  # the medium's name for it (device<N> without a label)
    else:
        transport = await _open_radio(config, label)
    bumble_opened = config.kind == "hci" and not (config.transport or "").startswith("tcp-client:")
    try:
        return snoop_transport(transport, label, bumble_snooper=not bumble_opened)
    except BaseException:
        await transport.close()
        raise


async def _open_radio(config: RadioConfig, label: str | None) -> Transport:
    if config.kind == "shared":
        assert config.address is not None
        host, port = parse_host_port(config.address, what="shared radio address")
        return await open_tcp(host, port, hello=encode_hello(label), what="the shared radio")
    if config.kind == "hci":
        assert config.transport is not None
        return await _open_bumble_transport(config.transport)
    raise ValueError(f"unknown radio kind {config.kind!r}")


async def _open_bumble_transport(spec: str) -> Transport:
    scheme, _, rest = spec.partition(":")
    if scheme == "tcp-client":
        host, port = parse_host_port(rest, what="tcp-client transport")
        return await open_tcp(host, port, what=f"HCI transport {spec!r}")
    # (Bumble's open_transport honours BUMBLE_SNOOPER itself: open_hci leaves it that one)
    from bumble.transport import open_transport

    try:
        return await open_transport(spec)
    except OSError as error:
        raise OSError(error.errno, f"cannot open HCI transport {spec!r}: {error}") from error
    except Exception as error:
        raise OSError(f"cannot open HCI transport {spec!r}: {error}") from error
