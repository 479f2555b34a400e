"""VirtualController: an LE-only HCI controller on a ``Medium``.

The host side speaks H4 bytes: ``on_packet(h4)`` takes host->controller packets and the
controller calls ``sink.on_packet(h4)`` on the sink given to ``set_packet_sink`` (always
from the event loop, never re-entrantly). HCI commands are parsed by hand from their
parameter bytes; events are built by ``hcipackets``. The ACL path (host data in, LL
fragments out, Number Of Completed Packets back) is kept free of per-packet objects and
of eager log formatting.

Behaviour follows a real controller (Google's rootcanal where in doubt): legacy
advertising of the four types with real scan responses, passive/active scanning with
duplicate filtering, connect with cancel, several links in both roles, LL procedures for
connection update (incl. the peripheral's Connection Parameters Request), data length,
PHY, features, version, encryption (start and refresh, key mismatch -> MIC failure),
filter accept list and resolving list.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bumble import crypto
from bumble import hci as bhci

from . import hcipackets as hp
from .link import (
    CENTRAL,
    DEFAULT_DATA_OCTETS,
    LLID_CONTINUATION,
    LLID_START,
    PERIPHERAL,
    PHY_1M,
    PHY_2M,
    LinkEnd,
    data_time_us,
)
from .medium import (
    ADV_DIRECT_IND,
    ADV_IND,
    ADV_NONCONN_IND,
    ADV_SCAN_IND,
    SCAN_RSP,
    AdvPdu,
    Medium,
    ScanRecord,
)

if TYPE_CHECKING:
    from bumble.transport.common import TransportSink

logger = logging.getLogger(__name__)

LE_ACL_PACKET_LENGTH = 251
LE_ACL_PACKETS = 16
FILTER_ACCEPT_LIST_SIZE = 16
RESOLVING_LIST_SIZE = 16

HCI_VERSION = 0x09  # Bluetooth 5.0: data length extension, 2M PHY, no extended advertising
COMPANY_ID = 0xFFFF  # "for testing"
SUBVERSION = 0x0001

LE_FEATURES = (
    bhci.LeFeatureMask.LE_ENCRYPTION
    | bhci.LeFeatureMask.CONNECTION_PARAMETERS_REQUEST_PROCEDURE
    | bhci.LeFeatureMask.EXTENDED_REJECT_INDICATION
    | bhci.LeFeatureMask.PERIPHERAL_INITIATED_FEATURE_EXCHANGE
    | bhci.LeFeatureMask.LE_PING
    | bhci.LeFeatureMask.LE_DATA_PACKET_LENGTH_EXTENSION
    | bhci.LeFeatureMask.LL_PRIVACY
    | bhci.LeFeatureMask.LE_2M_PHY
)
LE_FEATURES_BYTES = int(LE_FEATURES).to_bytes(8, "little")
LMP_FEATURES_BYTES = int(
    bhci.LmpFeatureMask.LE_SUPPORTED_CONTROLLER | bhci.LmpFeatureMask.BR_EDR_NOT_SUPPORTED
).to_bytes(8, "little")
LE_STATES = bytes.fromhex("ffff3fffff030000")

# Legacy advertising types of LE Set Advertising Parameters
_ADV_TYPE_TO_PDU = {
    0x00: ADV_IND,
    0x01: ADV_DIRECT_IND,  # high duty cycle
    0x02: ADV_SCAN_IND,
    0x03: ADV_NONCONN_IND,
    0x04: ADV_DIRECT_IND,  # low duty cycle
}
HIGH_DUTY_DIRECTED_TIMEOUT = 1.28
HIGH_DUTY_DIRECTED_INTERVAL = 0.00375

_ZERO_ADDRESS = b"\x00" * 6


class _Invalid(Exception):
    """A command's parameters are malformed or out of range (-> status 0x12)."""


def _phy_choice(allowed: int, current: int) -> int:
    if allowed & 0x02:
        return PHY_2M
    if allowed & 0x01:
        return PHY_1M
    return current


def resolve_rpa(irk: bytes, address: bytes) -> bool:
    """True if the resolvable private ``address`` (6 bytes LE) was made from ``irk``."""
    if (address[5] >> 6) != 0b01 or irk == bytes(16):
        return False
    return crypto.ah(irk, address[3:6]) == address[0:3]


