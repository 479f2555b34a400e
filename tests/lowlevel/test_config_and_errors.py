"""config() and what bad input gets: a named error with a message, never a hang."""

from __future__ import annotations

import errno

import pytest

import bluetooth
from bluetooth import UUID

from .conftest import connect

READ_WRITE = bluetooth.FLAG_READ | bluetooth.FLAG_WRITE
SERVICE = (UUID(0x181A), ((UUID(0x2A6E), READ_WRITE | bluetooth.FLAG_NOTIFY),))


def test_config_defaults_and_changes(make_radio) -> None:
    ble, _ = make_radio("config")
    addr_type, mac = ble.config("mac")
    assert addr_type in (0, 1) and isinstance(mac, bytes) and len(mac) == 6
    assert ble.config("addr_mode") == 0
    assert ble.config("mtu") == 256
    assert isinstance(ble.config("gap_name"), bytes)
    ble.config(gap_name="sensor", mtu=185, rxbuf=2048)
    assert ble.config("gap_name") == b"sensor"
    assert ble.config("mtu") == 185
    assert ble.config("rxbuf") == 2048
    ble.config(gap_name=b"bytes-name")
    assert ble.config("gap_name") == b"bytes-name"


def test_addr_mode_random_is_stable_across_restarts(make_radio) -> None:
    ble, _ = make_radio("addr")
    ble.config(addr_mode=1)
    addr_type, mac = ble.config("mac")
    assert addr_type == 1 and mac[0] & 0xC0 == 0xC0  # random static
    ble.active(False)
    ble.active(True)
    assert ble.config("mac") == (1, mac)


def test_public_address_survives_restart(make_radio) -> None:
    ble, _ = make_radio("restart")
    before = ble.config("mac")
    ble.active(False)
    assert not ble.active()
    assert ble.active(True)
    assert ble.config("mac") == before


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("nope",), {}, ValueError, "unknown config param 'nope'"),
        (("mtu", "rxbuf"), {}, TypeError, "one param"),
        ((), {"nope": 1}, ValueError, "unknown config param 'nope'"),
        ((), {"mtu": 22}, ValueError, "mtu must be between 23 and 517"),
        ((), {"mtu": "big"}, TypeError, "mtu must be an int"),
        ((), {"addr_mode": 7}, ValueError, "addr_mode"),
        ((), {"io": 9}, ValueError, "io"),
        ((), {"mac": b"123456"}, ValueError, "read-only"),
        ((), {"gap_name": 5}, TypeError, "gap_name must be a bytes-like object or str"),
        ((), {"gap_name": "x" * 249}, ValueError, "248"),
        ((1,), {}, TypeError, "must be a str"),
    ],
)
def test_config_errors(make_radio, args, kwargs, error, message) -> None:
    ble, _ = make_radio()
    with pytest.raises(error, match=message):
        if args and kwargs:
            ble.config(*args, **kwargs)
        elif args:
            ble.config(*args)
        else:
            ble.config(**kwargs)


def test_calls_while_inactive_raise_enodev() -> None:
    ble = bluetooth.new_radio("inactive")
    assert ble.active() is False
    calls = [
        lambda: ble.config("mac"),
        lambda: ble.gap_advertise(100_000, b""),
        lambda: ble.gap_scan(100),
        lambda: ble.gap_connect(0, bytes(6)),
        lambda: ble.gap_disconnect(0),
        lambda: ble.gatts_register_services([SERVICE]),
        lambda: ble.gatts_read(10),
        lambda: ble.gatts_write(10, b"x"),
        lambda: ble.gatts_notify(0, 10),
        lambda: ble.gattc_read(0, 10),
        lambda: ble.gattc_exchange_mtu(0),
    ]
    for call in calls:
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.ENODEV
        assert "not active" in str(info.value)


