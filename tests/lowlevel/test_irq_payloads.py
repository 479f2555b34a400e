"""Every IRQ's data tuple has MicroPython's element types (docs/bluetooth.md, "IRQ events").

MicroPython builds every numeric item with ``MP_OBJ_NEW_SMALL_INT``: a plain int, never a bool
or an IntEnum (a program that prints ``_IRQ_ENCRYPTION_UPDATE``'s data shows ``1 0 1``, not
``True False True``). Addresses and data are buffers (bytes or memoryview here), UUIDs are
``bluetooth.UUID``, and a few items are None where MicroPython gives None.

All 31 events are driven for real over the in-process virtual radio: two ``bluetooth`` radios,
plus a raw Bumble central for CONNECTION_UPDATE (``bluetooth`` has no call that changes the
parameters, so the peer must). The handler records each item's exact type as it receives it.
"""

from __future__ import annotations

import enum
import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import bluetooth
from bluetooth import UUID
from bluetooth._irq import IrqDispatcher
from bluetooth._stack import StackThread

from .conftest import Recorder, raw_central_updates

F = bluetooth
INT, ADDR, BUF, OPT_BUF, UUID_ = "int", "addr", "buf", "buf|None", "UUID"

# docs/bluetooth.md's table: event -> the kind of each item of its data tuple.
SCHEMA: dict[int, tuple[str, ...]] = {
    1: (INT, INT, ADDR),  # CENTRAL_CONNECT
    2: (INT, INT, ADDR),  # CENTRAL_DISCONNECT
    3: (INT, INT),  # GATTS_WRITE
    4: (INT, INT),  # GATTS_READ_REQUEST
    5: (INT, ADDR, INT, INT, BUF),  # SCAN_RESULT
    6: (),  # SCAN_DONE
    7: (INT, INT, ADDR),  # PERIPHERAL_CONNECT
    8: (INT, INT, ADDR),  # PERIPHERAL_DISCONNECT
    9: (INT, INT, INT, UUID_),  # GATTC_SERVICE_RESULT
    10: (INT, INT),  # GATTC_SERVICE_DONE
    11: (INT, INT, INT, INT, UUID_),  # GATTC_CHARACTERISTIC_RESULT
    12: (INT, INT),  # GATTC_CHARACTERISTIC_DONE
    13: (INT, INT, UUID_),  # GATTC_DESCRIPTOR_RESULT
    14: (INT, INT),  # GATTC_DESCRIPTOR_DONE
    15: (INT, INT, BUF),  # GATTC_READ_RESULT
    16: (INT, INT, INT),  # GATTC_READ_DONE
    17: (INT, INT, INT),  # GATTC_WRITE_DONE
    18: (INT, INT, BUF),  # GATTC_NOTIFY
    19: (INT, INT, BUF),  # GATTC_INDICATE
    20: (INT, INT, INT),  # GATTS_INDICATE_DONE
    21: (INT, INT),  # MTU_EXCHANGED
    22: (INT, INT, INT, INT, INT),  # L2CAP_ACCEPT
    23: (INT, INT, INT, INT, INT),  # L2CAP_CONNECT
    24: (INT, INT, INT, INT),  # L2CAP_DISCONNECT
    25: (INT, INT),  # L2CAP_RECV
    26: (INT, INT, INT),  # L2CAP_SEND_READY
    27: (INT, INT, INT, INT, INT),  # CONNECTION_UPDATE
    28: (INT, INT, INT, INT, INT),  # ENCRYPTION_UPDATE
    29: (INT, INT, OPT_BUF),  # GET_SECRET (key None: the index-th secret of that type)
    30: (INT, BUF, OPT_BUF),  # SET_SECRET (value None: delete)
    31: (INT, INT, INT),  # PASSKEY_ACTION
}

SERVICE_UUID, CHAR_UUID, DESC_UUID = UUID(0x181A), UUID(0x2A6E), UUID(0x2901)
SERVICE = (
    SERVICE_UUID,
    (
        (
            CHAR_UUID,
            F.FLAG_READ | F.FLAG_WRITE | F.FLAG_NOTIFY | F.FLAG_INDICATE,
            ((DESC_UUID, F.FLAG_READ),),
        ),
    ),
)
PSM, REFUSED_PSM, L2CAP_MTU = 0x81, 0x83, 1024
IO_DISPLAY_YESNO = 1


def kind_error(kind: str, item: Any) -> str | None:
    """Why ``item`` is not of ``kind`` (None if it is)."""
    if kind == INT:
        return None if type(item) is int else f"{type(item).__name__} (not a plain int)"
    if kind == UUID_:
        return None if type(item) is UUID else f"{type(item).__name__} (not bluetooth.UUID)"
    if kind == OPT_BUF and item is None:
        return None
    if not isinstance(item, (bytes, memoryview)):
        return f"{type(item).__name__} (not a buffer)"
    if kind == ADDR and len(bytes(item)) != 6:
        return f"a {len(bytes(item))}-byte address"
    return None


