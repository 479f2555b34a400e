"""Bumble's Host without its eager debug formatting, with the host's side of
controller-to-host flow control (``_rxflow``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bumble import hci
from bumble.host import Host
from bumble.snoop import Snooper

if TYPE_CHECKING:
    from ._rxflow import ReceiveFlow

logger = logging.getLogger(__name__)


class QuietHost(Host):
    """Bumble's Host, minus its eager formatting: stock Bumble renders every HCI packet to a
    coloured string for a debug log line, logging on or off, which costs about half of the
    stack's time on a busy link. Same logic; the text is built only when DEBUG is on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rx_flow: ReceiveFlow | None = None
        # told of each Command Status (a connect waits for its command's)
        self.on_command_status: Callable[[hci.HCI_Command_Status_Event], None] | None = None

    def send_raw(self, packet: bytes) -> None:
        """An H4 packet Bumble has no class for (Host Number Of Completed Packets)."""
        if _debug():
            logger.debug("HOST -> CONTROLLER: %s", packet.hex())
        if self.snooper:
            self.snooper.snoop(packet, Snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(packet)

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


def _debug() -> bool:
    return logger.isEnabledFor(logging.DEBUG)
