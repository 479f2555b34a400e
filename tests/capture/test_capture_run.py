"""`--capture DIR` on `aioble run` / `multitest` / `radio`: the manual's two programs on
the virtual radio, read back with scapy as a sniffer's capture would be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.bluetooth import (
    ATT_Find_By_Type_Value_Request,
    ATT_Hdr,
    ATT_Read_By_Type_Request,
    ATT_Read_Request,
)
from scapy.layers.bluetooth4LE import (
    BTLE_ADV_IND,
    BTLE_CONNECT_REQ,
    BTLE_CTRL,
    BTLE_DATA,
    BTLE_RF,
    BTLE_SCAN_REQ,
    BTLE_SCAN_RSP,
    LL_TERMINATE_IND,
)

from bleradio import capture

from .sniff import air, btsnoop, crc_ok

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "temp_sensor"
ADV_RF_CHANNELS = {0, 12, 39}
PAIR_TEST = "aioble_security_pair"
ATT_READ_RSP = 0x0B


def aioble(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIOBLE_", "BUMBLE_"))}
    env["AIOBLE_RADIO_FAST"] = os.environ.get("AIOBLE_RADIO_FAST", "1")
    return subprocess.run(
        [sys.executable, "-m", "blerun.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def _kind(packet) -> str:
    """What a sniffer's list would name the packet."""
    for layer, name in (
        (BTLE_ADV_IND, "ADV_IND"),
        (BTLE_SCAN_REQ, "SCAN_REQ"),
        (BTLE_SCAN_RSP, "SCAN_RSP"),
        (BTLE_CONNECT_REQ, "CONNECT_IND"),
        (LL_TERMINATE_IND, "LL_TERMINATE_IND"),
        (ATT_Find_By_Type_Value_Request, "ATT find by type value"),
        (ATT_Read_By_Type_Request, "ATT read by type"),
        (ATT_Read_Request, "ATT read request"),
    ):
        if packet.haslayer(layer):
            return name
    if packet.haslayer(ATT_Hdr) and packet[ATT_Hdr].opcode == ATT_READ_RSP:
        return "ATT read response"  # (scapy has no layer for an empty value)
    if packet.haslayer(BTLE_CTRL):
        return "LL control"
    if packet.haslayer(BTLE_DATA) and packet[BTLE_DATA].len == 0:
        return "empty"
    return packet.lastlayer().name


def _in_order(kinds: list[str], expected: list[str]) -> bool:
    it = iter(kinds)
    return all(any(k == want for k in it) for want in expected)


def _events(data_packets: list) -> list[list]:
    """Consecutive packets on one RF channel: one connection event each."""
    events: list[list] = []
    for packet in data_packets:
        if events and events[-1][0][BTLE_RF].rf_channel == packet[BTLE_RF].rf_channel:
            events[-1].append(packet)
        else:
            events.append([packet])
    return events


