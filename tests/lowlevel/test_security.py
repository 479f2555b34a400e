"""Pairing, passkeys, bonding and protected characteristics through the low-level API."""

from __future__ import annotations

import bluetooth
from bluetooth import UUID

from .conftest import connect

ENCRYPTION_UPDATE, GET_SECRET, SET_SECRET, PASSKEY_ACTION = 28, 29, 30, 31
READ_DONE, READ_RESULT, WRITE_DONE = 16, 15, 17
IO_DISPLAY_ONLY, IO_DISPLAY_YESNO, IO_KEYBOARD_ONLY, IO_NONE, IO_KEYBOARD_DISPLAY = range(5)

SERVICE = (
    UUID(0x181A),
    (
        (UUID(0x2A6E), bluetooth.FLAG_READ | bluetooth.FLAG_READ_ENCRYPTED),
        (
            UUID(0x2A6F),
            bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_WRITE_AUTHENTICATED,
        ),
    ),
)


class Secrets:
    """What aioble.security does: a dict of (sec_type, key) -> value."""

    def __init__(self) -> None:
        self.values: dict[tuple[int, bytes], bytes] = {}

    def set(self, data):
        sec_type, key, value = data
        if value is None:
            self.values.pop((sec_type, bytes(key)), None)
        else:
            self.values[(sec_type, bytes(key))] = bytes(value)
        return True

    def get(self, data):
        sec_type, index, key = data
        if key is None:
            matches = [v for (t, _), v in self.values.items() if t == sec_type]
            return matches[index] if index < len(matches) else None
        return self.values.get((sec_type, bytes(key)))


def _pair(
    make_radio, central_io=IO_NONE, peripheral_io=IO_NONE, mitm=False, le_secure=True, **answers
):
    central_secrets, peripheral_secrets = Secrets(), Secrets()
    central = make_radio(
        "c", _29=central_secrets.get, _30=central_secrets.set, **answers.get("c", {})
    )
    peripheral = make_radio(
        "p", _29=peripheral_secrets.get, _30=peripheral_secrets.set, **answers.get("p", {})
    )
    for (ble, _), io in ((central, central_io), (peripheral, peripheral_io)):
        ble.config(bond=True, mitm=mitm, io=io, le_secure=le_secure)
    ((value, protected),) = peripheral[0].gatts_register_services([SERVICE])
    peripheral[0].gatts_write(value, b"secret")
    conn, peer = connect(central, peripheral)
    return central, peripheral, conn, peer, value, protected, central_secrets, peripheral_secrets


def test_just_works_encrypts_and_unlocks_the_characteristic(make_radio) -> None:
    (c, crec), (p, prec), conn, peer, value, protected, csec, psec = _pair(make_radio)
    c.gattc_read(conn, value)
    assert crec.wait(READ_DONE) == (conn, value, 0x0F)  # insufficient encryption
    c.gap_pair(conn)
    assert crec.wait(ENCRYPTION_UPDATE, timeout=10) == (conn, True, False, True, 16)
    assert prec.wait(ENCRYPTION_UPDATE, timeout=10) == (peer, True, False, True, 16)
    mark = crec.mark()
    c.gattc_read(conn, value)
    assert crec.wait(READ_RESULT, start=mark) == (conn, value, b"secret")
    # Authenticated (MITM) is still missing for the second characteristic.
    c.gattc_write(conn, protected, b"x", 1)
    assert crec.wait(WRITE_DONE) == (conn, protected, 0x05)
    assert csec.values and psec.values  # each side stored its bond


def test_passkey_entry(make_radio) -> None:
    passkey = 123456
    central_answers = {"_31": lambda data: None}
    peripheral_answers = {"_31": lambda data: None}
    (c, crec), (p, prec), conn, peer, value, protected, *_ = _pair(
        make_radio,
        central_io=IO_KEYBOARD_ONLY,
        peripheral_io=IO_DISPLAY_ONLY,
        mitm=True,
        c=central_answers,
        p=peripheral_answers,
    )
    c.gap_pair(conn)
    assert prec.wait(PASSKEY_ACTION, timeout=10) == (peer, 3, 0)  # display one we choose
    p.gap_passkey(peer, 3, passkey)
    assert crec.wait(PASSKEY_ACTION, timeout=10) == (conn, 2, 0)  # type what the peer shows
    c.gap_passkey(conn, 2, passkey)
    assert crec.wait(ENCRYPTION_UPDATE, timeout=10)[1:3] == (True, True)
    assert prec.wait(ENCRYPTION_UPDATE, timeout=10)[1:3] == (True, True)
    c.gattc_write(conn, protected, b"ok", 1)
    assert crec.wait(WRITE_DONE) == (conn, protected, 0)


def test_wrong_passkey_fails_and_the_link_stays_usable(make_radio) -> None:
    (c, crec), (p, prec), conn, peer, value, protected, *_ = _pair(
        make_radio, central_io=IO_KEYBOARD_ONLY, peripheral_io=IO_DISPLAY_ONLY, mitm=True
    )
    c.gap_pair(conn)
    prec.wait(PASSKEY_ACTION, timeout=10)
    p.gap_passkey(peer, 3, 111111)
    crec.wait(PASSKEY_ACTION, timeout=10)
    c.gap_passkey(conn, 2, 222222)
    assert crec.wait(ENCRYPTION_UPDATE, timeout=10)[1] == 0
    c.gattc_read(conn, 3)
    assert crec.wait(READ_DONE)[2] == 0  # still connected, plain reads work


