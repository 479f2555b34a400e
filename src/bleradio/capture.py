"""Capture: what a hardware sniffer would record, as files Wireshark and scapy read.

Two kinds of file go into a capture directory (``aioble run/multitest/radio --capture DIR``,
``AIOBLE_CAPTURE=DIR``, ``Medium(capture=DIR)``):

- ``LABEL.btsnoop``: one device's HCI traffic (host <-> controller), in the btsnoop format
  (Bumble's ``BtSnooper``), written by the process that drives the device, whatever its
  radio (``snoop_transport``, called by ``open_hci``). ``BUMBLE_SNOOPER`` (Bumble's own
  snooper spec) is honoured on the same hook.
- ``air.pcap``: everything on the air of a virtual radio, written by the process that holds
  the medium (``AirCapture``): link type 256, LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR, a
  10-byte pseudo-header (RF channel, RSSI, reference access address, flags) before each
  packet as it was on air: access address, PDU header, payload, 24-bit CRC. Advertising
  PDUs once per advertising channel they are sent on; SCAN_REQ/SCAN_RSP; CONNECT_IND with
  real LLData (access address, CRCInit, window, interval, latency, timeout, channel map,
  hop, SCA); data PDUs with LLID/NESN/SN/MD, LL control PDUs in their real encoding, on the
  data channel that Channel Selection Algorithm #1 gives each connection event. After
  encryption starts a data PDU's payload is what a sniffer without the key sees: bytes of
  the right length plus a 4-byte MIC, flagged "MIC checked, not valid, not decrypted".

The layouts the code relies on are in ``docs/capture.md``. Capture costs one ``if`` per
PDU when off; when on, records go to a buffered file as they come (nothing accumulates in
memory), flushed within ``FLUSH_INTERVAL`` seconds and when the capture closes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import hashlib
import logging
import os
import random
import re
import struct
import tempfile
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from bumble.snoop import BtSnooper, Snooper, create_snooper
from bumble.transport.common import Transport, TransportSink, TransportSource

from .air.airtime import T_IFS_US
from .air.channel import CHANNEL_MAP_ALL, DATA_CHANNELS, csa1

if TYPE_CHECKING:
    from .air.link import Link
    from .air.medium import AdvPdu

logger = logging.getLogger(__name__)

ENV_CAPTURE = "AIOBLE_CAPTURE"
AIR_FILE = "air.pcap"
BTSNOOP_SUFFIX = ".btsnoop"
FLUSH_INTERVAL = 0.5  # s: a reader (tshark -r, a test) sees records at most this late

LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR = 256
ADVERTISING_ACCESS_ADDRESS = 0x8E89BED6
ADVERTISING_CRC_INIT = 0x555555

# Pseudo-header flags (tcpdump.org's LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR page)
FLAG_DEWHITENED = 0x0001
FLAG_SIGNAL_VALID = 0x0002
FLAG_DECRYPTED = 0x0008
FLAG_REF_AA_VALID = 0x0010
FLAG_AA_OFFENSES_VALID = 0x0020
FLAG_CRC_CHECKED = 0x0400
FLAG_CRC_VALID = 0x0800
FLAG_MIC_CHECKED = 0x1000
FLAG_MIC_VALID = 0x2000
PDU_ADV = 0 << 7  # advertising (or data of unknown direction)
PDU_DATA_C_TO_P = 2 << 7
PDU_DATA_P_TO_C = 3 << 7
PHY_BITS = {1: 0 << 14, 2: 1 << 14}  # 1M, 2M

_COMMON_FLAGS = (
    FLAG_DEWHITENED
    | FLAG_SIGNAL_VALID
    | FLAG_REF_AA_VALID
    | FLAG_AA_OFFENSES_VALID
    | FLAG_CRC_CHECKED
    | FLAG_CRC_VALID
)

# Advertising physical channel PDU types (Core Vol 6 Part B 2.3), from the medium's
# numbering (that of HCI advertising reports: ADV_IND, ADV_DIRECT_IND, ADV_SCAN_IND,
# ADV_NONCONN_IND, SCAN_RSP).
ADV_IND, ADV_DIRECT_IND, ADV_NONCONN_IND, SCAN_REQ, SCAN_RSP, CONNECT_IND, ADV_SCAN_IND = range(7)
CHSEL = 0x20  # header bit: Channel Selection Algorithm #2 supported (ADV_IND, CONNECT_IND)
_AIR_ADV_TYPE = {0: ADV_IND, 1: ADV_DIRECT_IND, 2: ADV_SCAN_IND, 3: ADV_NONCONN_IND}

# LL control opcodes (Core Vol 6 Part B 2.4.2), by the names the virtual link uses.
LL_OPCODES: dict[str, int] = {
    "CONNECTION_UPDATE_IND": 0x00,
    "CHANNEL_MAP_IND": 0x01,
    "TERMINATE_IND": 0x02,
    "ENC_REQ": 0x03,
    "ENC_RSP": 0x04,
    "START_ENC_REQ": 0x05,
    "START_ENC_RSP": 0x06,
    "UNKNOWN_RSP": 0x07,
    "FEATURE_REQ": 0x08,
    "FEATURE_RSP": 0x09,
    "PAUSE_ENC_REQ": 0x0A,
    "PAUSE_ENC_RSP": 0x0B,
    "VERSION_IND": 0x0C,
    "REJECT_IND": 0x0D,
    "PERIPHERAL_FEATURE_REQ": 0x0E,
    "CONNECTION_PARAM_REQ": 0x0F,
    "CONNECTION_PARAM_RSP": 0x10,
    "REJECT_EXT_IND": 0x11,
    "PING_REQ": 0x12,
    "PING_RSP": 0x13,
    "LENGTH_REQ": 0x14,
    "LENGTH_RSP": 0x15,
    "PHY_REQ": 0x16,
    "PHY_RSP": 0x17,
    "PHY_UPDATE_IND": 0x18,
}

SLEEP_CLOCK_ACCURACY = 7  # SCA field: 0-20 ppm (the virtual clocks do not drift)
CENTRAL, PERIPHERAL = 0, 1
MIC_OCTETS = 4


class CaptureError(ValueError):
    """A capture directory that cannot be written (the message names it)."""


# ---------------------------------------------------------------------- the directory
def capture_directory(path: str | os.PathLike[str], *, what: str = "capture directory") -> Path:
    """``path`` as a directory files can be written to: made if missing (with parents);
    CaptureError naming ``what`` and the path if it is not a directory or not writable."""
    directory = Path(path)
    if str(path) == "":
        raise CaptureError(f"{what}: empty path")
    if directory.exists() and not directory.is_dir():
        raise CaptureError(f"{what} {str(path)!r} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CaptureError(f"{what} {str(path)!r} cannot be made: {error.strerror}") from None
    try:  # a file made and removed at once: root, read-only mounts and /proc included
        handle, probe = tempfile.mkstemp(prefix=".capture-probe-", dir=directory)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise CaptureError(f"{what} {str(path)!r} is not writable: {error.strerror}") from None
    return directory.resolve()


def capture_from_env(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The directory ``AIOBLE_CAPTURE`` names (checked, made if missing), or None."""
    value = environ.get(ENV_CAPTURE, "").strip()
    if not value:
        return None
    return capture_directory(value, what=ENV_CAPTURE)


