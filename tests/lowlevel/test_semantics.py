"""What a board program relies on, checked with two radios in one process."""

from __future__ import annotations

import threading
import time

import bluetooth
from bluetooth import UUID

from .conftest import connect

F = bluetooth
CHAR = UUID(0x2A6E)
OTHER = UUID("6E400002-B5A3-F393-E0A9-E50E24DCCA9E")
SERVICE = (
    UUID(0x181A),
    (
        (
            CHAR,
            F.FLAG_READ | F.FLAG_WRITE | F.FLAG_WRITE_NO_RESPONSE | F.FLAG_NOTIFY | F.FLAG_INDICATE,
        ),
        (OTHER, F.FLAG_READ | F.FLAG_WRITE_NO_RESPONSE, ((UUID(0x2901), 0x01),)),
    ),
)

WRITE, READ_REQUEST, PERIPHERAL_CONNECT = 3, 4, 7
READ_RESULT, READ_DONE, WRITE_DONE, NOTIFY, INDICATE, INDICATE_DONE = 15, 16, 17, 18, 19, 20


def test_each_write_handler_sees_its_own_value(make_radio) -> None:
    """A handler reading the value in GATTS_WRITE gets that write's value, even when later
    writes have landed meanwhile (aioble's capture relies on it)."""
    seen: list[bytes] = []
    central = make_radio("c")
    peripheral = make_radio("p")
    p, prec = peripheral
    ((char, _, _),) = p.gatts_register_services([SERVICE])

    def on_write(data):
        time.sleep(0.01)  # a slow handler: the next writes arrive meanwhile
        seen.append(p.gatts_read(data[1]))

    prec.answers[WRITE] = on_write
    conn, _ = connect(central, peripheral)
    for i in range(20):
        central[0].gattc_write(conn, char, f"w{i}", 0)
    deadline = time.monotonic() + 5
    while len(seen) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [f"w{i}".encode() for i in range(20)]
    assert p.gatts_read(char) == b"w19"


def test_handlers_never_overlap_and_may_call_methods(make_radio) -> None:
    central = make_radio("c")
    peripheral = make_radio("p")
    c, crec = central
    p, prec = peripheral
    ((char, _, _),) = p.gatts_register_services([SERVICE])
    p.gatts_write(char, b"first")
    running = threading.Lock()
    overlaps = []

    def on_notify(data):
        if not running.acquire(blocking=False):
            overlaps.append(data)
            return
        try:
            time.sleep(0.001)
            if data[2] == b"9":
                # A BLE call from inside a handler: a read, whose result arrives later.
                c.gattc_read(data[0], char)
        finally:
            running.release()

    crec.answers[NOTIFY] = on_notify
    conn, peer = connect(central, peripheral)
    for i in range(10):
        p.gatts_notify(peer, char, str(i))
    assert crec.wait(READ_RESULT)[2] == b"first"
    assert crec.wait(READ_DONE) == (conn, char, 0)
    assert overlaps == []
    assert [d[2] for d in crec.all(NOTIFY)] == [str(i).encode() for i in range(10)]


def test_read_request_can_deny_or_update(make_radio) -> None:
    central = make_radio("c")
    peripheral = make_radio("p")
    c, crec = central
    p, prec = peripheral
    ((char, other, _),) = p.gatts_register_services([SERVICE])
    p.gatts_write(char, b"stale")

    def on_read(data):
        if data[1] == other:
            return 0x0E  # an ATT error code denies the read
        p.gatts_write(char, b"fresh")  # updating the value before the read completes
        return 0

    prec.answers[READ_REQUEST] = on_read
    conn, _ = connect(central, peripheral)
    c.gattc_read(conn, char)
    assert crec.wait(READ_RESULT) == (conn, char, b"fresh")
    assert crec.wait(READ_DONE) == (conn, char, 0)
    mark = crec.mark()
    c.gattc_read(conn, other)
    assert crec.wait(READ_DONE, start=mark) == (conn, other, 0x0E)
    assert not [e for e in crec.events[mark:] if e[0] == READ_RESULT]


