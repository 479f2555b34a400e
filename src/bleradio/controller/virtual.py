"""VirtualController: an LE-only HCI controller on a ``Medium``.

The host side speaks H4 bytes: ``on_packet(h4)`` takes host->controller packets and the
controller calls ``sink.on_packet(h4)`` on the sink given to ``set_packet_sink`` (always
from the event loop, never re-entrantly). HCI commands are parsed by hand from their
parameter bytes; events are built by ``hcipackets``.

Behaviour follows a real controller (Google's rootcanal where in doubt): legacy
advertising of the four types with real scan responses, passive/active scanning with
duplicate filtering, connect with cancel, several links in both roles, LL procedures for
connection update (incl. the peripheral's Connection Parameters Request), data length,
PHY, features, version, encryption (start and refresh, key mismatch -> MIC failure),
filter accept list and resolving list.

The controller owns one object per role, each with its state and its HCI commands, and
each given the roles it uses when it is made (the dependencies go one way, but for the
GAP and addresses roles, which ask each other):

- ``core`` (``core.py``): H4 in and out, event masks, command dispatch, the ACL data path
  and flow control, connection handles, the controller's version/features/buffers; uses
  no other role;
- ``addresses`` (``address.py``): own and peer addresses, filter accept list, resolving
  list; uses the core and asks the GAP role whether it is busy;
- ``gap`` (``gap.py``): advertising, scanning, initiating; uses the core and addresses;
- ``procedures`` (``procedures.py``): connection update, data length, PHY, encryption;
  uses the core;
- ``connections`` (``connections.py``): a link's start and end, Disconnect, LL control
  dispatch, version/features exchange, per-connection reads; uses all of the above;
- here: the assembly, the ``LinkLayer`` the medium calls (``bleradio.air.linklayer``, each
  call handed to its role), HCI_Reset and leaving the medium.
"""

from __future__ import annotations

from typing import Any

from bumble import hci as bhci
from bumble.transport.common import TransportSink

from ..air.link import LinkEnd
from ..air.medium import AdvPdu, Medium
from .address import Addressing
from .connections import Connections
from .core import ControllerCore
from .gap import Gap
from .procedures import LinkProcedures


class VirtualController:
    """An LE controller attached to a medium; one per host. The medium calls it through
    ``bleradio.air.linklayer.LinkLayer`` (tests/radio/test_linklayer.py checks it has all
    of it)."""

    def __init__(self, medium: Medium, label: str | None = None) -> None:
        self.medium = medium
        self.label, self.public_address = medium.attach(self, label)
        self.loop = medium.loop
        self.closed = False
        self.core = ControllerCore(self)
        self.addresses = Addressing(self, self.core)
        self.gap = Gap(self, self.core, self.addresses)
        self.addresses.gap = self.gap
        self.procedures = LinkProcedures(self, self.core)
        self.connections = Connections(self, self.core, self.addresses, self.gap, self.procedures)
        self.core.set_commands(
            # HCI_Reset touches every role, so it is answered here
            ({bhci.HCI_RESET_COMMAND: (self._reset, None)}, {}),
            self.core.commands(),
            self.addresses.commands(),
            self.gap.commands(),
            self.connections.commands(),
            self.procedures.commands(),
        )
        self._reset_state()

    def _reset_state(self) -> None:
        self.core.reset()
        self.addresses.reset()
        self.gap.reset()
        self.procedures.reset()

    # ================================================================== the host side
    def set_packet_sink(self, sink: TransportSink | None) -> None:
        """Where controller->host H4 packets go (None: nowhere)."""
        self.core.set_packet_sink(sink)

    def on_packet(self, packet: bytes) -> None:
        """A host->controller H4 packet."""
        self.core.on_packet(packet)

    @property
    def links(self) -> list[LinkEnd]:
        """This controller's side of each link it holds."""
        return self.core.links

    # ================================================================== LinkLayer
    # (what the medium calls: bleradio.air.linklayer has each one's contract)
    @property
    def initiating(self) -> dict[str, Any] | None:
        return self.gap.initiating

    @property
    def rx_full(self) -> bool:
        return self.core.rx_full

    def current_adv_pdu(self) -> AdvPdu | None:
        return self.gap.current_adv_pdu()

    def advertising_channels(self) -> list[int]:
        return self.gap.advertising_channels()

    def on_scan_request(self, address_type: int, address: bytes) -> bytes | None:
        return self.gap.on_scan_request(address_type, address)

    def accepts_connection(self, pdu: AdvPdu, address_type: int, address: bytes) -> bool:
        return self.gap.accepts_connection(pdu, address_type, address)

    def listen_parameters(self) -> tuple[float, float]:
        return self.gap.listen_parameters()

    def on_adv_pdu(self, pdu: AdvPdu, rssi: int) -> None:
        self.gap.on_adv_pdu(pdu, rssi)

    def at_connection_limit(self) -> bool:
        return self.core.at_connection_limit()

    def allocate_handle(self) -> int:
        return self.core.allocate_handle()

    def on_link_established(
        self, end: LinkEnd, peer: tuple[int, bytes], own: tuple[int, bytes]
    ) -> None:
        self.connections.on_link_established(end, peer, own)

    def on_ll_data(self, end: LinkEnd, llid: int, payload: bytes) -> None:
        self.core.on_ll_data(end, llid, payload)

    def on_ll_control(self, end: LinkEnd, pdu: tuple[Any, ...]) -> None:
        self.connections.on_ll_control(end, pdu)

    def on_ll_sent(self, end: LinkEnd, token: Any) -> None:
        self.connections.on_ll_sent(end, token)

    def on_link_lost(self, end: LinkEnd) -> None:
        self.connections.on_link_lost(end)

    # ================================================================== lifetime
    def _reset(self, params: bytes) -> bytes:
        self._hard_reset()
        return b"\x00"

    def _hard_reset(self) -> None:
        """HCI_Reset: advertising, scanning and initiating stop and every link is dropped.

        A reset controller forgets its links without a word on air (no LL_TERMINATE_IND),
        so its peers see them time out (0x08), as with a real controller; this host gets
        no event for them. (rootcanal 1.10 keeps the links of a reset controller alive.)
        """
        gap = self.gap
        if gap.scanning:
            gap.scan_ended()  # its record (for scan warnings) is not lost
        self.medium.stop_advertising(self)
        self.medium.stop_listening(self)
        gap.cancel_directed_timeout()
        handles = self.core.handles
        ends = list(handles.values())
        handles.clear()
        for end in ends:
            self.medium.lose_link(end.link, silent=self)
        self.core.forget_output()
        self._reset_state()

    def close(self) -> None:
        """Leave the medium at once (no disconnection procedure): peers time out."""
        if self.closed:
            return
        self.closed = True
        gap = self.gap
        if gap.scanning:
            gap.scan_ended()
        gap.advertising = False
        gap.scanning = False
        gap.initiating = None
        gap.cancel_directed_timeout()
        self.core.handles.clear()
        self.medium.detach(self)
        self.core.forget_output()

    def __repr__(self) -> str:
        return f"<VirtualController {self.label}>"
