"""The virtual controller's core: HCI in and out, command dispatch, the ACL data path.

The host side speaks H4 bytes: ``on_packet(h4)`` takes host->controller packets and the
controller calls ``sink.on_packet(h4)`` on the sink given to ``set_packet_sink`` (always
from the event loop, never re-entrantly). HCI commands are parsed by hand from their
parameter bytes; events are built by ``hcipackets``. The ACL path (host data in, LL
fragments out, Number Of Completed Packets back) is kept free of per-packet objects and
of eager log formatting.

Controller-to-host flow control (Core Vol 4, Part E, 4.2 and 7.3.38-40), when the host turns
it on: the controller sends the host at most as many ACL packets as the host said it has
buffers for (Host Buffer Size) until the host says it is done with some (Host Number Of
Completed Packets). Packets beyond that wait in the controller's receive buffers
(``RX_BUFFERS``); when those are full the controller stops acknowledging data PDUs
(``rx_full``: the medium leaves them at the head of the sender's queue and the sender sends
them again in a later exchange), so a host that does not keep up slows its peer down and
nothing is lost. A link that ends delivers what it had received before its Disconnection
Complete, credits or not.

``ControllerCore`` is the part of ``VirtualController`` (``virtual.py``) that the other
roles build on: it owns the host link, the event masks, the connection handles and the
controller's fixed description (version, features, buffers), and it answers the HCI
commands of every role (``set_commands``, each role's ``commands()``): Command Complete
for a synchronous one (a handler returns the return parameters, or a status on failure),
Command Status first for an asynchronous one (a handler returns the status and sends its
events later). It uses no other role.
"""

from __future__ import annotations

import logging
import os
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bumble import crypto
from bumble import hci as bhci

from ..air.link import (
    LLID_CONTINUATION,
    LLID_START,
    PHY_1M,
    PHY_2M,
    LinkEnd,
    data_time_us,
)
from ..air.medium import Medium
from . import hcipackets as hp

if TYPE_CHECKING:
    from bumble.transport.common import TransportSink

    from .virtual import VirtualController


# one logger for all the controller's modules, under its public module's name
logger = logging.getLogger("bleradio.controller")

LE_ACL_PACKET_LENGTH = 251
LE_ACL_PACKETS = 16
# LL data PDUs received and held for a host that has no buffer free; when they are full the
# controller stops acknowledging (a small controller's receive pool, as on a Nordic chip)
RX_BUFFERS = 8

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

_ZERO_ADDRESS = b"\x00" * 6

# A role's commands: opcode -> (handler, error tail) for those answered by a Command
# Complete, opcode -> handler for those answered by a Command Status (then events).
SyncCommands = dict[int, tuple[Callable[[bytes], Any], Any]]
AsyncCommands = dict[int, Callable[[bytes], int]]
Commands = tuple[SyncCommands, AsyncCommands]


class _Invalid(Exception):
    """A command's parameters are malformed or out of range (-> status 0x12)."""


# A host that sends malformed packets gets one warning line, then one per interval at most
# (with the count of those not logged): a broken or hostile client cannot flood the log.
WARN_INTERVAL = 10.0


