"""The virtual controller's connections: how a link starts, ends and talks LL control.

The medium (through ``VirtualController``) calls ``on_link_established`` when a
connection is made (which ends the advertising or initiating that made it, and starts the
data length and PHY updates a controller runs on its own), ``on_ll_control`` for a
received LL control PDU, ``on_ll_sent`` for one of ours delivered (a data fragment
completes a host packet, a control PDU moves its procedure on), ``on_link_lost`` on a
supervision timeout. LL control PDUs arrive as tuples ``(opcode, *args)`` and go to the
method ``_ll_<opcode>`` of this role (terminate, version, features, ping) or of the
procedures role (``procedures.py``: connection update, data length, PHY, encryption),
from one table (``ll_handlers``). Also here: Disconnect and the per-connection reads
(RSSI, TX power, authenticated payload timeout, channel map).

Uses: the core (connection handles, events, completed packets); the addresses role (a
peer's address resolved); the GAP role (ends advertising or initiating when a link is
made); the procedures role (the host's defaults a new link starts with, the updates it
starts, the LL PDUs it handles)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bumble import hci as bhci

from ..air.link import CENTRAL, DEFAULT_DATA_OCTETS, PERIPHERAL, PHY_2M, LinkEnd
from . import hcipackets as hp
from .address import Addressing
from .core import (
    COMPANY_ID,
    HCI_VERSION,
    LE_FEATURES_BYTES,
    SUBVERSION,
    Commands,
    ControllerCore,
    SyncCommands,
    _handle_ok,
    _handle_tail,
    logger,
)
from .gap import Gap
from .procedures import LinkProcedures

if TYPE_CHECKING:
    from .virtual import VirtualController


def ll_handlers(role: object) -> dict[str, Callable[..., None]]:
    """A role's LL control handlers by opcode: its methods ``_ll_<opcode>``."""
    return {name[4:].upper(): getattr(role, name) for name in dir(role) if name.startswith("_ll_")}


