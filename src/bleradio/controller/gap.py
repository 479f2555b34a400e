"""The virtual controller's GAP role: advertising, scanning, initiating.

Legacy advertising of the four types (high duty directed times out after 1.28 s), scan
responses to active scanners only, passive/active scanning with duplicate filtering per
(address, report type), connecting with cancel. The medium calls ``on_adv_pdu``,
``on_scan_request``, ``accepts_connection`` and reads ``current_adv_pdu()``,
``advertising_channels()``, ``listen_parameters()`` (through ``VirtualController``, the
``LinkLayer`` of ``bleradio.air.linklayer``).

Uses: the core (events to the host, the connection limit, the interval choice); the
addresses role (own address on air, peers resolved, the filter accept list). A link, once
made, is the connections role's (``connections.py``), which ends the advertising or
initiating that made it (``stop_advertising``, ``initiating_ended``)."""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING, Any

from bumble import hci as bhci

from ..air.medium import (
    ADV_DIRECT_IND,
    ADV_IND,
    ADV_NONCONN_IND,
    ADV_SCAN_IND,
    SCAN_RSP,
    AdvPdu,
    ScanRecord,
)
from . import hcipackets as hp
from .address import Addressing
from .core import (
    _ZERO_ADDRESS,
    Commands,
    ControllerCore,
    SyncCommands,
    _Invalid,
    _valid_connection_parameters,
)

if TYPE_CHECKING:
    from .virtual import VirtualController

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


