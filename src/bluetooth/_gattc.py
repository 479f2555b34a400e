"""The GATT client as a protocol core: calls in, request PDUs and events out.

No I/O, no asyncio, no Bumble: the owner (``_att_bearer`` on the stack thread, or a test)
starts procedures (``discover_services``, ``read``, ...), feeds the server's PDUs to
``on_pdu`` and is handed request PDUs (``hooks.send``) and IRQ events (``hooks.emit``).
Time enters only through explicit calls: the client asks to be woken (``hooks.wake_at``) and
``expire(conn, now)`` fails a request left unanswered past ATT's transaction timeout.

One ATT request is outstanding per connection at a time (ATT's rule); procedures queue
behind each other. Results stream out as IRQ events exactly as MicroPython reports them:
each RESULT as soon as it is known (a characteristic's end handle once the next
declaration is seen), then one DONE with a status.

Each procedure is a generator that yields the requests it sends and receives the responses.
It is driven synchronously as each response arrives, so every event is emitted in the order
the PDUs came in: a notification sent by the server after its write response is reported
after GATTC_WRITE_DONE, as on a board.

Thread: whoever owns it, one thread at a time (the stack thread in a radio).
"""

from __future__ import annotations

import errno
import logging
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

from . import _att as att
from . import _events as ev
from ._uuid import UUID

if TYPE_CHECKING:
    from ._conn import Connection

logger = logging.getLogger(__name__)

ATT_TIMEOUT = 30.0  # ATT transaction timeout (Core Vol 3 Part F §3.3.3)

# A procedure yields request PDUs and is sent back the response PDUs (Error Responses too).
Procedure = Generator[bytes, bytes, None]


class ClientHooks(Protocol):
    def send(self, conn: Connection, pdu: bytes) -> None: ...
    def emit(self, event: int, data: tuple[Any, ...]) -> None: ...
    def wake_at(self, conn: Connection, when: float) -> None: ...


class _Failed(Exception):
    """Thrown into a procedure when its request cannot complete."""

    def __init__(self, status: int) -> None:
        self.status = status


class _Requests:
    """A connection's queue of procedures; the head one has a request on air."""

    __slots__ = ("queue", "opcode", "on_air", "deadline", "timed_out")

    def __init__(self) -> None:
        self.queue: deque[tuple[Procedure, bytes]] = deque()  # (procedure, its pending request)
        self.opcode = 0
        self.on_air = False  # the head's request is sent and awaits its response
        self.deadline = 0.0  # when it times out (the client's clock)
        # After a transaction times out, ATT allows no more requests on the link (a late
        # response could be taken for the next request's): every later one fails at once.
        self.timed_out = False


def _error_code(pdu: bytes) -> int:
    return att.parse_error(pdu)[2] if pdu[0] == att.ERROR_RSP else 0


def _discovery_end(error_rsp: bytes) -> int:
    """A discovery's status from the Error Response that ends it: "attribute not found" is
    how the server says there is no more (status 0)."""
    code = _error_code(error_rsp)
    return 0 if code == att.ATTRIBUTE_NOT_FOUND else code


