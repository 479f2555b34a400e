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

import logging

from bumble.transport.common import ParserSource, Transport, TransportSink

import vclock

from ..air.medium import process_medium
from ..capture import snoop_transport
from ..config import RadioConfig, parse_host_port
from ..controller import VirtualController
from .tcp import encode_hello, open_tcp

logger = logging.getLogger(__name__)


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
        clock = vclock.follower_name()
        return await open_tcp(
            host,
            port,
            hello=encode_hello(label, clock),
            what="the shared radio",
            traffic=vclock.program_traffic if clock else None,
        )
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
