"""The shared radio's wire: the hello a client sends first, and HCI over TCP.

A client of an ``aioble radio`` server (``RadioServer``) or of any HCI-over-TCP controller
(rootcanal, a ``tcp-client:`` transport) opens a Bumble ``Transport`` here
(``open_tcp``). Both ends tune their sockets the same way (``tune_socket``, ``quickack``):
TCP_NODELAY, and TCP_QUICKACK re-armed after every receive, because rootcanal writes each
H4 packet in two ``send()`` calls and would otherwise wait ~40 ms per packet for our
delayed ACK.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from typing import Any

from bumble.transport.common import ParserSource, Transport

from vclock import Traffic

logger = logging.getLogger(__name__)

# The hello a client of an `aioble radio` server sends before any H4 traffic:
#   HELLO_MAGIC (10 bytes) + body length (uint16 LE) + body (UTF-8 JSON object).
# Its first byte, 0x00, is no H4 packet type, so a server tells it from a plain Bumble
# `tcp-client` that starts with H4 at once. Body keys: "label" (str, optional), "clock"
# (str, optional: the name the process has on the simulated clock of the run, whose master
# then counts the bytes of this connection: vclock.remote).
HELLO_MAGIC = b"\x00BLERADIO1"
HELLO_MAX_BODY = 4096


def encode_hello(label: str | None, clock: str | None = None) -> bytes:
    fields = {"label": label, "clock": clock}
    body = json.dumps({key: value for key, value in fields.items() if value}).encode()
    return HELLO_MAGIC + struct.pack("<H", len(body)) + body


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
    def __init__(self, traffic: Traffic | None = None) -> None:
        ParserSource.__init__(self)
        self.sock: Any = None
        self.transport: asyncio.Transport | None = None
        self.traffic = traffic

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
        if self.traffic is not None:
            self.traffic.received += len(data)

    def connection_lost(self, exc: Exception | None) -> None:
        logger.debug("HCI TCP connection lost: %s", exc)
        self.on_transport_lost()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _TcpSink:
    def __init__(self, transport: asyncio.Transport, traffic: Traffic | None = None) -> None:
        self.transport = transport
        self.traffic = traffic

    def on_packet(self, packet: bytes) -> None:
        self.transport.write(packet)
        if self.traffic is not None:
            self.traffic.sent += len(packet)

    def close(self) -> None:
        self.transport.close()


async def open_tcp(
    host: str, port: int, *, hello: bytes | None = None, what: str, traffic: Traffic | None = None
) -> Transport:
    """HCI over TCP; ``traffic`` counts the H4 bytes handled each way (a program on a run's
    simulated clock: vclock.program_traffic)."""
    loop = asyncio.get_running_loop()
    try:
        transport, source = await loop.create_connection(
            lambda: _TcpSource(traffic), host=host, port=port
        )
    except OSError as error:
        raise ConnectionError(f"cannot connect to {what} at {host}:{port}: {error}") from error
    if hello:
        transport.write(hello)
    return Transport(source, _TcpSink(transport, traffic))