# ---------------------------------------------------------------------- files
class _Files:
    """Capture files open in this process: flushed at exit (a medium or a radio may live
    until then), and one name per device (a label used twice gets ``-2``)."""

    def __init__(self) -> None:
        self.open: weakref.WeakSet[Any] = weakref.WeakSet()
        self.names: set[Path] = set()
        atexit.register(self.flush_all)

    def unique(self, directory: Path, stem: str, suffix: str) -> Path:
        path = directory / f"{stem}{suffix}"
        n = 1
        while path in self.names:
            n += 1
            path = directory / f"{stem}-{n}{suffix}"
        self.names.add(path)
        return path

    def flush_all(self) -> None:
        for file in list(self.open):
            with contextlib.suppress(Exception):
                file.flush()


_files = _Files()
_device_count = 0


def flush_all() -> None:
    """Flush every capture file this process has open (also done at exit)."""
    _files.flush_all()


def _file_stem(label: str) -> str:
    """A label as a file name: path separators and control characters become ``_``."""
    stem = re.sub(r"[\x00-\x1f/\\]", "_", label).strip(". ") or "device"
    return stem[:100]


# ---------------------------------------------------------------------- btsnoop
class _SnoopingSource:
    """Controller->host packets through the snoopers, then on to the host; a lost
    transport is passed on too (Bumble's SnoopingTransport drops that)."""

    def __init__(self, source: TransportSource, snoopers: list[Snooper], files: Any) -> None:
        self.source = source
        self.snoopers = snoopers
        self.files = files  # (a host may keep the source and not the transport)
        self.sink: TransportSink | None = None
        self.terminated = getattr(source, "terminated", None)

    @property
    def metadata(self) -> dict[str, Any]:
        return getattr(self.source, "metadata", {})

    def set_packet_sink(self, sink: TransportSink) -> None:
        self.sink = sink
        self.source.set_packet_sink(self)  # type: ignore[arg-type]

    def on_packet(self, packet: bytes) -> None:
        for snooper in self.snoopers:
            snooper.snoop(packet, Snooper.Direction.CONTROLLER_TO_HOST)
        if self.sink is not None:
            self.sink.on_packet(packet)

    def on_transport_lost(self) -> None:
        lost = getattr(self.sink, "on_transport_lost", None)
        if lost is not None:
            lost()

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()