class VirtualController:
    """An LE controller attached to a medium; one per host."""

    def __init__(self, medium: Medium, label: str | None = None) -> None:
        self.medium = medium
        self.label, self.public_address = medium.attach(self, label)
        self.loop = medium.loop
        self.closed = False
        self._sink: TransportSink | None = None
        self._outbox: list[bytes] = []
        self._flush_scheduled = False
        self._completed: dict[int, int] = {}
        self._handles: dict[int, LinkEnd] = {}
        self._next_handle = 0x0001
        self._commands = self._command_table()
        self.on_close: list[Callable[[VirtualController], None]] = []
        # the medium's model: largest LL payload, PHY a new link moves to, interval choice
        options = medium.options
        self.max_octets = options.data_length
        self.max_time = data_time_us(self.max_octets)
        self.auto_phy = PHY_2M if options.phy == "2M" else PHY_1M
        self.preferred_interval = (
            None if options.conn_interval_ms is None else round(options.conn_interval_ms / 1.25)
        )
        self._reset_state()

    def _reset_state(self) -> None:
        self.random_address = _ZERO_ADDRESS
        self.event_mask = hp.DEFAULT_EVENT_MASK
        self.le_event_mask = hp.DEFAULT_LE_EVENT_MASK
        # advertising
        self.adv_interval_min = 0x0800
        self.adv_interval_max = 0x0800
        self.adv_type = 0x00
        self.adv_own_address_type = 0
        self.adv_peer_address_type = 0
        self.adv_peer_address = _ZERO_ADDRESS
        self.adv_channel_map = 0x07
        self.adv_filter_policy = 0
        self.adv_data = b""
        self.scan_rsp_data = b""
        self.advertising = False
        self._adv_pdu: AdvPdu | None = None
        self._directed_timer: asyncio.TimerHandle | None = None
        # scanning
        self.scan_type = 0
        self.scan_interval = 0x0010
        self.scan_window = 0x0010
        self.scan_own_address_type = 0
        self.scan_filter_policy = 0
        self.scanning = False
        self.filter_duplicates = False
        self._seen: set[tuple[int, bytes, int]] = set()
        self._scan_started = 0.0
        self._scan_reports = 0
        self._scan_last_report: float | None = None
        # initiating
        self.initiating: dict[str, Any] | None = None
        # lists
        self.accept_list: set[tuple[int, bytes]] = set()
        self.resolving_list: list[tuple[int, bytes, bytes, bytes]] = []
        self.address_resolution = False
        # data length / PHY defaults
        self.suggested_tx_octets = DEFAULT_DATA_OCTETS
        self.suggested_tx_time = data_time_us(DEFAULT_DATA_OCTETS)
        self.default_tx_phys = PHY_1M | PHY_2M
        self.default_rx_phys = PHY_1M | PHY_2M

    # ================================================================== host side
    def set_packet_sink(self, sink: TransportSink | None) -> None:
        self._sink = sink

    def _to_host(self, packet: bytes) -> None:
        self._outbox.append(packet)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _event(self, code: int, packet: bytes) -> None:
        """Send an event if the host's event mask lets it through."""
        if (self.event_mask >> hp.EVENT_MASK_BIT[code]) & 1:
            self._to_host(packet)

    def _le_event(self, subevent: int, packet: bytes) -> None:
        if (self.event_mask >> 61) & 1 and (self.le_event_mask >> (subevent - 1)) & 1:
            self._to_host(packet)

    def _le_event_enabled(self, subevent: int) -> bool:
        return bool((self.event_mask >> 61) & 1 and (self.le_event_mask >> (subevent - 1)) & 1)

    def _flush(self) -> None:
        self._flush_scheduled = False
        packets = self._outbox
        self._outbox = []
        if self._completed:
            packets.insert(0, hp.number_of_completed_packets(self._completed))
            self._completed = {}
        sink = self._sink
        if sink is None or self.closed:
            return
        for packet in packets:
            try:
                sink.on_packet(packet)
            except Exception:
                logger.exception("[%s] host failed on a packet", self.label)

    def on_packet(self, packet: bytes) -> None:
        """A host->controller H4 packet."""
        if self.closed:
            return
        kind = packet[0] if packet else -1
        if kind == hp.H4_ACL:
            self._on_acl(packet)
        elif kind == hp.H4_COMMAND:
            self._on_command(packet)
        else:
            logger.warning("[%s] ignoring H4 packet of type %d", self.label, kind)

    # ================================================================== ACL data
    def _on_acl(self, packet: bytes) -> None:
        if len(packet) < 5:
            logger.warning("[%s] truncated ACL packet dropped", self.label)
            return
        handle_flags, length = struct.unpack_from("<HH", packet, 1)
        handle = handle_flags & 0x0FFF
        end = self._handles.get(handle)
        payload = packet[5:]
        if end is None or len(payload) != length or length > LE_ACL_PACKET_LENGTH:
            logger.warning(
                "[%s] ACL packet dropped (handle 0x%04x, length %d of %d)",
                self.label,
                handle,
                len(payload),
                length,
            )
            if end is not None:
                self._packet_completed(end)
            return
        if end.link.alive is False:
            return
        pb = (handle_flags >> 12) & 0x3
        llid = LLID_CONTINUATION if pb == 0b01 else LLID_START
        size = end.max_tx_octets
        tx = end.tx
        if length <= size:
            tx.append((llid, payload, 1))
        else:
            last = length - size
            for offset in range(0, length, size):
                tx.append((llid, payload[offset : offset + size], 1 if offset >= last else None))
                llid = LLID_CONTINUATION
        end.link.kick()

    def _packet_completed(self, end: LinkEnd) -> None:
        handle = end.handle
        completed = self._completed
        completed[handle] = completed.get(handle, 0) + 1
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    # called by the medium -------------------------------------------------------------
    def on_ll_data(self, end: LinkEnd, llid: int, payload: bytes) -> None:
        self._to_host(hp.acl(end.handle, 0b10 if llid == LLID_START else 0b01, payload))

    def on_ll_sent(self, end: LinkEnd, token: Any) -> None:
        if token.__class__ is int:
            if end.handle in self._handles:
                self._packet_completed(end)
            return
        self._on_control_acked(end, token)

    # ================================================================== commands
    def _on_command(self, packet: bytes) -> None:
        if len(packet) < 4:
            logger.warning("[%s] truncated HCI command dropped: %s", self.label, packet.hex())
            return
        opcode, length = struct.unpack_from("<HB", packet, 1)
        params = packet[4:]
        entry = self._commands.get(opcode)
        if entry is None:
            logger.debug("[%s] unknown HCI command 0x%04x", self.label, opcode)
            self._to_host(hp.command_complete(opcode, bytes((hp.UNKNOWN_HCI_COMMAND,))))
            return
        handler, is_async, error_tail = entry
        if len(params) != length:
            logger.warning("[%s] HCI command 0x%04x with a wrong length", self.label, opcode)
            status = hp.INVALID_HCI_COMMAND_PARAMETERS
            if is_async:
                self._to_host(hp.command_status(opcode, status))
            else:
                self._to_host(hp.command_complete(opcode, bytes((status,))))
            return
        if is_async:
            handler(params)  # sends its Command Status, then its events
            return
        try:
            result = handler(params)
        except (_Invalid, struct.error, IndexError, ValueError) as error:
            logger.warning(
                "[%s] invalid HCI command 0x%04x (%s): %s", self.label, opcode, error, params.hex()
            )
            result = hp.INVALID_HCI_COMMAND_PARAMETERS
        except Exception:
            logger.exception("[%s] HCI command 0x%04x failed", self.label, opcode)
            result = hp.UNSPECIFIED_ERROR
        if isinstance(result, int):
            # a failed sync command: status, then the fields a host may still parse
            tail = error_tail(params) if error_tail and len(params) >= 2 else b""
            self._to_host(hp.command_complete(opcode, bytes((result,)) + tail))
        else:
            self._to_host(hp.command_complete(opcode, result))

    def _command_table(self) -> dict[int, tuple[Callable[[bytes], Any], bool, Any]]:
        h = bhci
        handle_tail = _handle_tail
        sync: dict[int, tuple[Callable[[bytes], Any], Any]] = {
            h.HCI_RESET_COMMAND: (self._reset, None),
            h.HCI_SET_EVENT_MASK_COMMAND: (self._set_event_mask, None),
            h.HCI_READ_LOCAL_VERSION_INFORMATION_COMMAND: (self._read_local_version, None),
            h.HCI_READ_LOCAL_SUPPORTED_COMMANDS_COMMAND: (self._read_local_commands, None),
            h.HCI_READ_LOCAL_SUPPORTED_FEATURES_COMMAND: (
                lambda p: b"\x00" + LMP_FEATURES_BYTES,
                None,
            ),
            h.HCI_READ_BD_ADDR_COMMAND: (lambda p: b"\x00" + self.public_address, None),
            h.HCI_READ_RSSI_COMMAND: (self._read_rssi, handle_tail),
            h.HCI_READ_TRANSMIT_POWER_LEVEL_COMMAND: (self._read_tx_power_level, handle_tail),
            h.HCI_SET_CONTROLLER_TO_HOST_FLOW_CONTROL_COMMAND: (lambda p: b"\x00", None),
            h.HCI_HOST_BUFFER_SIZE_COMMAND: (lambda p: b"\x00", None),
            h.HCI_READ_AUTHENTICATED_PAYLOAD_TIMEOUT_COMMAND: (self._read_apto, handle_tail),
            h.HCI_WRITE_AUTHENTICATED_PAYLOAD_TIMEOUT_COMMAND: (self._write_apto, handle_tail),
            h.HCI_LE_SET_EVENT_MASK_COMMAND: (self._le_set_event_mask, None),
            h.HCI_LE_READ_BUFFER_SIZE_COMMAND: (
                lambda p: struct.pack("<BHB", 0, LE_ACL_PACKET_LENGTH, LE_ACL_PACKETS),
                None,
            ),
            h.HCI_LE_READ_LOCAL_SUPPORTED_FEATURES_COMMAND: (
                lambda p: b"\x00" + LE_FEATURES_BYTES,
                None,
            ),
            h.HCI_LE_SET_RANDOM_ADDRESS_COMMAND: (self._le_set_random_address, None),
            h.HCI_LE_SET_ADVERTISING_PARAMETERS_COMMAND: (self._le_set_adv_params, None),
            h.HCI_LE_READ_ADVERTISING_PHYSICAL_CHANNEL_TX_POWER_COMMAND: (
                lambda p: b"\x00\x00",
                None,
            ),
            h.HCI_LE_SET_ADVERTISING_DATA_COMMAND: (self._le_set_adv_data, None),
            h.HCI_LE_SET_SCAN_RESPONSE_DATA_COMMAND: (self._le_set_scan_rsp_data, None),
            h.HCI_LE_SET_ADVERTISING_ENABLE_COMMAND: (self._le_set_adv_enable, None),
            h.HCI_LE_SET_SCAN_PARAMETERS_COMMAND: (self._le_set_scan_params, None),
            h.HCI_LE_SET_SCAN_ENABLE_COMMAND: (self._le_set_scan_enable, None),
            h.HCI_LE_CREATE_CONNECTION_CANCEL_COMMAND: (self._le_create_connection_cancel, None),
            h.HCI_LE_READ_FILTER_ACCEPT_LIST_SIZE_COMMAND: (
                lambda p: bytes((0, FILTER_ACCEPT_LIST_SIZE)),
                None,
            ),
            h.HCI_LE_CLEAR_FILTER_ACCEPT_LIST_COMMAND: (self._le_clear_accept_list, None),
            h.HCI_LE_ADD_DEVICE_TO_FILTER_ACCEPT_LIST_COMMAND: (self._le_add_accept, None),
            h.HCI_LE_REMOVE_DEVICE_FROM_FILTER_ACCEPT_LIST_COMMAND: (self._le_remove_accept, None),
            h.HCI_LE_SET_HOST_CHANNEL_CLASSIFICATION_COMMAND: (lambda p: b"\x00", None),
            h.HCI_LE_READ_CHANNEL_MAP_COMMAND: (self._le_read_channel_map, handle_tail),
            h.HCI_LE_ENCRYPT_COMMAND: (self._le_encrypt, None),
            h.HCI_LE_RAND_COMMAND: (lambda p: b"\x00" + os.urandom(8), None),
            h.HCI_LE_LONG_TERM_KEY_REQUEST_REPLY_COMMAND: (self._le_ltk_reply, handle_tail),
            h.HCI_LE_LONG_TERM_KEY_REQUEST_NEGATIVE_REPLY_COMMAND: (
                self._le_ltk_negative_reply,
                handle_tail,
            ),
            h.HCI_LE_READ_SUPPORTED_STATES_COMMAND: (lambda p: b"\x00" + LE_STATES, None),
            h.HCI_LE_REMOTE_CONNECTION_PARAMETER_REQUEST_REPLY_COMMAND: (
                self._le_param_request_reply,
                handle_tail,
            ),
            h.HCI_LE_REMOTE_CONNECTION_PARAMETER_REQUEST_NEGATIVE_REPLY_COMMAND: (
                self._le_param_request_negative_reply,
                handle_tail,
            ),
            h.HCI_LE_SET_DATA_LENGTH_COMMAND: (self._le_set_data_length, handle_tail),
            h.HCI_LE_READ_SUGGESTED_DEFAULT_DATA_LENGTH_COMMAND: (
                lambda p: struct.pack("<BHH", 0, self.suggested_tx_octets, self.suggested_tx_time),
                None,
            ),
            h.HCI_LE_WRITE_SUGGESTED_DEFAULT_DATA_LENGTH_COMMAND: (
                self._le_write_suggested_data_length,
                None,
            ),
            h.HCI_LE_READ_MAXIMUM_DATA_LENGTH_COMMAND: (
                lambda p: struct.pack(
                    "<BHHHH", 0, self.max_octets, self.max_time, self.max_octets, self.max_time
                ),
                None,
            ),
            h.HCI_LE_ADD_DEVICE_TO_RESOLVING_LIST_COMMAND: (self._le_add_resolving, None),
            h.HCI_LE_REMOVE_DEVICE_FROM_RESOLVING_LIST_COMMAND: (self._le_remove_resolving, None),
            h.HCI_LE_CLEAR_RESOLVING_LIST_COMMAND: (self._le_clear_resolving, None),
            h.HCI_LE_READ_RESOLVING_LIST_SIZE_COMMAND: (
                lambda p: bytes((0, RESOLVING_LIST_SIZE)),
                None,
            ),
            h.HCI_LE_READ_PEER_RESOLVABLE_ADDRESS_COMMAND: (self._le_read_peer_rpa, None),
            h.HCI_LE_READ_LOCAL_RESOLVABLE_ADDRESS_COMMAND: (self._le_read_local_rpa, None),
            h.HCI_LE_SET_ADDRESS_RESOLUTION_ENABLE_COMMAND: (self._le_set_resolution, None),
            h.HCI_LE_SET_RESOLVABLE_PRIVATE_ADDRESS_TIMEOUT_COMMAND: (lambda p: b"\x00", None),
            h.HCI_LE_SET_PRIVACY_MODE_COMMAND: (lambda p: b"\x00", None),
            h.HCI_LE_READ_PHY_COMMAND: (self._le_read_phy, handle_tail),
            h.HCI_LE_SET_DEFAULT_PHY_COMMAND: (self._le_set_default_phy, None),
            h.HCI_LE_READ_TRANSMIT_POWER_COMMAND: (lambda p: struct.pack("<Bbb", 0, -20, 8), None),
        }
        asynchronous: dict[int, Callable[[bytes], int]] = {
            h.HCI_DISCONNECT_COMMAND: self._disconnect,
            h.HCI_READ_REMOTE_VERSION_INFORMATION_COMMAND: self._read_remote_version,
            h.HCI_LE_CREATE_CONNECTION_COMMAND: self._le_create_connection,
            h.HCI_LE_CONNECTION_UPDATE_COMMAND: self._le_connection_update,
            h.HCI_LE_READ_REMOTE_FEATURES_COMMAND: self._le_read_remote_features,
            h.HCI_LE_ENABLE_ENCRYPTION_COMMAND: self._le_enable_encryption,
            h.HCI_LE_SET_PHY_COMMAND: self._le_set_phy,
        }
        table: dict[int, tuple[Callable[[bytes], Any], bool, Any]] = {}
        for opcode, (handler, tail) in sync.items():
            table[opcode] = (handler, False, tail)
        for opcode, handler in asynchronous.items():
            table[opcode] = (self._async(opcode, handler), True, None)
        self._supported_commands = (
            sum(bhci.HCI_SUPPORTED_COMMANDS_MASKS.get(opcode, 0) for opcode in table)
        ).to_bytes(64, "little")
        return table

    def _async(self, opcode: int, handler: Callable[[bytes], int]) -> Callable[[bytes], Any]:
        """Run an async command's handler so that its Command Status comes first."""

        def run(params: bytes) -> None:
            index = len(self._outbox)
            try:
                status = handler(params)
            except (_Invalid, struct.error, IndexError, ValueError) as error:
                logger.warning("[%s] invalid HCI command 0x%04x: %s", self.label, opcode, error)
                status = hp.INVALID_HCI_COMMAND_PARAMETERS
            except Exception:
                logger.exception("[%s] HCI command 0x%04x failed", self.label, opcode)
                status = hp.UNSPECIFIED_ERROR
            self._outbox.insert(index, hp.command_status(opcode, status))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)

        return run

    # ------------------------------------------------------------------ controller info
    def _reset(self, params: bytes) -> bytes:
        self._hard_reset()
        return b"\x00"

    def _hard_reset(self) -> None:
        """HCI_Reset: advertising, scanning and initiating stop and every link is dropped.

        A reset controller forgets its links without a word on air (no LL_TERMINATE_IND),
        so its peers see them time out (0x08), as with a real controller; this host gets
        no event for them. (rootcanal 1.10 keeps the links of a reset controller alive.)
        """
        self.medium.stop_advertising(self)
        self.medium.stop_listening(self)
        if self._directed_timer is not None:
            self._directed_timer.cancel()
            self._directed_timer = None
        ends = list(self._handles.values())
        self._handles.clear()
        for end in ends:
            self.medium.lose_link(end.link, silent=self)
        self._outbox.clear()
        self._completed.clear()
        self._reset_state()

    def _set_event_mask(self, params: bytes) -> bytes:
        (self.event_mask,) = struct.unpack("<Q", params)
        return b"\x00"

    def _le_set_event_mask(self, params: bytes) -> bytes:
        (self.le_event_mask,) = struct.unpack("<Q", params)
        return b"\x00"

    def _read_local_version(self, params: bytes) -> bytes:
        return struct.pack(
            "<BBHBHH", 0, HCI_VERSION, SUBVERSION, HCI_VERSION, COMPANY_ID, SUBVERSION
        )

    def _read_local_commands(self, params: bytes) -> bytes:
        return b"\x00" + self._supported_commands

    # ------------------------------------------------------------------ addresses
    def _le_set_random_address(self, params: bytes) -> bytes | int:
        if len(params) != 6:
            raise _Invalid("address")
        if self.advertising or self.scanning or self.initiating:
            return hp.COMMAND_DISALLOWED
        self.random_address = bytes(params)
        return b"\x00"

    def _own_address(
        self, own_type: int, peer: tuple[int, bytes] | None = None
    ) -> tuple[int, bytes]:
        """(TxAdd, address) that goes on air for an own_address_type."""
        if own_type in (2, 3):
            irk = self._local_irk_for(peer)
            if irk is not None:
                return 1, bytes(bhci.Address.generate_private_address(irk).address_bytes)
            own_type -= 2
        if own_type == 1:
            return 1, self.random_address
        return 0, self.public_address

    def _local_irk_for(self, peer: tuple[int, bytes] | None) -> bytes | None:
        if not self.address_resolution:
            return None
        fallback = None
        for id_type, id_address, _peer_irk, local_irk in self.resolving_list:
            if local_irk == bytes(16):
                continue
            if peer is not None and (id_type, id_address) == peer:
                return local_irk
            if id_address == _ZERO_ADDRESS:
                fallback = local_irk
        return fallback

    def _resolve(self, address_type: int, address: bytes) -> tuple[int, bytes, bytes]:
        """Peer address as reported: (type incl. 2/3 for resolved identities, address, rpa)."""
        if address_type == 1 and self.address_resolution and (address[5] >> 6) == 0b01:
            for id_type, id_address, peer_irk, _local in self.resolving_list:
                if resolve_rpa(peer_irk, address):
                    return id_type + 2, id_address, address
        return address_type, address, _ZERO_ADDRESS

    def _is_own_address(self, address_type: int, address: bytes) -> bool:
        if address_type == 0:
            return address == self.public_address
        if address == self.random_address:
            return True
        irk = self._local_irk_for(None)
        return irk is not None and resolve_rpa(irk, address)

    def _in_accept_list(self, address_type: int, address: bytes) -> bool:
        if (address_type, address) in self.accept_list or (0xFF, _ZERO_ADDRESS) in self.accept_list:
            return True
        kind, identity, _rpa = self._resolve(address_type, address)
        return kind >= 2 and (kind - 2, identity) in self.accept_list

    # ------------------------------------------------------------------ filter accept list
    def _le_clear_accept_list(self, params: bytes) -> bytes | int:
        if self._accept_list_in_use():
            return hp.COMMAND_DISALLOWED
        self.accept_list.clear()
        return b"\x00"

    def _le_add_accept(self, params: bytes) -> bytes | int:
        address_type, address = params[0], bytes(params[1:7])
        if len(address) != 6:
            raise _Invalid("address")
        if self._accept_list_in_use():
            return hp.COMMAND_DISALLOWED
        if len(self.accept_list) >= FILTER_ACCEPT_LIST_SIZE:
            return hp.MEMORY_CAPACITY_EXCEEDED
        self.accept_list.add((address_type, address if address_type != 0xFF else _ZERO_ADDRESS))
        return b"\x00"

    def _le_remove_accept(self, params: bytes) -> bytes | int:
        address_type, address = params[0], bytes(params[1:7])
        if self._accept_list_in_use():
            return hp.COMMAND_DISALLOWED
        self.accept_list.discard((address_type, address))
        return b"\x00"

    def _accept_list_in_use(self) -> bool:
        return bool(
            (self.advertising and self.adv_filter_policy)
            or (self.scanning and self.scan_filter_policy & 1)
            or (self.initiating and self.initiating["filter_policy"])
        )

    # ------------------------------------------------------------------ resolving list
    def _le_add_resolving(self, params: bytes) -> bytes | int:
        if len(params) != 39:
            raise _Invalid("length")
        if len(self.resolving_list) >= RESOLVING_LIST_SIZE:
            return hp.MEMORY_CAPACITY_EXCEEDED
        entry = (params[0], bytes(params[1:7]), bytes(params[7:23]), bytes(params[23:39]))
        self.resolving_list = [e for e in self.resolving_list if e[:2] != entry[:2]]
        self.resolving_list.append(entry)
        return b"\x00"

    def _le_remove_resolving(self, params: bytes) -> bytes | int:
        key = (params[0], bytes(params[1:7]))
        before = len(self.resolving_list)
        self.resolving_list = [e for e in self.resolving_list if e[:2] != key]
        return b"\x00" if len(self.resolving_list) != before else hp.UNKNOWN_CONNECTION_IDENTIFIER

    def _le_clear_resolving(self, params: bytes) -> bytes:
        self.resolving_list = []
        return b"\x00"

    def _le_set_resolution(self, params: bytes) -> bytes:
        self.address_resolution = bool(params[0])
        return b"\x00"

    def _le_read_peer_rpa(self, params: bytes) -> bytes | int:
        key = (params[0], bytes(params[1:7]))
        for end in self._handles.values():
            if (
                end.peer_address_type & 1,
                end.peer_address,
            ) == key and end.peer_rpa != _ZERO_ADDRESS:
                return b"\x00" + end.peer_rpa
        return hp.UNKNOWN_CONNECTION_IDENTIFIER

    def _le_read_local_rpa(self, params: bytes) -> bytes | int:
        key = (params[0], bytes(params[1:7]))
        for end in self._handles.values():
            if (
                end.peer_address_type & 1,
                end.peer_address,
            ) == key and end.local_rpa != _ZERO_ADDRESS:
                return b"\x00" + end.local_rpa
        return hp.UNKNOWN_CONNECTION_IDENTIFIER

    # ------------------------------------------------------------------ advertising
    def _le_set_adv_params(self, params: bytes) -> bytes | int:
        if len(params) != 15:
            raise _Invalid("length")
        if self.advertising:
            return hp.COMMAND_DISALLOWED
        imin, imax, adv_type, own_type, peer_type = struct.unpack_from("<HHBBB", params)
        peer_address = bytes(params[7:13])
        channel_map, filter_policy = params[13], params[14]
        if adv_type not in _ADV_TYPE_TO_PDU or own_type > 3 or peer_type > 1 or filter_policy > 3:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if adv_type != 0x01 and not (0x0020 <= imin <= imax <= 0x4000):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if not channel_map & 0x07:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.adv_interval_min, self.adv_interval_max = imin, imax
        self.adv_type, self.adv_own_address_type = adv_type, own_type
        self.adv_peer_address_type, self.adv_peer_address = peer_type, peer_address
        self.adv_channel_map, self.adv_filter_policy = channel_map, filter_policy
        return b"\x00"

    def _le_set_adv_data(self, params: bytes) -> bytes | int:
        if not params or params[0] > 31:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.adv_data = bytes(params[1 : 1 + params[0]])
        if self.advertising:
            self._adv_pdu = self._make_adv_pdu()
        return b"\x00"

    def _le_set_scan_rsp_data(self, params: bytes) -> bytes | int:
        if not params or params[0] > 31:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.scan_rsp_data = bytes(params[1 : 1 + params[0]])
        return b"\x00"

    def _le_set_adv_enable(self, params: bytes) -> bytes | int:
        enable = params[0]
        if enable > 1:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if not enable:
            self._stop_advertising()
            return b"\x00"
        if self.advertising:
            return b"\x00"
        own_type = self.adv_own_address_type
        if own_type in (1, 3) and self.random_address == _ZERO_ADDRESS:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.advertising = True
        self._adv_pdu = self._make_adv_pdu()
        if self.adv_type == 0x01:
            self._directed_timer = self.loop.call_later(
                HIGH_DUTY_DIRECTED_TIMEOUT, self._directed_timeout
            )
        self.medium.start_advertising(self)
        return b"\x00"

    def _make_adv_pdu(self) -> AdvPdu:
        pdu_type = _ADV_TYPE_TO_PDU[self.adv_type]
        peer = (self.adv_peer_address_type, self.adv_peer_address)
        address_type, address = self._own_address(self.adv_own_address_type, peer)
        if self.adv_type == 0x01:
            interval = HIGH_DUTY_DIRECTED_INTERVAL
        else:
            # a real advertiser picks within [min, max]; the middle is as good as any
            interval = (self.adv_interval_min + self.adv_interval_max) / 2 * 0.000625
        if pdu_type == ADV_DIRECT_IND:
            return AdvPdu(self, pdu_type, address_type, address, b"", interval, peer[0], peer[1])
        return AdvPdu(self, pdu_type, address_type, address, self.adv_data, interval)

    def _stop_advertising(self) -> None:
        self.advertising = False
        self._adv_pdu = None
        if self._directed_timer is not None:
            self._directed_timer.cancel()
            self._directed_timer = None
        self.medium.stop_advertising(self)

    def _directed_timeout(self) -> None:
        self._directed_timer = None
        if not self.advertising:
            return
        self._stop_advertising()
        self._send_connection_complete_failure(
            hp.ADVERTISING_TIMEOUT, 1, self.adv_peer_address_type, self.adv_peer_address
        )

    def advertising_channels(self) -> list[int]:
        """Primary channels in use, from the channel map."""
        return [37 + i for i in range(3) if self.adv_channel_map >> i & 1]

    def listen_parameters(self) -> tuple[float, float]:
        """(scan interval, scan window) in seconds: the initiator's while connecting."""
        if self.initiating is not None:
            return self.initiating["scan_interval"], self.initiating["scan_window"]
        return self.scan_interval * 0.000625, self.scan_window * 0.000625

    def current_adv_pdu(self) -> AdvPdu | None:
        return self._adv_pdu if self.advertising else None

    def on_scan_request(self, address_type: int, address: bytes) -> bytes | None:
        pdu = self._adv_pdu
        if pdu is None or not pdu.scannable:
            return None
        if self.adv_filter_policy in (1, 3) and not self._in_accept_list(address_type, address):
            return None
        return self.scan_rsp_data

    def accepts_connection(self, pdu: AdvPdu, address_type: int, address: bytes) -> bool:
        if not pdu.connectable:
            return False
        if pdu.pdu_type == ADV_DIRECT_IND:
            kind, identity, _ = self._resolve(address_type, address)
            target = (self.adv_peer_address_type, self.adv_peer_address)
            return (address_type, address) == target or (kind - 2, identity) == target
        if self.adv_filter_policy in (2, 3):
            return self._in_accept_list(address_type, address)
        return True

    # ------------------------------------------------------------------ scanning
    def _le_set_scan_params(self, params: bytes) -> bytes | int:
        if len(params) != 7:
            raise _Invalid("length")
        if self.scanning:
            return hp.COMMAND_DISALLOWED
        scan_type, interval, window, own_type, policy = struct.unpack("<BHHBB", params)
        if scan_type > 1 or own_type > 3 or policy > 3:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if not (0x0004 <= window <= interval <= 0x4000):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.scan_type, self.scan_interval, self.scan_window = scan_type, interval, window
        self.scan_own_address_type, self.scan_filter_policy = own_type, policy
        return b"\x00"

    def _le_set_scan_enable(self, params: bytes) -> bytes | int:
        enable, filter_duplicates = params[0], params[1]
        if enable > 1 or filter_duplicates > 1:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if enable:
            if self.scan_own_address_type in (1, 3) and self.random_address == _ZERO_ADDRESS:
                return hp.INVALID_HCI_COMMAND_PARAMETERS
            if not self.scanning:
                self._seen.clear()
                self._scan_started = self.loop.time()
                self._scan_reports = 0
                self._scan_last_report = None
            self.filter_duplicates = bool(filter_duplicates)
            self.scanning = True
            self.medium.start_listening(self)
        else:
            if self.scanning:
                self._scan_ended()
            self.scanning = False
            if not self.initiating:
                self.medium.stop_listening(self)
        return b"\x00"

    def _scan_ended(self) -> None:
        self.medium.scan_ended(
            ScanRecord(
                self.label,
                self._scan_started,
                self.loop.time(),
                self.scan_interval * 0.000625,
                self.scan_window * 0.000625,
                self.scan_type == 1,
                self._scan_reports,
                self._scan_last_report,
            )
        )

    def on_adv_pdu(self, pdu: AdvPdu, rssi: int) -> None:
        """An advertising PDU heard on air (called by the medium)."""
        if self.initiating is not None and pdu.connectable:
            if self._try_connect(pdu):
                return
        if self.scanning:
            self._scan_report(pdu, rssi)

    def _scan_report(self, pdu: AdvPdu, rssi: int) -> None:
        if pdu.pdu_type == ADV_DIRECT_IND and not self._is_own_address(
            pdu.target_address_type, pdu.target_address
        ):
            return
        if self.scan_filter_policy & 1 and not self._in_accept_list(pdu.address_type, pdu.address):
            return
        if not self._le_event_enabled(hp.LE_ADVERTISING_REPORT):
            return
        kind, address, _rpa = self._resolve(pdu.address_type, pdu.address)
        key = (kind, address, pdu.pdu_type)
        if not (self.filter_duplicates and key in self._seen):
            self._seen.add(key)
            self._scan_reports += 1
            self._scan_last_report = self.loop.time()
            self._to_host(hp.le_advertising_report(pdu.pdu_type, kind, address, pdu.data, rssi))
        if self.scan_type == 1 and pdu.scannable:
            rsp_key = (kind, address, SCAN_RSP)
            if self.filter_duplicates and rsp_key in self._seen:
                return
            own_type, own_address = self._own_address(self.scan_own_address_type)
            data = self.medium.scan_request(self, pdu, own_type, own_address)
            if data is not None:
                self._seen.add(rsp_key)
                self._to_host(
                    hp.le_advertising_report(
                        SCAN_RSP, kind, address, data, self.medium.rssi(pdu.advertiser, self)
                    )
                )

    # ------------------------------------------------------------------ initiating
    def _le_create_connection(self, params: bytes) -> int:
        if len(params) != 25:
            raise _Invalid("length")
        (scan_interval, scan_window, policy, peer_type) = struct.unpack_from("<HHBB", params)
        peer_address = bytes(params[6:12])
        own_type, imin, imax, latency, timeout, _cemin, _cemax = struct.unpack_from(
            "<BHHHHHH", params, 12
        )
        if self.initiating is not None:
            return hp.COMMAND_DISALLOWED
        if policy > 1 or peer_type > 3 or own_type > 3:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if not (0x0004 <= scan_window <= scan_interval <= 0x4000):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if not _valid_connection_parameters(imin, imax, latency, timeout):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if own_type in (1, 3) and self.random_address == _ZERO_ADDRESS:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.initiating = {
            "filter_policy": policy,
            "peer": (peer_type, peer_address),
            "own_type": own_type,
            "interval": self._choose_interval(imin, imax),
            "latency": latency,
            "timeout": timeout,
            "scan_interval": scan_interval * 0.000625,
            "scan_window": scan_window * 0.000625,
        }
        self.medium.start_listening(self)
        return hp.SUCCESS

    def _try_connect(self, pdu: AdvPdu) -> bool:
        initiating = self.initiating
        assert initiating is not None
        if pdu.pdu_type == ADV_DIRECT_IND and not self._is_own_address(
            pdu.target_address_type, pdu.target_address
        ):
            return False
        if initiating["filter_policy"]:
            if not self._in_accept_list(pdu.address_type, pdu.address):
                return False
        else:
            peer_type, peer_address = initiating["peer"]
            kind, identity, _rpa = self._resolve(pdu.address_type, pdu.address)
            if (
                (pdu.address_type, pdu.address) != (peer_type & 1, peer_address)
                and (
                    kind,
                    identity,
                )
                != (peer_type, peer_address)
                and (kind - 2, identity) != (peer_type & 1, peer_address)
            ):
                return False
        own_type, own_address = self._own_address(
            initiating["own_type"], (pdu.address_type, pdu.address)
        )
        link = self.medium.connect(
            self,
            pdu,
            own_type,
            own_address,
            initiating["interval"],
            initiating["latency"],
            initiating["timeout"],
        )
        return link is not None

    def _le_create_connection_cancel(self, params: bytes) -> bytes | int:
        if self.initiating is None:
            return hp.COMMAND_DISALLOWED
        peer_type, peer_address = self.initiating["peer"]
        self.initiating = None
        if not self.scanning:
            self.medium.stop_listening(self)
        # the Command Complete goes first, then the connection complete with 0x02
        self.loop.call_soon(
            self._send_connection_complete_failure,
            hp.UNKNOWN_CONNECTION_IDENTIFIER,
            0,
            peer_type,
            peer_address,
        )
        return b"\x00"

    def _send_connection_complete_failure(
        self, status: int, role: int, peer_type: int, peer_address: bytes
    ) -> None:
        if self._le_event_enabled(hp.LE_ENHANCED_CONNECTION_COMPLETE):
            self._to_host(
                hp.le_enhanced_connection_complete(
                    status, 0, role, peer_type, peer_address, _ZERO_ADDRESS, _ZERO_ADDRESS, 0, 0, 0
                )
            )
        else:
            self._le_event(
                hp.LE_CONNECTION_COMPLETE,
                hp.le_connection_complete(status, 0, role, peer_type & 1, peer_address, 0, 0, 0),
            )

    # ------------------------------------------------------------------ links
    def allocate_handle(self) -> int:
        handle = self._next_handle
        while handle in self._handles:
            handle = handle % 0x0EFF + 1
        self._next_handle = handle % 0x0EFF + 1
        return handle

    def on_link_established(self, end: LinkEnd, peer_type: int, peer_address: bytes) -> None:
        """The medium made a link; ``peer_type``/``peer_address`` are the peer's on-air ones."""
        self._handles[end.handle] = end
        link = end.link
        kind, identity, rpa = self._resolve(peer_type, peer_address)
        end.peer_address_type, end.peer_address, end.peer_rpa = kind, identity, rpa
        if end.role == PERIPHERAL:
            self._stop_advertising()
            own_type, own_address = self._adv_pdu_address(end)
        else:
            initiating = self.initiating or {}
            self.initiating = None
            if not self.scanning:
                self.medium.stop_listening(self)
            own_type, own_address = self._own_address(initiating.get("own_type", 0))
        end.own_address_type, end.own_address = own_type, own_address
        if own_type == 1 and (own_address[5] >> 6) == 0b01:
            end.local_rpa = own_address
        end.tx_phys, end.rx_phys = self.default_tx_phys, self.default_rx_phys
        end.conn_max_tx_octets = min(self.suggested_tx_octets, self.max_octets)
        end.conn_max_tx_time = min(self.suggested_tx_time, self.max_time)
        if self._le_event_enabled(hp.LE_ENHANCED_CONNECTION_COMPLETE):
            self._to_host(
                hp.le_enhanced_connection_complete(
                    hp.SUCCESS,
                    end.handle,
                    end.role,
                    kind,
                    identity,
                    end.local_rpa,
                    rpa,
                    link.interval,
                    link.latency,
                    link.timeout,
                )
            )
        else:
            self._le_event(
                hp.LE_CONNECTION_COMPLETE,
                hp.le_connection_complete(
                    hp.SUCCESS,
                    end.handle,
                    end.role,
                    kind & 1,
                    identity,
                    link.interval,
                    link.latency,
                    link.timeout,
                ),
            )
        # Like most controllers, start the data length update on our own when the host's
        # suggested default is above the initial 27 octets.
        if end.conn_max_tx_octets > DEFAULT_DATA_OCTETS:
            self._start_length_update(end)
        # With the medium's phy="2M", the central moves the link to 2M on its own (as many
        # controllers and phones do) when both hosts' default PHYs allow it.
        if end.role == CENTRAL and self.auto_phy == PHY_2M and self.default_tx_phys & PHY_2M:
            end.tx_phys, end.rx_phys = self.default_tx_phys, self.default_rx_phys
            end.send_control("PHY_REQ", end.tx_phys, end.rx_phys)

    def _choose_interval(self, imin: int, imax: int) -> int:
        """The interval (1.25 ms units) this controller picks in the host's range: the
        medium's ``conn_interval_ms`` clamped to it, else the top (as NimBLE, rootcanal)."""
        if self.preferred_interval is None:
            return imax
        return min(imax, max(imin, self.preferred_interval))

    def _adv_pdu_address(self, end: LinkEnd) -> tuple[int, bytes]:
        return self._own_address(
            self.adv_own_address_type, (self.adv_peer_address_type, self.adv_peer_address)
        )

    def _end(self, params: bytes) -> LinkEnd | None:
        (handle,) = struct.unpack_from("<H", params)
        return self._handles.get(handle & 0x0FFF)

    def _drop_end(self, end: LinkEnd, reason: int) -> None:
        """Forget a link end and tell this host it is gone."""
        if self._handles.pop(end.handle, None) is None:
            return
        self._completed.pop(end.handle, None)
        self._event(hp.EVT_DISCONNECTION_COMPLETE, hp.disconnection_complete(end.handle, reason))

    def on_link_lost(self, end: LinkEnd) -> None:
        """The peer went silent: supervision timeout."""
        self._drop_end(end, hp.CONNECTION_TIMEOUT)

    # ------------------------------------------------------------------ disconnect
    def _disconnect(self, params: bytes) -> int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        reason = params[2]
        if end.terminating:
            return hp.COMMAND_DISALLOWED
        end.terminating = True
        end.tx.append((3, ("TERMINATE_IND", reason), ("TERMINATED", reason)))
        end.link.kick()
        return hp.SUCCESS

    # ------------------------------------------------------------------ LL control
    def on_ll_control(self, end: LinkEnd, pdu: tuple[Any, ...]) -> None:
        if end.handle not in self._handles:
            return
        handler = getattr(self, "_ll_" + pdu[0].lower(), None)
        if handler is None:
            end.send_control("UNKNOWN_RSP", pdu[0])
            return
        handler(end, *pdu[1:])

    def _on_control_acked(self, end: LinkEnd, token: tuple[Any, ...]) -> None:
        what = token[0]
        if what == "TERMINATED":
            self.medium.close_link(end.link)
            self._drop_end(end, hp.CONNECTION_TERMINATED_BY_LOCAL_HOST)
        elif what == "UPDATE":
            self._apply_update(end, *token[1:])

    def _ll_terminate_ind(self, end: LinkEnd, reason: int) -> None:
        self._drop_end(end, reason)

    def _ll_unknown_rsp(self, end: LinkEnd, opcode: str) -> None:
        logger.debug("[%s] peer does not know LL %s", self.label, opcode)

    # version / features ---------------------------------------------------------------
    def _read_remote_version(self, params: bytes) -> int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        if end.peer_version is not None:
            self.loop.call_soon(self._report_version, end)
        else:
            end.version_pending = True
            end.send_control("VERSION_IND", HCI_VERSION, COMPANY_ID, SUBVERSION, True)
        return hp.SUCCESS

    def _ll_version_ind(
        self, end: LinkEnd, version: int, company: int, subversion: int, request: bool
    ) -> None:
        end.peer_version = (version, company, subversion)
        if request:
            end.send_control("VERSION_IND", HCI_VERSION, COMPANY_ID, SUBVERSION, False)
        if end.version_pending:
            end.version_pending = False
            self._report_version(end)

    def _report_version(self, end: LinkEnd) -> None:
        if end.handle in self._handles and end.peer_version is not None:
            self._event(
                hp.EVT_READ_REMOTE_VERSION_COMPLETE,
                hp.read_remote_version_complete(hp.SUCCESS, end.handle, *end.peer_version),
            )

    def _le_read_remote_features(self, params: bytes) -> int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        end.features_pending = True
        opcode = "FEATURE_REQ" if end.role == CENTRAL else "PERIPHERAL_FEATURE_REQ"
        end.send_control(opcode, LE_FEATURES_BYTES)
        return hp.SUCCESS

    def _ll_feature_req(self, end: LinkEnd, features: bytes) -> None:
        end.peer_features = features
        end.send_control("FEATURE_RSP", LE_FEATURES_BYTES)

    _ll_peripheral_feature_req = _ll_feature_req

    def _ll_feature_rsp(self, end: LinkEnd, features: bytes) -> None:
        end.peer_features = features
        if end.features_pending:
            end.features_pending = False
            self._le_event(
                hp.LE_READ_REMOTE_FEATURES_COMPLETE,
                hp.le_read_remote_features_complete(hp.SUCCESS, end.handle, features),
            )

    def _ll_ping_req(self, end: LinkEnd) -> None:
        end.send_control("PING_RSP")

    def _ll_ping_rsp(self, end: LinkEnd) -> None:
        pass

    # connection parameters ------------------------------------------------------------
    def _le_connection_update(self, params: bytes) -> int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        _, imin, imax, latency, timeout, _cemin, _cemax = struct.unpack("<HHHHHHH", params)
        if not _valid_connection_parameters(imin, imax, latency, timeout):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if end.update_pending:
            return hp.COMMAND_DISALLOWED
        end.update_pending = True
        if end.role == CENTRAL:
            self._send_update(end, self._choose_interval(imin, imax), latency, timeout)
        else:
            end.send_control("CONNECTION_PARAM_REQ", imin, imax, latency, timeout)
        return hp.SUCCESS

    def _send_update(self, end: LinkEnd, interval: int, latency: int, timeout: int) -> None:
        """Central: LL_CONNECTION_UPDATE_IND; the new parameters apply once it is through."""
        end.tx.append(
            (
                3,
                ("CONNECTION_UPDATE_IND", interval, latency, timeout),
                ("UPDATE", interval, latency, timeout),
            )
        )
        end.link.kick()

    def _ll_connection_update_ind(
        self, end: LinkEnd, interval: int, latency: int, timeout: int
    ) -> None:
        link = end.link
        changed = (link.interval, link.latency, link.timeout) != (interval, latency, timeout)
        if changed or end.update_pending:
            end.update_pending = False
            self._le_event(
                hp.LE_CONNECTION_UPDATE_COMPLETE,
                hp.le_connection_update_complete(
                    hp.SUCCESS, end.handle, interval, latency, timeout
                ),
            )

    def _apply_update(self, end: LinkEnd, interval: int, latency: int, timeout: int) -> None:
        link = end.link
        changed = (link.interval, link.latency, link.timeout) != (interval, latency, timeout)
        link.interval, link.latency, link.timeout = interval, latency, timeout
        self.medium.link_parameters_changed(link)
        if end.handle in self._handles and (changed or end.update_pending):
            end.update_pending = False
            self._le_event(
                hp.LE_CONNECTION_UPDATE_COMPLETE,
                hp.le_connection_update_complete(
                    hp.SUCCESS, end.handle, interval, latency, timeout
                ),
            )

    def _ll_connection_param_req(
        self, end: LinkEnd, imin: int, imax: int, latency: int, timeout: int
    ) -> None:
        if end.role != CENTRAL:
            end.send_control("REJECT_EXT_IND", "CONNECTION_PARAM_REQ", hp.COMMAND_DISALLOWED)
            return
        if self._le_event_enabled(hp.LE_REMOTE_CONNECTION_PARAMETER_REQUEST):
            self._to_host(
                hp.le_remote_connection_parameter_request(end.handle, imin, imax, latency, timeout)
            )
        else:
            self._send_update(end, self._choose_interval(imin, imax), latency, timeout)

    def _le_param_request_reply(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        _, imin, imax, latency, timeout, _cemin, _cemax = struct.unpack("<HHHHHHH", params)
        if not _valid_connection_parameters(imin, imax, latency, timeout):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self._send_update(end, self._choose_interval(imin, imax), latency, timeout)
        return struct.pack("<BH", 0, end.handle)

    def _le_param_request_negative_reply(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        end.send_control("REJECT_EXT_IND", "CONNECTION_PARAM_REQ", params[2])
        return struct.pack("<BH", 0, end.handle)

    def _ll_reject_ext_ind(self, end: LinkEnd, opcode: str, error: int) -> None:
        link = end.link
        if opcode == "CONNECTION_PARAM_REQ":
            end.update_pending = False
            self._le_event(
                hp.LE_CONNECTION_UPDATE_COMPLETE,
                hp.le_connection_update_complete(
                    error, end.handle, link.interval, link.latency, link.timeout
                ),
            )
        elif opcode == "ENC_REQ":
            end.enc_pending = None
            self._event(
                hp.EVT_ENCRYPTION_CHANGE,
                hp.encryption_change(error, end.handle, 1 if end.encrypted else 0),
            )
        elif opcode == "PHY_REQ":
            end.phy_pending = False
            self._le_event(
                hp.LE_PHY_UPDATE_COMPLETE,
                hp.le_phy_update_complete(error, end.handle, end.tx_phy, end.rx_phy),
            )

    # data length ------------------------------------------------------------------------
    def _le_write_suggested_data_length(self, params: bytes) -> bytes | int:
        octets, time = struct.unpack("<HH", params)
        if not (27 <= octets <= 251 and 328 <= time <= 17040):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.suggested_tx_octets, self.suggested_tx_time = octets, time
        return b"\x00"

    def _le_set_data_length(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        _, octets, time = struct.unpack("<HHH", params)
        if not (27 <= octets <= 251 and 328 <= time <= 17040):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        end.conn_max_tx_octets = min(octets, self.max_octets)
        end.conn_max_tx_time = min(time, self.max_time)
        self._start_length_update(end)
        return struct.pack("<BH", 0, end.handle)

    def _start_length_update(self, end: LinkEnd) -> None:
        end.send_control(
            "LENGTH_REQ",
            self.max_octets,
            self.max_time,
            end.conn_max_tx_octets,
            end.conn_max_tx_time,
        )

    def _apply_length(
        self, end: LinkEnd, rx_octets: int, rx_time: int, tx_octets: int, tx_time: int
    ) -> None:
        before = (end.max_tx_octets, end.max_tx_time, end.max_rx_octets, end.max_rx_time)
        end.max_tx_octets = max(DEFAULT_DATA_OCTETS, min(end.conn_max_tx_octets, rx_octets))
        end.max_tx_time = max(328, min(end.conn_max_tx_time, rx_time))
        end.max_rx_octets = max(DEFAULT_DATA_OCTETS, min(self.max_octets, tx_octets))
        end.max_rx_time = max(328, min(self.max_time, tx_time))
        after = (end.max_tx_octets, end.max_tx_time, end.max_rx_octets, end.max_rx_time)
        if after != before:
            self._le_event(hp.LE_DATA_LENGTH_CHANGE, hp.le_data_length_change(end.handle, *after))

    def _ll_length_req(
        self, end: LinkEnd, rx_octets: int, rx_time: int, tx_octets: int, tx_time: int
    ) -> None:
        end.send_control(
            "LENGTH_RSP",
            self.max_octets,
            self.max_time,
            end.conn_max_tx_octets,
            end.conn_max_tx_time,
        )
        self._apply_length(end, rx_octets, rx_time, tx_octets, tx_time)

    def _ll_length_rsp(
        self, end: LinkEnd, rx_octets: int, rx_time: int, tx_octets: int, tx_time: int
    ) -> None:
        self._apply_length(end, rx_octets, rx_time, tx_octets, tx_time)

    # PHY ------------------------------------------------------------------------------
    def _le_read_phy(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BHBB", 0, end.handle, end.tx_phy, end.rx_phy)

    def _le_set_default_phy(self, params: bytes) -> bytes | int:
        all_phys, tx_phys, rx_phys = params[0], params[1], params[2]
        self.default_tx_phys = 0x03 if all_phys & 1 else tx_phys & 0x03
        self.default_rx_phys = 0x03 if all_phys & 2 else rx_phys & 0x03
        if not self.default_tx_phys or not self.default_rx_phys:
            self.default_tx_phys = self.default_tx_phys or 0x03
            self.default_rx_phys = self.default_rx_phys or 0x03
            if not (tx_phys | rx_phys) & 0x03:
                return hp.UNSUPPORTED_PARAMETER_VALUE
        return b"\x00"

    def _le_set_phy(self, params: bytes) -> int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        all_phys, tx_phys, rx_phys = params[2], params[3], params[4]
        tx = 0x03 if all_phys & 1 else tx_phys & 0x03
        rx = 0x03 if all_phys & 2 else rx_phys & 0x03
        if not tx or not rx:
            if (tx_phys | rx_phys) & ~0x07:
                return hp.INVALID_HCI_COMMAND_PARAMETERS
            # only Coded asked for: we do not support it
            return hp.UNSUPPORTED_PARAMETER_VALUE
        if end.phy_pending:
            return hp.COMMAND_DISALLOWED
        end.tx_phys, end.rx_phys = tx, rx
        end.phy_pending = True
        # a central decides once the peer's preferences come in its PHY_RSP
        end.send_control("PHY_REQ", tx, rx)
        return hp.SUCCESS

    def _ll_phy_req(self, end: LinkEnd, tx: int, rx: int) -> None:
        # A responder answers with its host's default preferences (Set Default PHY); a
        # host's Set PHY preferences shape only the procedure it starts (as rootcanal).
        end.tx_phys, end.rx_phys = self.default_tx_phys, self.default_rx_phys
        if end.role == CENTRAL:
            # the peripheral asked: the central decides now
            self._phy_update(end, peer_tx=tx, peer_rx=rx)
        else:
            end.send_control("PHY_RSP", end.tx_phys, end.rx_phys)

    def _ll_phy_rsp(self, end: LinkEnd, tx: int, rx: int) -> None:
        self._phy_update(end, peer_tx=tx, peer_rx=rx)

    def _phy_update(self, end: LinkEnd, peer_tx: int, peer_rx: int) -> None:
        link = end.link
        c_to_p = _phy_choice(end.tx_phys & peer_rx, link.phy_c_to_p)
        p_to_c = _phy_choice(peer_tx & end.rx_phys, link.phy_p_to_c)
        changed = (c_to_p, p_to_c) != (link.phy_c_to_p, link.phy_p_to_c)
        end.send_control("PHY_UPDATE_IND", c_to_p if changed else 0, p_to_c if changed else 0)
        if changed:
            link.phy_c_to_p, link.phy_p_to_c = c_to_p, p_to_c
            self.medium.link_parameters_changed(link)
        if changed or end.phy_pending:
            end.phy_pending = False
            self._le_event(
                hp.LE_PHY_UPDATE_COMPLETE,
                hp.le_phy_update_complete(hp.SUCCESS, end.handle, end.tx_phy, end.rx_phy),
            )

    def _ll_phy_update_ind(self, end: LinkEnd, c_to_p: int, p_to_c: int) -> None:
        changed = bool(c_to_p or p_to_c)
        if changed or end.phy_pending:
            end.phy_pending = False
            self._le_event(
                hp.LE_PHY_UPDATE_COMPLETE,
                hp.le_phy_update_complete(hp.SUCCESS, end.handle, end.tx_phy, end.rx_phy),
            )

    # encryption -------------------------------------------------------------------------
    def _le_enable_encryption(self, params: bytes) -> int:
        if len(params) != 28:
            raise _Invalid("length")
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        if end.role != CENTRAL or end.enc_pending is not None:
            return hp.COMMAND_DISALLOWED
        rand, (ediv,), ltk = (
            bytes(params[2:10]),
            struct.unpack_from("<H", params, 10),
            bytes(params[12:28]),
        )
        refresh = end.encrypted
        end.enc_pending = (ltk, refresh)
        if refresh:
            end.send_control("PAUSE_ENC_REQ")
        end.send_control("ENC_REQ", rand, ediv, ltk, refresh)
        return hp.SUCCESS

    def _ll_pause_enc_req(self, end: LinkEnd) -> None:
        end.send_control("PAUSE_ENC_RSP")

    def _ll_pause_enc_rsp(self, end: LinkEnd) -> None:
        pass

    def _ll_enc_req(self, end: LinkEnd, rand: bytes, ediv: int, ltk: bytes, refresh: bool) -> None:
        end.enc_pending = (ltk, refresh)
        end.send_control("ENC_RSP")
        if self._le_event_enabled(hp.LE_LONG_TERM_KEY_REQUEST):
            self._to_host(hp.le_long_term_key_request(end.handle, rand, ediv))
        else:
            self._refuse_encryption(end)

    def _ll_enc_rsp(self, end: LinkEnd) -> None:
        pass

    def _le_ltk_reply(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        if end.role != PERIPHERAL or end.enc_pending is None:
            return hp.COMMAND_DISALLOWED
        end.ltk = bytes(params[2:18])
        end.send_control("START_ENC_REQ", end.ltk)
        return struct.pack("<BH", 0, end.handle)

    def _le_ltk_negative_reply(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        if end.role != PERIPHERAL or end.enc_pending is None:
            return hp.COMMAND_DISALLOWED
        self._refuse_encryption(end)
        return struct.pack("<BH", 0, end.handle)

    def _refuse_encryption(self, end: LinkEnd) -> None:
        end.enc_pending = None
        end.send_control("REJECT_EXT_IND", "ENC_REQ", hp.PIN_OR_KEY_MISSING)

    def _ll_start_enc_req(self, end: LinkEnd, peripheral_ltk: bytes) -> None:
        pending = end.enc_pending
        if end.role != CENTRAL or pending is None:
            return
        ltk, _refresh = pending
        if ltk == peripheral_ltk:
            end.ltk = ltk
            end.send_control("START_ENC_RSP", True)
        else:
            # Our START_ENC_RSP is encrypted with another key: the peripheral's MIC check
            # fails and it drops the link; we only notice its silence.
            end.send_control("START_ENC_RSP", False)

    def _ll_start_enc_rsp(self, end: LinkEnd, mic_ok: bool = True) -> None:
        pending = end.enc_pending
        if pending is None:
            return
        _ltk, refresh = pending
        if not mic_ok:
            end.enc_pending = None
            link = end.link
            self._drop_end(end, hp.CONNECTION_TERMINATED_DUE_TO_MIC_FAILURE)
            self.medium.lose_link(link, silent=self)
            return
        end.enc_pending = None
        end.encrypted = True
        if end.role == PERIPHERAL:
            end.send_control("START_ENC_RSP", True)
        if refresh:
            self._event(
                hp.EVT_ENCRYPTION_KEY_REFRESH_COMPLETE,
                hp.encryption_key_refresh_complete(hp.SUCCESS, end.handle),
            )
        else:
            self._event(hp.EVT_ENCRYPTION_CHANGE, hp.encryption_change(hp.SUCCESS, end.handle, 1))

    # misc per-connection ---------------------------------------------------------------
    def _read_rssi(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        rssi = self.medium.rssi(self, end.peer.controller)
        return struct.pack("<BHb", 0, end.handle, rssi)

    def _read_tx_power_level(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BHb", 0, end.handle, 0)

    def _read_apto(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BHH", 0, end.handle, 3000)

    def _write_apto(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BH", 0, end.handle)

    def _le_read_channel_map(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BH", 0, end.handle) + b"\xff\xff\xff\xff\x1f"

    def _le_encrypt(self, params: bytes) -> bytes:
        if len(params) != 32:
            raise _Invalid("length")
        return b"\x00" + crypto.e(bytes(params[:16]), bytes(params[16:32]))

    # ================================================================== lifetime
    def close(self) -> None:
        """Leave the medium at once (no disconnection procedure): peers time out."""
        if self.closed:
            return
        self.closed = True
        self.advertising = False
        self.scanning = False
        self.initiating = None
        if self._directed_timer is not None:
            self._directed_timer.cancel()
        self._handles.clear()
        self.medium.detach(self)
        self._outbox.clear()
        for callback in self.on_close:
            callback(self)

    @property
    def links(self) -> list[LinkEnd]:
        return list(self._handles.values())

    def __repr__(self) -> str:
        return f"<VirtualController {self.label}>"


def _handle_tail(params: bytes) -> bytes:
    return bytes(params[0:2])


def _valid_connection_parameters(imin: int, imax: int, latency: int, timeout: int) -> bool:
    if not (0x0006 <= imin <= imax <= 0x0C80):
        return False
    if latency > 0x01F3 or not (0x000A <= timeout <= 0x0C80):
        return False
    # the supervision timeout must exceed (1 + latency) * interval * 2
    return timeout * 10 > (1 + latency) * imax * 1.25 * 2
