"""The virtual controller's links: how a link starts, ends and talks LL control.

The medium calls ``allocate_handle`` and ``on_link_established`` when a connection is
made (which ends the advertising or initiating that made it, ``gap.py``, and
starts the data length and PHY updates a controller runs on its own), ``on_ll_control``
for a received LL control PDU, ``on_ll_sent`` for one of ours delivered (a data fragment
completes a host packet, a control PDU moves its procedure on), ``on_link_lost`` on a
supervision timeout. LL control PDUs arrive as tuples ``(opcode, *args)`` and go to the
method ``_ll_<opcode>`` of whichever role handles them (this module: terminate, version,
features, ping; ``procedures.py``: connection update, data length, PHY,
encryption). Also here: Disconnect and the per-connection reads (RSSI, TX power,
authenticated payload timeout, channel map).
"""

from __future__ import annotations

import struct
from typing import Any

from bumble import hci as bhci

from ..air.link import CENTRAL, DEFAULT_DATA_OCTETS, PERIPHERAL, PHY_2M, LinkEnd
from . import hcipackets as hp
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


class Links(ControllerCore):
    """Link set-up and loss, Disconnect, LL control dispatch, version and features."""

    def _link_commands(self) -> Commands:
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
    def allocate_handle(self) -> int:
        """The lowest handle no link uses, from 0: ESP32's and nRF's controllers number
        links so (a board program may even notify handle 0 without looking)."""
        handle = 0
        while handle in self._handles:
            handle += 1
        if handle > 0x0EFF:
            raise RuntimeError("no free connection handle")
        return handle

    def on_link_established(
        self, end: LinkEnd, peer: tuple[int, bytes], own: tuple[int, bytes]
    ) -> None:
        """The medium made a link; ``peer`` and ``own`` are the (type, address) each side used
        on air (AdvA and InitA of the CONNECT_IND: a resolvable private address is reported
        as this side's Local_RPA as it was sent)."""
        self._handles[end.handle] = end
        link = end.link
        kind, identity, rpa = self._resolve(*peer)
        end.peer_address_type, end.peer_address, end.peer_rpa = kind, identity, rpa
        if end.role == PERIPHERAL:
            self._stop_advertising()
        else:
            self._initiating_ended()
        own_type, own_address = own
        end.own_address_type, end.own_address = own_type, own_address
        if own_type == 1 and (own_address[5] >> 6) == 0b01:
            end.local_rpa = own_address
        end.tx_phys, end.rx_phys = self.default_tx_phys, self.default_rx_phys
        end.conn_max_tx_octets = min(self.suggested_tx_octets, self.max_octets)
        end.conn_max_tx_time = min(self.suggested_tx_time, self.max_time)
        self._connection_complete(
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
            self._start_length_update(end)
        # With the medium's phy="2M", the central moves the link to 2M on its own (as many
        # controllers and phones do) when both hosts' default PHYs allow it.
        if end.role == CENTRAL and self.auto_phy == PHY_2M and self.default_tx_phys & PHY_2M:
            end.send_control("PHY_REQ", end.tx_phys, end.rx_phys)

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

    def on_ll_sent(self, end: LinkEnd, token: Any) -> None:
        if token.__class__ is int:
            if end.handle in self._handles:
                self._packet_completed(end)
            return
        self._on_control_acked(end, token)

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
        return _handle_ok(end)

    def _le_read_channel_map(self, params: bytes) -> bytes | int:
        end = self._end(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return _handle_ok(end) + b"\xff\xff\xff\xff\x1f"