def test_send_update_reaches_only_subscribers(make_radio) -> None:
    peripheral = make_radio("p")
    first, second = make_radio("c1"), make_radio("c2")
    p, prec = peripheral
    ((char, _, _),) = p.gatts_register_services([SERVICE])
    conn1, _ = connect(first, peripheral)
    conn2, _ = connect(second, peripheral)
    cccd = char + 1
    first[0].gattc_write(conn1, cccd, b"\x01\x00", 1)
    assert first[1].wait(WRITE_DONE) == (conn1, cccd, 0)
    p.gatts_write(char, b"update", True)
    assert first[1].wait(NOTIFY) == (conn1, char, b"update")
    # Indications through send_update once the client asks for them instead.
    mark = first[1].mark()
    first[0].gattc_write(conn1, cccd, b"\x02\x00", 1)
    first[1].wait(WRITE_DONE, start=mark)
    p.gatts_write(char, b"indicated", True)
    assert first[1].wait(INDICATE)[1:] == (char, b"indicated")
    assert prec.wait(INDICATE_DONE)[1:] == (char, 0)
    time.sleep(0.2)
    assert second[1].all(NOTIFY) == [] and second[1].all(INDICATE) == []
    assert conn2 is not None


def test_values_buffers_and_mtu(make_radio) -> None:
    central = make_radio("c")
    peripheral = make_radio("p")
    c, crec = central
    p, prec = peripheral
    ((char, other, _),) = p.gatts_register_services([SERVICE])
    conn, peer = connect(central, peripheral)
    # Default buffer: 20 bytes; a client write is cut to it.
    c.gattc_write(conn, char, b"x" * 30, 1)
    crec.wait(WRITE_DONE)
    assert p.gatts_read(char) == b"x" * 20
    # A local write grows the buffer.
    p.gatts_write(char, b"y" * 40)
    assert p.gatts_read(char) == b"y" * 40
    # Append mode concatenates writes; gatts_read empties it.
    p.gatts_set_buffer(other, 100, True)
    for part in (b"ab", b"cd", b"ef"):
        c.gattc_write(conn, other, part, 0)
    deadline = time.monotonic() + 5
    while len(prec.all(WRITE)) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert p.gatts_read(other) == b"abcdef"
    assert p.gatts_read(other) == b""
    # Before an MTU exchange, writes and notifications are cut to MTU - 3 = 20 bytes.
    p.gatts_notify(peer, char, b"z" * 50)
    assert crec.wait(NOTIFY) == (conn, char, b"z" * 20)
    c.config(mtu=100)
    p.config(mtu=80)
    c.gattc_exchange_mtu(conn)
    assert crec.wait(21) == (conn, 80)
    assert prec.wait(21) == (peer, 80)
    mark = crec.mark()
    p.gatts_notify(peer, char, b"z" * 100)
    assert crec.wait(NOTIFY, start=mark) == (conn, char, b"z" * 77)


def test_str_is_accepted_as_a_buffer(make_radio) -> None:
    central = make_radio("c")
    peripheral = make_radio("p")
    p, _ = peripheral
    p.config(gap_name="text name")
    ((char, _, _),) = p.gatts_register_services([SERVICE])
    p.gatts_write(char, "hello")
    assert p.gatts_read(char) == b"hello"
    p.gap_advertise(30_000, "\x02\x01\x06", resp_data="\x03\x09ab")
    conn, _ = connect(central, peripheral)
    central[0].gattc_read(conn, 3)  # the GAP device name
    assert central[1].wait(READ_RESULT) == (conn, 3, b"text name")


def test_use_selects_the_current_radio(make_radio) -> None:
    a, _ = make_radio("a")
    b, _ = make_radio("b")
    with bluetooth.use(a):
        assert bluetooth.BLE() is a
        with bluetooth.use(b):
            assert bluetooth.BLE() is b
        assert bluetooth.BLE() is a
    assert bluetooth.BLE() is bluetooth.BLE()
    assert bluetooth.BLE() not in (a, b)