class ControllerCore:
    """Host link, event masks, command dispatch, ACL data, connection handles."""

    def __init__(self, controller: VirtualController) -> None:
        self.controller = controller
        medium: Medium = controller.medium
        self.medium = medium
        self.loop = controller.loop
        self._commands: dict[int, tuple[Callable[[bytes], Any], bool, Any]] = {}
        self._sink: TransportSink | None = None
        self._outbox: list[bytes] = []
        self._flush_scheduled = False
        self._completed: dict[int, int] = {}
        self.handles: dict[int, LinkEnd] = {}
        # the medium's model: largest LL payload, PHY a new link moves to, interval choice
        options = medium.options
        self.max_octets = options.data_length
        self.max_time = data_time_us(self.max_octets)
        self.auto_phy = PHY_2M if options.phy == "2M" else PHY_1M
        self.preferred_interval = (
            None if options.conn_interval_ms is None else round(options.conn_interval_ms / 1.25)
        )
        self.max_connections = options.max_connections
        self._warned_at = -WARN_INTERVAL
        self._unwarned = 0  # bad packets not logged since the last line

    def reset(self) -> None:
        """The state HCI_Reset clears (the connection handles are dropped by the caller)."""
        self.event_mask = hp.DEFAULT_EVENT_MASK
        self.le_event_mask = hp.DEFAULT_LE_EVENT_MASK
        # controller-to-host flow control (off until the host turns it on)
        self.host_flow = False
        self._host_buffers = 0  # ACL packets the host can take now
        self._host_outstanding: dict[int, int] = {}  # handle -> sent, not completed yet
        self._rx_held: deque[tuple[int, bytes]] = deque()  # (handle, ACL packet)
        self.rx_full = False  # data PDUs are not acknowledged (read by the medium)

    # ================================================================== host side
    def set_packet_sink(self, sink: TransportSink | None) -> None:
        self._sink = sink

    def to_host(self, packet: bytes) -> None:
        self._outbox.append(packet)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def event(self, code: int, packet: bytes) -> None:
        """Send an event if the host's event mask lets it through."""
        if (self.event_mask >> hp.EVENT_MASK_BIT[code]) & 1:
            self.to_host(packet)

    def le_event(self, subevent: int, packet: bytes) -> None:
        if (self.event_mask >> 61) & 1 and (self.le_event_mask >> (subevent - 1)) & 1:
            self.to_host(packet)

    def le_event_enabled(self, subevent: int) -> bool:
        return bool((self.event_mask >> 61) & 1 and (self.le_event_mask >> (subevent - 1)) & 1)

    def connection_complete(
        self,
        status: int,
        handle: int,
        role: int,
        peer_type: int,
        peer_address: bytes,
        local_rpa: bytes,
        peer_rpa: bytes,
        interval: int,
        latency: int,
        timeout: int,
    ) -> None:
        """LE Enhanced Connection Complete when the host unmasked it, else the legacy one."""
        if self.le_event_enabled(hp.LE_ENHANCED_CONNECTION_COMPLETE):
            self.to_host(
                hp.le_enhanced_connection_complete(
                    status,
                    handle,
                    role,
                    peer_type,
                    peer_address,
                    local_rpa,
                    peer_rpa,
                    interval,
                    latency,
                    timeout,
                )
            )
        else:
            self.le_event(
                hp.LE_CONNECTION_COMPLETE,
                hp.le_connection_complete(
                    status, handle, role, peer_type & 1, peer_address, interval, latency, timeout
                ),
            )

    def _flush(self) -> None:
        self._flush_scheduled = False
        packets = self._outbox
        self._outbox = []
        if self._completed:
            packets.insert(0, hp.number_of_completed_packets(self._completed))
            self._completed = {}
        sink = self._sink
        if sink is None or self.controller.closed:
            return
        for packet in packets:
            try:
                sink.on_packet(packet)
            except Exception:
                logger.exception("[%s] host failed on a packet", self.controller.label)

    def on_packet(self, packet: bytes) -> None:
        """A host->controller H4 packet."""
        if self.controller.closed:
            return
        kind = packet[0] if packet else -1
        if kind == hp.H4_ACL:
            self._on_acl(packet)
        elif kind == hp.H4_COMMAND:
            self._on_command(packet)
        else:
            self._bad_input("ignoring H4 packet of type %d", kind)

    def _bad_input(self, message: str, *args: Any, exc_info: bool = False) -> None:
        """Log a malformed or failed host packet, rate-limited (``WARN_INTERVAL``)."""
        now = self.loop.time()
        if now - self._warned_at < WARN_INTERVAL:
            self._unwarned += 1
            return
        if self._unwarned:
            message += " (and %d more bad packets before this one)"
            args = (*args, self._unwarned)
        self._warned_at, self._unwarned = now, 0
        logger.warning("[%s] " + message, self.controller.label, *args, exc_info=exc_info)

    # ================================================================== ACL data
    def _on_acl(self, packet: bytes) -> None:
        if len(packet) < 5:
            self._bad_input("truncated ACL packet dropped")
            return
        handle_flags, length = struct.unpack_from("<HH", packet, 1)
        handle = handle_flags & 0x0FFF
        end = self.handles.get(handle)
        payload = packet[5:]
        if end is None or len(payload) != length or length > LE_ACL_PACKET_LENGTH:
            self._bad_input(
                "ACL packet dropped (handle 0x%04x, length %d of %d)", handle, len(payload), length
            )
            if end is not None:
                self.packet_completed(end)
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

    def packet_completed(self, end: LinkEnd) -> None:
        handle = end.handle
        completed = self._completed
        completed[handle] = completed.get(handle, 0) + 1
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    # called by the medium (through VirtualController) ---------------------------------
    def on_ll_data(self, end: LinkEnd, llid: int, payload: bytes) -> None:
        packet = hp.acl(end.handle, 0b10 if llid == LLID_START else 0b01, payload)
        if not self.host_flow:
            self.to_host(packet)
        elif self._host_buffers > 0 and not self._rx_held:
            self._host_buffers -= 1
            outstanding = self._host_outstanding
            outstanding[end.handle] = outstanding.get(end.handle, 0) + 1
            self.to_host(packet)
        else:
            self._rx_held.append((end.handle, packet))
            self.rx_full = len(self._rx_held) >= RX_BUFFERS

    # ================================================================== controller-to-host flow
    def _set_host_flow_control(self, params: bytes) -> bytes:
        enable = params[0]
        if enable > 3:
            raise _Invalid(f"Flow_Control_Enable {enable}")
        self.host_flow = bool(enable & 1)  # (bit 1: synchronous data, which LE has none of)
        if not self.host_flow:
            self._release_held(everything=True)
        return b"\x00"

    def _host_buffer_size(self, params: bytes) -> bytes:
        _, _, acl_packets, _ = struct.unpack("<HBHH", params)
        if acl_packets == 0:
            raise _Invalid("Host_Total_Num_ACL_Data_Packets 0")
        self._host_buffers = acl_packets
        self._host_outstanding.clear()
        return b"\x00"

    def _host_completed(self, params: bytes) -> None:
        """Host Number Of Completed Packets: the host freed buffers (no event answers it).
        Counts for a handle that is gone are ignored, as the host may send them before it
        has seen the Disconnection Complete."""
        (count,) = struct.unpack_from("<B", params)
        outstanding = self._host_outstanding
        for i in range(count):
            handle, done = struct.unpack_from("<HH", params, 1 + 4 * i)
            handle &= 0x0FFF
            sent = outstanding.get(handle, 0)
            done = min(done, sent)
            if done:
                outstanding[handle] = sent - done
                self._host_buffers += done
        self._release_held()

    def _release_held(self, handle: int | None = None, everything: bool = False) -> None:
        """Pass held packets to the host while it has buffers (all of them with
        ``everything``, and all of ``handle``'s, whose link has ended)."""
        held = self._rx_held
        if not held:
            return
        if handle is not None:
            mine = [packet for h, packet in held if h == handle]
            self._rx_held = held = deque(item for item in held if item[0] != handle)
            for packet in mine:
                self.to_host(packet)
        outstanding = self._host_outstanding
        while held and (everything or self._host_buffers > 0):
            h, packet = held.popleft()
            if not everything:
                self._host_buffers -= 1
                outstanding[h] = outstanding.get(h, 0) + 1
            self.to_host(packet)
        if self.rx_full and len(held) < RX_BUFFERS:
            self.rx_full = False
            for end in self.handles.values():  # their peers send again
                if end.peer.tx:
                    end.link.kick()

    # ================================================================== commands
    def _on_command(self, packet: bytes) -> None:
        if len(packet) < 4:
            self._bad_input("truncated HCI command dropped: %s", packet.hex())
            return
        opcode, length = struct.unpack_from("<HB", packet, 1)
        params = packet[4:]
        entry = self._commands.get(opcode)
        if entry is None:
            logger.debug("[%s] unknown HCI command 0x%04x", self.controller.label, opcode)
            self.to_host(hp.command_complete(opcode, bytes((hp.UNKNOWN_HCI_COMMAND,))))
            return
        handler, is_async, error_tail = entry
        if len(params) != length:
            self._bad_input("HCI command 0x%04x with a wrong length", opcode)
            status = hp.INVALID_HCI_COMMAND_PARAMETERS
            if is_async:
                self.to_host(hp.command_status(opcode, status))
            else:
                self.to_host(hp.command_complete(opcode, bytes((status,))))
            return
        if is_async:
            handler(params)  # sends its Command Status, then its events
            return
        try:
            result = handler(params)
            if result is None:
                return  # a command no event answers (Host Number Of Completed Packets)
        except (_Invalid, struct.error, IndexError, ValueError) as error:
            self._bad_input("invalid HCI command 0x%04x (%s): %s", opcode, error, params.hex())
            result = hp.INVALID_HCI_COMMAND_PARAMETERS
        except Exception:
            self._bad_input("HCI command 0x%04x failed", opcode, exc_info=True)
            result = hp.UNSPECIFIED_ERROR
        if isinstance(result, int):
            # a failed sync command: status, then the fields a host may still parse
            tail = error_tail(params) if error_tail and len(params) >= 2 else b""
            self.to_host(hp.command_complete(opcode, bytes((result,)) + tail))
        else:
            self.to_host(hp.command_complete(opcode, result))

    def set_commands(self, *roles: Commands) -> None:
        """The commands this controller answers: every role's (``commands()``), in order (a
        later role's handler for an opcode wins); also what Read Local Supported Commands
        reports."""
        table: dict[int, tuple[Callable[[bytes], Any], bool, Any]] = {}
        for sync, asynchronous in roles:
            for opcode, (handler, tail) in sync.items():
                table[opcode] = (handler, False, tail)
            for opcode, handler in asynchronous.items():
                table[opcode] = (self._async(opcode, handler), True, None)
        self._supported_commands = (
            sum(bhci.HCI_SUPPORTED_COMMANDS_MASKS.get(opcode, 0) for opcode in table)
        ).to_bytes(64, "little")
        self._commands = table

    def _async(self, opcode: int, handler: Callable[[bytes], int]) -> Callable[[bytes], Any]:
        """Run an async command's handler so that its Command Status comes first."""

        def run(params: bytes) -> None:
            index = len(self._outbox)
            try:
                status = handler(params)
            except (_Invalid, struct.error, IndexError, ValueError) as error:
                self._bad_input("invalid HCI command 0x%04x: %s", opcode, error)
                status = hp.INVALID_HCI_COMMAND_PARAMETERS
            except Exception:
                self._bad_input("HCI command 0x%04x failed", opcode, exc_info=True)
                status = hp.UNSPECIFIED_ERROR
            self._outbox.insert(index, hp.command_status(opcode, status))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)

        return run

    # ------------------------------------------------------------------ controller info
    def commands(self) -> Commands:
        """This role's HCI commands: the controller's description, event masks, flow control."""
        h = bhci
        sync: SyncCommands = {
            h.HCI_SET_EVENT_MASK_COMMAND: (self._set_event_mask, None),
            h.HCI_READ_LOCAL_VERSION_INFORMATION_COMMAND: (self._read_local_version, None),
            h.HCI_READ_LOCAL_SUPPORTED_COMMANDS_COMMAND: (self._read_local_commands, None),
            h.HCI_READ_LOCAL_SUPPORTED_FEATURES_COMMAND: (
                lambda p: b"\x00" + LMP_FEATURES_BYTES,
                None,
            ),
            h.HCI_READ_BD_ADDR_COMMAND: (lambda p: b"\x00" + self.controller.public_address, None),
            h.HCI_SET_CONTROLLER_TO_HOST_FLOW_CONTROL_COMMAND: (
                self._set_host_flow_control,
                None,
            ),
            h.HCI_HOST_BUFFER_SIZE_COMMAND: (self._host_buffer_size, None),
            h.HCI_HOST_NUMBER_OF_COMPLETED_PACKETS_COMMAND: (self._host_completed, None),
            h.HCI_LE_SET_EVENT_MASK_COMMAND: (self._le_set_event_mask, None),
            h.HCI_LE_READ_BUFFER_SIZE_COMMAND: (
                lambda p: struct.pack("<BHB", 0, LE_ACL_PACKET_LENGTH, LE_ACL_PACKETS),
                None,
            ),
            h.HCI_LE_READ_LOCAL_SUPPORTED_FEATURES_COMMAND: (
                lambda p: b"\x00" + LE_FEATURES_BYTES,
                None,
            ),
            h.HCI_LE_SET_HOST_CHANNEL_CLASSIFICATION_COMMAND: (lambda p: b"\x00", None),
            h.HCI_LE_ENCRYPT_COMMAND: (self._le_encrypt, None),
            h.HCI_LE_RAND_COMMAND: (lambda p: b"\x00" + os.urandom(8), None),
            h.HCI_LE_READ_SUPPORTED_STATES_COMMAND: (lambda p: b"\x00" + LE_STATES, None),
            h.HCI_LE_READ_TRANSMIT_POWER_COMMAND: (lambda p: struct.pack("<Bbb", 0, -20, 8), None),
        }
        return sync, {}

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

    def _le_encrypt(self, params: bytes) -> bytes:
        if len(params) != 32:
            raise _Invalid("length")
        return b"\x00" + crypto.e(bytes(params[:16]), bytes(params[16:32]))

    def forget_output(self) -> None:
        """Drop what has not been sent to the host yet (HCI_Reset, leaving the medium)."""
        self._outbox.clear()
        self._completed.clear()

    # ------------------------------------------------------------------ connection handles
    @property
    def links(self) -> list[LinkEnd]:
        return list(self.handles.values())

    def allocate_handle(self) -> int:
        """The lowest handle no link uses, from 0: ESP32's and nRF's controllers number
        links so (a board program may even notify handle 0 without looking)."""
        handle = 0
        while handle in self.handles:
            handle += 1
        if handle > 0x0EFF:
            raise RuntimeError("no free connection handle")
        return handle

    def at_connection_limit(self) -> bool:
        """Whether this controller holds as many links as it may (``max_connections``): a
        link counts until its Disconnection Complete, as a controller frees its context."""
        return len(self.handles) >= self.max_connections

    def end_of(self, params: bytes) -> LinkEnd | None:
        """The link end whose handle starts a command's ``params`` (None: no such link)."""
        (handle,) = struct.unpack_from("<H", params)
        return self.handles.get(handle & 0x0FFF)

    def drop_end(self, end: LinkEnd, reason: int) -> None:
        """Forget a link end and tell this host it is gone."""
        if self.handles.pop(end.handle, None) is None:
            return
        self._completed.pop(end.handle, None)
        if self.host_flow:
            # what the link carried reaches the host before the news that it ended; the
            # host forgets the link's buffers then, and so does the controller
            self._host_buffers += self._host_outstanding.pop(end.handle, 0)
            self._release_held(end.handle)
        self.event(hp.EVT_DISCONNECTION_COMPLETE, hp.disconnection_complete(end.handle, reason))

    # ------------------------------------------------------------------ connection interval
    # (initiating and the connection update procedure both pick one)
    def choose_interval(self, imin: int, imax: int) -> int:
        """The interval (1.25 ms units) this controller picks in the host's range: the
        medium's ``conn_interval_ms`` clamped to it, else the top (as NimBLE, rootcanal)."""
        if self.preferred_interval is None:
            return imax
        return min(imax, max(imin, self.preferred_interval))


def _handle_tail(params: bytes) -> bytes:
    return bytes(params[0:2])


def _handle_ok(end: LinkEnd) -> bytes:
    """A per-connection command's return parameters on success: status 0, the handle."""
    return struct.pack("<BH", 0, end.handle)


def _valid_connection_parameters(imin: int, imax: int, latency: int, timeout: int) -> bool:
    if not (0x0006 <= imin <= imax <= 0x0C80):
        return False
    if latency > 0x01F3 or not (0x000A <= timeout <= 0x0C80):
        return False
    # the supervision timeout must exceed (1 + latency) * interval * 2
    return timeout * 10 > (1 + latency) * imax * 1.25 * 2
