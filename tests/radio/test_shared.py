"""The shared radio: `serve()` with hosts in this process, in a child process, and plain Bumble."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from bumble import hci
from bumble.device import AdvertisingType, Device
from bumble.host import Host
from bumble.transport import open_transport

import bleradio
from bleradio import RadioConfig, open_hci, serve

from .helpers import collect_reports, connect, wait_for

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from bumble.device import AdvertisingType, Device
    from bumble.host import Host
    from bleradio import config_from_env, open_hci

    async def device(label):
        transport = await open_hci(config_from_env(), label=label)
        device = Device(name=label, host=Host(transport.source, transport.sink))
        await device.power_on()
        return device

    async def main():
        beacon = await device("child-beacon")
        await beacon.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_data=b"\\x05\\x09kid1",
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        peripheral = await device("child-peripheral")
        await peripheral.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
        print(beacon.random_address, peripheral.random_address, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


async def _device(config: RadioConfig, label: str) -> tuple[Device, object]:
    transport = await open_hci(config, label=label)
    device = Device(name=label, host=Host(transport.source, transport.sink))
    await device.power_on()
    return device, transport


def test_two_hosts_in_one_process() -> None:
    async def main() -> None:
        server = await serve()
        try:
            config = RadioConfig("shared", address=server.address)
            central, t1 = await _device(config, "central")
            peripheral, t2 = await _device(config, "peripheral")
            assert [d.label for d in server.devices()] == ["central", "peripheral"]
            assert central.public_address != peripheral.public_address
            c, p = await connect(central, peripheral)
            reasons: list[int] = []
            p.on("disconnection", reasons.append)
            await c.disconnect()
            await wait_for(lambda: reasons)
            assert reasons == [hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR]
            # leaving without disconnecting: the peer times out
            c, p = await connect(central, peripheral)
            lost: list[int] = []
            p.on("disconnection", lost.append)
            await t1.close()
            await wait_for(lambda: lost)
            assert lost == [hci.HCI_CONNECTION_TIMEOUT_ERROR]
            await wait_for(lambda: not server.devices()[0].connected)
            await t2.close()
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_same_label_same_address() -> None:
    async def addresses() -> list[str]:
        server = await serve()
        try:
            config = RadioConfig("shared", address=server.address)
            first, t1 = await _device(config, "alpha")
            second, t2 = await _device(config, "alpha")
            await t1.close(), await t2.close()
            return [str(first.public_address), str(second.public_address)]
        finally:
            await server.close()

    run1, run2 = asyncio.run(addresses()), asyncio.run(addresses())
    assert run1 == run2  # stable across runs
    assert run1[0] != run1[1]  # unique on the medium
    names = [d.label for d in asyncio.run(_labels())]
    assert names == ["alpha", "alpha#2"]


async def _labels() -> list:
    server = await serve()
    try:
        config = RadioConfig("shared", address=server.address)
        _, t1 = await _device(config, "alpha")
        _, t2 = await _device(config, "alpha")
        await t1.close(), await t2.close()
        return server.devices()
    finally:
        await server.close()


def test_plain_bumble_tcp_client_without_hello() -> None:
    async def main() -> None:
        server = await serve()
        try:
            transport = await open_transport(f"tcp-client:{server.address}")
            plain = Device(name="plain", host=Host(transport.source, transport.sink))
            await plain.power_on()
            scanner, t2 = await _device(RadioConfig("shared", address=server.address), "scan")
            reports = collect_reports(scanner)
            await scanner.start_scanning(legacy=True, active=False)
            await plain.start_advertising(
                advertising_type=AdvertisingType.UNDIRECTED,
                advertising_data=b"\x05\x09bare",
                advertising_interval_min=20,
                advertising_interval_max=20,
            )
            await wait_for(lambda: any(r.address == plain.random_address for r in reports))
            assert server.devices()[0].label.startswith("device")
            await transport.close()
            await t2.close()
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_killed_child_process_drops_links_and_advertising() -> None:
    async def main() -> None:
        server = await serve()
        child = None
        try:
            config = RadioConfig("shared", address=server.address)
            central, t1 = await _device(config, "central")
            reports = collect_reports(central)
            env = {**os.environ, "AIOBLE_RADIO": server.address}
            env.pop("AIOBLE_TRANSPORT", None)
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                CHILD,
                env=env,
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 15)
            beacon_text, peripheral_text = line.decode().split()
            beacon = hci.Address(beacon_text)
            peripheral = hci.Address(peripheral_text)
            await central.start_scanning(legacy=True, active=False)
            await wait_for(lambda: any(r.address == beacon for r in reports))
            await central.stop_scanning()
            connection = await central.connect(peripheral, timeout=5)
            reasons: list[int] = []
            connection.on("disconnection", reasons.append)

            os.killpg(child.pid, signal.SIGKILL)
            await child.wait()
            await wait_for(lambda: reasons)
            assert reasons == [hci.HCI_CONNECTION_TIMEOUT_ERROR]
            await wait_for(lambda: [d.connected for d in server.devices()] == [True, False, False])
            # the beacon's advertising stopped with its process
            reports.clear()
            await central.start_scanning(legacy=True, active=False)
            await asyncio.sleep(0.2)
            assert not any(r.address == beacon for r in reports)
            await t1.close()
        finally:
            if child is not None and child.returncode is None:
                os.killpg(child.pid, signal.SIGKILL)
                await child.wait()
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_unreachable_radio_names_the_address() -> None:
    async def main() -> None:
        server = await serve()
        address = server.address
        await server.close()
        with pytest.raises(OSError, match=address.rsplit(":", 1)[1]):
            await open_hci(RadioConfig("shared", address=address))
        with pytest.raises(OSError, match="tcp-client"):
            await open_hci(RadioConfig("hci", transport=f"tcp-client:{address}"))

    asyncio.run(main())


def test_configure_in_process_medium() -> None:
    with pytest.raises(TypeError):
        bleradio.configure(no_such_option=1)
    bleradio.configure(seed=7)
    try:

        async def main() -> int | None:
            return bleradio.process_medium().options.seed

        assert asyncio.run(main()) == 7
    finally:
        bleradio.configure(seed=None)