class Gap:
    """Advertising, scanning and initiating state and commands."""

    def __init__(
        self, controller: VirtualController, core: ControllerCore, addresses: Addressing
    ) -> None:
        self.controller = controller
        self.core = core
        self.addresses = addresses
        self.medium = controller.medium
        self.loop = controller.loop

    def reset(self) -> None:
        """The state HCI_Reset clears."""
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

    def commands(self) -> Commands:
        """This role's HCI commands: advertising, scanning, LE Create Connection (Cancel)."""
        h = bhci
        sync: SyncCommands = {
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
        }
        return sync, {h.HCI_LE_CREATE_CONNECTION_COMMAND: self._le_create_connection}

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
            self.stop_advertising()
            return b"\x00"
        if self.advertising:
            return b"\x00"
        own_type = self.adv_own_address_type
        if own_type in (1, 3) and self.addresses.random_address == _ZERO_ADDRESS:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        # A connectable advertiser must be able to take the link it invites: at the limit
        # a controller refuses (non-connectable and scannable advertising still go on).
        if _ADV_TYPE_TO_PDU[self.adv_type] in (ADV_IND, ADV_DIRECT_IND) and (
            self.core.at_connection_limit()
        ):
            return hp.CONNECTION_LIMIT_EXCEEDED
        self.advertising = True
        self._adv_pdu = self._make_adv_pdu()
        if self.adv_type == 0x01:
            self._directed_timer = self.loop.call_later(
                HIGH_DUTY_DIRECTED_TIMEOUT, self._directed_timeout
            )
        self.medium.start_advertising(self.controller)
        return b"\x00"

    def _make_adv_pdu(self) -> AdvPdu:
        pdu_type = _ADV_TYPE_TO_PDU[self.adv_type]
        peer = (self.adv_peer_address_type, self.adv_peer_address)
        address_type, address = self.addresses.own_address(self.adv_own_address_type, peer)
        if self.adv_type == 0x01:
            interval = HIGH_DUTY_DIRECTED_INTERVAL
        else:
            # a real advertiser picks within [min, max]; the middle is as good as any
            interval = (self.adv_interval_min + self.adv_interval_max) / 2 * 0.000625
        if pdu_type == ADV_DIRECT_IND:
            return AdvPdu(
                self.controller, pdu_type, address_type, address, b"", interval, peer[0], peer[1]
            )
        return AdvPdu(self.controller, pdu_type, address_type, address, self.adv_data, interval)

    def stop_advertising(self) -> None:
        self.advertising = False
        self._adv_pdu = None
        if self._directed_timer is not None:
            self._directed_timer.cancel()
            self._directed_timer = None
        self.medium.stop_advertising(self.controller)

    def _directed_timeout(self) -> None:
        self._directed_timer = None
        if not self.advertising:
            return
        self.stop_advertising()
        self._send_connection_complete_failure(
            hp.ADVERTISING_TIMEOUT, 1, self.adv_peer_address_type, self.adv_peer_address
        )

    def busy(self) -> bool:
        """Whether advertising, scanning or initiating runs (the random address cannot
        change then)."""
        return bool(self.advertising or self.scanning or self.initiating)

    def uses_accept_list(self) -> bool:
        """Whether advertising, scanning or initiating filters on the accept list now (the
        list cannot change then)."""
        return bool(
            (self.advertising and self.adv_filter_policy)
            or (self.scanning and self.scan_filter_policy & 1)
            or (self.initiating and self.initiating["filter_policy"])
        )

    def cancel_directed_timeout(self) -> None:
        """High duty directed advertising's timeout no longer applies (reset, close)."""
        if self._directed_timer is not None:
            self._directed_timer.cancel()
            self._directed_timer = None

    def advertising_channels(self) -> list[int]:
        """Primary channels in use, from the channel map."""
        return [37 + i for i in range(3) if self.adv_channel_map >> i & 1]

    def initiating_ended(self) -> None:
        """The initiator is done (connected or cancelled): the radio goes back to the
        host's scan, if one runs, or stops listening."""
        self.initiating = None
        if self.scanning:
            self.medium.start_listening(self.controller)
        else:
            self.medium.stop_listening(self.controller)

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
        if self.adv_filter_policy in (1, 3) and not self.addresses.in_accept_list(
            address_type, address
        ):
            return None
        return self.scan_rsp_data

    def accepts_connection(self, pdu: AdvPdu, address_type: int, address: bytes) -> bool:
        if not pdu.connectable:
            return False
        if pdu.pdu_type == ADV_DIRECT_IND:
            kind, identity, _ = self.addresses.resolve(address_type, address)
            target = (self.adv_peer_address_type, self.adv_peer_address)
            return (address_type, address) == target or (kind - 2, identity) == target
        if self.adv_filter_policy in (2, 3):
            return self.addresses.in_accept_list(address_type, address)
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
            if (
                self.scan_own_address_type in (1, 3)
                and self.addresses.random_address == _ZERO_ADDRESS
            ):
                return hp.INVALID_HCI_COMMAND_PARAMETERS
            if not self.scanning:
                self._seen.clear()
                self._scan_started = self.loop.time()
                self._scan_reports = 0
                self._scan_last_report = None
            self.filter_duplicates = bool(filter_duplicates)
            self.scanning = True
            self.medium.start_listening(self.controller)
        else:
            if self.scanning:
                self.scan_ended()
            self.scanning = False
            if not self.initiating:
                self.medium.stop_listening(self.controller)
        return b"\x00"

    def scan_ended(self) -> None:
        self.medium.scan_ended(
            ScanRecord(
                self.controller.label,
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
        if pdu.pdu_type == ADV_DIRECT_IND and not self.addresses.is_own_address(
            pdu.target_address_type, pdu.target_address
        ):
            return
        if self.scan_filter_policy & 1 and not self.addresses.in_accept_list(
            pdu.address_type, pdu.address
        ):
            return
        if not self.core.le_event_enabled(hp.LE_ADVERTISING_REPORT):
            return
        kind, address, _rpa = self.addresses.resolve(pdu.address_type, pdu.address)
        key = (kind, address, pdu.pdu_type)
        if not (self.filter_duplicates and key in self._seen):
            self._seen.add(key)
            self._scan_reports += 1
            self._scan_last_report = self.loop.time()
            self.core.to_host(hp.le_advertising_report(pdu.pdu_type, kind, address, pdu.data, rssi))
        if self.scan_type == 1 and pdu.scannable:
            rsp_key = (kind, address, SCAN_RSP)
            if self.filter_duplicates and rsp_key in self._seen:
                return
            own_type, own_address = self.addresses.own_address(self.scan_own_address_type)
            data = self.medium.scan_request(self.controller, pdu, own_type, own_address)
            if data is not None:
                self._seen.add(rsp_key)
                self.core.to_host(
                    hp.le_advertising_report(
                        SCAN_RSP,
                        kind,
                        address,
                        data,
                        self.medium.rssi(pdu.advertiser, self.controller),
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
        if own_type in (1, 3) and self.addresses.random_address == _ZERO_ADDRESS:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        # no room for the link it would make: refused in the Command Status, no scan starts
        if self.core.at_connection_limit():
            return hp.CONNECTION_LIMIT_EXCEEDED
        self.initiating = {
            "filter_policy": policy,
            "peer": (peer_type, peer_address),
            "own_type": own_type,
            "interval": self.core.choose_interval(imin, imax),
            "latency": latency,
            "timeout": timeout,
            "scan_interval": scan_interval * 0.000625,
            "scan_window": scan_window * 0.000625,
        }
        self.medium.start_listening(self.controller)
        return hp.SUCCESS

    def _try_connect(self, pdu: AdvPdu) -> bool:
        initiating = self.initiating
        assert initiating is not None
        if pdu.pdu_type == ADV_DIRECT_IND and not self.addresses.is_own_address(
            pdu.target_address_type, pdu.target_address
        ):
            return False
        kind, identity, _rpa = self.addresses.resolve(pdu.address_type, pdu.address)
        if initiating["filter_policy"]:
            if not self.addresses.in_accept_list(pdu.address_type, pdu.address):
                return False
        else:
            peer_type, peer_address = initiating["peer"]
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
        # the local IRK is the one paired with the peer's identity (resolved if it can be)
        own_type, own_address = self.addresses.own_address(
            initiating["own_type"], (kind & 1, identity)
        )
        link = self.medium.connect(
            self.controller,
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
        self.initiating_ended()
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
        self.core.connection_complete(
            status, 0, role, peer_type, peer_address, _ZERO_ADDRESS, _ZERO_ADDRESS, 0, 0, 0
        )