class _SnoopingSink:
    def __init__(self, sink: TransportSink, snoopers: list[Snooper], files: Any) -> None:
        self.sink = sink
        self.snoopers = snoopers
        self.files = files

    def on_packet(self, packet: bytes) -> None:
        for snooper in self.snoopers:
            snooper.snoop(packet, Snooper.Direction.HOST_TO_CONTROLLER)
        self.sink.on_packet(packet)


class SnoopingTransport(Transport):
    """A transport whose packets both ways are written by snoopers; closing it closes
    the wrapped transport, then the snoopers' files."""

    def __init__(
        self, transport: Transport, snoopers: list[Snooper], stack: contextlib.ExitStack
    ) -> None:
        # The source and the sink keep the snoopers' files open for as long as anyone holds
        # them (a host may keep them and drop this transport).
        super().__init__(
            _SnoopingSource(transport.source, snoopers, stack),  # type: ignore[arg-type]
            _SnoopingSink(transport.sink, snoopers, stack),  # type: ignore[arg-type]
        )
        self.transport = transport
        self._stack: contextlib.ExitStack | None = stack

    async def close(self) -> None:
        try:
            await self.transport.close()
        finally:
            stack, self._stack = self._stack, None
            if stack is not None:
                stack.close()


class _ClockSnooper(BtSnooper):
    """Bumble's btsnoop writer, its records stamped from ``time.time()`` (Bumble reads
    ``datetime.now()``, which a simulated clock does not move: vclock)."""

    def snoop(self, hci_packet: bytes, direction: Snooper.Direction) -> None:
        flags = int(direction) | (0x02 if hci_packet[0] in (0x01, 0x04) else 0)
        now = datetime.datetime.fromtimestamp(time.time(), tz=datetime.UTC)
        timestamp = int((now - self.TIMESTAMP_ANCHOR) / self.ONE_MS) + self.TIMESTAMP_DELTA
        header = struct.pack(">IIIIQ", len(hci_packet), len(hci_packet), flags, 0, timestamp)
        self.output.write(header + hci_packet)


def _btsnoop_file(path: Path, stack: contextlib.ExitStack) -> BtSnooper:
    file = open(path, "wb")  # noqa: SIM115 - closed with the transport (or at exit)
    stack.callback(file.close)
    _files.open.add(file)
    return _ClockSnooper(file)


