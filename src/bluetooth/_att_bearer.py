"""ATT on one radio's links: the glue between Bumble's fixed channel and the GATT cores.

It moves bytes: each PDU from L2CAP's ATT channel goes to the GATT server or client core
(``_gatts``, ``_gattc``), each PDU they hand back goes out on the link. It turns their other
needs into the radio's: events go to the IRQ dispatcher, a READ_REQUEST question comes back
to the server as its answer, a core's deadline becomes one loop timer per link. It keeps
the send credits of bulk sends (``gatts_notify``, ``gattc_write`` mode 0; ``_txwindow``).

Thread: the stack thread (every method marked ``@stack_side``), except ``tx.take``, which the
program's threads call before they post a bulk send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _att as att
from . import _events as ev
from ._gattc import GattClient
from ._gatts import GattServer
from ._threads import stack_side
from ._txwindow import TxWindow

if TYPE_CHECKING:
    from ._conn import Connection
    from ._gatts_db import GattDatabase
    from ._irq import IrqDispatcher
    from ._settings import Settings

logger = logging.getLogger(__name__)

# Bulk sends get their credit back once the host's ACL queue (packets queued or in the
# controller, not yet sent over the air) holds at most this many controller buffers' worth:
# enough that every connection event finds the controller full.
ACL_LOW_WATER_BUFFERS = 2


class AttBearer:
    """The GATT server and client of one radio on its links (``conns``: the host's table of
    open connections, by handle)."""

    def __init__(
        self,
        db: GattDatabase,
        irq: IrqDispatcher,
        settings: Settings,
        conns: Mapping[int, Connection],
    ) -> None:
        self.irq = irq
        self.emit = irq.emit  # (the cores' hook: events, as they come)
        self._settings = settings
        self._conns = conns
        self.server = GattServer(db, self)
        self.client = GattClient(self)
        self.tx = TxWindow()
        self._tx_owed = 0  # credits of sends done, held until the ACL queue drains
        self._host: Any = None  # the Bumble host while the radio is on and its link alive
        self._queue: Any = None  # its outgoing ACL queue

    # --- the Bumble side ----------------------------------------------------------------------

    @stack_side
    def attach(self, host: Any) -> None:
        """The radio is on: send through ``host`` (Bumble's, with ``send_l2cap_pdu``)."""
        self._host = host
        self._queue = host.le_acl_packet_queue or host.acl_packet_queue
        host.on_flow = self._release_credits

    @stack_side
    def detach(self) -> None:
        """The radio is off or lost: nothing more goes out; every credit comes back."""
        if self._host is not None:
            self._host.on_flow = None
        self._host = self._queue = None
        self._release_credits()

    @stack_side
    def on_att(self, handle: int, pdu: bytes) -> None:
        """A PDU on L2CAP's ATT channel (Bumble's fixed-channel handler)."""
        conn = self._conns.get(handle)
        if conn is None or not pdu:
            return
        if pdu[0] & 1 and pdu[0] != att.WRITE_CMD:  # odd opcodes go server -> client
            self.client.on_pdu(conn, pdu)
        else:
            self.server.on_pdu(conn, pdu)

    @stack_side
    def connection_gone(self, conn: Connection) -> None:
        if conn.att_timer is not None:
            conn.att_timer.cancel()
            conn.att_timer = None
        self.client.connection_gone(conn)
        self.server.connection_gone(conn)
        # Its queued packets are flushed just after Bumble reports the disconnection (a flush
        # is no completion: on_flow is not told): count the room they leave once it is done.
        asyncio.get_running_loop().call_soon(self._release_credits)

    # --- the cores' hooks ---------------------------------------------------------------------

    def send(self, conn: Connection, pdu: bytes) -> None:
        host = self._host
        if conn.connected and host is not None:
            host.send_l2cap_pdu(conn.handle, att.ATT_CID, pdu)

    def read_request(self, conn: Connection, handle: int) -> int | None:
        asked = self.irq.ask_later(
            ev.GATTS_READ_REQUEST, (conn.handle, handle), 0, lambda r: self._read_answer(conn, r)
        )
        return None if asked else 0

    def _read_answer(self, conn: Connection, result: Any) -> None:
        # As MicroPython: an int (True counts as 1) is the ATT status; anything else allows.
        self.server.answer_read(conn, int(result) & 0xFF if isinstance(result, int) else 0)

    def wake_at(self, conn: Connection, when: float) -> None:
        # One timer per link: a later deadline is looked at when the earlier one fires.
        timer = conn.att_timer
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        conn.att_timer = asyncio.get_running_loop().call_at(when, self._wake, conn, when)

    @property
    def preferred_mtu(self) -> int:
        return self._settings.mtu

    def _wake(self, conn: Connection, when: float) -> None:
        conn.att_timer = None
        if not conn.connected:
            return
        now = max(time.monotonic(), when)
        pending = [
            deadline
            for deadline in (self.server.expire(conn, now), self.client.expire(conn, now))
            if deadline is not None
        ]
        if pending:
            self.wake_at(conn, min(pending))

    # --- the program's operations (posted or called by BLE) -----------------------------------

    @stack_side
    def notify(self, conn: Connection, value_handle: int, value: bytes) -> None:
        """``gatts_notify`` (posted with a credit taken)."""
        self._bulk(self.server.notify, conn, value_handle, value)

    @stack_side
    def write_command(self, conn: Connection, value_handle: int, value: bytes) -> None:
        """``gattc_write`` mode 0 (posted with a credit taken)."""
        self._bulk(self.client.write_command, conn, value_handle, value)

    @stack_side
    def indicate(self, conn: Connection, value_handle: int, value: bytes) -> None:
        self.server.indicate(conn, value_handle, value)

    @stack_side
    def update_subscribers(self, value_handle: int) -> None:
        self.server.update_subscribers(list(self._conns.values()), value_handle)

    @stack_side
    def reset_subscriptions(self) -> None:
        """New services: every link's subscriptions are gone."""
        for conn in self._conns.values():
            conn.cccd.clear()

    @stack_side
    def exchange_mtu(self, conn: Connection) -> None:
        self.client.exchange_mtu(conn, self._settings.mtu)

    @stack_side
    def start(self, procedure: Callable[..., None], *args: Any) -> None:
        """A GATT client procedure (``self.client.read``, ...), posted by BLE."""
        procedure(*args)

    # --- send credits -------------------------------------------------------------------------

    def _bulk(self, send: Callable[..., None], *args: Any) -> None:
        """Run a posted send (whose caller took a credit) and settle its credit."""
        try:
            send(*args)
        except OSError as error:
            logger.debug("posted send dropped: %s", error)  # the link went meanwhile
        finally:
            self._tx_owed += 1
            self._release_credits()

    def _release_credits(self) -> None:
        if not self._tx_owed:
            return
        queue = self._queue
        if queue is not None and queue.pending > ACL_LOW_WATER_BUFFERS * queue.max_in_flight:
            return  # the host's on_flow calls again as the controller drains
        owed, self._tx_owed = self._tx_owed, 0
        self.tx.give(owed)
