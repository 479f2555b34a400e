"""The virtual controller's LL procedures: connection update, data length, PHY, encryption.

Each procedure is a few LL control PDUs between the two ends (``_ll_<opcode>`` methods,
called through ``connections.py``'s dispatch) and the HCI commands and events that
start and report it: connection update (incl. the peripheral's Connection Parameters
Request), data length (started by the controller itself after connecting when the host's
suggested default is above 27 octets), PHY (1M/2M), encryption (start and refresh, key
mismatch -> MIC failure). A rejected procedure ends in LL_REJECT_EXT_IND.

Uses: the core only (connection handles, events to the host, the interval choice, the
controller's data length limits). The connections role dispatches LL control PDUs here
and starts the procedures a new link runs (``start_length_update``, ``apply_update``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from bumble import hci as bhci

from ..air.link import (
    CENTRAL,
    DEFAULT_DATA_OCTETS,
    PERIPHERAL,
    PHY_1M,
    PHY_2M,
    LinkEnd,
    data_time_us,
)
from . import hcipackets as hp
from .core import (
    Commands,
    ControllerCore,
    SyncCommands,
    _handle_ok,
    _handle_tail,
    _Invalid,
    _valid_connection_parameters,
)

if TYPE_CHECKING:
    from .virtual import VirtualController


def _valid_data_length(octets: int, time: int) -> bool:
    return 27 <= octets <= 251 and 328 <= time <= 17040


def _phy_choice(allowed: int, current: int) -> int:
    if allowed & 0x02:
        return PHY_2M
    if allowed & 0x01:
        return PHY_1M
    return current


class LinkProcedures:
    """Connection update, data length, PHY and encryption procedures."""

    def __init__(self, controller: VirtualController, core: ControllerCore) -> None:
        self.controller = controller
        self.core = core
        self.medium = controller.medium

    def reset(self) -> None:
        """The state HCI_Reset clears: the host's data length and PHY defaults."""
        # data length / PHY defaults
        self.suggested_tx_octets = DEFAULT_DATA_OCTETS
        self.suggested_tx_time = data_time_us(DEFAULT_DATA_OCTETS)
        self.default_tx_phys = PHY_1M | PHY_2M
        self.default_rx_phys = PHY_1M | PHY_2M

    def commands(self) -> Commands:
        """This role's HCI commands: connection update, data length, PHY, encryption."""
        h = bhci
        handle_tail = _handle_tail
        sync: SyncCommands = {
            h.HCI_LE_LONG_TERM_KEY_REQUEST_REPLY_COMMAND: (self._le_ltk_reply, handle_tail),
            h.HCI_LE_LONG_TERM_KEY_REQUEST_NEGATIVE_REPLY_COMMAND: (
                self._le_ltk_negative_reply,
                handle_tail,
            ),
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
                    "<BHHHH",
                    0,
                    self.core.max_octets,
                    self.core.max_time,
                    self.core.max_octets,
                    self.core.max_time,
                ),
                None,
            ),
            h.HCI_LE_READ_PHY_COMMAND: (self._le_read_phy, handle_tail),
            h.HCI_LE_SET_DEFAULT_PHY_COMMAND: (self._le_set_default_phy, None),
        }
        asynchronous = {
            h.HCI_LE_CONNECTION_UPDATE_COMMAND: self._le_connection_update,
            h.HCI_LE_ENABLE_ENCRYPTION_COMMAND: self._le_enable_encryption,
            h.HCI_LE_SET_PHY_COMMAND: self._le_set_phy,
        }
        return sync, asynchronous

    # connection parameters ------------------------------------------------------------
    def _le_connection_update(self, params: bytes) -> int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        _, imin, imax, latency, timeout, _cemin, _cemax = struct.unpack("<HHHHHHH", params)
        if not _valid_connection_parameters(imin, imax, latency, timeout):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        if end.update_pending:
            return hp.COMMAND_DISALLOWED
        end.update_pending = True
        if end.role == CENTRAL:
            self._send_update(end, self.core.choose_interval(imin, imax), latency, timeout)
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
            self._update_complete(end, hp.SUCCESS, interval, latency, timeout)

    def apply_update(self, end: LinkEnd, interval: int, latency: int, timeout: int) -> None:
        link = end.link
        changed = (link.interval, link.latency, link.timeout) != (interval, latency, timeout)
        link.interval, link.latency, link.timeout = interval, latency, timeout
        self.medium.link_parameters_changed(link)
        if end.handle in self.core.handles and (changed or end.update_pending):
            self._update_complete(end, hp.SUCCESS, interval, latency, timeout)

    def _update_complete(
        self, end: LinkEnd, status: int, interval: int, latency: int, timeout: int
    ) -> None:
        """The connection update procedure is over (done or refused): tell the host."""
        end.update_pending = False
        self.core.le_event(
            hp.LE_CONNECTION_UPDATE_COMPLETE,
            hp.le_connection_update_complete(status, end.handle, interval, latency, timeout),
        )

    def _ll_connection_param_req(
        self, end: LinkEnd, imin: int, imax: int, latency: int, timeout: int
    ) -> None:
        if end.role != CENTRAL:
            end.send_control("REJECT_EXT_IND", "CONNECTION_PARAM_REQ", hp.COMMAND_DISALLOWED)
            return
        if self.core.le_event_enabled(hp.LE_REMOTE_CONNECTION_PARAMETER_REQUEST):
            self.core.to_host(
                hp.le_remote_connection_parameter_request(end.handle, imin, imax, latency, timeout)
            )
        else:
            self._send_update(end, self.core.choose_interval(imin, imax), latency, timeout)

    def _le_param_request_reply(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        _, imin, imax, latency, timeout, _cemin, _cemax = struct.unpack("<HHHHHHH", params)
        if not _valid_connection_parameters(imin, imax, latency, timeout):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self._send_update(end, self.core.choose_interval(imin, imax), latency, timeout)
        return _handle_ok(end)

    def _le_param_request_negative_reply(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        end.send_control("REJECT_EXT_IND", "CONNECTION_PARAM_REQ", params[2])
        return _handle_ok(end)

    def _ll_reject_ext_ind(self, end: LinkEnd, opcode: str, error: int) -> None:
        link = end.link
        if opcode == "CONNECTION_PARAM_REQ":
            self._update_complete(end, error, link.interval, link.latency, link.timeout)
        elif opcode == "ENC_REQ":
            end.enc_pending = None
            self.core.event(
                hp.EVT_ENCRYPTION_CHANGE,
                hp.encryption_change(error, end.handle, 1 if end.encrypted else 0),
            )
        elif opcode == "PHY_REQ":
            self._phy_update_complete(end, error)

    # data length ------------------------------------------------------------------------
    def _le_write_suggested_data_length(self, params: bytes) -> bytes | int:
        octets, time = struct.unpack("<HH", params)
        if not _valid_data_length(octets, time):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        self.suggested_tx_octets, self.suggested_tx_time = octets, time
        return b"\x00"

    def _le_set_data_length(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        _, octets, time = struct.unpack("<HHH", params)
        if not _valid_data_length(octets, time):
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        end.conn_max_tx_octets = min(octets, self.core.max_octets)
        end.conn_max_tx_time = min(time, self.core.max_time)
        self.start_length_update(end)
        return _handle_ok(end)

    def start_length_update(self, end: LinkEnd) -> None:
        end.send_control(
            "LENGTH_REQ",
            self.core.max_octets,
            self.core.max_time,
            end.conn_max_tx_octets,
            end.conn_max_tx_time,
        )

    def _apply_length(
        self, end: LinkEnd, rx_octets: int, rx_time: int, tx_octets: int, tx_time: int
    ) -> None:
        before = (end.max_tx_octets, end.max_tx_time, end.max_rx_octets, end.max_rx_time)
        end.max_tx_octets = max(DEFAULT_DATA_OCTETS, min(end.conn_max_tx_octets, rx_octets))
        end.max_tx_time = max(328, min(end.conn_max_tx_time, rx_time))
        end.max_rx_octets = max(DEFAULT_DATA_OCTETS, min(self.core.max_octets, tx_octets))
        end.max_rx_time = max(328, min(self.core.max_time, tx_time))
        after = (end.max_tx_octets, end.max_tx_time, end.max_rx_octets, end.max_rx_time)
        if after != before:
            self.core.le_event(
                hp.LE_DATA_LENGTH_CHANGE, hp.le_data_length_change(end.handle, *after)
            )

    def _ll_length_req(
        self, end: LinkEnd, rx_octets: int, rx_time: int, tx_octets: int, tx_time: int
    ) -> None:
        end.send_control(
            "LENGTH_RSP",
            self.core.max_octets,
            self.core.max_time,
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
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        return struct.pack("<BHBB", 0, end.handle, end.tx_phy, end.rx_phy)

    def _le_set_default_phy(self, params: bytes) -> bytes | int:
        phys = _phys(params[0], params[1], params[2])
        if isinstance(phys, int):
            return phys
        self.default_tx_phys, self.default_rx_phys = phys
        return b"\x00"

    def _le_set_phy(self, params: bytes) -> int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        phys = _phys(params[2], params[3], params[4])
        if isinstance(phys, int):
            return phys
        tx, rx = phys
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
            self._phy_update_complete(end, hp.SUCCESS)

    def _ll_phy_update_ind(self, end: LinkEnd, c_to_p: int, p_to_c: int) -> None:
        changed = bool(c_to_p or p_to_c)
        if changed or end.phy_pending:
            self._phy_update_complete(end, hp.SUCCESS)

    def _phy_update_complete(self, end: LinkEnd, status: int) -> None:
        """The PHY update procedure is over (done or refused): tell the host."""
        end.phy_pending = False
        self.core.le_event(
            hp.LE_PHY_UPDATE_COMPLETE,
            hp.le_phy_update_complete(status, end.handle, end.tx_phy, end.rx_phy),
        )

    # encryption -------------------------------------------------------------------------
    def _le_enable_encryption(self, params: bytes) -> int:
        if len(params) != 28:
            raise _Invalid("length")
        end = self.core.end_of(params)
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
        if self.core.le_event_enabled(hp.LE_LONG_TERM_KEY_REQUEST):
            self.core.to_host(hp.le_long_term_key_request(end.handle, rand, ediv))
        else:
            self._refuse_encryption(end)

    def _ll_enc_rsp(self, end: LinkEnd) -> None:
        pass

    def _le_ltk_reply(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        if end.role != PERIPHERAL or end.enc_pending is None:
            return hp.COMMAND_DISALLOWED
        end.ltk = bytes(params[2:18])
        end.send_control("START_ENC_REQ", end.ltk)
        return _handle_ok(end)

    def _le_ltk_negative_reply(self, params: bytes) -> bytes | int:
        end = self.core.end_of(params)
        if end is None:
            return hp.UNKNOWN_CONNECTION_IDENTIFIER
        if end.role != PERIPHERAL or end.enc_pending is None:
            return hp.COMMAND_DISALLOWED
        self._refuse_encryption(end)
        return _handle_ok(end)

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
            self.core.drop_end(end, hp.CONNECTION_TERMINATED_DUE_TO_MIC_FAILURE)
            self.medium.lose_link(link, silent=self.controller)
            return
        end.enc_pending = None
        end.encrypted = True
        if end.role == PERIPHERAL:
            end.send_control("START_ENC_RSP", True)
        if refresh:
            self.core.event(
                hp.EVT_ENCRYPTION_KEY_REFRESH_COMPLETE,
                hp.encryption_key_refresh_complete(hp.SUCCESS, end.handle),
            )
        else:
            self.core.event(
                hp.EVT_ENCRYPTION_CHANGE, hp.encryption_change(hp.SUCCESS, end.handle, 1)
            )


def _phys(all_phys: int, tx_phys: int, rx_phys: int) -> tuple[int, int] | int:
    """The (TX, RX) PHY preferences of LE Set (Default) PHY, or the error status: a bit for
    a PHY this controller lacks (Coded) or a reserved one is Unsupported Feature or
    Parameter Value (0x11), no PHY at all Invalid Parameters (0x12); nothing changes then."""
    chosen = []
    for no_preference, asked in ((all_phys & 1, tx_phys), (all_phys & 2, rx_phys)):
        if no_preference:
            chosen.append(0x03)
        elif asked & ~0x03:
            return hp.UNSUPPORTED_PARAMETER_VALUE
        elif not asked:
            return hp.INVALID_HCI_COMMAND_PARAMETERS
        else:
            chosen.append(asked)
    return chosen[0], chosen[1]