def btsnoop_path(directory: Path, label: str | None) -> Path:
    """Where a device's btsnoop goes: ``DIR/LABEL.btsnoop`` (``device<N>`` without a label;
    a label already written by this process gets ``-2``, ``-3``...)."""
    global _device_count
    if not label:
        _device_count += 1
        label = f"device{_device_count}"
    return _files.unique(directory, _file_stem(label), BTSNOOP_SUFFIX)


def snoop_transport(
    transport: Transport,
    label: str | None,
    environ: Mapping[str, str] = os.environ,
    *,
    bumble_snooper: bool = True,
) -> Transport:
    """``transport`` with its HCI packets written where the environment asks:
    ``AIOBLE_CAPTURE=DIR`` -> ``DIR/LABEL.btsnoop``; ``BUMBLE_SNOOPER=SPEC`` -> Bumble's
    snooper for SPEC (e.g. ``btsnoop:file:/tmp/x.log``), unless ``bumble_snooper`` is False
    (a transport Bumble opened has it already). Neither: ``transport`` itself. A bad
    ``AIOBLE_CAPTURE`` is a CaptureError naming it; a bad ``BUMBLE_SNOOPER`` a ValueError
    naming it."""
    directory = capture_from_env(environ)
    spec = environ.get("BUMBLE_SNOOPER", "").strip() if bumble_snooper else ""
    if directory is None and not spec:
        return transport
    stack = contextlib.ExitStack()
    snoopers: list[Snooper] = []
    try:
        if directory is not None:
            snoopers.append(_btsnoop_file(btsnoop_path(directory, label), stack))
        if spec:
            try:
                snoopers.append(stack.enter_context(create_snooper(spec)))
            except Exception as error:
                raise ValueError(f"BUMBLE_SNOOPER={spec!r}: {error}") from None
    except BaseException:
        stack.close()
        raise
    return SnoopingTransport(transport, snoopers, stack)


# ---------------------------------------------------------------------- LL encoding
def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        state = byte
        for _ in range(8):
            state = (state >> 1) ^ 0xDA6000 if state & 1 else state >> 1
        table.append(state)
    return table


_CRC_TABLE = _crc_table()


def _reverse24(value: int) -> int:
    return int(f"{value:024b}"[::-1], 2)


def ble_crc(pdu: bytes, crc_init: int) -> bytes:
    """The 24-bit CRC of a PDU (header and payload) as it goes on air, 3 bytes.

    Core Vol 6 Part B 3.1.1: an LFSR with polynomial x^24 + x^10 + x^9 + x^6 + x^4 + x^3 +
    x + 1, preset with ``crc_init`` (0x555555 on advertising channels, the CONNECT_IND's
    CRCInit on a link), fed with the PDU bits least significant first. Computed here
    reflected, a byte at a time; the register then goes out most significant bit first,
    which in the packet's byte order is the reflected register, little-endian.
    """
    state = _reverse24(crc_init)
    table = _CRC_TABLE
    for byte in pdu:
        state = (state >> 8) ^ table[(state ^ byte) & 0xFF]
    return state.to_bytes(3, "little")


# Channel Selection Algorithm #1 (the channel model's; kept here under its old name)
data_channel = csa1


def rf_channel(channel: int) -> int:
    """A channel index (0-39) as the pseudo-header's RF channel, (MHz - 2402) / 2."""
    if channel == 37:
        return 0
    if channel == 38:
        return 12
    if channel == 39:
        return 39
    return channel + 1 if channel <= 10 else channel + 2


def valid_access_address(aa: int) -> bool:
    """The rules for a link's access address (Core Vol 6 Part B 2.1.2)."""
    if aa == ADVERTISING_ACCESS_ADDRESS or bin(aa ^ ADVERTISING_ACCESS_ADDRESS).count("1") == 1:
        return False
    octets = aa.to_bytes(4, "little")
    if octets.count(octets[0]) == 4:
        return False
    bits = f"{aa:032b}"
    if "0000000" in bits or "1111111" in bits:
        return False
    if sum(a != b for a, b in zip(bits, bits[1:], strict=False)) > 24:
        return False
    top = bits[:6]
    return sum(a != b for a, b in zip(top, top[1:], strict=False)) >= 2