def schema_errors(event: int, data: Any) -> list[str]:
    schema = SCHEMA[event]
    if type(data) is not tuple:
        return [f"event {event}: data is a {type(data).__name__}, not a tuple"]
    if len(data) != len(schema):
        return [f"event {event}: {len(data)} items {data!r}, the table has {len(schema)}"]
    return [
        f"event {event} item {index}: {error}"
        for index, (kind, item) in enumerate(zip(schema, data, strict=True))
        if (error := kind_error(kind, item)) is not None
    ]


class TypedRecorder(Recorder):
    """Checks each event's data against the table as the handler receives it (memoryviews are only
    valid during the handler on a board) and keeps what ``print(*data)`` shows."""

    def __init__(self, ble: bluetooth.BLE, answers: dict[int, Any]) -> None:
        self.errors: list[str] = []
        self.printed: list[tuple[int, str]] = []
        super().__init__(ble, answers)

    def __call__(self, event: int, data: tuple[Any, ...]) -> Any:
        self.errors += schema_errors(event, data)
        out = io.StringIO()
        print(*data, file=out)
        self.printed.append((event, out.getvalue().rstrip("\n")))
        return super().__call__(event, data)


class Secrets:
    """A program's secret store (what aioble.security keeps)."""

    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}

    def get(self, data: tuple[Any, ...]) -> bytes | None:
        _, index, key = data
        if key is None:
            values = list(self.values.values())
            return values[index] if index < len(values) else None
        return self.values.get(bytes(key))

    def set(self, data: tuple[Any, ...]) -> bool:
        _, key, value = data
        if value is None:
            self.values.pop(bytes(key), None)
        else:
            self.values[bytes(key)] = bytes(value)
        return True


