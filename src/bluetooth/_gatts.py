"""The GATT server as a protocol core: ATT request PDUs in, response PDUs and events out.

No I/O, no asyncio, no Bumble: the owner (``_att_bearer`` on the stack thread, or a test)
feeds it a client's PDUs with ``on_pdu`` and local calls (``notify``, ``indicate``,
``update_subscribers``); it answers through its hooks (``send`` a PDU, ``emit`` an event).
Time enters only through explicit calls: the server asks to be woken (``hooks.wake_at``)
and ``expire(conn, now)`` fails an indication left unconfirmed past ATT's timeout.

Each read of a characteristic value or descriptor first raises GATTS_READ_REQUEST: the
server asks ``hooks.read_request(conn, handle)``, which returns the handler's status at once
(no handler) or None, and then the answer comes later through ``answer_read(conn,
status)``; meanwhile the connection's other requests wait behind the read, and commands are
handled as they come. Each write lands in the value's buffer and raises GATTS_WRITE. CCCD
writes are kept per connection and raise nothing, as on MicroPython's NimBLE port. ATT error
codes and handles are NimBLE's.

Thread: whoever owns it, one thread at a time (the stack thread in a radio).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from . import _att as att
from . import _events as ev
from ._gatts_db import (
    CCCD,
    CHAR_DECL,
    DESCRIPTOR,
    F_INDICATE,
    F_NOTIFY,
    SERVICE,
    VALUE,
    Attribute,
    GattDatabase,
)

if TYPE_CHECKING:
    from ._conn import Connection

logger = logging.getLogger(__name__)

MAX_PREPARED = 64  # prepared writes queued per connection (then PREPARE_QUEUE_FULL)
INDICATION_TIMEOUT = 30.0  # an indication unconfirmed this long fails (ATT's timeout)

# A read in progress: yields the handles whose READ_REQUEST it needs answered, is sent each
# answer (an ATT status, 0 to allow), returns the response PDU.
ReadSteps = Generator[int, int, bytes]


class ServerHooks(Protocol):
    def send(self, conn: Connection, pdu: bytes) -> None: ...
    def emit(
        self, event: int, data: tuple[Any, ...], snapshot: tuple[int, bytes] | None = None
    ) -> None: ...
    def read_request(self, conn: Connection, handle: int) -> int | None: ...
    def wake_at(self, conn: Connection, when: float) -> None: ...
    @property
    def preferred_mtu(self) -> int: ...


class _Reject(Exception):
    def __init__(self, code: int, handle: int = 0) -> None:
        self.code = code
        self.handle = handle


class GattServer:
    def __init__(
        self,
        db: GattDatabase,
        hooks: ServerHooks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.hooks = hooks
        self.clock = clock
        self._handlers: dict[int, Callable[[Connection, bytes], bytes | None]] = {
            att.EXCHANGE_MTU_REQ: self._exchange_mtu,
            att.FIND_INFORMATION_REQ: self._find_information,
            att.FIND_BY_TYPE_VALUE_REQ: self._find_by_type_value,
            att.READ_BY_GROUP_TYPE_REQ: self._read_by_group_type,
            att.WRITE_REQ: self._write_request,
            att.PREPARE_WRITE_REQ: self._prepare_write,
            att.EXECUTE_WRITE_REQ: self._execute_write,
        }
        self._reads: dict[int, Callable[[Connection, bytes], ReadSteps]] = {
            att.READ_BY_TYPE_REQ: self._read_by_type,
            att.READ_REQ: self._read,
            att.READ_BLOB_REQ: self._read_blob,
            att.READ_MULTIPLE_REQ: self._read_multiple,
        }

    # --- input --------------------------------------------------------------------------------

    def on_pdu(self, conn: Connection, pdu: bytes) -> None:
        """A client-to-server PDU (request, command or confirmation), handled at once so that
        its effects and events keep the order PDUs arrive in."""
        opcode = pdu[0]
        if opcode == att.WRITE_CMD:
            try:
                self._write(conn, pdu)
            except (_Reject, att.PduError):
                pass  # commands get no answer, errors included
            return
        if opcode == att.HANDLE_VALUE_CFM:
            if conn.indication_in_flight:
                self._indication_done(conn, 0)
            return
        if opcode & att.COMMAND_FLAG:
            return  # a command we do not support: ignored, as ATT says
        if conn.reading is not None:
            conn.held.append(pdu)  # after the read that waits for its READ_REQUEST answer
            return
        self._request(conn, pdu)

    def answer_read(self, conn: Connection, status: int) -> None:
        """The program's answer to the READ_REQUEST of the read in progress on ``conn``."""
        reading, conn.reading = conn.reading, None
        if reading is None or not conn.connected:
            return
        self._step(conn, reading[0], reading[1], status)
        while conn.held and conn.reading is None and conn.connected:
            self._request(conn, conn.held.popleft())

    def expire(self, conn: Connection, now: float) -> float | None:
        """Fail the indication unconfirmed at ``now`` past its deadline; returns the deadline
        still pending on ``conn``, if any."""
        if conn.indication_in_flight and now >= conn.indication_deadline:
            self._indication_done(conn, ev.STATUS_TIMEOUT)
        return conn.indication_deadline if conn.indication_in_flight else None

    def connection_gone(self, conn: Connection) -> None:
        """The link dropped: its indications end with a not-connected status."""
        conn.reading = None
        conn.held.clear()
        if conn.indication_in_flight:
            self._indication_done(conn, ev.STATUS_NOT_CONNECTED)
        while conn.indications:
            value_handle, _ = conn.indications.popleft()
            self.hooks.emit(
                ev.GATTS_INDICATE_DONE, (conn.handle, value_handle, ev.STATUS_NOT_CONNECTED)
            )

    # --- requests -----------------------------------------------------------------------------

    def _request(self, conn: Connection, pdu: bytes) -> None:
        opcode = pdu[0]
        read = self._reads.get(opcode)
        if read is not None:
            self._step(conn, opcode, read(conn, pdu), None)
            return
        handler = self._handlers.get(opcode)
        if handler is None:
            self.hooks.send(conn, att.error_rsp(opcode, 0, att.REQUEST_NOT_SUPPORTED))
            return
        try:
            response = handler(conn, pdu)
        except _Reject as reject:
            response = att.error_rsp(opcode, reject.handle, reject.code)
        except att.PduError:
            response = att.error_rsp(opcode, 0, att.INVALID_PDU)
        if response is not None:
            self.hooks.send(conn, response)

    def _step(self, conn: Connection, opcode: int, steps: ReadSteps, status: int | None) -> None:
        """Run a read until it needs an answer that is not there yet, or answers."""
        try:
            while True:
                handle = steps.send(status)  # type: ignore[arg-type]  # (None to start)
                status = self.hooks.read_request(conn, handle)
                if status is None:
                    conn.reading = (opcode, steps)
                    return
        except StopIteration as done:
            response: bytes = done.value
        except _Reject as reject:
            response = att.error_rsp(opcode, reject.handle, reject.code)
        except att.PduError:
            response = att.error_rsp(opcode, 0, att.INVALID_PDU)
        self.hooks.send(conn, response)

    def _range(self, pdu: bytes) -> tuple[int, int]:
        start, end = att.parse_range(pdu)
        if start == 0 or start > end:
            raise _Reject(att.INVALID_HANDLE, start)
        return start, end

    def _attribute(self, handle: int) -> Attribute:
        attribute = self.db.get(handle)
        if attribute is None:
            raise _Reject(att.INVALID_HANDLE, handle)
        return attribute

    def _readable_value(self, conn: Connection, attribute: Attribute) -> ReadSteps:
        """Checks, READ_REQUEST, then the value (for reads of any kind)."""
        if not attribute.readable():
            raise _Reject(att.READ_NOT_PERMITTED, attribute.handle)
        _check_security(conn, attribute.read_security(), attribute.handle)
        if attribute.kind == CCCD:
            return att.u16(conn.cccd.get(attribute.char_handle, 0))
        if attribute.kind == VALUE or attribute.kind == DESCRIPTOR:
            status = yield attribute.handle
            if status:
                raise _Reject(status & 0xFF, attribute.handle)
        return self.db.peek(attribute)

    def _check_writable(self, conn: Connection, attribute: Attribute) -> None:
        if not attribute.writable():
            raise _Reject(att.WRITE_NOT_PERMITTED, attribute.handle)
        _check_security(conn, attribute.write_security(), attribute.handle)

    def _store(self, conn: Connection, attribute: Attribute, value: bytes) -> None:
        if attribute.kind == CCCD:
            if len(value) != 2:
                raise _Reject(att.INVALID_ATTRIBUTE_VALUE_LENGTH, attribute.handle)
            conn.cccd[attribute.char_handle] = value[0] | value[1] << 8
            return
        stored = self.db.remote_write(attribute, value)
        handle = attribute.handle
        # (the value this write left, for the handler's gatts_read; None: the buffer's own)
        self.hooks.emit(
            ev.GATTS_WRITE, (conn.handle, handle), None if stored is None else (handle, stored)
        )

    def _exchange_mtu(self, conn: Connection, pdu: bytes) -> bytes | None:
        client_mtu = att.parse_u16(pdu)
        server_mtu = self.hooks.preferred_mtu
        mtu = max(att.DEFAULT_MTU, min(client_mtu, server_mtu))
        # The response goes out at the old MTU; the new one applies from the next PDU.
        self.hooks.send(conn, att.exchange_mtu(att.EXCHANGE_MTU_RSP, server_mtu))
        conn.mtu = mtu
        conn.mtu_exchanged = True
        self.hooks.emit(ev.MTU_EXCHANGED, (conn.handle, mtu))
        return None

    def _find_information(self, conn: Connection, pdu: bytes) -> bytes:
        start, end = self._range(pdu)
        entries: list[bytes] = []
        size = 0
        limit = conn.mtu - 2
        for attribute in self.db.attributes[start - 1 : end]:
            if size == 0:
                size = len(attribute.type)
            elif len(attribute.type) != size:
                break
            entry = att.u16(attribute.handle) + attribute.type
            if (len(entries) + 1) * len(entry) > limit:
                break
            entries.append(entry)
        if not entries:
            raise _Reject(att.ATTRIBUTE_NOT_FOUND, start)
        return bytes((att.FIND_INFORMATION_RSP, 1 if size == 2 else 2)) + b"".join(entries)

    def _find_by_type_value(self, conn: Connection, pdu: bytes) -> bytes:
        start, end = self._range(pdu)
        att_type = att.parse_u16(pdu, 5)
        value = pdu[7:]
        found: list[bytes] = []
        limit = (conn.mtu - 1) // 4
        for attribute in self.db.attributes[start - 1 : end]:
            if attribute.type != att.u16(att_type):
                continue
            if attribute.kind == SERVICE:
                if attribute.value != value:
                    continue
                found.append(att.u16(attribute.handle) + att.u16(attribute.end))
            elif (
                # (a value the peer may not read is not compared either)
                attribute.readable()
                and not attribute.read_security()
                and self.db.peek(attribute) == value
            ):
                found.append(att.u16(attribute.handle) * 2)
            if len(found) == limit:
                break
        if not found:
            raise _Reject(att.ATTRIBUTE_NOT_FOUND, start)
        return bytes((att.FIND_BY_TYPE_VALUE_RSP,)) + b"".join(found)

    def _read_by_type(self, conn: Connection, pdu: bytes) -> ReadSteps:
        start, end = self._range(pdu)
        wanted = pdu[5:]
        if len(wanted) not in (2, 16):
            raise att.PduError("bad UUID size")
        wanted = att.uuid_from_att(wanted)
        entries: list[bytes] = []
        max_value = min(conn.mtu - 4, 253)
        for attribute in self.db.attributes[start - 1 : end]:
            if att.uuid_from_att(attribute.type) != wanted:
                continue
            try:
                value = yield from self._readable_value(conn, attribute)
            except _Reject:
                if entries:
                    break
                raise
            entry = att.u16(attribute.handle) + value[:max_value]
            if entries and len(entry) != len(entries[0]):
                break
            if (len(entries) + 1) * len(entry) > conn.mtu - 2:
                break
            entries.append(entry)
            if attribute.kind != CHAR_DECL:
                break  # one value per response, like NimBLE; discovery lists declarations
        if not entries:
            raise _Reject(att.ATTRIBUTE_NOT_FOUND, start)
        return att.list_rsp(att.READ_BY_TYPE_RSP, entries, with_length=True)

    def _read(self, conn: Connection, pdu: bytes) -> ReadSteps:
        attribute = self._attribute(att.parse_u16(pdu))
        value = yield from self._readable_value(conn, attribute)
        return bytes((att.READ_RSP,)) + value[: conn.mtu - 1]

    def _read_blob(self, conn: Connection, pdu: bytes) -> ReadSteps:
        attribute = self._attribute(att.parse_u16(pdu))
        offset = att.parse_u16(pdu, 3)
        value = yield from self._readable_value(conn, attribute)
        if offset > len(value):
            raise _Reject(att.INVALID_OFFSET, attribute.handle)
        return bytes((att.READ_BLOB_RSP,)) + value[offset : offset + conn.mtu - 1]

    def _read_multiple(self, conn: Connection, pdu: bytes) -> ReadSteps:
        if len(pdu) < 5 or (len(pdu) - 1) % 2:
            raise att.PduError("bad handle list")
        out = b""
        for i in range(1, len(pdu), 2):
            attribute = self._attribute(att.parse_u16(pdu, i))
            out += yield from self._readable_value(conn, attribute)
        return bytes((att.READ_MULTIPLE_RSP,)) + out[: conn.mtu - 1]

    def _read_by_group_type(self, conn: Connection, pdu: bytes) -> bytes:
        start, end = self._range(pdu)
        group = pdu[5:]
        if group != att.u16(att.PRIMARY_SERVICE):
            if len(group) not in (2, 16):
                raise att.PduError("bad UUID size")
            raise _Reject(att.UNSUPPORTED_GROUP_TYPE, start)
        entries: list[bytes] = []
        for attribute in self.db.attributes[start - 1 : end]:
            if attribute.kind != SERVICE:
                continue
            entry = att.u16(attribute.handle) + att.u16(attribute.end) + attribute.value
            if entries and len(entry) != len(entries[0]):
                break
            if (len(entries) + 1) * len(entry) > conn.mtu - 2:
                break
            entries.append(entry)
        if not entries:
            raise _Reject(att.ATTRIBUTE_NOT_FOUND, start)
        return att.list_rsp(att.READ_BY_GROUP_TYPE_RSP, entries, with_length=True)

    def _write(self, conn: Connection, pdu: bytes) -> None:
        attribute = self._attribute(att.parse_u16(pdu))
        self._check_writable(conn, attribute)
        self._store(conn, attribute, pdu[3:])

    def _write_request(self, conn: Connection, pdu: bytes) -> bytes:
        self._write(conn, pdu)
        return bytes((att.WRITE_RSP,))

    def _prepare_write(self, conn: Connection, pdu: bytes) -> bytes:
        attribute = self._attribute(att.parse_u16(pdu))
        offset = att.parse_u16(pdu, 3)
        self._check_writable(conn, attribute)
        if len(conn.prepared) >= MAX_PREPARED:
            raise _Reject(att.PREPARE_QUEUE_FULL, attribute.handle)
        conn.prepared.append((attribute.handle, offset, pdu[5:]))
        return bytes((att.PREPARE_WRITE_RSP,)) + pdu[1:]

    def _execute_write(self, conn: Connection, pdu: bytes) -> bytes:
        if len(pdu) != 2:
            raise att.PduError("bad Execute Write")
        prepared, conn.prepared = conn.prepared, []
        if pdu[1] & 1:
            values: dict[int, bytearray] = {}
            for handle, offset, part in prepared:
                value = values.setdefault(handle, bytearray())
                if offset != len(value):
                    raise _Reject(att.INVALID_OFFSET, handle)
                value += part
            for handle, value in values.items():
                self._store(conn, self._attribute(handle), bytes(value))
        return bytes((att.EXECUTE_WRITE_RSP,))

    # --- notifications and indications (local calls) ------------------------------------------

    def notify(self, conn: Connection, value_handle: int, value: bytes) -> None:
        """Send a notification of ``value``, cut to MTU - 3."""
        self.hooks.send(
            conn, att.handle_pdu(att.HANDLE_VALUE_NTF, value_handle, value[: conn.mtu - 3])
        )

    def indicate(self, conn: Connection, value_handle: int, value: bytes) -> None:
        """Queue an indication; one is on air per connection, GATTS_INDICATE_DONE ends each."""
        if not conn.connected:  # it dropped after the call was checked: it still gets its DONE
            self.hooks.emit(
                ev.GATTS_INDICATE_DONE, (conn.handle, value_handle, ev.STATUS_NOT_CONNECTED)
            )
            return
        conn.indications.append((value_handle, value))
        self._next_indication(conn)

    def update_subscribers(self, conns: Iterable[Connection], value_handle: int) -> None:
        """``gatts_write(..., send_update=True)``: notify or indicate each subscribed client
        of ``conns`` with the value as it is now."""
        flags = self.db.characteristic_flags(value_handle)
        if not flags & (F_NOTIFY | F_INDICATE):
            return
        value: bytes | None = None
        for conn in conns:
            cccd = conn.cccd.get(value_handle, 0)
            if not (cccd & 1 and flags & F_NOTIFY or cccd & 2 and flags & F_INDICATE):
                continue
            if value is None:
                attribute = self.db.get(value_handle)
                assert attribute is not None
                value = self.db.peek(attribute)
            if cccd & 1 and flags & F_NOTIFY:
                self.notify(conn, value_handle, value)
            else:
                self.indicate(conn, value_handle, value)

    def _next_indication(self, conn: Connection) -> None:
        if conn.indication_in_flight or not conn.indications or not conn.connected:
            return
        value_handle, data = conn.indications.popleft()
        conn.indication_in_flight = value_handle
        conn.indication_deadline = self.clock() + INDICATION_TIMEOUT
        self.hooks.wake_at(conn, conn.indication_deadline)
        self.hooks.send(
            conn, att.handle_pdu(att.HANDLE_VALUE_IND, value_handle, data[: conn.mtu - 3])
        )

    def _indication_done(self, conn: Connection, status: int) -> None:
        value_handle, conn.indication_in_flight = conn.indication_in_flight, 0
        self.hooks.emit(ev.GATTS_INDICATE_DONE, (conn.handle, value_handle, status))
        if status == 0:
            self._next_indication(conn)


def _check_security(conn: Connection, needed: int, handle: int) -> None:
    if not needed:
        return
    if needed == att.INSUFFICIENT_AUTHENTICATION and not conn.authenticated:
        raise _Reject(att.INSUFFICIENT_AUTHENTICATION, handle)
    if not conn.encrypted:
        raise _Reject(att.INSUFFICIENT_ENCRYPTION, handle)
