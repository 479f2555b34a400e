"""The same program on every kind of radio: a shared virtual radio in another process
(`aioble radio`, AIOBLE_RADIO) and a real controller over HCI/TCP (Google's rootcanal,
AIOBLE_TRANSPORT). Each test starts what it needs on loopback and stops it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

import bluetooth
from bleradio.transport.rootcanal import RootCanal

from .conftest import Recorder

PERIPHERAL = textwrap.dedent(
    """
    import sys, time, bluetooth
    from bluetooth import UUID
    ble = bluetooth.BLE()
    ble.active(True)
    ((char,),) = ble.gatts_register_services(
        [(UUID(0x181A), ((UUID(0x2A6E), bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_NOTIFY),))]
    )
    ble.gatts_write(char, b"from the peripheral")
    ble.gap_advertise(20_000, b"\\x02\\x01\\x06\\x05\\x09peri")
    addr_type, addr = ble.config("mac")
    print("READY", char, addr_type, addr.hex(), flush=True)
    # The program's only thread now sleeps: the stack must keep answering the central.
    time.sleep(float(sys.argv[1]))
    print("VALUE", ble.gatts_read(char), flush=True)
    """
)


def _env(**radio: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOBLE_")}
    env.update(radio)
    return env


@pytest.fixture
def shared_radio() -> Iterator[str]:
    """`aioble radio` on a free loopback port; yields its HOST:PORT."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "blerun.cli", "radio", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (\S+:\d+)", line)
        assert match, f"unexpected output from aioble radio: {line!r}"
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start_peripheral(sleep: float, **radio: str) -> tuple[subprocess.Popen[str], int, int, bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PERIPHERAL, str(sleep)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(**radio),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise AssertionError(f"peripheral failed: {line}{proc.stdout.read()}")
    _, char, addr_type, addr = line.split()
    return proc, int(char), int(addr_type), bytes.fromhex(addr)


def _central(monkeypatch: pytest.MonkeyPatch, **radio: str) -> tuple[bluetooth.BLE, Recorder]:
    for key in ("AIOBLE_RADIO", "AIOBLE_TRANSPORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in radio.items():
        monkeypatch.setenv(key, value)  # read when the radio is first activated
    ble = bluetooth.new_radio("central")
    recorder = Recorder(ble)
    ble.active(True)
    return ble, recorder


def _exercise(ble: bluetooth.BLE, rec: Recorder, char: int, addr_type: int, addr: bytes) -> int:
    """Scan, connect, discover, read, write, subscribe: all answered by a sleeping peer."""
    ble.gap_scan(2000, 30_000, 30_000, True)
    result = rec.wait(5)
    assert result[1] == addr and b"peri" in result[4]
    ble.gap_scan(None)
    rec.wait(6)
    ble.gap_connect(addr_type, addr)
    conn = rec.wait(7, timeout=10)[0]
    ble.gattc_discover_characteristics(conn, 1, 0xFFFF)
    rec.wait(12)
    assert any(data[2] == char for data in rec.all(11))
    ble.gattc_read(conn, char)
    assert rec.wait(15) == (conn, char, b"from the peripheral")
    ble.gattc_write(conn, char, b"from the central", 1)
    assert rec.wait(17) == (conn, char, 0)
    ble.gattc_exchange_mtu(conn)
    assert rec.wait(21)[0] == conn
    return conn


def test_shared_radio_across_processes(shared_radio: str, monkeypatch) -> None:
    proc, char, addr_type, addr = _start_peripheral(3, AIOBLE_RADIO=shared_radio)
    try:
        ble, rec = _central(monkeypatch, AIOBLE_RADIO=shared_radio)
        try:
            conn = _exercise(ble, rec, char, addr_type, addr)
            ble.gap_disconnect(conn)
            rec.wait(8)
        finally:
            ble.active(False)
        out, _ = proc.communicate(timeout=20)
        assert "VALUE b'from the central'" in out
        assert proc.returncode == 0, out
    finally:
        proc.kill()


def test_killed_peer_drops_the_link(shared_radio: str, monkeypatch) -> None:
    proc, char, addr_type, addr = _start_peripheral(60, AIOBLE_RADIO=shared_radio)
    try:
        ble, rec = _central(monkeypatch, AIOBLE_RADIO=shared_radio)
        try:
            ble.gap_connect(addr_type, addr)
            conn = rec.wait(7, timeout=10)[0]
            proc.kill()
            assert rec.wait(8, timeout=10) == (conn, addr_type, addr)
            # Its advertising stopped with it: a scan no longer sees it.
            mark = rec.mark()
            ble.gap_scan(300, 20_000, 20_000)
            rec.wait(6, start=mark)
            assert not [d for k, d in rec.events[mark:] if k == 5 and d[1] == addr]
        finally:
            ble.active(False)
    finally:
        proc.kill()
        proc.wait()


def test_real_controller_over_tcp(rootcanal: RootCanal, monkeypatch) -> None:
    proc, char, addr_type, addr = _start_peripheral(3, AIOBLE_TRANSPORT=rootcanal.hci_transport)
    try:
        ble, rec = _central(monkeypatch, AIOBLE_TRANSPORT=rootcanal.hci_transport)
        try:
            conn = _exercise(ble, rec, char, addr_type, addr)
            ble.gap_disconnect(conn)
            rec.wait(8)
        finally:
            ble.active(False)
        out, _ = proc.communicate(timeout=20)
        assert "VALUE b'from the central'" in out
    finally:
        proc.kill()


def test_bad_radio_configuration_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("AIOBLE_RADIO", "not-an-address")
    ble = bluetooth.new_radio("misconfigured")
    with pytest.raises(ValueError, match="AIOBLE_RADIO"):
        ble.active(True)
    assert ble.active() is False
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AIOBLE_RADIO", address)
    with pytest.raises(OSError, match=address):
        ble.active(True)


def test_a_radio_lost_and_back_comes_back_on(monkeypatch) -> None:
    with socket.socket() as probe:  # a free port for the shared radio, twice
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = [sys.executable, "-m", "blerun.cli", "radio", "--port", str(port)]

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(serve, stdout=subprocess.PIPE, text=True, env=_env())
        assert proc.stdout is not None and "listening" in proc.stdout.readline()
        return proc

    server = start()
    ble, rec = _central(monkeypatch, AIOBLE_RADIO=f"127.0.0.1:{port}")
    try:
        server.kill()
        server.wait()
        with pytest.raises(OSError, match="lost"):
            for _ in range(100):  # until the loss is seen
                ble.gap_scan(10, 20_000, 20_000)
                rec.wait(6, start=rec.mark())
        server = start()
        ble.active(False)
        ble.active(True)
        mark = rec.mark()
        ble.gap_scan(10, 20_000, 20_000)
        rec.wait(6, start=mark)
    finally:
        ble.active(False)
        server.kill()
        server.wait()


def test_stack_side_code_refuses_to_run_on_another_thread(make_radio) -> None:
    """The suite runs with BLUETOOTH_CHECK_THREADS=1 (tests/conftest.py): stack-side code
    called from a program's thread is a bug, caught where it happens."""
    from bluetooth import _threads

    assert _threads.CHECKING
    ble, _ = make_radio("threads")
    with pytest.raises(AssertionError, match="runs on the stack thread"):
        ble._att.reset_subscriptions()
    with pytest.raises(AssertionError, match="runs on the stack thread"):
        ble._host.l2cap.listen(0x80, 64)