def test_numeric_comparison(make_radio) -> None:
    (c, crec), (p, prec), conn, peer, value, protected, *_ = _pair(
        make_radio, central_io=IO_DISPLAY_YESNO, peripheral_io=IO_DISPLAY_YESNO, mitm=True
    )
    c.gap_pair(conn)
    central_number = crec.wait(PASSKEY_ACTION, timeout=10)
    peripheral_number = prec.wait(PASSKEY_ACTION, timeout=10)
    assert central_number[1] == peripheral_number[1] == 4
    assert central_number[2] == peripheral_number[2]  # both show the same number
    c.gap_passkey(conn, 4, 1)
    p.gap_passkey(peer, 4, 1)
    assert crec.wait(ENCRYPTION_UPDATE, timeout=10)[1:3] == (True, True)


def test_bond_survives_restart_and_re_encrypts_without_pairing(make_radio) -> None:
    (c, crec), (p, prec), conn, peer, value, *_ = _pair(make_radio)
    c.gap_pair(conn)
    crec.wait(ENCRYPTION_UPDATE, timeout=10)
    prec.wait(ENCRYPTION_UPDATE, timeout=10)
    c.active(False)
    p.active(False)
    c.active(True)
    p.active(True)
    mark_c, mark_p = crec.mark(), prec.mark()
    p.gap_advertise(20_000, b"\x02\x01\x06")
    c.gap_connect(*p.config("mac"))
    conn = crec.wait(7, start=mark_c)[0]
    c.gap_pair(conn)
    update = crec.wait(ENCRYPTION_UPDATE, start=mark_c, timeout=10)
    assert update[1:4] == (True, False, True)
    assert prec.wait(ENCRYPTION_UPDATE, start=mark_p, timeout=10)[1] == 1
    # Re-encryption used the stored keys: no new keys were written.
    assert not [e for e in crec.events[mark_c:] if e[0] == SET_SECRET]
    c.gattc_read(conn, value)
    assert crec.wait(READ_RESULT, start=mark_c)[2] == b"secret"


def test_legacy_bond_re_encrypts(make_radio) -> None:
    """Legacy pairing (le_secure=False): the peripheral must answer with its own LTK."""
    (c, crec), (p, prec), conn, peer, value, *_ = _pair(make_radio, le_secure=False)
    c.gap_pair(conn)
    assert crec.wait(ENCRYPTION_UPDATE, timeout=10)[1] == 1
    prec.wait(ENCRYPTION_UPDATE, timeout=10)
    c.gap_disconnect(conn)
    crec.wait(8)
    mark_c, mark_p = crec.mark(), prec.mark()
    p.gap_advertise(20_000, b"\x02\x01\x06")
    c.gap_connect(*p.config("mac"))
    conn = crec.wait(7, start=mark_c)[0]
    c.gap_pair(conn)
    assert crec.wait(ENCRYPTION_UPDATE, start=mark_c, timeout=10)[1:4] == (True, False, True)
    assert prec.wait(ENCRYPTION_UPDATE, start=mark_p, timeout=10)[1] == 1
    c.gattc_read(conn, value)
    assert crec.wait(READ_RESULT, start=mark_c)[2] == b"secret"


def test_pairing_again_after_a_failure(make_radio) -> None:
    (c, crec), (p, prec), conn, peer, value, protected, *_ = _pair(
        make_radio, central_io=IO_KEYBOARD_ONLY, peripheral_io=IO_DISPLAY_ONLY, mitm=True
    )
    for attempt, typed in enumerate((111111, 123456)):
        mark_c, mark_p = crec.mark(), prec.mark()
        c.gap_pair(conn)
        assert prec.wait(PASSKEY_ACTION, start=mark_p, timeout=10)[1] == 3
        p.gap_passkey(peer, 3, 123456)
        assert crec.wait(PASSKEY_ACTION, start=mark_c, timeout=10)[1] == 2
        c.gap_passkey(conn, 2, typed)
        update = crec.wait(ENCRYPTION_UPDATE, start=mark_c, timeout=10)
        assert update[1:3] == ((False, False) if attempt == 0 else (True, True))


def test_protected_descriptor(make_radio) -> None:
    central, peripheral = make_radio("c"), make_radio("p")
    service = (
        UUID(0x181A),
        (
            (
                UUID(0x2A6E),
                bluetooth.FLAG_READ,
                ((UUID(0x2901), 0x01 | bluetooth.FLAG_READ_ENCRYPTED),),
            ),
        ),
    )
    ((_, descriptor),) = peripheral[0].gatts_register_services([service])
    conn, _ = connect(central, peripheral)
    central[0].gattc_read(conn, descriptor)
    assert central[1].wait(READ_DONE) == (conn, descriptor, 0x0F)
