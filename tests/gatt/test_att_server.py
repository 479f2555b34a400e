"""The ATT server, request by request: responses and error codes as the Core spec and
MicroPython's NimBLE port give them (error handle, opcode), events as a program sees them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bluetooth._conn import Connection
from bluetooth._gatts import INDICATION_TIMEOUT, MAX_PREPARED, GattServer
from bluetooth._gatts_db import GattDatabase

from .conftest import AUTHENTICATED as A
from .conftest import DESCRIPTOR as D
from .conftest import ENCRYPTED as E
from .conftest import INDICATE as IND
from .conftest import READ_NOTIFY as R
from .conftest import WRITE as W
from .conftest import Clock, Hooks

GATTS_WRITE, GATTS_INDICATE_DONE, MTU_EXCHANGED = 3, 20, 21


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# (what, request, response) on an unencrypted link at MTU 23; the values: R "hello",
# E "secret", A "auth", IND "ind", D "about"; the device name "MPY BUMBLE".
REQUESTS = [
    # Exchange MTU
    ("mtu: too short", "02 17", "01 02 0000 04"),
    # Find Information
    (
        "find info: the GAP service",
        "04 0100 0500",
        "05 01 0100 0028 0200 0328 0300 002a 0400 0328 0500 012a",
    ),
    (
        "find info: stops where the UUID size changes",
        "04 0b00 0d00",
        "05 01 0b00 0328 0c00 01aa 0d00 0229",
    ),
    ("find info: start 0", "04 0000 0500", "01 04 0000 01"),
    ("find info: start > end", "04 0500 0100", "01 04 0500 01"),
    ("find info: past the table", "04 0001 ffff", "01 04 0001 0a"),
    ("find info: short", "04 0100", "01 04 0000 04"),
    # Find By Type Value
    ("find by type value: our service", "06 0100 ffff 0028 3412", "07 0a00 1700"),
    ("find by type value: the GATT service", "06 0100 ffff 0028 0118", "07 0600 0900"),
    ("find by type value: none", "06 0100 ffff 0028 9999", "01 06 0100 0a"),
    ("find by type value: start 0", "06 0000 ffff 0028 3412", "01 06 0000 01"),
    # Read By Group Type
    (
        "read by group type: services",
        "10 0100 ffff 0028",
        "11 06 0100 0500 0018 0600 0900 0118 0a00 1700 3412",
    ),
    ("read by group type: from ours", "10 0a00 ffff 0028", "11 06 0a00 1700 3412"),
    ("read by group type: past the table", "10 1800 ffff 0028", "01 10 1800 0a"),
    ("read by group type: secondary services", "10 0100 ffff 0128", "01 10 0100 10"),
    ("read by group type: a 3-byte UUID", "10 0100 ffff 002800", "01 10 0000 04"),
    # Read By Type
    (
        "read by type: declarations",
        "08 0a00 ffff 0328",
        "09 07 0b00 12 0c00 01aa 0e00 0c 0f00 02aa 1000 0a 1100 03aa",
    ),
    ("read by type: a value (one per response)", "08 0100 ffff 01aa", "09 07 0c00 68656c6c6f"),
    (
        "read by type: a 16-bit UUID in 128 bits",
        "08 0100 ffff fb349b5f80000080001000 0001aa0000",
        "09 07 0c00 68656c6c6f",
    ),
    ("read by type: not readable", "08 0f00 0f00 02aa", "01 08 0f00 02"),
    ("read by type: encryption needed", "08 1100 1100 03aa", "01 08 1100 0f"),
    ("read by type: none", "08 0100 ffff 9999", "01 08 0100 0a"),
    ("read by type: bad UUID size", "08 0100 ffff 01", "01 08 0000 04"),
    # Read
    ("read: a value", "0a 0c00", "0b 68656c6c6f"),
    ("read: the device name", "0a 0300", "0b 4d505920 42554d424c45"),
    ("read: a descriptor", "0a 1700", "0b 61626f7574"),
    ("read: a CCCD", "0a 0d00", "0b 0000"),
    ("read: no such handle", "0a 0001", "01 0a 0001 01"),
    ("read: handle 0", "0a 0000", "01 0a 0000 01"),
    ("read: write-only", "0a 0f00", "01 0a 0f00 02"),
    ("read: encryption needed", "0a 1100", "01 0a 1100 0f"),
    ("read: authentication needed", "0a 1300", "01 0a 1300 05"),
    ("read: short", "0a 0c", "01 0a 0000 04"),
    # Read Blob
    ("read blob: from offset 2", "0c 0c00 0200", "0d 6c6c6f"),
    ("read blob: at the end", "0c 0c00 0500", "0d"),
    ("read blob: past the end", "0c 0c00 0600", "01 0c 0c00 07"),
    ("read blob: short", "0c 0c00 02", "01 0c 0000 04"),
    # Read Multiple
    ("read multiple: two values", "0e 0c00 1700", "0f 68656c6c6f 61626f7574"),
    ("read multiple: one handle", "0e 0c00", "01 0e 0000 04"),
    ("read multiple: one bad handle", "0e 0c00 0001", "01 0e 0001 01"),
    # Write
    ("write: read-only", "12 0c00 41", "01 12 0c00 03"),
    ("write: encryption needed", "12 1100 41", "01 12 1100 0f"),
    ("write: no such handle", "12 0001 41", "01 12 0001 01"),
    ("write: a CCCD of 3 bytes", "12 0d00 010000", "01 12 0d00 0d"),
    ("write: the declaration", "12 0b00 41", "01 12 0b00 03"),
    ("write: short", "12 0c", "01 12 0000 04"),
    # Prepare / Execute Write
    ("prepare write: read-only", "16 0c00 0000 41", "01 16 0c00 03"),
    ("prepare write: short", "16 0f00 00", "01 16 0000 04"),
    ("execute write: nothing prepared", "18 01", "19"),
    ("execute write: short", "18", "01 18 0000 04"),
    # Requests this server does not support
    ("unknown request", "20 0000", "01 20 0000 06"),
    ("read by type of a value of another kind", "08 0600 0900 052a", "09 06 0800 0000ffff"),
]


def _fill(db: GattDatabase) -> None:
    for handle, value in (
        (R, b"hello"),
        (E, b"secret"),
        (A, b"auth"),
        (IND, b"ind"),
        (D, b"about"),
    ):
        db.write(handle, value)


@pytest.mark.parametrize(("what", "pdu", "response"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_requests(
    server: GattServer,
    db: GattDatabase,
    hooks: Hooks,
    conn: Connection,
    what: str,
    pdu: str,
    response: str,
) -> None:
    _fill(db)
    server.on_pdu(conn, h(pdu))
    assert hooks.sent == [h(response)]


@pytest.mark.parametrize("command", ["52 0c00 41", "52 0001 41", "52 0c", "d2 0f00 41", "60 00"])
def test_failing_commands_get_no_answer(
    server: GattServer, hooks: Hooks, conn: Connection, command: str
) -> None:
    server.on_pdu(conn, h(command))
    assert hooks.take() == ([], [])


def test_a_read_raises_read_request_and_a_denial_is_its_error(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    _fill(db)
    hooks.answers[R] = 0x80  # the handler returned an application error
    server.on_pdu(conn, h("0a 0c00"))
    assert hooks.asked == [R]
    assert hooks.sent == [h("01 0a 0c00 80")]
    # a CCCD, a declaration, the device name: no READ_REQUEST
    for pdu in ("0a 0d00", "0a 0b00", "0a 0300"):
        server.on_pdu(conn, h(pdu))
    assert hooks.asked == [R]


def test_an_answer_that_comes_later_holds_the_links_next_requests(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    _fill(db)
    hooks.answers[R] = None  # the program answers later
    server.on_pdu(conn, h("0a 0c00"))
    server.on_pdu(conn, h("52 0f00 41"))  # a command: handled at once
    server.on_pdu(conn, h("12 0f00 42"))  # a request: after the read
    assert hooks.sent == []
    assert hooks.events == [(GATTS_WRITE, (0, W))]
    db.write(R, b"new")  # the handler updates the value before it answers
    hooks.answers[R] = 0
    server.answer_read(conn, 0)
    assert hooks.sent == [h("0b 6e6577"), h("13")]
    assert hooks.events[-1] == (GATTS_WRITE, (0, W))


def test_a_read_answered_after_the_link_dropped_sends_nothing(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    hooks.answers[R] = None
    server.on_pdu(conn, h("0a 0c00"))
    conn.connected = False
    server.connection_gone(conn)
    server.answer_read(conn, 0)
    assert hooks.sent == []


def test_a_read_by_type_that_meets_a_denied_value_after_one_entry_returns_that_entry(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    # Discovery of characteristic declarations never asks; a value read by type asks once.
    _fill(db)
    server.on_pdu(conn, h("08 0c00 0c00 01aa"))
    assert hooks.asked == [R]


def test_mtu_exchange(server: GattServer, hooks: Hooks, conn: Connection) -> None:
    server.on_pdu(conn, h("02 0002"))  # the client offers 512; we prefer 256
    assert hooks.take() == ([h("03 0001")], [(MTU_EXCHANGED, (0, 256))])
    assert (conn.mtu, conn.mtu_exchanged) == (256, True)
    server.on_pdu(conn, h("02 1000"))  # 16: below ATT's minimum, 23 holds
    assert hooks.take() == ([h("03 0001")], [(MTU_EXCHANGED, (0, 23))])


def test_a_read_is_cut_to_the_mtu(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    db.write(R, bytes(range(40)))
    server.on_pdu(conn, h("0a 0c00"))
    assert hooks.sent == [bytes((0x0B,)) + bytes(range(22))]
    server.on_pdu(conn, h("0c 0c00 1600"))
    assert hooks.sent[-1] == bytes((0x0D,)) + bytes(range(22, 40))


def test_writes_land_in_the_buffer_and_raise_gatts_write(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    server.on_pdu(conn, h("12 0f00 616263"))
    assert hooks.snapshots == [(W, b"abc")]  # what the handler's gatts_read returns
    assert hooks.take() == ([h("13")], [(GATTS_WRITE, (0, W))])
    assert db.read(W) == b"abc"
    server.on_pdu(conn, h("52 0f00") + bytes(30))  # cut to the 20-byte buffer
    assert db.read(W) == bytes(20)
    db.set_buffer(W, 8, append=True)
    server.on_pdu(conn, h("52 0f00 6162"))
    server.on_pdu(conn, h("52 0f00 6364"))
    assert hooks.snapshots[-1] is None  # append mode: the handler reads the buffer
    assert db.read(W) == b"abcd"


def test_a_cccd_write_subscribes_without_an_event(
    server: GattServer, hooks: Hooks, conn: Connection
) -> None:
    server.on_pdu(conn, h("12 0d00 0100"))
    assert hooks.take() == ([h("13")], [])
    assert conn.cccd == {R: 1}
    server.on_pdu(conn, h("0a 0d00"))
    assert hooks.sent == [h("0b 0100")]


def test_encrypted_and_authenticated_links_pass(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    _fill(db)
    conn.link = SimpleNamespace(encryption=1)
    server.on_pdu(conn, h("0a 1100"))
    server.on_pdu(conn, h("0a 1300"))  # encrypted, not authenticated
    conn.mitm = True
    server.on_pdu(conn, h("0a 1300"))
    assert hooks.sent == [h("0b") + b"secret", h("01 0a 1300 05"), h("0b") + b"auth"]


def test_prepared_writes_land_whole_on_execute(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    server.on_pdu(conn, h("16 0f00 0000 6162"))
    server.on_pdu(conn, h("16 0f00 0200 6364"))
    assert hooks.sent == [h("17 0f00 0000 6162"), h("17 0f00 0200 6364")]
    assert db.read(W) == b""
    server.on_pdu(conn, h("18 01"))
    assert hooks.sent[-1] == h("19")
    assert hooks.events == [(GATTS_WRITE, (0, W))]
    assert db.read(W) == b"abcd"


def test_prepared_writes_with_a_gap_fail_with_invalid_offset(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    server.on_pdu(conn, h("16 0f00 0000 6162"))
    server.on_pdu(conn, h("16 0f00 0300 6364"))
    server.on_pdu(conn, h("18 01"))
    assert hooks.sent[-1] == h("01 18 0f00 07")
    assert hooks.events == [] and db.read(W) == b""
    assert conn.prepared == []  # the queue is cleared either way


def test_execute_write_cancel_drops_the_queue(
    server: GattServer, db: GattDatabase, hooks: Hooks, conn: Connection
) -> None:
    server.on_pdu(conn, h("16 0f00 0000 6162"))
    server.on_pdu(conn, h("18 00"))
    assert hooks.sent[-1] == h("19")
    assert hooks.events == [] and conn.prepared == []


def test_the_prepare_queue_is_bounded(server: GattServer, hooks: Hooks, conn: Connection) -> None:
    for _ in range(MAX_PREPARED):
        server.on_pdu(conn, h("16 0f00 0000 41"))
    server.on_pdu(conn, h("16 0f00 0000 41"))
    assert hooks.sent[-1] == h("01 16 0f00 09")


def test_notifications_are_cut_to_mtu_minus_3(
    server: GattServer, hooks: Hooks, conn: Connection
) -> None:
    server.notify(conn, R, bytes(range(30)))
    assert hooks.sent == [h("1b 0c00") + bytes(range(20))]


def test_indications_go_one_at_a_time_and_each_ends_in_done(
    server: GattServer, hooks: Hooks, clock: Clock, conn: Connection
) -> None:
    server.indicate(conn, IND, b"one")
    server.indicate(conn, IND, b"two")
    assert hooks.take() == ([h("1d 1500") + b"one"], [])
    assert hooks.wakes == [clock.now + INDICATION_TIMEOUT]
    server.on_pdu(conn, h("1e"))  # confirmed
    assert hooks.take() == ([h("1d 1500") + b"two"], [(GATTS_INDICATE_DONE, (0, IND, 0))])
    server.on_pdu(conn, h("1e"))
    server.on_pdu(conn, h("1e"))  # a confirmation nobody waits for: ignored
    assert hooks.take() == ([], [(GATTS_INDICATE_DONE, (0, IND, 0))])


def test_an_unconfirmed_indication_times_out(
    server: GattServer, hooks: Hooks, clock: Clock, conn: Connection
) -> None:
    server.indicate(conn, IND, b"one")
    server.indicate(conn, IND, b"two")
    deadline = clock.now + INDICATION_TIMEOUT
    assert server.expire(conn, deadline - 1) == deadline  # not yet
    hooks.take()
    assert server.expire(conn, deadline) is None
    # ATT: after a timeout nothing more goes out on the bearer; the queue is not sent
    assert hooks.take() == ([], [(GATTS_INDICATE_DONE, (0, IND, 0x7F))])


def test_a_lost_link_ends_every_indication(
    server: GattServer, hooks: Hooks, conn: Connection
) -> None:
    server.indicate(conn, IND, b"one")
    server.indicate(conn, IND, b"two")
    hooks.take()
    conn.connected = False
    server.connection_gone(conn)
    assert hooks.events == [(GATTS_INDICATE_DONE, (0, IND, 0x1F))] * 2
    server.indicate(conn, IND, b"three")  # after the link dropped: DONE at once
    assert hooks.events[-1] == (GATTS_INDICATE_DONE, (0, IND, 0x1F))


def test_update_subscribers_sends_the_current_value_to_each_subscriber(
    server: GattServer, db: GattDatabase, hooks: Hooks
) -> None:
    notified, indicated, neither = (Connection(n, False, 0, bytes(6)) for n in range(3))
    notified.cccd[R] = 1
    indicated.cccd[IND] = 2
    db.write(R, b"r")
    db.write(IND, b"i")
    server.update_subscribers([notified, indicated, neither], R)
    server.update_subscribers([notified, indicated, neither], IND)
    server.update_subscribers([notified, indicated, neither], W)  # neither notify nor indicate
    assert hooks.sent == [h("1b 0c00") + b"r", h("1d 1500") + b"i"]
