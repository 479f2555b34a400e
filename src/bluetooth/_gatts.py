"""The GATT server: answers a peer's ATT requests from the attribute table.

Runs on the stack thread. Each read of a characteristic value or descriptor first raises
GATTS_READ_REQUEST (the handler may deny it with an ATT error, or update the value); each write
lands in the value's buffer and raises GATTS_WRITE. CCCD writes are kept per connection and
raise nothing, as on MicroPython's NimBLE port.
"""

from __future__ import annotations

import asyncio
import logging
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

_MAX_PREPARED = 64
INDICATION_TIMEOUT = 30.0  # an indication unconfirmed this long fails (ATT's timeout)


class ServerHooks(Protocol):
    conns: dict[int, Connection]

    def send_att(self, conn: Connection, pdu: bytes) -> None: ...
    def emit(self, event: int, data: tuple[Any, ...]) -> None: ...
    async def read_request(self, conn: Connection, handle: int) -> int: ...
    def written(self, conn: Connection, handle: int, value: bytes | None) -> None: ...
    def mtu_exchanged(self, conn: Connection, mtu: int) -> None: ...
    def spawn(self, coro: Any) -> None: ...
    @property
    def preferred_mtu(self) -> int: ...


class _Reject(Exception):
    def __init__(self, code: int, handle: int = 0) -> None:
        self.code = code
        self.handle = handle