def test_irq_thread_ends_when_idle_and_comes_back(make_radio, monkeypatch) -> None:
    from bluetooth import _irq

    monkeypatch.setattr(_irq, "IDLE_EXIT", 0.05)
    central = make_radio("c")
    peripheral = make_radio("p")
    p, _ = peripheral
    ((char, _, _),) = p.gatts_register_services([SERVICE])
    conn, peer = connect(central, peripheral)
    dispatcher = central[0]._irq
    deadline = time.monotonic() + 5
    while dispatcher.thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dispatcher.thread is None  # idle: the thread has ended
    for i in range(50):
        p.gatts_notify(peer, char, str(i))
    deadline = time.monotonic() + 5
    while len(central[1].all(NOTIFY)) < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [d[2] for d in central[1].all(NOTIFY)] == [str(i).encode() for i in range(50)]


def test_a_malformed_response_ends_the_procedure_with_invalid_pdu(make_radio) -> None:
    # A misbehaving peer: its server answers with PDUs that do not parse.
    central, peripheral = make_radio("c"), make_radio("p")
    c, crec = central
    conn, _ = connect(central, peripheral)
    server = peripheral[0]._att.server
    # Read By Group Type Response with a 3-byte UUID; an Error Response cut short.
    server._handlers[0x10] = lambda conn, pdu: bytes((0x11, 7)) + b"\x01\x00\x05\x00abc"

    def truncated_error(conn, pdu):
        return b"\x01\x0a\x03\x00"
        yield  # (a read's steps: a generator)

    server._reads[0x0A] = truncated_error
    c.gattc_discover_services(conn)
    assert crec.wait(10) == (conn, 0x04)  # GATTC_SERVICE_DONE, INVALID_PDU
    c.gattc_read(conn, 3)
    assert crec.wait(16) == (conn, 3, 0x04)  # GATTC_READ_DONE, INVALID_PDU


def test_after_an_att_timeout_no_request_goes_out(make_radio, monkeypatch) -> None:
    # ATT: a transaction that timed out ends the bearer's requests; a late response must not
    # be taken for a later request's.
    from bluetooth import _gattc

    monkeypatch.setattr(_gattc, "ATT_TIMEOUT", 0.3)
    central, peripheral = make_radio("c"), make_radio("p")
    c, crec = central
    conn, _ = connect(central, peripheral)
    p, prec = peripheral
    server = p._att.server
    answered = threading.Event()

    def slow_answer(data):
        if not answered.is_set():
            answered.set()
            time.sleep(1.0)  # past the client's timeout
        return 0

    prec.answers[4] = slow_answer  # GATTS_READ_REQUEST

    def late_read(conn, pdu):
        yield 3  # asks GATTS_READ_REQUEST for handle 3
        return b"\x0blate"

    server._reads[0x0A] = late_read
    c.gattc_read(conn, 3)
    assert crec.wait(16) == (conn, 3, 0x7F)  # GATTC_READ_DONE: ATT timeout
    mark = crec.mark()
    c.gattc_read(conn, 3)
    assert crec.wait(16, start=mark) == (conn, 3, 0x7F)
    time.sleep(1.0)
    assert crec.all(15) == []  # no READ_RESULT, late or not


def test_links_get_the_lowest_free_handle_from_zero(make_radio) -> None:
    """As ESP32's and nRF's controllers number them: board programs have notified handle 0
    without looking."""
    central, peripheral = make_radio("c"), make_radio("p")
    (c, crec), (p, prec) = central, peripheral
    assert connect(central, peripheral) == (0, 0)
    mark_c, mark_p = crec.mark(), prec.mark()
    c.gap_disconnect(0)
    crec.wait(8, start=mark_c)
    prec.wait(2, start=mark_p)
    mark_c, mark_p = crec.mark(), prec.mark()
    p.gap_advertise(20_000, b"\x02\x01\x06")
    c.gap_connect(*p.config("mac"))
    assert crec.wait(7, start=mark_c)[0] == 0 and prec.wait(1, start=mark_p)[0] == 0
