"""Reading capture files in tests, with decoders nobody here wrote: scapy dissects the
air (link type 256 -> BTLE_RF) and each btsnoop record's HCI packet (HCI_Hdr). The
btsnoop container itself is 16 bytes of file header and 24 bytes before each record
(RFC 1761 style, big-endian): it is split here, the packets are scapy's to decode."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scapy.layers.bluetooth import HCI_Hdr
from scapy.layers.bluetooth4LE import BTLE, BTLE_RF
from scapy.utils import rdpcap

BTSNOOP_MAGIC = b"btsnoop\x00"
BTSNOOP_H4 = 1002


def air(path: Path) -> list[Any]:
    """The packets of an air.pcap, as scapy reads them (BTLE_RF / BTLE / ...)."""
    packets = list(rdpcap(str(path)))
    for packet in packets:
        assert packet.haslayer(BTLE_RF), packet.summary()
    return packets


@dataclass
class SnoopRecord:
    received: bool  # controller -> host
    packet: Any  # scapy HCI_Hdr
    raw: bytes
    timestamp: int  # microseconds since 0 AD (btsnoop's epoch)


def btsnoop(path: Path) -> list[SnoopRecord]:
    """The records of a btsnoop file (H4 data link type), each packet decoded by scapy."""
    data = path.read_bytes()
    assert data[:8] == BTSNOOP_MAGIC, data[:16]
    version, link_type = struct.unpack_from(">II", data, 8)
    assert (version, link_type) == (1, BTSNOOP_H4)
    records, offset = [], 16
    while offset < len(data):
        original, included, flags, _drops, timestamp = struct.unpack_from(">IIIIQ", data, offset)
        offset += 24
        raw = data[offset : offset + included]
        assert len(raw) == included == original
        offset += included
        records.append(SnoopRecord(bool(flags & 1), HCI_Hdr(raw), raw, timestamp))
    return records


def crc_ok(packet: Any, crc_init: int) -> bool:
    """The packet's CRC is scapy's BTLE.compute_crc of its PDU. (scapy's ``init`` takes the
    CRCInit as its three bytes on air read big-endian: CONNECT_IND's value byte-swapped.)"""
    raw = bytes(packet[BTLE])
    pdu, crc = raw[4:-3], raw[-3:]
    init = int.from_bytes(crc_init.to_bytes(3, "little"), "big")
    return BTLE.compute_crc(pdu, init) == crc