class GattServer:
    def __init__(self, db: GattDatabase, hooks: ServerHooks) -> None:
        self.db = db
        self.hooks = hooks
        self._handlers = {
            att.EXCHANGE_MTU_REQ: self._exchange_mtu,
            att.FIND_INFORMATION_REQ: self._find_information,
            att.FIND_BY_TYPE_VALUE_REQ: self._find_by_type_value,
            att.READ_BY_GROUP_TYPE_REQ: self._read_by_group_type,
            att.WRITE_REQ: self._write_request,
            att.PREPARE_WRITE_REQ: self._prepare_write,
            att.EXECUTE_WRITE_REQ: self._execute_write,
        }
        self._reads = {
            att.READ_BY_TYPE_REQ: self._read_by_type,
            att.READ_REQ: self._read,
            att.READ_BLOB_REQ: self._read_blob,
            att.READ_MULTIPLE_REQ: self._read_multiple,
        }

    def on_pdu(self, conn: Connection, pdu: bytes) -> None:
        """A client-to-server PDU (request, command or confirmation), handled at once so that
        its effects and events keep the order PDUs arrive in. Only reads wait (for the
        program's READ_REQUEST answer): they finish in a task."""
        opcode = pdu[0]
        if opcode == att.WRITE_CMD:
            try:
                self._write(conn, pdu)
            except (_Reject, att.PduError):
                pass  # commands get no answer, errors included
            return
        if opcode == att.HANDLE_VALUE_CFM:
            self.indication_confirmed(conn)
            return
        if opcode in self._reads:
            self.hooks.spawn(self._answer_read(conn, pdu, self._reads[opcode]))
            return
        handler = self._handlers.get(opcode)
        if handler is None:
            if not opcode & att.COMMAND_FLAG:
                self.hooks.send_att(conn, att.error_rsp(opcode, 0, att.REQUEST_NOT_SUPPORTED))
            return
        try:
            response = handler(conn, pdu)
        except _Reject as reject:
            response = att.error_rsp(opcode, reject.handle, reject.code)
        except att.PduError:
            response = att.error_rsp(opcode, 0, att.INVALID_PDU)
        if response is not None and conn.connected:
            self.hooks.send_att(conn, response)

    async def _answer_read(self, conn: Connection, pdu: bytes, handler: Any) -> None:
        try:
            response = await handler(conn, pdu)
        except _Reject as reject:
            response = att.error_rsp(pdu[0], reject.handle, reject.code)
        except att.PduError:
            response = att.error_rsp(pdu[0], 0, att.INVALID_PDU)
        if conn.connected:
            self.hooks.send_att(conn, response)

    # --- helpers --------------------------------------------------------------------------

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

    async def _readable_value(self, conn: Connection, attribute: Attribute) -> bytes:
        """Checks, READ_REQUEST, then the value (for reads of any kind)."""
        if not attribute.readable():
            raise _Reject(att.READ_NOT_PERMITTED, attribute.handle)
        self._check_security(conn, attribute.read_security(), attribute.handle)
        if attribute.kind == CCCD:
            return att.u16(conn.cccd.get(attribute.char_handle, 0))
        if attribute.kind in (VALUE, DESCRIPTOR):
            status = await self.hooks.read_request(conn, attribute.handle)
            if status:
                raise _Reject(status & 0xFF, attribute.handle)
        return self.db.peek(attribute)

    @staticmethod
    def _check_security(conn: Connection, needed: int, handle: int) -> None:
        if not needed:
            return
        if needed == att.INSUFFICIENT_AUTHENTICATION and not conn.authenticated:
            raise _Reject(att.INSUFFICIENT_AUTHENTICATION, handle)
        if not conn.encrypted:
            raise _Reject(att.INSUFFICIENT_ENCRYPTION, handle)

    def _check_writable(self, conn: Connection, attribute: Attribute) -> None:
        if not attribute.writable():
            raise _Reject(att.WRITE_NOT_PERMITTED, attribute.handle)
        self._check_security(conn, attribute.write_security(), attribute.handle)

    def _store(self, conn: Connection, attribute: Attribute, value: bytes) -> None:
        if attribute.kind == CCCD:
            if len(value) != 2:
                raise _Reject(att.INVALID_ATTRIBUTE_VALUE_LENGTH, attribute.handle)
            conn.cccd[attribute.char_handle] = value[0] | value[1] << 8
            return
        stored = self.db.remote_write(attribute, value)
        self.hooks.written(conn, attribute.handle, stored)

    # --- requests ---------------------------------------------------------------------------

    def _exchange_mtu(self, conn: Connection, pdu: bytes) -> bytes | None:
        client_mtu = att.parse_u16(pdu)
        server_mtu = self.hooks.preferred_mtu
        response = att.exchange_mtu(att.EXCHANGE_MTU_RSP, server_mtu)
        mtu = max(att.DEFAULT_MTU, min(client_mtu, server_mtu))
        # The response goes out at the old MTU; the new one applies from the next PDU.
        self.hooks.send_att(conn, response)
        conn.mtu = mtu
        conn.mtu_exchanged = True
        self.hooks.mtu_exchanged(conn, mtu)
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

    async def _read_by_type(self, conn: Connection, pdu: bytes) -> bytes:
        start, end = self._range(pdu)
        wanted = pdu[5:]
        if len(wanted) not in (2, 16):
            raise att.PduError("bad UUID size")
        entries: list[bytes] = []
        max_value = min(conn.mtu - 4, 253)
        for attribute in self.db.attributes[start - 1 : end]:
            if att.uuid_from_att(attribute.type) != att.uuid_from_att(wanted):
                continue
            try:
                value = await self._readable_value(conn, attribute)
            except _Reject as reject:
                if entries:
                    break
                raise reject
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

    async def _read(self, conn: Connection, pdu: bytes) -> bytes:
        attribute = self._attribute(att.parse_u16(pdu))
        value = await self._readable_value(conn, attribute)
        return bytes((att.READ_RSP,)) + value[: conn.mtu - 1]

    async def _read_blob(self, conn: Connection, pdu: bytes) -> bytes:
        attribute = self._attribute(att.parse_u16(pdu))
        offset = att.parse_u16(pdu, 3)
        value = await self._readable_value(conn, attribute)
        if offset > len(value):
            raise _Reject(att.INVALID_OFFSET, attribute.handle)
        return bytes((att.READ_BLOB_RSP,)) + value[offset : offset + conn.mtu - 1]

    async def _read_multiple(self, conn: Connection, pdu: bytes) -> bytes:
        if len(pdu) < 5 or (len(pdu) - 1) % 2:
            raise att.PduError("bad handle list")
        out = b""
        for i in range(1, len(pdu), 2):
            attribute = self._attribute(att.parse_u16(pdu, i))
            out += await self._readable_value(conn, attribute)
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
        if len(conn.prepared) >= _MAX_PREPARED:
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

    # --- notifications and indications ----------------------------------------------------------

    def _value(self, value_handle: int, data: bytes | None) -> bytes:
        if data is not None:
            return data
        attribute = self.db.get(value_handle)
        return self.db.peek(attribute) if attribute is not None else b""

    def notify(self, conn: Connection, value_handle: int, data: bytes | None) -> None:
        """Send a notification (the local value if ``data`` is None), cut to MTU - 3."""
        value = self._value(value_handle, data)
        self.hooks.send_att(
            conn, att.handle_pdu(att.HANDLE_VALUE_NTF, value_handle, value[: conn.mtu - 3])
        )

    def indicate(self, conn: Connection, value_handle: int, data: bytes | None) -> None:
        """Queue an indication; one is on air per connection, GATTS_INDICATE_DONE ends each."""
        if not conn.connected:  # it dropped after the call was checked: it still gets its DONE
            self.hooks.emit(
                ev.GATTS_INDICATE_DONE, (conn.handle, value_handle, ev.STATUS_NOT_CONNECTED)
            )
            return
        conn.indications.append((value_handle, self._value(value_handle, data)))
        self._next_indication(conn)

    def update_subscribers(self, value_handle: int) -> None:
        """``gatts_write(..., send_update=True)``: notify or indicate each subscribed client."""
        flags = self.db.characteristic_flags(value_handle)
        if not flags & (F_NOTIFY | F_INDICATE):
            return
        for conn in list(self.hooks.conns.values()):
            cccd = conn.cccd.get(value_handle, 0)
            if cccd & 1 and flags & F_NOTIFY:
                self.notify(conn, value_handle, None)
            elif cccd & 2 and flags & F_INDICATE:
                self.indicate(conn, value_handle, None)

    def _next_indication(self, conn: Connection) -> None:
        if conn.indication_in_flight or not conn.indications or not conn.connected:
            return
        value_handle, data = conn.indications.popleft()
        conn.indication_in_flight = value_handle
        conn.indication_timer = asyncio.get_running_loop().call_later(
            INDICATION_TIMEOUT, self._indication_done, conn, ev.STATUS_TIMEOUT
        )
        self.hooks.send_att(
            conn, att.handle_pdu(att.HANDLE_VALUE_IND, value_handle, data[: conn.mtu - 3])
        )

    def indication_confirmed(self, conn: Connection) -> None:
        if conn.indication_in_flight:
            self._indication_done(conn, 0)

    def _indication_done(self, conn: Connection, status: int) -> None:
        if conn.indication_timer is not None:
            conn.indication_timer.cancel()
            conn.indication_timer = None
        value_handle, conn.indication_in_flight = conn.indication_in_flight, 0
        self.hooks.emit(ev.GATTS_INDICATE_DONE, (conn.handle, value_handle, status))
        if status == 0:
            self._next_indication(conn)

    def connection_gone(self, conn: Connection) -> None:
        """The link dropped: its indications end with a not-connected status."""
        if conn.indication_in_flight:
            self._indication_done(conn, ev.STATUS_NOT_CONNECTED)
        while conn.indications:
            value_handle, _ = conn.indications.popleft()
            self.hooks.emit(
                ev.GATTS_INDICATE_DONE, (conn.handle, value_handle, ev.STATUS_NOT_CONNECTED)
            )
