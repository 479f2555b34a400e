"""``LinkLayer``: what the medium calls on a controller, declared in one place.

The medium (the fast ``Medium`` and the air-time ``AirMedium``) carries PDUs between
controllers; it knows a controller only through this interface, the link layer of a
device as the air sees it. ``bleradio.controller.VirtualController`` implements it. The
other direction, what a controller asks of the medium (``start_advertising``,
``start_listening``, ``scan_request``, ``connect``, ``kick``, ``close_link``,
``lose_link``...), is the medium's own public methods.

Every call comes from the medium's event loop, one at a time. A controller may call the
medium back from inside one (an initiator's ``on_adv_pdu`` calls ``medium.connect``, a
scanner's ``medium.scan_request``; ``on_ll_control`` queues replies and kicks the link);
the medium is written for that re-entry. What a call must not do is raise: the media log
an exception and, on a link, drop the link.

Identity: the medium keys its bookkeeping by the controller object itself (its timers,
listeners, radio time) and by ``label`` (the channel conditions: positions, walls, cuts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .link import LinkEnd
    from .medium import AdvPdu


@runtime_checkable
class LinkLayer(Protocol):
    """The interface the medium calls on a controller (see the module docstring)."""

    # ------------------------------------------------------------------ identity
    @property
    def label(self) -> str:
        """Its name on the medium, unique there (``Medium.attach`` gave it): the channel
        conditions (positions, TX powers, walls, cuts) and the timelines are by label."""
        ...

    @property
    def public_address(self) -> bytes:
        """The public address ``Medium.attach`` gave it (6 bytes, little-endian); the medium
        frees it on ``detach``."""
        ...

    @property
    def closed(self) -> bool:
        """True once it left the medium (``detach``): the air-time medium then tells it of
        no lost link."""
        ...

    # ------------------------------------------------------------------ advertising
    def current_adv_pdu(self) -> AdvPdu | None:
        """What it puts on air in an advertising event, asked at each event and after each
        listener heard it: None once it stopped (the medium drops its advertising timer),
        and another object than before once the event ended otherwise (it connected, or
        its data changed): the medium stops delivering that event's PDU then."""
        ...

    def advertising_channels(self) -> Sequence[int]:
        """The primary channels (37, 38, 39) of its channel map, in the order an event
        visits them; at least one."""
        ...

    def on_scan_request(self, address_type: int, address: bytes) -> bytes | None:
        """A SCAN_REQ from the scanner at ``(address_type, address)`` (as sent on air)
        reached it while its PDU was current: the SCAN_RSP data it answers with (possibly
        empty), or None when it does not answer (not scannable, its filter policy)."""
        ...

    def accepts_connection(self, pdu: AdvPdu, address_type: int, address: bytes) -> bool:
        """A CONNECT_IND answering its ``pdu`` (still current) from the initiator at
        ``(address_type, address)``: whether it takes it (its PDU connectable, the directed
        target, its filter policy). Taking it is not yet the link: either side's
        connection limit may still refuse it."""
        ...

    # ------------------------------------------------------------------ listening
    def listen_parameters(self) -> tuple[float, float]:
        """(scan interval, scan window), in seconds, of the scan or initiation it started
        (``Medium.start_listening``): the air-time medium hears advertising PDUs for it only
        inside its windows, moving channel every interval. Asked at each
        ``start_listening``."""
        ...

    @property
    def initiating(self) -> object | None:
        """Not None while it is initiating (its listening is drawn as "connecting" on the
        timeline, else "scanning")."""
        ...

    def on_adv_pdu(self, pdu: AdvPdu, rssi: int) -> None:
        """It heard ``pdu`` at ``rssi`` dBm while listening. It may answer in the same event:
        a scan request (``Medium.scan_request``), a CONNECT_IND (``Medium.connect``)."""
        ...

    # ------------------------------------------------------------------ connections
    def at_connection_limit(self) -> bool:
        """Whether it holds as many links as it may: asked of both sides before a
        CONNECT_IND makes a link; either at its limit, no link is made."""
        ...

    def allocate_handle(self) -> int:
        """A connection handle for a link about to be made, unused by its other links;
        asked once per link, just before ``on_link_established``."""
        ...

    def on_link_established(
        self, end: LinkEnd, peer: tuple[int, bytes], own: tuple[int, bytes]
    ) -> None:
        """A link was made and ``end`` is its side (``end.handle`` is the allocated handle;
        ``end.role`` says central or peripheral). ``peer`` and ``own`` are the (address type,
        address) each side used on air. The advertiser's advertising timer has already
        stopped; the controller ends its own advertising or initiating."""
        ...

    @property
    def rx_full(self) -> bool:
        """True while it cannot take a data PDU (its receive buffers are full, its host has
        not taken what it was given). The medium then does not deliver the peer's data
        PDUs: they stay at the head of the peer's queue, unacknowledged, and go again
        later; LL control PDUs are always delivered. When it has room again it kicks the
        links whose peers have data queued (``Link.kick``)."""
        ...

    def on_ll_data(self, end: LinkEnd, llid: int, payload: bytes) -> None:
        """A data PDU from the peer on ``end``'s link: ``llid`` 2 starts an L2CAP PDU, 1
        continues one. Each PDU is delivered once and in order, and only while ``rx_full``
        is False."""
        ...

    def on_ll_control(self, end: LinkEnd, pdu: tuple[Any, ...]) -> None:
        """An LL control PDU from the peer on ``end``'s link: ``(opcode, *args)``, opcode
        as in ``link.CONTROL_PDU_SIZE``; once each, in order with the data PDUs."""
        ...

    def on_ll_sent(self, end: LinkEnd, token: Any) -> None:
        """A PDU it queued on ``end`` with a ``token`` (the third item of the queued
        tuple, not None) was delivered and acknowledged: an int token completes a host
        ACL packet, a tuple moves an LL procedure on (``("TERMINATED", reason)``...)."""
        ...

    def on_link_lost(self, end: LinkEnd) -> None:
        """``end``'s link is gone without a procedure: supervision timeout, the peer left
        or went silent (reason 0x08 to its host). Never called on the side that went
        silent itself (``Medium.lose_link(link, silent=...)``); the link is already closed
        on the medium."""
        ...


__all__ = ["LinkLayer"]