class GattClient:
    def __init__(self, hooks: ClientHooks, clock: Callable[[], float] = time.monotonic) -> None:
        self.hooks = hooks
        self.clock = clock

    # --- procedures a program starts ----------------------------------------------------------
    # Each ends with its DONE event, whatever happens (a lost link throws _Failed into it).

    def discover_services(self, conn: Connection, uuid: UUID | None) -> None:
        self._start(conn, self._discover_services(conn, uuid))

    def discover_characteristics(
        self, conn: Connection, start: int, end: int, uuid: UUID | None
    ) -> None:
        self._start(conn, self._discover_characteristics(conn, start, end, uuid))

    def discover_descriptors(self, conn: Connection, start: int, end: int) -> None:
        self._start(conn, self._discover_descriptors(conn, start, end))

    def read(self, conn: Connection, handle: int) -> None:
        self._start(conn, self._read(conn, handle))

    def write_request(self, conn: Connection, handle: int, data: bytes) -> None:
        self._start(conn, self._write_request(conn, handle, data))

    def exchange_mtu(self, conn: Connection, mtu: int) -> None:
        """Start an MTU exchange; OSError EALREADY if this link's MTU was exchanged."""
        if conn.mtu_exchanged:
            raise OSError(
                errno.EALREADY, "the MTU of this connection was already exchanged (EALREADY)"
            )
        conn.mtu_exchanged = True
        self._start(conn, self._exchange_mtu(conn, mtu))

    def write_command(self, conn: Connection, handle: int, data: bytes) -> None:
        """Write without response (no procedure: it goes out at once, cut to MTU - 3)."""
        self.hooks.send(conn, att.handle_pdu(att.WRITE_CMD, handle, data[: conn.mtu - 3]))

    # --- driving procedures -------------------------------------------------------------------

    def _start(self, conn: Connection, generator: Procedure) -> None:
        try:
            request = next(generator)
        except StopIteration:
            return  # done without a request (its DONE is out)
        requests = _requests(conn)
        requests.queue.append((generator, request))
        if len(requests.queue) == 1:
            self._send_head(conn, requests)

    def _send_head(self, conn: Connection, requests: _Requests) -> None:
        while requests.queue:
            generator, request = requests.queue[0]
            if not conn.connected:
                self._advance(conn, requests, _Failed(ev.STATUS_NOT_CONNECTED))
                continue
            if requests.timed_out:
                self._advance(conn, requests, _Failed(ev.STATUS_TIMEOUT))
                continue
            requests.opcode = request[0]
            requests.on_air = True
            requests.deadline = self.clock() + ATT_TIMEOUT
            self.hooks.wake_at(conn, requests.deadline)
            self.hooks.send(conn, request)
            return

    def _advance(self, conn: Connection, requests: _Requests, answer: bytes | _Failed) -> None:
        """Hand the head procedure its response (or failure); queue its next request."""
        requests.on_air = False
        generator, _ = requests.queue.popleft()
        try:
            if isinstance(answer, _Failed):
                request = generator.throw(answer)
            else:
                request = generator.send(answer)
        except StopIteration:
            return
        except Exception:  # a bug: each procedure ends itself on a malformed response
            logger.exception("GATT client procedure failed")
            return
        requests.queue.appendleft((generator, request))

    def expire(self, conn: Connection, now: float) -> float | None:
        """Fail the request unanswered at ``now`` past its deadline (and, as ATT requires,
        every later one on the link); returns the deadline still pending, if any."""
        requests = conn.requests
        if requests is None or not requests.on_air:
            return None
        if now < requests.deadline:
            return requests.deadline
        requests.timed_out = True
        self._advance(conn, requests, _Failed(ev.STATUS_TIMEOUT))
        self._send_head(conn, requests)
        return None

    def connection_gone(self, conn: Connection) -> None:
        requests = _requests(conn)
        while requests.queue:
            self._advance(conn, requests, _Failed(ev.STATUS_NOT_CONNECTED))

    # --- PDUs from the server ---------------------------------------------------------------

    def on_pdu(self, conn: Connection, pdu: bytes) -> None:
        opcode = pdu[0]
        if opcode == att.HANDLE_VALUE_NTF or opcode == att.HANDLE_VALUE_IND:
            if len(pdu) < 3:
                return
            handle = pdu[1] | pdu[2] << 8
            if opcode == att.HANDLE_VALUE_IND:
                # Confirm at once, as the stack does on a board; the program sees the event.
                self.hooks.send(conn, bytes((att.HANDLE_VALUE_CFM,)))
                self.hooks.emit(ev.GATTC_INDICATE, (conn.handle, handle, pdu[3:]))
            else:
                self.hooks.emit(ev.GATTC_NOTIFY, (conn.handle, handle, pdu[3:]))
            return
        requests = conn.requests
        if requests is None or not requests.on_air:
            return  # an unexpected response: ignore it, as ATT says
        if opcode == att.ERROR_RSP or opcode == att.RESPONSE_TO.get(requests.opcode):
            self._advance(conn, requests, pdu)
            self._send_head(conn, requests)

    # --- procedures -------------------------------------------------------------------------

    def _discover_services(self, conn: Connection, uuid: UUID | None) -> Procedure:
        status = 0
        try:
            start = 1
            while start <= 0xFFFF:
                if uuid is None:
                    request = att.read_by_type_req(
                        att.READ_BY_GROUP_TYPE_REQ, start, 0xFFFF, att.u16(att.PRIMARY_SERVICE)
                    )
                else:
                    request = att.find_by_type_value_req(
                        start, 0xFFFF, att.PRIMARY_SERVICE, att.uuid_to_att(bytes(uuid))
                    )
                rsp = yield request
                if rsp[0] == att.ERROR_RSP:
                    status = _discovery_end(rsp)
                    break
                if uuid is None:
                    found = [
                        (h, end, UUID(att.uuid_from_att(value)))
                        for h, end, value in att.parse_attribute_data_list(rsp, 4)
                    ]
                else:
                    found = [(h, end, uuid) for h, end in att.parse_handles_information(rsp)]
                last_end = 0
                for handle, end, service_uuid in found:
                    self.hooks.emit(
                        ev.GATTC_SERVICE_RESULT, (conn.handle, handle, end, service_uuid)
                    )
                    last_end = max(last_end, end)
                if not found or last_end >= 0xFFFF or last_end < start:
                    break
                start = last_end + 1
        except _Failed as failed:
            status = failed.status
        except ValueError:  # a malformed response (att.PduError, a bad UUID)
            status = att.INVALID_PDU
        self.hooks.emit(ev.GATTC_SERVICE_DONE, (conn.handle, status))

    def _discover_characteristics(
        self, conn: Connection, start: int, end: int, uuid: UUID | None
    ) -> Procedure:
        status = 0
        pending: tuple[int, int, UUID] | None = None  # (value handle, properties, uuid)

        def flush(end_handle: int) -> None:
            nonlocal pending
            if pending is not None:
                value_handle, properties, char_uuid = pending
                if uuid is None or char_uuid == uuid:
                    self.hooks.emit(
                        ev.GATTC_CHARACTERISTIC_RESULT,
                        (conn.handle, end_handle, value_handle, properties, char_uuid),
                    )
                pending = None

        try:
            handle = start
            while handle <= end:
                rsp = yield att.read_by_type_req(
                    att.READ_BY_TYPE_REQ, handle, end, att.u16(att.CHARACTERISTIC)
                )
                if rsp[0] == att.ERROR_RSP:
                    status = _discovery_end(rsp)
                    break
                entries = att.parse_attribute_data_list(rsp, 2)
                if not entries:
                    break
                for decl_handle, _, value in entries:
                    if len(value) not in (5, 19):
                        raise att.PduError("bad characteristic declaration")
                    flush(decl_handle - 1)
                    value_handle = value[1] | value[2] << 8
                    pending = (value_handle, value[0], UUID(att.uuid_from_att(value[3:])))
                    handle = decl_handle + 1
            flush(end)
        except _Failed as failed:
            status = failed.status
        except ValueError:  # a malformed response (att.PduError, a bad UUID)
            status = att.INVALID_PDU
        self.hooks.emit(ev.GATTC_CHARACTERISTIC_DONE, (conn.handle, status))

    def _discover_descriptors(self, conn: Connection, start: int, end: int) -> Procedure:
        # ``start`` is the characteristic's value handle; descriptors follow it (NimBLE's
        # ble_gattc_disc_all_dscs, which MicroPython boards use).
        status = 0
        try:
            handle = start + 1
            while handle <= end:
                rsp = yield att.find_information_req(handle, end)
                if rsp[0] == att.ERROR_RSP:
                    status = _discovery_end(rsp)
                    break
                entries = att.parse_find_information(rsp)
                if not entries:
                    break
                for dsc_handle, uuid in entries:
                    self.hooks.emit(
                        ev.GATTC_DESCRIPTOR_RESULT,
                        (conn.handle, dsc_handle, UUID(att.uuid_from_att(uuid))),
                    )
                    handle = dsc_handle + 1
        except _Failed as failed:
            status = failed.status
        except ValueError:  # a malformed response (att.PduError, a bad UUID)
            status = att.INVALID_PDU
        self.hooks.emit(ev.GATTC_DESCRIPTOR_DONE, (conn.handle, status))

    def _read(self, conn: Connection, handle: int) -> Procedure:
        try:
            rsp = yield att.handle_pdu(att.READ_REQ, handle)
            status = _error_code(rsp)
            if not status:
                self.hooks.emit(ev.GATTC_READ_RESULT, (conn.handle, handle, rsp[1:]))
        except _Failed as failed:
            status = failed.status
        except att.PduError:
            status = att.INVALID_PDU
        self.hooks.emit(ev.GATTC_READ_DONE, (conn.handle, handle, status))

    def _write_request(self, conn: Connection, handle: int, data: bytes) -> Procedure:
        try:
            rsp = yield att.handle_pdu(att.WRITE_REQ, handle, data[: conn.mtu - 3])
            status = _error_code(rsp)
        except _Failed as failed:
            status = failed.status
        except att.PduError:
            status = att.INVALID_PDU
        self.hooks.emit(ev.GATTC_WRITE_DONE, (conn.handle, handle, status))

    def _exchange_mtu(self, conn: Connection, mtu: int) -> Procedure:
        try:
            rsp = yield att.exchange_mtu(att.EXCHANGE_MTU_REQ, mtu)
        except _Failed:
            return
        if rsp[0] != att.EXCHANGE_MTU_RSP or len(rsp) != 3:
            return  # the server refused: the MTU stays 23 and no event fires, as on NimBLE
        conn.mtu = max(att.DEFAULT_MTU, min(mtu, att.parse_u16(rsp)))
        self.hooks.emit(ev.MTU_EXCHANGED, (conn.handle, conn.mtu))


def _requests(conn: Connection) -> _Requests:
    requests = conn.requests
    if requests is None:
        requests = conn.requests = _Requests()
    return requests
