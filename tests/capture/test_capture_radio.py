"""Capture in one process: btsnoop on every radio path (the in-process virtual radio,
rootcanal as a real controller over TCP), Bumble's BUMBLE_SNOOPER, and a Medium's
``capture=`` option."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from bumble.device import Device
from bumble.host import Host
from scapy.layers.bluetooth import HCI_Command_Hdr, HCI_Event_Hdr, HCI_Event_LE_Meta
from scapy.layers.bluetooth4LE import BTLE_CONNECT_REQ, LL_TERMINATE_IND

from bleradio import Medium, RadioConfig, capture, open_hci
from bleradio.controller import VirtualController
from bleradio.transport.hci import VirtualTransport

from .sniff import air, btsnoop

LE_CREATE_CONNECTION = (0x200D, 0x2043)  # legacy, extended (rootcanal has it)
LE_CONNECTION_COMPLETE = (0x01, 0x0A, 0x29)  # legacy, enhanced v1 and v2


async def _pair_of_devices(transports: list) -> None:
    """Two Bumble devices on ``transports``: one advertises, the other connects, then
    disconnects; the transports are closed at the end."""
    try:
        central, peripheral = (
            Device(name=f"dev{i}", host=Host(t.source, t.sink)) for i, t in enumerate(transports)
        )
        await central.power_on()
        await peripheral.power_on()
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()
        peripheral.once("connection", accepted.set_result)
        await peripheral.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
        connection = await central.connect(peripheral.random_address, timeout=10)
        await asyncio.wait_for(accepted, 10)
        await connection.disconnect()
    finally:
        for transport in transports:
            await transport.close()


def _check_central(path: Path) -> None:
    records = btsnoop(path)
    commands = [r.packet for r in records if r.packet.haslayer(HCI_Command_Hdr)]
    assert all(not r.received for r in records if r.packet.haslayer(HCI_Command_Hdr))
    assert any(c[HCI_Command_Hdr].opcode in LE_CREATE_CONNECTION for c in commands)
    events = [r.packet for r in records if r.received and r.packet.haslayer(HCI_Event_Hdr)]
    assert any(
        e.haslayer(HCI_Event_LE_Meta) and e[HCI_Event_LE_Meta].event in LE_CONNECTION_COMPLETE
        for e in events
    )


def test_btsnoop_on_rootcanal(rootcanal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOBLE_CAPTURE", str(tmp_path))
    # Bumble's own snooper spec is honoured on the same hook
    monkeypatch.setenv("BUMBLE_SNOOPER", f"btsnoop:file:{tmp_path}/bumble-{{instance}}.log")
    config = RadioConfig("hci", transport=rootcanal.hci_transport)

    async def scenario() -> None:
        transports = [await open_hci(config, label=name) for name in ("alpha", "beta")]
        await _pair_of_devices(transports)

    asyncio.run(scenario())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["alpha.btsnoop", "beta.btsnoop", "bumble-0.log", "bumble-1.log"], names
    _check_central(tmp_path / "alpha.btsnoop")
    # Bumble's file holds the same packets as ours
    assert [r.raw for r in btsnoop(tmp_path / "bumble-0.log")] == [
        r.raw for r in btsnoop(tmp_path / "alpha.btsnoop")
    ]


def test_btsnoop_in_process_and_air(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process virtual radio: each device's btsnoop, and the process medium's air
    (made on the loop's first controller, with AIOBLE_CAPTURE)."""
    monkeypatch.setenv("AIOBLE_CAPTURE", str(tmp_path))
    from bleradio import process_medium

    async def scenario() -> None:
        config = RadioConfig("virtual")
        transports = [await open_hci(config, label=name) for name in ("alpha", "beta")]
        await _pair_of_devices(transports)
        process_medium().close_capture()

    asyncio.run(scenario())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["air.pcap", "alpha.btsnoop", "beta.btsnoop"], names
    _check_central(tmp_path / "alpha.btsnoop")
    packets = air(tmp_path / "air.pcap")
    assert any(p.haslayer(BTLE_CONNECT_REQ) for p in packets)
    assert any(p.haslayer(LL_TERMINATE_IND) for p in packets)


def test_medium_capture_option_is_bounded(tmp_path: Path) -> None:
    """``Medium(capture=DIR)``: the air of that medium alone; what it keeps per link goes
    with the link, and records go to the file as they come."""

    async def scenario() -> None:
        medium = Medium(fast=True, capture=tmp_path)
        assert Medium(fast=True).capture is None  # off unless asked
        transports = [VirtualTransport(VirtualController(medium, label=n)) for n in "ab"]
        capture = medium.capture
        assert capture is not None
        await _pair_of_devices(transports)
        await asyncio.sleep(0)
        assert not capture._links  # the link is gone, so is its record
        assert capture.records > 10
        medium.close_capture()
        assert medium.capture is None and capture.closed

    asyncio.run(scenario())
    assert [p.name for p in tmp_path.iterdir()] == ["air.pcap"]
    packets = air(tmp_path / "air.pcap")
    assert any(p.haslayer(BTLE_CONNECT_REQ) for p in packets)
    assert any(p.haslayer(LL_TERMINATE_IND) for p in packets)


def test_capture_in_a_label_used_twice_keeps_both(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIOBLE_CAPTURE", str(tmp_path / "twice"))

    async def scenario() -> None:
        for _ in range(2):
            transport = await open_hci(RadioConfig("virtual"), label="same")
            await transport.close()

    asyncio.run(scenario())
    names = sorted(p.name for p in (tmp_path / "twice").iterdir())
    assert names == ["air.pcap", "same-2.btsnoop", "same.btsnoop"], names


def test_btsnoop_lives_as_long_as_the_host_keeps_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host may keep a transport's source and sink and drop the transport (Bumble's
    Device.with_hci does): the btsnoop file stays open for them."""
    monkeypatch.setenv("AIOBLE_CAPTURE", str(tmp_path))

    async def scenario() -> None:
        transport = await open_hci(RadioConfig("virtual"), label="kept")
        source, sink = transport.source, transport.sink
        del transport
        gc.collect()
        device = Device(name="kept", host=Host(source, sink))
        await device.power_on()  # HCI_Reset and the rest go through the snooper

    asyncio.run(scenario())
    capture.flush_all()  # (what exit does for files still open)
    assert len(btsnoop(tmp_path / "kept.btsnoop")) > 10


def test_configure_capture_for_the_process_medium(tmp_path: Path) -> None:
    from bleradio import configure, process_medium

    configure(capture=tmp_path)
    try:

        async def scenario() -> None:
            transport = await open_hci(RadioConfig("virtual"), label="configured")
            assert process_medium().capture is not None
            await transport.close()
            process_medium().close_capture()

        asyncio.run(scenario())
    finally:
        configure(capture=None)
    # the air only: btsnoop files come with AIOBLE_CAPTURE, which names a process's devices
    assert [p.name for p in tmp_path.iterdir()] == ["air.pcap"]
    with pytest.raises(capture.CaptureError, match="is not a directory"):
        configure(capture=tmp_path / "air.pcap")
