"""Per-connection state.

Thread: the stack thread (in a radio), or whoever drives the GATT cores (a test). The
program's threads only hold a ``Connection`` to pass it back to the stack (see
``RadioHost.open_links``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from . import _att as att


class Connection:
    """One LE link, in either role. ``central`` is True when this radio initiated it (the peer
    is a peripheral: PERIPHERAL_CONNECT / _DISCONNECT events)."""

    def __init__(
        self, handle: int, central: bool, addr_type: int, addr: bytes, link: Any = None
    ) -> None:
        self.handle = handle
        self.central = central
        self.addr_type = addr_type
        self.addr = addr  # display order (most significant byte first), as MicroPython
        self.link = link  # bumble.device.Connection (None in a GATT core's tests)
        self.connected = True
        self.mtu = att.DEFAULT_MTU
        self.mtu_exchanged = False
        # security (see _security): MITM-protected keys, and a bond stored for the peer
        self.mitm = False
        self.bonded = False
        self.securing = False  # our gap_pair (pairing or re-encryption) is under way
        self.pairing = False  # an SMP pairing is under way, whoever started it
        # GATT server side
        self.cccd: dict[int, int] = {}
        self.prepared: list[tuple[int, int, bytes]] = []
        self.indications: deque[tuple[int, bytes]] = deque()  # waiting to be sent
        self.indication_in_flight: int = 0  # value handle awaiting confirmation, or 0
        self.indication_deadline = 0.0  # when it times out (the server's clock)
        self.reading: Any = None  # a read waiting for its READ_REQUEST answer (_gatts)
        self.held: deque[bytes] = deque()  # requests that came meanwhile
        # GATT client side
        self.requests: Any = None  # _gattc's queue of procedures, made on first use
        # the ATT bearer's timer (it calls the cores' expire), while one is armed
        self.att_timer: asyncio.TimerHandle | None = None

    @property
    def encrypted(self) -> bool:
        return bool(getattr(self.link, "encryption", 0))

    @property
    def authenticated(self) -> bool:
        return self.mitm and self.encrypted

    @property
    def key_size(self) -> int:
        if not self.encrypted:
            return 0
        # An Encryption Change event (v1) does not carry the size; on LE it is what SMP agreed,
        # 16 bytes with both sides at their default.
        return int(getattr(self.link, "encryption_key_size", 0) or 16)