def test_bad_arguments(make_radio) -> None:
    ble, _ = make_radio("bad")
    ((value,),) = ble.gatts_register_services([SERVICE])
    cases = [
        (lambda: ble.irq(5), TypeError, "callable"),
        (lambda: ble.active(True, False), TypeError, "at most one"),
        (lambda: ble.gap_advertise(1000, b""), OSError, "between 20000 and 10240000"),
        (lambda: ble.gap_advertise("fast"), TypeError, "interval_us must be an int"),
        (lambda: ble.gap_advertise(100_000, b"x" * 32), OSError, "adv_data is 32 bytes"),
        (lambda: ble.gap_advertise(100_000, resp_data=b"x" * 40), OSError, "resp_data is 40 bytes"),
        (lambda: ble.gap_advertise(100_000, 12), TypeError, "adv_data must be a bytes-like"),
        (lambda: ble.gap_scan(-1), ValueError, "duration_ms must not be negative"),
        (lambda: ble.gap_scan(100, 10_000, 20_000), ValueError, "window_us"),
        (lambda: ble.gap_scan(100, 1000), ValueError, "interval_us must be between"),
        (lambda: ble.gap_connect(0, b"\x01\x02"), ValueError, "addr must be 6 bytes"),
        (lambda: ble.gap_connect(5, bytes(6)), ValueError, "addr_type"),
        (
            lambda: ble.gap_connect(0, bytes(6), 2000, 50_000, 30_000),
            ValueError,
            "min_conn_interval_us",
        ),
        (
            lambda: ble.gap_connect(0, bytes(6), 2000, 1000),
            ValueError,
            "min_conn_interval_us must be between",
        ),
        (lambda: ble.gap_connect(0), TypeError, "needs an address"),
        (lambda: ble.gatts_register_services([(0x181A, ())]), TypeError, "bluetooth.UUID"),
        (lambda: ble.gatts_register_services([(UUID(1),)]), ValueError, "service 0"),
        (
            lambda: ble.gatts_register_services([(UUID(1), ((UUID(2), "r"),))]),
            TypeError,
            "flags must be an int",
        ),
        (
            lambda: ble.gatts_register_services("nope"),
            TypeError,
            "services must be a tuple or list",
        ),
        (
            lambda: ble.gatts_read(999),
            OSError,
            "no characteristic or descriptor value with handle 999",
        ),
        (lambda: ble.gatts_read("10"), TypeError, "value_handle must be an int"),
        (lambda: ble.gatts_write(999, b"x"), OSError, "handle 999"),
        (lambda: ble.gatts_write(value, 12), TypeError, "data must be a bytes-like"),
        (lambda: ble.gatts_set_buffer(value, -1), ValueError, "len must be between"),
        (lambda: ble.gatts_notify(42, value), OSError, "no connection with handle 42"),
        (lambda: ble.gatts_indicate(42, value), OSError, "no connection with handle 42"),
        (lambda: ble.gattc_read(42, 3), OSError, "no connection with handle 42"),
        (lambda: ble.gattc_write(42, 3, b"x", 2), ValueError, "mode must be 0"),
        (lambda: ble.gattc_discover_characteristics(42, 10, 5), ValueError, "start_handle"),
        (
            lambda: ble.gattc_discover_services(42, "180f"),
            TypeError,
            "uuid must be a bluetooth.UUID",
        ),
        (lambda: ble.gap_pair(42), OSError, "no connection with handle 42"),
        (lambda: ble.gap_passkey(42, 2, 123456), OSError, "no connection with handle 42"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    # gap_disconnect of an unknown handle is False, as on MicroPython.
    assert ble.gap_disconnect(42) is False


def test_unknown_value_handle_on_live_connection(make_radio) -> None:
    central = make_radio("c")
    peripheral = make_radio("p")
    peripheral[0].gatts_register_services([SERVICE])
    _, peer = connect(central, peripheral)
    with pytest.raises(OSError, match="no characteristic value with handle 999"):
        peripheral[0].gatts_notify(peer, 999, b"x")
    with pytest.raises(OSError) as info:
        peripheral[0].gatts_notify(peer + 100, 12, b"x")
    assert info.value.errno == errno.ENOTCONN


def test_an_interval_under_one_unit_advertises_at_the_stacks_default(make_radio) -> None:
    """ESP32 tutorials call gap_advertise(100, ...): zero units of 625 us, which NimBLE
    replaces by its default interval rather than refusing."""
    p, _ = make_radio("tutorial")
    c, crec = make_radio("scanner")
    p.gap_advertise(100, b"\x02\x01\x06\x05\x09tuto")
    c.gap_scan(0, 30_000, 30_000)
    _, addr = p.config("mac")
    report = crec.wait(5, timeout=10)  # the only advertiser on this radio
    c.gap_scan(None)
    assert bytes(report[1]) == bytes(addr) and bytes(report[4]).endswith(b"tuto")
