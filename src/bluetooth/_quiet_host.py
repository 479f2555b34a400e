"""Bumble's Host without its eager debug formatting, with fast paths for the packets of a
busy link and the host's side of controller-to-host flow control (``_rxflow``).

Thread: the stack thread (a Bumble object).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bumble import hci
from bumble.host import DataPacketQueue, Host
from bumble.snoop import Snooper

if TYPE_CHECKING:
    from ._rxflow import ReceiveFlow

logger = logging.getLogger(__name__)

_H4_ACL = 0x02
_H4_EVENT = 0x04
_ACL_HEADER = struct.Struct("<HH")  # handle and flags, length
_H4_ACL_L2CAP_HEADER = struct.Struct("<BHHHH")  # H4 type, handle, length; L2CAP length, CID
_L2CAP_HEADER = struct.Struct("<HH")  # length, channel
_SIGNALING_CIDS = (0x0001, 0x0005)
_NOCP = hci.HCI_NUMBER_OF_COMPLETED_PACKETS_EVENT


class QuietHost(Host):
    """Bumble's Host, minus its eager formatting: stock Bumble renders every HCI packet to a
    coloured string for a debug log line, logging on or off, which costs about half of the
    stack's time on a busy link. Same logic; the text is built only when DEBUG is on.

    The packets a busy link is made of take a shorter way (``on_packet``), with the same
    outcome as Bumble's: an ACL packet holding a whole L2CAP PDU for a fixed channel (ATT,
    SMP) goes straight to that channel's handler, instead of through Bumble's packet
    objects, its reassembler and two event emitters; Number Of Completed Packets is read
    without building an event object, and counted in the queues without their 'flow' event
    (``on_flow`` is told instead); an L2CAP PDU that fits one ACL packet, sent while the
    controller has room, goes to it as bytes (``send_l2cap_pdu``). Everything else goes
    Bumble's way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rx_flow: ReceiveFlow | None = None
        # the device's fixed channels (CID -> handler(connection handle, pdu)), set once the
        # device has registered them; None: every packet goes Bumble's way
        self.fixed_channels: dict[int, Any] | None = None
        # told of each Command Status (a connect waits for its command's)
        self.on_command_status: Callable[[hci.HCI_Command_Status_Event], None] | None = None
        # told after each Number Of Completed Packets (the controller took some packets)
        self.on_flow: Callable[[], None] | None = None

    def send_raw(self, packet: bytes) -> None:
        """An H4 packet as bytes (Host Number Of Completed Packets, which Bumble has no class
        for; an ACL packet on the short way)."""
        if _debug():
            logger.debug("HOST -> CONTROLLER: %s", packet.hex())
        if self.snooper:
            self.snooper.snoop(packet, Snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(packet)

    def on_packet(self, packet: bytes) -> None:
        kind = packet[0] if packet else -1
        if self.ready and not _debug():
            if kind == _H4_ACL and self.fixed_channels is not None and self._fast_acl(packet):
                return
            if kind == _H4_EVENT and len(packet) > 3 and packet[1] == _NOCP:
                self._fast_completed(packet)
                return
        super().on_packet(packet)

    def _fast_acl(self, packet: bytes) -> bool:
        """Deliver an ACL packet that carries one whole L2CAP PDU for a fixed channel
        (False: it goes Bumble's way)."""
        if len(packet) < 9:
            return False
        handle_flags, length = _ACL_HEADER.unpack_from(packet, 1)
        handle = handle_flags & 0x0FFF
        connection = self.connections.get(handle)
        if connection is None or handle_flags & 0x1000 or len(packet) != 5 + length:
            return False  # (bit 12: a continuation, which the reassembler takes)
        pdu_length, cid = _L2CAP_HEADER.unpack_from(packet, 5)
        assert self.fixed_channels is not None
        handler = self.fixed_channels.get(cid)
        if pdu_length + 4 != length or handler is None or cid in _SIGNALING_CIDS:
            return False
        if self.snooper:
            self.snooper.snoop(packet, Snooper.Direction.CONTROLLER_TO_HOST)
        assembler = connection.assembler
        assembler.current_data = None  # a start packet ends any PDU left unfinished
        assembler.l2cap_pdu_length = 0
        try:
            handler(handle, packet[9:])
        finally:
            if self.rx_flow is not None:
                self.rx_flow.processed(handle)
        return True

    def _fast_completed(self, packet: bytes) -> None:
        """HCI Number Of Completed Packets, read straight from its bytes."""
        if self.snooper:
            self.snooper.snoop(packet, Snooper.Direction.CONTROLLER_TO_HOST)
        count = packet[3]
        for i in range(count):
            handle, done = _ACL_HEADER.unpack_from(packet, 4 + 4 * i)
            if queue := self.get_data_packet_queue(handle):
                _packets_completed(queue, handle, done)
        if self.on_flow is not None:
            self.on_flow()

    def on_hci_number_of_completed_packets_event(
        self, event: hci.HCI_Number_Of_Completed_Packets_Event
    ) -> None:
        super().on_hci_number_of_completed_packets_event(event)
        if self.on_flow is not None:
            self.on_flow()

    def send_l2cap_pdu(self, connection_handle: int, cid: int, pdu: bytes) -> None:
        connection = self.connections.get(connection_handle)
        queue = None if connection is None else connection.acl_packet_queue
        if (
            queue is not None
            and len(pdu) + 4 <= queue.max_packet_size
            and not queue._packets
            and queue._in_flight < queue.max_in_flight
            and not _debug()
        ):
            # One ACL packet the controller has room for: straight to it as bytes, counted
            # as Bumble's queue counts what it sends (enqueue, then _check_queue), without
            # its packet object (Bumble 0.0.236's DataPacketQueue fields).
            queue._queued += 1
            queue._in_flight += 1
            state = queue._connection_state[connection_handle]
            state.in_flight += 1
            state.drained.clear()
            self.send_raw(
                _H4_ACL_L2CAP_HEADER.pack(_H4_ACL, connection_handle, len(pdu) + 4, len(pdu), cid)
                + pdu
            )
            return
        self.send_acl_sdu(connection_handle, _L2CAP_HEADER.pack(len(pdu), cid) + pdu)

    def on_hci_acl_data_packet(self, packet: hci.HCI_AclDataPacket) -> None:
        super().on_hci_acl_data_packet(packet)
        if self.rx_flow is not None:
            self.rx_flow.processed(packet.connection_handle)

    def on_hci_command_status_event(self, event: hci.HCI_Command_Status_Event) -> None:
        super().on_hci_command_status_event(event)
        if self.on_command_status is not None and event.status == hci.HCI_SUCCESS:
            self.on_command_status(event)

    def on_hci_disconnection_complete_event(
        self, event: hci.HCI_Disconnection_Complete_Event
    ) -> None:
        if self.rx_flow is not None and event.status == hci.HCI_SUCCESS:
            self.rx_flow.forget(event.connection_handle)
        super().on_hci_disconnection_complete_event(event)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _debug():
            logger.debug("HOST -> CONTROLLER: %s", packet)
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _debug():
            logger.debug("CONTROLLER -> HOST: %s", packet)
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.CONTROLLER_TO_HOST)
        if isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        else:
            super().on_hci_packet(packet)

    def send_acl_sdu(self, connection_handle: int, sdu: bytes) -> None:
        connection = self.connections.get(connection_handle)
        if connection is None or connection.acl_packet_queue is None:
            super().send_acl_sdu(connection_handle, sdu)  # logs the problem
            return
        queue = connection.acl_packet_queue
        size = queue.max_packet_size
        for offset in range(0, len(sdu), size):
            pdu = sdu[offset : offset + size]
            queue.enqueue(
                hci.HCI_AclDataPacket(
                    connection_handle=connection_handle,
                    pb_flag=1 if offset else 0,
                    bc_flag=0,
                    data_total_length=len(pdu),
                    data=pdu,
                ),
                connection_handle,
            )


def _packets_completed(queue: DataPacketQueue, handle: int, done: int) -> None:
    """``queue.on_packets_completed(done, handle)``, counted as Bumble 0.0.236 counts, without
    its 'flow' event while nothing listens to it (the host's ``on_flow`` is told instead).
    Anything unusual (a count beyond what is in flight, a listener) goes Bumble's way."""
    state = queue._connection_state.get(handle)
    if (
        state is None
        or done > state.in_flight
        or done > queue._in_flight
        or queue._events.get("flow")
    ):
        queue.on_packets_completed(done, handle)
        return
    state.in_flight -= done
    if not state.in_flight:
        state.drained.set()
    queue._in_flight -= done
    queue._completed += done
    if queue._packets:
        queue._check_queue()


def _debug() -> bool:
    return logger.isEnabledFor(logging.DEBUG)
