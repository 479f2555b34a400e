"""L2CAP credit-based channels through the low-level API."""

from __future__ import annotations

import time

import pytest

from .conftest import connect

ACCEPT, CONNECT, DISCONNECT, RECV, SEND_READY = 22, 23, 24, 25, 26
PSM = 0x80


def _channel(make_radio, accept=0, mtu=512):
    central = make_radio("c")
    peripheral = make_radio("p", **{"_22": accept})
    conn, peer = connect(central, peripheral)
    peripheral[0].l2cap_listen(PSM, mtu)
    central[0].l2cap_connect(conn, PSM, mtu)
    return central, peripheral, conn, peer


def _drain(ble, rec, conn, cid, expected: int, timeout: float = 10) -> bytes:
    buf = bytearray(4096)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        n = ble.l2cap_recvinto(conn, cid, buf)
        if n:
            out += buf[:n]
        else:
            time.sleep(0.002)
    return bytes(out)


def _send_all(ble, rec, conn, cid, data: bytes, chunk: int) -> None:
    for offset in range(0, len(data), chunk):
        mark = rec.mark()
        if not ble.l2cap_send(conn, cid, data[offset : offset + chunk]):
            assert rec.wait(SEND_READY, start=mark)[2] == 0


def test_connect_send_receive_both_ways(make_radio) -> None:
    (c, crec), (p, prec), conn, peer = _channel(make_radio)
    ccid = crec.wait(CONNECT)[1]
    accept = prec.wait(ACCEPT)
    pcid = prec.wait(CONNECT)[1]
    assert accept[2:] == (PSM, 512, 512)
    assert crec.wait(CONNECT)[2:] == (PSM, 512, 512)
    for size in (1, 2, 246, 247, 248, 511, 512):
        payload = bytes(i & 0xFF for i in range(size))
        assert c.l2cap_send(conn, ccid, payload) in (True, False)
        assert _drain(p, prec, peer, pcid, size) == payload
        reply = payload[::-1]
        _send_all(p, prec, peer, pcid, reply, 512)
        assert _drain(c, crec, conn, ccid, size) == reply
    with pytest.raises(ValueError, match="exceed the peer's L2CAP MTU of 512"):
        c.l2cap_send(conn, ccid, bytes(513))


def test_slow_reader_stalls_the_sender_and_nothing_is_lost(make_radio) -> None:
    (c, crec), (p, prec), conn, peer = _channel(make_radio)
    ccid = crec.wait(CONNECT)[1]
    pcid = prec.wait(CONNECT)[1]
    data = bytes(i * 7 & 0xFF for i in range(300_000))
    sent = 0
    stalled = False
    while sent < len(data):  # nobody reads: the sender must stall
        if not c.l2cap_send(conn, ccid, data[sent : sent + 512]):
            stalled = True
            sent += 512
            break
        sent += 512
    assert stalled
    assert sent < 100_000  # bounded by the receive window (64 kB), not by the data
    with pytest.raises(OSError, match="stalled"):
        c.l2cap_send(conn, ccid, b"more")
    received = bytearray()
    mark = crec.mark()
    received += _drain(p, prec, peer, pcid, sent)
    crec.wait(SEND_READY, start=mark)
    rest = data[sent:]
    for offset in range(0, len(rest), 512):
        mark = crec.mark()
        if not c.l2cap_send(conn, ccid, rest[offset : offset + 512]):
            received += _drain(p, prec, peer, pcid, 1)
            crec.wait(SEND_READY, start=mark, timeout=10)
    received += _drain(p, prec, peer, pcid, len(data) - len(received))
    assert bytes(received) == data


def test_refused_and_unknown_psm(make_radio) -> None:
    (c, crec), (p, prec), conn, peer = _channel(make_radio, accept=0x0006)
    refused = crec.wait(DISCONNECT)
    assert refused[0] == conn and refused[2:] == (PSM, 0x0006)
    assert prec.all(CONNECT) == []
    mark = crec.mark()
    c.l2cap_connect(conn, 0x90, 256)  # nobody listens there
    assert crec.wait(DISCONNECT, start=mark)[2:] == (0x90, 0x0002)


def test_disconnect_keeps_unread_data(make_radio) -> None:
    (c, crec), (p, prec), conn, peer = _channel(make_radio)
    ccid = crec.wait(CONNECT)[1]
    pcid = prec.wait(CONNECT)[1]
    assert c.l2cap_send(conn, ccid, b"last words")
    prec.wait(RECV)
    c.l2cap_disconnect(conn, ccid)
    assert crec.wait(DISCONNECT) == (conn, ccid, PSM, 0)
    assert prec.wait(DISCONNECT) == (peer, pcid, PSM, 0)
    assert p.l2cap_recvinto(peer, pcid, None) == 10
    buf = bytearray(32)
    assert p.l2cap_recvinto(peer, pcid, buf) == 10 and buf[:10] == b"last words"
    with pytest.raises(OSError, match="no L2CAP channel"):
        time.sleep(0.05)
        p.l2cap_recvinto(peer, pcid, buf)


def test_link_loss_closes_channels(make_radio) -> None:
    (c, crec), (p, prec), conn, peer = _channel(make_radio)
    ccid = crec.wait(CONNECT)[1]
    prec.wait(CONNECT)
    c.gap_disconnect(conn)
    assert crec.wait(DISCONNECT)[:3] == (conn, ccid, PSM)
    with pytest.raises(OSError):
        c.l2cap_send(conn, ccid, b"x")


def test_two_channels_and_listening_while_connecting(make_radio) -> None:
    (c, crec), (p, prec), conn, peer = _channel(make_radio)
    crec.wait(CONNECT)
    # The central listens too, and the peripheral opens a second channel to it.
    c.l2cap_listen(0x81, 256)
    p.l2cap_connect(peer, 0x81, 256)
    deadline = time.monotonic() + 5
    while len(crec.all(CONNECT)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    first, second = crec.all(CONNECT)
    assert first[1] != second[1] and second[2] == 0x81
    assert c.l2cap_send(conn, second[1], b"on the second")
    pcid = prec.all(CONNECT)[-1][1]
    assert _drain(p, prec, peer, pcid, 13) == b"on the second"


def test_connect_cut_short_by_the_link_then_a_new_link_connects(make_radio) -> None:
    # The peer's accept handler is slow, so the link drops while the request is unanswered.
    central, peripheral = make_radio("c"), make_radio("p")
    (c, crec), (p, prec) = central, peripheral
    slow = [True]

    def accept(data) -> int:
        if slow[0]:
            time.sleep(1.0)
        return 0

    prec.answers[22] = accept
    p.l2cap_listen(PSM, 512)
    conn, _ = connect(central, peripheral)
    c.l2cap_connect(conn, PSM, 512)
    time.sleep(0.3)
    mark = crec.mark()
    c.gap_disconnect(conn)
    assert crec.wait(24, start=mark)[3] == 0x1F  # L2CAP_DISCONNECT: the link was lost
    time.sleep(1.2)
    slow[0] = False
    mark = crec.mark()
    p.gap_advertise(20_000, b"\x02\x01\x06")
    c.gap_connect(*p.config("mac"))
    conn = crec.wait(7, start=mark)[0]
    mark = crec.mark()
    c.l2cap_connect(conn, PSM, 512)
    assert crec.wait(23, start=mark)[0] == conn  # L2CAP_CONNECT