def new_access_address(rng: random.Random) -> int:
    while True:
        aa = rng.getrandbits(32)
        if valid_access_address(aa):
            return aa


def _u16(value: int) -> bytes:
    return struct.pack("<H", value & 0xFFFF)


def encode_control(pdu: tuple[Any, ...], counter: int, rng: random.Random) -> bytes:
    """An LL control PDU as the virtual link keeps it, ``(opcode_name, *args)``, in its
    real encoding (opcode and CtrData). What the virtual link does not carry is made up
    as a controller would send it: session key diversifiers and IVs are random (never
    the LTK), an update's instant is the next event."""
    name, args = pdu[0], pdu[1:]
    opcode = LL_OPCODES.get(name)
    if opcode is None:
        raise ValueError(f"unknown LL control PDU {name!r}")
    head = bytes((opcode,))
    if name == "CONNECTION_UPDATE_IND":
        interval, latency, timeout = args
        return head + struct.pack("<BHHHHH", 1, 0, interval, latency, timeout, counter + 1)
    if name == "TERMINATE_IND" or name == "REJECT_IND":
        return head + bytes((args[0],))
    if name == "ENC_REQ":
        rand, ediv = args[0], args[1]
        return head + bytes(rand) + _u16(ediv) + rng.randbytes(8) + rng.randbytes(4)
    if name == "ENC_RSP":
        return head + rng.randbytes(8) + rng.randbytes(4)
    if name == "UNKNOWN_RSP":
        return head + bytes((LL_OPCODES.get(args[0], 0xFF),))
    if name in ("FEATURE_REQ", "FEATURE_RSP", "PERIPHERAL_FEATURE_REQ"):
        return head + bytes(args[0])[:8].ljust(8, b"\x00")
    if name == "VERSION_IND":
        version, company, subversion = args[0], args[1], args[2]
        return head + struct.pack("<BHH", version, company, subversion)
    if name in ("CONNECTION_PARAM_REQ", "CONNECTION_PARAM_RSP"):
        imin, imax, latency, timeout = args
        # no preferred periodicity, reference event = this one, no offsets offered
        return (
            head
            + struct.pack("<HHHHBH", imin, imax, latency, timeout, 0, counter)
            + b"\xff\xff" * 6
        )
    if name == "REJECT_EXT_IND":
        return head + bytes((LL_OPCODES.get(args[0], 0xFF), args[1]))
    if name in ("LENGTH_REQ", "LENGTH_RSP"):
        return head + struct.pack("<HHHH", *args)
    if name in ("PHY_REQ", "PHY_RSP"):
        return head + bytes((args[0], args[1]))
    if name == "PHY_UPDATE_IND":
        c_to_p, p_to_c = args
        instant = counter + 1 if (c_to_p or p_to_c) else 0
        return head + bytes((c_to_p, p_to_c)) + _u16(instant)
    # START_ENC_REQ/RSP, PAUSE_ENC_REQ/RSP, PING_REQ/RSP: the opcode alone
    return head


def sniffer_rssi(address: bytes) -> int:
    """The RSSI the (one, idealised) sniffer hears a device at: a fixed path loss per
    device, -40 to -84 dBm, as the medium's RSSI between two devices."""
    return -40 - hashlib.blake2b(address, digest_size=1).digest()[0] % 45


class _LinkCapture:
    """What the capture knows of a link: its air parameters and sequence numbers."""

    __slots__ = (
        "access_address",
        "crc_init",
        "hop",
        "counter",
        "channel",
        "expect",
        "last_end",
        "sn",
        "nesn",
        "encrypted",
        "rssi",
    )

    def __init__(self, access_address: int, crc_init: int, hop: int, rssi: tuple[int, int]):
        self.access_address = access_address
        self.crc_init = crc_init
        self.hop = hop
        self.counter = -1  # the connection event being recorded
        self.channel = 0
        self.expect = CENTRAL  # whose packet comes next in this event
        self.last_end = 0.0  # when the last recorded packet ended (s, loop time)
        self.sn = [0, 0]
        self.nesn = [0, 0]
        self.encrypted = False
        self.rssi = rssi  # as the sniffer hears (central, peripheral)