@pytest.fixture
def typed_radio(new_radio) -> Callable[..., tuple[bluetooth.BLE, TypedRecorder]]:
    def make(label: str, answers: dict[int, Any]) -> tuple[bluetooth.BLE, TypedRecorder]:
        return new_radio(label, lambda ble: TypedRecorder(ble, answers))

    return make


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def test_every_event_has_micropython_types(typed_radio) -> None:
    csec, psec = Secrets(), Secrets()
    holder: dict[str, bluetooth.BLE] = {}

    def confirm(name: str) -> Callable[[tuple[Any, ...]], None]:
        # Numeric comparison, answered from inside the handler (as a program may).
        def answer(data: tuple[Any, ...]) -> None:
            if data[1] == 4:
                holder[name].gap_passkey(data[0], 4, 1)

        return answer

    c, crec = typed_radio("c", {29: csec.get, 30: csec.set, 31: confirm("c")})
    p, prec = typed_radio(
        "p",
        {
            29: psec.get,
            30: psec.set,
            31: confirm("p"),
            # L2CAP_ACCEPT: accept PSM, refuse REFUSED_PSM with "no resources" (4).
            22: lambda data: 4 if data[2] == REFUSED_PSM else 0,
        },
    )
    holder.update(c=c, p=p)
    for ble in (c, p):
        ble.config(bond=True, mitm=True, io=IO_DISPLAY_YESNO, le_secure=True)
    ((value, descriptor),) = p.gatts_register_services([SERVICE])
    p.gatts_write(value, b"hello")
    p.l2cap_listen(PSM, L2CAP_MTU)
    p.l2cap_listen(REFUSED_PSM, L2CAP_MTU)
    p.gap_advertise(20_000, b"\x02\x01\x06")
    addr_type, addr = p.config("mac")

    # CONNECTION_UPDATE comes from a peer: a raw Bumble central (1, 27, 2 on p).
    StackThread.get().run(raw_central_updates(addr))
    prec.wait(27)
    prec.wait(2)
    # (Connectable advertising stops when a central connects.)
    p.gap_advertise(20_000, b"\x02\x01\x06", resp_data=b"\x04\x09abc")

    # Scanning: results (ADV_IND and SCAN_RSP), then SCAN_DONE when stopped.
    c.gap_scan(0, 30_000, 30_000, True)
    _wait_until(lambda: any(d[2] == 4 for d in crec.all(5)), "a scan response")
    c.gap_scan(None)
    crec.wait(6)

    # Connect (7 / 1), MTU, discovery, read (4 / 15 / 16), write (3 / 17).
    mark_c, mark_p = crec.mark(), prec.mark()
    c.gap_connect(addr_type, addr)
    conn = crec.wait(7, start=mark_c)[0]
    peer = prec.wait(1, start=mark_p)[0]
    c.gattc_exchange_mtu(conn)
    crec.wait(21)
    prec.wait(21)
    c.gattc_discover_services(conn)
    crec.wait(10)
    start, end = next(d[1:3] for d in crec.all(9) if d[3] == SERVICE_UUID)
    c.gattc_discover_characteristics(conn, start, end)
    crec.wait(12)
    c.gattc_discover_descriptors(conn, value, end)
    crec.wait(14)
    c.gattc_read(conn, value)
    assert crec.wait(15)[2] == b"hello"
    crec.wait(16)
    prec.wait(4)
    c.gattc_write(conn, value, b"x", 1)
    crec.wait(17)
    prec.wait(3)

    # Notification and indication (18, 19 / 20).
    p.gatts_notify(peer, value, b"n")
    crec.wait(18)
    p.gatts_indicate(peer, value, b"i")
    crec.wait(19)
    prec.wait(20)

    # Pairing with numeric comparison and bonding: 31, 30, 29 (key given), 28.
    c.gap_pair(conn)
    crec.wait(28, timeout=10)
    prec.wait(28, timeout=10)
    assert crec.all(30) and prec.all(30)
    assert any(d[2] is not None for d in crec.all(29)), "GET_SECRET for the peer's key"

    # L2CAP: accept and connect (22, 23), receive (25), stall and resume (26), close (24),
    # and a refused connect (24 with the refusal as status).
    mark_c, mark_p = crec.mark(), prec.mark()
    c.l2cap_connect(conn, PSM, L2CAP_MTU)
    cid = crec.wait(23, start=mark_c)[1]
    pcid = prec.wait(23, start=mark_p)[1]
    mark_c = crec.mark()
    sent = 0
    while c.l2cap_send(conn, cid, bytes(L2CAP_MTU)):
        sent += L2CAP_MTU
        assert sent < 1 << 20, "the channel never stalled"
    sent += L2CAP_MTU
    prec.wait(25)
    buf = bytearray(L2CAP_MTU)
    received = 0
    deadline = time.monotonic() + 10
    while received < sent and time.monotonic() < deadline:
        n = p.l2cap_recvinto(peer, pcid, buf)
        received += n
        if not n:
            time.sleep(0.002)
    assert crec.wait(26, start=mark_c)[2] == 0
    c.l2cap_disconnect(conn, cid)
    crec.wait(24)
    prec.wait(24)
    mark_c = crec.mark()
    c.l2cap_connect(conn, REFUSED_PSM, L2CAP_MTU)
    assert crec.wait(24, start=mark_c)[2:] == (REFUSED_PSM, 4)

    # Disconnect (8 / 2).
    mark_c = crec.mark()
    assert c.gap_disconnect(conn) == 1
    crec.wait(8, start=mark_c)

    seen = {event for rec in (crec, prec) for event in rec.kinds()}
    assert seen >= set(SCHEMA), f"events never triggered: {sorted(set(SCHEMA) - seen)}"
    assert crec.errors + prec.errors == []

    # As on a board: print(*data) of ENCRYPTION_UPDATE shows ints, not True/False.
    assert (28, f"{conn} 1 1 1 16") in crec.printed
    assert (28, f"{peer} 1 1 1 16") in prec.printed


class _Status(enum.IntEnum):
    REFUSED = 4


def test_the_dispatcher_delivers_plain_ints_whatever_a_builder_passes() -> None:
    """The last line of defence: whatever a payload builder hands over (Bumble's IntEnums,
    a bool), the handler gets plain ints; other items pass unchanged."""
    dispatcher = IrqDispatcher(__import__("contextvars").copy_context(), "payload-test")
    got: list[tuple[int, tuple[Any, ...]]] = []
    done = threading.Event()

    def handler(event: int, data: tuple[Any, ...]) -> None:
        got.append((event, data))
        done.set()

    dispatcher.handler = handler
    uuid = UUID(0x2A00)
    dispatcher.emit(28, (1, True, False, True, 16))
    dispatcher.emit(24, (1, 0x40, 0x81, _Status.REFUSED))
    dispatcher.emit(11, (1, 5, 3, 0x12, uuid))
    dispatcher.emit(29, (2, 0, None))
    _wait_until(lambda: len(got) == 4, "four events")
    assert [e for e, _ in got] == [28, 24, 11, 29]
    for event, data in got:
        assert schema_errors(event, data) == []
    assert got[0][1] == (1, 1, 0, 1, 16)
    assert got[1][1] == (1, 0x40, 0x81, 4)
    assert got[2][1][4] is uuid