def _check_manual_pair(directory: Path) -> tuple[list, object]:
    """The checks both radio modes share; returns the data packets and the CONNECT_IND."""
    packets = air(directory / "air.pcap")
    kinds = [_kind(p) for p in packets]
    assert _in_order(
        kinds,
        [
            "ADV_IND",
            "SCAN_REQ",
            "SCAN_RSP",
            "CONNECT_IND",
            "LL control",  # data length update
            "ATT find by type value",  # service discovery
            "ATT read by type",  # characteristic discovery
            "ATT read request",
            "ATT read response",
            "LL_TERMINATE_IND",
        ],
    ), kinds
    # the peripheral's advertising: its name and service, on all three channels
    adv = [p for p in packets if p.haslayer(BTLE_ADV_IND)]
    assert b"openmv-temp" in bytes(adv[0][BTLE_ADV_IND])
    assert {p[BTLE_RF].rf_channel for p in adv} == ADV_RF_CHANNELS
    connect = next(p for p in packets if p.haslayer(BTLE_CONNECT_REQ))[BTLE_CONNECT_REQ]
    assert connect.AdvA == adv[0][BTLE_ADV_IND].AdvA
    assert capture.valid_access_address(connect.AA)
    assert 5 <= connect.hop <= 16 and connect.chM == capture.CHANNEL_MAP_ALL
    assert connect.interval == 40  # aioble's default range tops at 50 ms
    data = [p for p in packets if p.access_addr == connect.AA]
    assert data and all(p.haslayer(BTLE_DATA) for p in data)
    # the CRCs are right: advertising ones with 0x555555, the link's with its CRCInit
    for p in packets:
        init = connect.crc_init if p.access_addr == connect.AA else capture.ADVERTISING_CRC_INIT
        assert crc_ok(p, init), p.summary()
    # direction in the pseudo-header; the central speaks first in every event
    for event in _events(data):
        assert [p[BTLE_RF].type for p in event][:2] == [2, 3][: len(event)]
    # sequence numbers: each side's SN alternates, NESN acknowledges the other's last SN
    by_side = {2: [], 3: []}
    for p in data:
        by_side[p[BTLE_RF].type].append(p[BTLE_DATA])
    for side in by_side.values():
        assert all(a.SN != b.SN for a, b in zip(side, side[1:], strict=False))
    # the read's value is what the peripheral holds (b'' here: it never wrote one)
    response = next(p for p in data if _kind(p) == "ATT read response")
    assert bytes(response[ATT_Hdr].payload) == b""
    return data, connect


def _check_btsnoops(directory: Path, central_name: str = "central") -> None:
    central = btsnoop(directory / f"{central_name}.btsnoop")
    peripheral = btsnoop(directory / "peripheral.btsnoop")
    # the central's host sent the read request and received the response, over HCI ACL
    sent = [r.packet for r in central if not r.received and r.packet.haslayer(ATT_Hdr)]
    got = [r.packet for r in central if r.received and r.packet.haslayer(ATT_Hdr)]
    assert any(p.haslayer(ATT_Read_Request) for p in sent)
    assert any(p[ATT_Hdr].opcode == ATT_READ_RSP for p in got)
    # the peripheral's host saw the same request arrive
    assert any(r.received and r.packet.haslayer(ATT_Read_Request) for r in peripheral)
    # commands (type 1) go down, events (type 4) come up
    assert {r.packet.type for r in central if not r.received} <= {1, 2}
    assert {r.packet.type for r in central if r.received} <= {2, 4}


def test_manual_pair_fast(tmp_path: Path) -> None:
    result = aioble(
        "run",
        "--fast",
        "--capture",
        str(tmp_path / "cap"),
        str(EXAMPLES / "peripheral.py"),
        str(EXAMPLES / "central.py"),
    )
    assert result.returncode == 0, result.stderr
    assert "central    | b''" in result.stdout
    directory = tmp_path / "cap"
    assert sorted(os.listdir(directory)) == ["air.pcap", "central.btsnoop", "peripheral.btsnoop"]
    data, connect = _check_manual_pair(directory)
    # fast mode counts a connection event per delivery round: the events' channels are
    # Channel Selection Algorithm #1's for events 0, 1, 2, ...
    channels = [event[0][BTLE_RF].rf_channel for event in _events(data)]
    expected = [capture.rf_channel(capture.data_channel(n, connect.hop)) for n in range(99)]
    assert channels == expected[: len(channels)]
    _check_btsnoops(directory)