class Connections:
    """Link set-up and loss, Disconnect, LL control dispatch, version and features."""

    def __init__(
        self,
        controller: VirtualController,
        core: ControllerCore,
        addresses: Addressing,
        gap: Gap,
        procedures: LinkProcedures,
    ) -> None:
        self.controller = controller
        self.core = core
        self.addresses = addresses
        self.gap = gap
        self.procedures = procedures
        self.medium = controller.medium
        self.loop = controller.loop
        # every LL control PDU this controller handles, whichever role's
        self._control_handlers = {**ll_handlers(procedures), **ll_handlers(self)}

    def commands(self) -> Commands:
        """This role's HCI commands: Disconnect, remote version and features, per-link reads."""
        h = bhci
        handle_tail = _handle_tail
        sync: SyncCommands = {
            h.HCI_READ_RSSI_COMMAND: (self._read_rssi, handle_tail),
            h.HCI_READ_TRANSMIT_POWER_LEVEL_COMMAND: (self._read_tx_power_level, handle_tail),
            h.HCI_READ_AUTHENTICATED_PAYLOAD_TIMEOUT_COMMAND: (self._read_apto, handle_tail),
            h.HCI_WRITE_AUTHENTICATED_PAYLOAD_TIMEOUT_COMMAND: (self._write_apto, handle_tail),
            h.HCI_LE_READ_CHANNEL_MAP_COMMAND: (self._le_read_channel_map, handle_tail),
        }
        asynchronous = {
            h.HCI_DISCONNECT_COMMAND: self._disconnect,
            h.HCI_READ_REMOTE_VERSION_INFORMATION_COMMAND: self._read_remote_version,
            h.HCI_LE_READ_REMOTE_FEATURES_COMMAND: self._le_read_remote_features,
        }
        return sync, asynchronous

    # ------------------------------------------------------------------ links
    def on_link_established(
        self, end: LinkEnd, peer: tuple[int, bytes], own: tuple[int, bytes]
    ) -> None:
        """The medium made a link; ``peer`` and ``own`` are the (type, address) each side used
        on air (AdvA and InitA of the CONNECT_IND: a resolvable private address is reported
        as this side's Local_RPA as it was sent)."""
        self.core.handles[end.handle] = end
        link = end.link
        kind, identity, rpa = self.addresses.resolve(*peer)
        end.peer_address_type, end.peer_address, end.peer_rpa = kind, identity, rpa
        if end.role == PERIPHERAL:
            self.gap.stop_advertising()
        else:
            self.gap.initiating_ended()
        own_type, own_address = own
        end.own_address_type, end.own_address = own_type, own_address
        if own_type == 1 and (own_address[5] >> 6) == 0b01:
            end.local_rpa = own_address
        end.tx_phys, end.rx_phys = self.procedures.default_tx_phys, self.procedures.default_rx_phys
        end.conn_max_tx_octets = min(self.procedures.suggested_tx_octets, self.core.max_octets)
        end.conn_max_tx_time = min(self.procedures.suggested_tx_time, self.core.max_time)
        self.core.connection_complete(
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
        # Like most controllers, start the data length update on our own when the host's
        # suggested default is above the initial 27 octets.
        if end.conn_max_tx_octets > DEFAULT_DATA_OCTETS:
            self.procedures.start_length_update(end)
        # With the medium's phy="2M", the central moves the link to 2M on its own (as many
        # controllers and phones do) when both hosts' default PHYs allow it.
        if (
            end.role == CENTRAL
            and self.core.auto_phy == PHY_2M
            and self.procedures.default_tx_phys & PHY_2M
        ):
            end.send_control("PHY_REQ", end.tx_phys, end.rx_phys)

    def on_link_lost(self, end: LinkEnd) -> None:
        """The peer went silent: supervision timeout."""
        self.core.drop_end(end, hp.CONNECTION_TIMEOUT)

    # ------------------------------------------------------------------ disconnect
    def _disconnect(self, params: bytes) -> int:
        end = self.core.end_of(params)
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
        if end.handle not in self.core.handles:
            return
        handler = self._control_handlers.get(pdu[0])
        if handler is None:
            end.send_control("UNKNOWN_RSP", pdu[0])
            return
        handler(end, *pdu[1:])

    def on_ll_sent(self, end: LinkEnd, token: Any) -> None:
        if token.__class__ is int:
            if end.handle in self.core.handles:
                self.core.packet_completed(end)
            return
        self._on_control_acked(end, token)

    def _on_control_acked(self, end: LinkEnd, token: tuple[Any, ...]) -> None:
        what = token[0]
        if what == "TERMINATED":
            self.medium.close_link(end.link)
            self.core.drop_end(end, hp.CONNECTION_TERMINATED_BY_LOCAL_HOST)
        elif what == "UPDATE":
            self.procedures.apply_update(end, *token[1:])

    def _ll_terminate_ind(self, end: LinkEnd, reason: int) -> None:
        self.core.drop_end(end, reason)

    def _ll_unknown_rsp(self, end: LinkEnd, opcode: str) -> None:
        logger.debug("[%s] peer does not know LL %s", self.controller.label, opcode)

    # version / features ---------------------------------------------------------------
    def _read_remote_version(self, params: bytes) -> int:
        end = self.core.end_of(params)
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
        if end.handle in self.core.handles and end.peer_version is not None:
            self.core.event(
                hp.EVT_READ_REMOTE_VERSION_COMPLETE,
                hp.read_remote_version_complete(hp.SUCCESS, end.handle, *end.peer_version),
            )

    def _le_read_remote_features(self, params: bytes) -> int:
        end = self.core.end_of(params)
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
            self.core.le_event(
                hp.LE_READ_REMOTE_FEATURES_COMPLETE,
                hp.le_read_remote_features_complete(hp.SUCCESS, end.handle, features),
            )

    def _ll_ping_req(self, end: LinkEnd) -> None:
        end.send_control("PING_RSP")

    def _ll_ping_rsp(self, end: LinkEnd) -> None:
        pass

    # misc per-connection ---------------------------------------------------------------
    def _read_rssi(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        rssi = self.medium.rssi(self.controller, end.peer.controller)
        return struct.pack("<BHb", 0, end.handle, rssi)

    def _read_tx_power_level(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BHb", 0, end.handle, 0)

    def _read_apto(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BHH", 0, end.handle, 3000)

    def _write_apto(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return _handle_ok(end)

    def _le_read_channel_map(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return _handle_ok(end) + b"\xff\xff\xff\xff\x1f"