def _air_seconds(octets: int, phy: int) -> float:
    """Air time of a packet whose PDU (header + payload) has ``octets``, in seconds."""
    if phy == 2:
        return (2 + 4 + octets + 3) * 4e-6
    return (1 + 4 + octets + 3) * 8e-6


_IFS = T_IFS_US * 1e-6


# ---------------------------------------------------------------------- air.pcap
class AirCapture:
    """The air of one medium as a pcap file (link type 256); the medium calls ``adv``,
    ``scan``, ``connect``, ``data`` and ``link_closed`` as PDUs go on air, with their
    times on the loop's clock (``time.monotonic``, as asyncio's).

    ``fast``: the medium keeps no air time, so several PDUs share an instant: each record
    then goes 1 µs after the previous one, keeping the file in order. Otherwise a record's
    time is when the medium put the PDU on air (never earlier than the previous record).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, fast: bool, seed: int | None, csa2: bool = False
    ) -> None:
        self.path = Path(path)
        self.fast = fast
        self.csa2 = csa2  # the advertisers' ChSel bit: they support Channel Selection #2
        # its own generator: capturing must not change what the medium draws (RSSI, jitter)
        self.random = random.Random(seed)
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        _files.open.add(self._file)
        self._file.write(
            struct.pack(
                "<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR
            )
        )
        self._epoch = time.time() - time.monotonic()  # loop time -> Unix time
        self._last = 0.0
        self._links: dict[Any, _LinkCapture] = {}
        self._adv_channel = 37
        self._adv_end = 0.0
        self._flush_timer: asyncio.TimerHandle | None = None
        self.records = 0

    @property
    def closed(self) -> bool:
        return self._file is None

    def close(self) -> None:
        """Flush and close the file (later PDUs are not recorded)."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        file, self._file = self._file, None
        if file is not None:
            file.close()
        self._links.clear()

    def flush(self) -> None:
        self._flush_timer = None
        if self._file is not None:
            self._file.flush()

    # ------------------------------------------------------------------ records
    def _write(
        self, t: float, channel: int, rssi: int, aa: int, flags: int, pdu: bytes, crc_init: int
    ) -> float:
        file = self._file
        if file is None:
            return t
        if self.fast:
            t = max(t, self._last + 1e-6)
        elif t < self._last:
            t = self._last
        self._last = t
        packet = (
            struct.pack("<BbbBIH", rf_channel(channel), rssi, -128, 0, aa, flags | _COMMON_FLAGS)
            + aa.to_bytes(4, "little")
            + pdu
            + ble_crc(pdu, crc_init)
        )
        stamp = t + self._epoch
        seconds = int(stamp)
        file.write(
            struct.pack("<IIII", seconds, int((stamp - seconds) * 1e6), len(packet), len(packet))
            + packet
        )
        self.records += 1
        if self._flush_timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: at close or exit
                self._flush_timer = asyncio.get_running_loop().call_later(
                    FLUSH_INTERVAL, self.flush
                )
        return t

    def _adv_record(self, t: float, channel: int, rssi: int, header: int, payload: bytes) -> float:
        pdu = bytes((header, len(payload))) + payload
        t = self._write(
            t,
            channel,
            rssi,
            ADVERTISING_ACCESS_ADDRESS,
            PDU_ADV,
            pdu,
            ADVERTISING_CRC_INIT,
        )
        self._adv_channel = channel
        self._adv_end = t + _air_seconds(len(pdu), 1)
        return t

    # ------------------------------------------------------------------ advertising
    def adv(self, pdu: AdvPdu, channel: int, t: float) -> None:
        """An advertising PDU on ``channel`` at ``t``: what follows in its event (a scan
        request, a connect) is on that channel, right after it."""
        kind = _AIR_ADV_TYPE[pdu.pdu_type]
        payload = bytes(pdu.address)
        rx_add = 0
        if kind == ADV_DIRECT_IND:
            payload += bytes(pdu.target_address)
            rx_add = pdu.target_address_type & 1
        else:
            payload += bytes(pdu.data)
        chsel = CHSEL if self.csa2 and kind in (ADV_IND, ADV_DIRECT_IND) else 0
        header = kind | chsel | (pdu.address_type & 1) << 6 | rx_add << 7
        self._adv_record(t, channel, sniffer_rssi(pdu.address), header, payload)

    def scan(self, pdu: AdvPdu, scanner_type: int, scanner: bytes, data: bytes | None) -> None:
        """SCAN_REQ from ``scanner`` to the advertiser of ``pdu``, and the SCAN_RSP with
        ``data`` if it answered, in the event of the last ``adv``."""
        adv_type = pdu.address_type & 1
        header = SCAN_REQ | (scanner_type & 1) << 6 | adv_type << 7
        t = self._adv_end + _IFS
        self._adv_record(
            t, self._adv_channel, sniffer_rssi(scanner), header, bytes(scanner) + bytes(pdu.address)
        )
        if data is not None:
            t = self._adv_end + _IFS
            header = SCAN_RSP | adv_type << 6
            self._adv_record(
                t,
                self._adv_channel,
                sniffer_rssi(pdu.address),
                header,
                bytes(pdu.address) + bytes(data),
            )

    def connect(self, link: Link, pdu: AdvPdu, initiator_type: int, initiator: bytes) -> None:
        """The CONNECT_IND that made ``link``, in the event of the last ``adv``; from now
        on the link's data PDUs use the access address, CRCInit and hop it carries."""
        record = _LinkCapture(
            link.access_address,
            link.crc_init,
            link.hop,
            (sniffer_rssi(initiator), sniffer_rssi(pdu.address)),
        )
        self._links[link] = record
        ll_data = (
            struct.pack("<I", record.access_address)
            + record.crc_init.to_bytes(3, "little")
            + struct.pack("<BHHHH", 1, 0, link.interval, link.latency, link.timeout)
            + link.channel_map.to_bytes(5, "little")
            + bytes((record.hop | SLEEP_CLOCK_ACCURACY << 5,))
        )
        header = (
            CONNECT_IND
            | (CHSEL if link.csa2 else 0)
            | (initiator_type & 1) << 6
            | (pdu.address_type & 1) << 7
        )
        t = self._adv_end + _IFS
        self._adv_record(
            t,
            self._adv_channel,
            record.rssi[CENTRAL],
            header,
            bytes(initiator) + bytes(pdu.address) + ll_data,
        )
        # the first connection event is in the transmit window, from 1.25 ms after it
        record.last_end = self._adv_end + 0.00125 - _IFS

    # ------------------------------------------------------------------ connections
    def event(self, link: Link) -> int:
        """The number of a new connection event of ``link`` (for a medium that does not
        count them: fast mode makes each delivery round an event)."""
        record = self._links.get(link)
        return 0 if record is None else record.counter + 1

    def data(
        self,
        link: Link,
        counter: int,
        t: float,
        role: int,
        pdu: tuple[int, Any, Any] | None,
        accepted: bool = True,
        more: bool = False,
        received: bool = True,
    ) -> None:
        """A data channel PDU of ``link`` sent by ``role`` (CENTRAL, PERIPHERAL) at ``t`` in
        connection event ``counter``: ``pdu`` as the link queues it (None: an empty PDU),
        ``received`` whether it reached the other side intact (else its CRC failed there),
        ``accepted`` whether that side took it if it was new (no buffer: it is sent again,
        same SN), ``more`` the MD bit. SN and NESN follow Core Vol 6 Part B 4.5.9: a side's
        NESN moves on when it takes a new PDU, its SN when a packet it received
        acknowledges its own. The two sides alternate, the central first: a side that
        sends twice in a row had an empty PDU from the other in between, recorded so."""
        record = self._links.get(link)
        if record is None or self._file is None:
            return
        if counter != record.counter:
            if record.expect == PERIPHERAL and record.counter >= 0:
                # the last event ended on a central PDU: the peripheral's empty answer
                self._data_record(link, record, PERIPHERAL, None, True, False, record.last_end)
            record.counter = counter
            record.channel = link.data_channel(counter)
            record.expect = CENTRAL
        if role != record.expect:
            self._data_record(link, record, record.expect, None, True, False, t)
        self._data_record(link, record, role, pdu, accepted, more, t, received)

    def _data_record(
        self,
        link: Link,
        record: _LinkCapture,
        role: int,
        pdu: tuple[int, Any, Any] | None,
        accepted: bool,
        more: bool,
        t: float,
        received: bool = True,
    ) -> None:
        if pdu is None:
            llid, payload = 1, b""  # an empty PDU: LLID 1, no payload, never encrypted
        else:
            llid, body, _ = pdu
            payload = (
                encode_control(body, record.counter, self.random) if llid == 3 else bytes(body)
            )
        flags = PDU_DATA_C_TO_P if role == CENTRAL else PDU_DATA_P_TO_C
        if record.encrypted and payload:
            # a sniffer without the key: the ciphertext and a MIC it cannot check
            payload = self.random.randbytes(len(payload) + MIC_OCTETS)
            flags |= FLAG_MIC_CHECKED
        phy = link.phy_c_to_p if role == CENTRAL else link.phy_p_to_c
        flags |= PHY_BITS.get(phy, 0)
        header = llid | record.nesn[role] << 2 | record.sn[role] << 3 | (1 << 4 if more else 0)
        body_bytes = bytes((header, len(payload))) + payload
        t = self._write(
            max(t, record.last_end + _IFS),
            record.channel,
            record.rssi[role],
            record.access_address,
            flags,
            body_bytes,
            record.crc_init,
        )
        record.last_end = t + _air_seconds(len(body_bytes), phy)
        record.expect = 1 - role
        if received:
            other = 1 - role
            if record.nesn[role] != record.sn[other]:
                record.sn[other] ^= 1  # it acknowledges the other side's last packet
            if accepted and record.sn[role] == record.nesn[other]:
                record.nesn[other] ^= 1  # a new PDU, taken
        if pdu is not None and llid == 3:
            name = pdu[1][0]
            if name == "START_ENC_REQ":
                record.encrypted = True  # what follows, both ways, is encrypted
            elif name == "PAUSE_ENC_RSP":
                record.encrypted = False

    def link_closed(self, link: Link) -> None:
        """The link ended: its last event is complete (the peripheral's answer to a
        last central PDU), and its parameters are forgotten."""
        record = self._links.pop(link, None)
        if record is not None and record.expect == PERIPHERAL and self._file is not None:
            self._data_record(link, record, PERIPHERAL, None, True, False, record.last_end)


def open_air_capture(
    directory: str | os.PathLike[str], *, fast: bool, seed: int | None, csa2: bool = False
) -> AirCapture:
    """``DIR/air.pcap`` for a medium (the directory checked and made if missing)."""
    path = capture_directory(directory) / AIR_FILE
    try:
        return AirCapture(path, fast=fast, seed=seed, csa2=csa2)
    except OSError as error:
        raise CaptureError(f"cannot write {str(path)!r}: {error.strerror}") from None


__all__ = [
    "AIR_FILE",
    "AirCapture",
    "CHANNEL_MAP_ALL",
    "CHSEL",
    "DATA_CHANNELS",
    "CaptureError",
    "ENV_CAPTURE",
    "LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR",
    "SnoopingTransport",
    "ble_crc",
    "flush_all",
    "capture_directory",
    "capture_from_env",
    "data_channel",
    "encode_control",
    "open_air_capture",
    "rf_channel",
    "snoop_transport",
]
