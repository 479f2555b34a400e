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

The controller is one object made of a role per module, each owning its state and
registering its HCI commands:

- ``core.py``: H4 in and out, event masks, command dispatch, the ACL data path
  and flow control, connection handles, the controller's version/features/buffers;
- ``address.py``: own and peer addresses, filter accept list, resolving list;
- ``gap.py``: advertising, scanning, initiating;
- ``links.py``: a link's start and end, Disconnect, LL control dispatch,
  version/features exchange, per-connection reads;
- ``procedures.py``: connection update, data length, PHY, encryption;
- here: the assembly, HCI_Reset and leaving the medium.
"""

from __future__ import annotations

from bumble import hci as bhci

from ..air.medium import Medium
from .address import Addressing
from .core import ControllerCore
from .gap import Gap
from .links import Links
from .procedures import LinkProcedures


class VirtualController(Links, LinkProcedures, Gap, Addressing, ControllerCore):
    """An LE controller attached to a medium; one per host. The medium calls it through
    ``bleradio.air.linklayer.LinkLayer`` (tests/radio/test_linklayer.py checks it has all
    of it)."""

    def __init__(self, medium: Medium, label: str | None = None) -> None:
        super().__init__(medium, label)
        self._commands = self._command_table(
            # HCI_Reset touches every role, so it is answered here
            ({bhci.HCI_RESET_COMMAND: (self._reset, None)}, {}),
            self._core_commands(),
            self._address_commands(),
            self._gap_commands(),
            self._link_commands(),
            self._procedure_commands(),
        )
        self._reset_state()

    def _reset_state(self) -> None:
        self._reset_core_state()
        self._reset_address_state()
        self._reset_gap_state()
        self._reset_procedure_state()

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
        if self.scanning:
            self._scan_ended()  # its record (for scan warnings) is not lost
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

    def close(self) -> None:
        """Leave the medium at once (no disconnection procedure): peers time out."""
        if self.closed:
            return
        self.closed = True
        if self.scanning:
            self._scan_ended()
        self.advertising = False
        self.scanning = False
        self.initiating = None
        if self._directed_timer is not None:
            self._directed_timer.cancel()
        self._handles.clear()
        self.medium.detach(self)
        self._outbox.clear()

    def __repr__(self) -> str:
        return f"<VirtualController {self.label}>"
