"""An LE connection between two virtual controllers, as the medium carries it.

A ``Link`` has two ``LinkEnd``s (central and peripheral). Each end queues the LL PDUs
it has to send; the medium decides when they go over the air (at once in fast mode, in
connection events in air-time mode) and hands each one to the other end's controller.

An LL PDU in a queue is a tuple ``(llid, payload, token)``:

- ``llid`` 2 (start of an L2CAP PDU) or 1 (continuation): ``payload`` is the bytes;
- ``llid`` 3 (LL control): ``payload`` is a tuple ``(opcode, *args)`` with the opcode
  names below, never encoded to bytes (``CONTROL_PDU_SIZE`` gives its size on air);
- ``token`` is not None on the last fragment of a host ACL packet: when that fragment has
  been delivered (acknowledged, on a real radio) the sender's controller counts the host
  packet as completed (HCI Number Of Completed Packets).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .channel import CHANNEL_MAP_ALL, csa1, csa2

if TYPE_CHECKING:
    from .linklayer import LinkLayer
    from .medium import Medium

LLID_CONTINUATION = 1
LLID_START = 2
LLID_CONTROL = 3

CENTRAL = 0
PERIPHERAL = 1

# Octets of each LL control PDU's payload (opcode included), Core Vol 6, Part B, 2.4.2.
CONTROL_PDU_SIZE: dict[str, int] = {
    "CONNECTION_UPDATE_IND": 12,
    "ENC_REQ": 23,
    "ENC_RSP": 13,
    "START_ENC_REQ": 1,
    "START_ENC_RSP": 1,
    "UNKNOWN_RSP": 2,
    "FEATURE_REQ": 9,
    "FEATURE_RSP": 9,
    "PAUSE_ENC_REQ": 1,
    "PAUSE_ENC_RSP": 1,
    "VERSION_IND": 6,
    "REJECT_IND": 2,
    "PERIPHERAL_FEATURE_REQ": 9,
    "CONNECTION_PARAM_REQ": 24,
    "CONNECTION_PARAM_RSP": 24,
    "REJECT_EXT_IND": 3,
    "PING_REQ": 1,
    "PING_RSP": 1,
    "LENGTH_REQ": 9,
    "LENGTH_RSP": 9,
    "PHY_REQ": 3,
    "PHY_RSP": 3,
    "PHY_UPDATE_IND": 5,
    "TERMINATE_IND": 2,
}

PHY_1M = 1
PHY_2M = 2

DEFAULT_DATA_OCTETS = 27
MAX_DATA_OCTETS = 251


def data_time_us(octets: int, phy: int = PHY_1M) -> int:
    """maxTxTime/maxRxTime for a data PDU of ``octets`` payload (with MIC), as the LL counts it."""
    # preamble + access address + header + payload + MIC + CRC, in bits, at 1 or 2 Mbit/s
    if phy == PHY_2M:
        return (2 + 4 + 2 + octets + 4 + 3) * 4
    return (1 + 4 + 2 + octets + 4 + 3) * 8


class LinkEnd:
    """One side of a connection: what its controller knows about the link."""

    __slots__ = (
        "controller",
        "handle",
        "role",
        "link",
        "peer",
        "tx",
        "peer_address_type",
        "peer_address",
        "own_address_type",
        "own_address",
        "peer_rpa",
        "local_rpa",
        # data length (effective, and what this side's host asked for)
        "max_tx_octets",
        "max_tx_time",
        "max_rx_octets",
        "max_rx_time",
        "conn_max_tx_octets",
        "conn_max_tx_time",
        # PHY preferences for this link (bit masks: 1 = 1M, 2 = 2M)
        "tx_phys",
        "rx_phys",
        "phy_pending",
        # encryption
        "encrypted",
        "ltk",
        "enc_pending",
        # procedures in flight
        "update_pending",
        "terminating",
        "features_pending",
        "version_pending",
        "peer_features",
        "peer_version",
        # the head of ``tx`` was taken by the peer, its acknowledgement not heard yet
        # (SN/NESN: it is sent again until it is, and the peer does not take it twice)
        "held",
    )

    def __init__(self, controller: LinkLayer, handle: int, role: int, link: Link) -> None:
        self.controller = controller
        self.handle = handle
        self.role = role
        self.link = link
        self.peer: LinkEnd = self  # set by Link
        self.tx: deque[tuple[int, Any, Any]] = deque()
        self.peer_address_type = 0
        self.peer_address = b"\x00" * 6
        self.own_address_type = 0
        self.own_address = b"\x00" * 6
        self.peer_rpa = b"\x00" * 6
        self.local_rpa = b"\x00" * 6
        self.max_tx_octets = DEFAULT_DATA_OCTETS
        self.max_tx_time = data_time_us(DEFAULT_DATA_OCTETS)
        self.max_rx_octets = DEFAULT_DATA_OCTETS
        self.max_rx_time = data_time_us(DEFAULT_DATA_OCTETS)
        self.conn_max_tx_octets = DEFAULT_DATA_OCTETS
        self.conn_max_tx_time = data_time_us(DEFAULT_DATA_OCTETS)
        self.tx_phys = PHY_1M | PHY_2M
        self.rx_phys = PHY_1M | PHY_2M
        self.phy_pending = False
        self.encrypted = False
        self.ltk: bytes | None = None
        self.enc_pending: tuple[Any, ...] | None = None
        self.update_pending = False
        self.terminating = False
        self.features_pending = False
        self.version_pending = False
        self.peer_features: bytes | None = None
        self.peer_version: tuple[int, int, int] | None = None
        self.held = False

    @property
    def tx_phy(self) -> int:
        return self.link.phy_c_to_p if self.role == CENTRAL else self.link.phy_p_to_c

    @property
    def rx_phy(self) -> int:
        return self.link.phy_p_to_c if self.role == CENTRAL else self.link.phy_c_to_p

    def send_control(self, *pdu: Any) -> None:
        """Queue an LL control PDU for the peer and ask the medium to carry it."""
        self.tx.append((LLID_CONTROL, pdu, None))
        self.link.kick()

    def __repr__(self) -> str:
        role = "central" if self.role == CENTRAL else "peripheral"
        return f"<LinkEnd {self.controller.label} handle=0x{self.handle:04x} {role}>"


class Link:
    """A connection between a central and a peripheral controller on one medium."""

    __slots__ = (
        "medium",
        "central",
        "peripheral",
        "interval",
        "latency",
        "timeout",
        "phy_c_to_p",
        "phy_p_to_c",
        "alive",
        "scheduled",
        "state",
        "access_address",
        "crc_init",
        "hop",
        "channel_map",
        "csa2",
    )

    def __init__(
        self,
        medium: Medium,
        central: LinkLayer,
        central_handle: int,
        peripheral: LinkLayer,
        peripheral_handle: int,
        interval: int,
        latency: int,
        timeout: int,
    ) -> None:
        self.medium = medium
        self.central = LinkEnd(central, central_handle, CENTRAL, self)
        self.peripheral = LinkEnd(peripheral, peripheral_handle, PERIPHERAL, self)
        self.central.peer = self.peripheral
        self.peripheral.peer = self.central
        # units as in HCI: interval 1.25 ms, timeout 10 ms
        self.interval = interval
        self.latency = latency
        self.timeout = timeout
        self.phy_c_to_p = PHY_1M
        self.phy_p_to_c = PHY_1M
        self.alive = True
        self.scheduled = False
        # the medium's own per-link state (timers, air-time accounting)
        self.state: Any = None
        # what the CONNECT_IND carries (the medium draws them): the data channels follow
        # Channel Selection Algorithm #1 (hop) or #2 (access address) over the map
        self.access_address = 0
        self.crc_init = 0
        self.hop = 5
        self.channel_map = CHANNEL_MAP_ALL
        self.csa2 = False

    def data_channel(self, counter: int) -> int:
        """The data channel (0-36) of connection event ``counter``."""
        if self.csa2:
            return csa2(counter, self.access_address, self.channel_map)
        return csa1(counter, self.hop, self.channel_map)

    def kick(self) -> None:
        """Something was queued: the medium schedules its transmission."""
        if self.alive:
            self.medium.kick(self)

    def end_of(self, controller: LinkLayer) -> LinkEnd:
        return self.central if self.central.controller is controller else self.peripheral

    def __repr__(self) -> str:
        return f"<Link {self.central.controller.label} -> {self.peripheral.controller.label}>"