def test_manual_pair_air_time(tmp_path: Path) -> None:
    """On air time each record is when the medium put it on air: a connection event's first
    packet is at its anchor, so events lie whole intervals apart, and the channel is the
    one CSA#1 gives that event's counter."""
    result = aioble(
        "run",
        "-o",
        "fast=0",
        "--capture",
        str(tmp_path),
        str(EXAMPLES / "peripheral.py"),
        str(EXAMPLES / "central_listening.py"),
    )
    assert result.returncode == 0, result.stderr
    data, connect = _check_manual_pair(tmp_path)
    interval = connect.interval * 0.00125
    events = _events(data)
    counter = None
    for before, event in zip(events, events[1:], strict=False):
        gap = float(event[0].time - before[0].time) / interval
        assert abs(gap - round(gap)) < 0.01, gap  # µs timestamps, whole intervals apart
    for event in events:
        channel = event[0][BTLE_RF].rf_channel
        # the first event this channel is CSA#1's for, after the previous one
        start = 0 if counter is None else counter + 1
        counter = next(
            n
            for n in range(start, start + 37)
            if capture.rf_channel(capture.data_channel(n, connect.hop)) == channel
        )
    times = [float(p.time) for p in air(tmp_path / "air.pcap")]
    assert times == sorted(times)
    _check_btsnoops(tmp_path, "central_listening")


def test_multitest_encrypted_link_is_not_plaintext(tmp_path: Path) -> None:
    """MicroPython's pairing multitest: after LL_START_ENC_REQ the air shows ciphertext
    (flagged MIC checked, not valid, not decrypted) where the hosts' HCI shows the values.
    Two tests in one run: each gets its own folder."""
    tests = [
        ROOT / "tests" / "multitests" / f"{name}.py" for name in (PAIR_TEST, "ble_gap_advertise")
    ]
    result = aioble("multitest", "--capture", str(tmp_path), *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(os.listdir(tmp_path)) == sorted([PAIR_TEST, "ble_gap_advertise"])
    directory = tmp_path / PAIR_TEST
    names = sorted(os.listdir(directory))
    assert names == ["air.pcap", "instance0.btsnoop", "instance1.btsnoop"], names
    packets = air(directory / "air.pcap")
    raw = (directory / "air.pcap").read_bytes()
    # the values written and read after pairing went over the link, but not in plaintext
    assert b"changed" not in raw and b"secret" not in raw
    central = b"".join(r.raw for r in btsnoop(directory / "instance1.btsnoop"))
    assert b"changed" in central and b"secret" in central
    start = next(
        i for i, p in enumerate(packets) if p.haslayer(BTLE_CTRL) and p[BTLE_CTRL].opcode == 0x05
    )
    assert all(not p[BTLE_RF].mic_checked for p in packets[:start])
    after = [p for p in packets[start + 1 :] if p.haslayer(BTLE_DATA)]
    encrypted = [p for p in after if p[BTLE_DATA].len > 0]
    assert len(encrypted) > 10
    for p in encrypted:
        flags = p[BTLE_RF]
        assert (flags.mic_checked, flags.mic_valid, flags.decrypted) == (1, 0, 0)
    # (an empty PDU carries no MIC: not encrypted)
    assert all(p[BTLE_RF].mic_checked == 0 for p in after if p[BTLE_DATA].len == 0)
    # the other test's folder holds its own capture
    assert (tmp_path / "ble_gap_advertise" / "air.pcap").stat().st_size > 24


@pytest.mark.parametrize("command", ["run", "multitest", "radio"])
def test_bad_capture_path_is_a_usage_error(tmp_path: Path, command: str) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    program = str(EXAMPLES / "peripheral.py")
    args = {"run": [program], "multitest": [program], "radio": []}[command]
    for bad, says in (
        (a_file, "is not a directory"),
        (a_file / "sub", "cannot be made"),
        (Path("/proc"), "is not writable"),
    ):
        result = aioble(command, "--capture", str(bad), *args, timeout=30)
        assert result.returncode == 2, (bad, result.stderr)
        assert f"--capture {str(bad)!r} {says}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_bad_capture_variable_names_it(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(capture.CaptureError, match="AIOBLE_CAPTURE"):
        capture.capture_from_env({"AIOBLE_CAPTURE": str(a_file)})


def test_capture_off_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = aioble(
        "run", "--fast", str(EXAMPLES / "peripheral.py"), str(EXAMPLES / "central.py"), cwd=work
    )
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == []
