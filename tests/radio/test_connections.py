"""Connections through raw Bumble: connect, cancel, disconnect, several links, LL procedures."""

from __future__ import annotations

import asyncio

import pytest
from bumble import core, hci
from bumble.device import AdvertisingType

from .helpers import Env, Radio, connect, run, wait_for


def _events(connection, name: str) -> list:
    seen: list = []
    connection.on(name, lambda *args: seen.append(args))
    return seen


@pytest.mark.parametrize("reason", [0x13, 0x15, 0x05])
def test_disconnect_reasons(radio: Radio, reason: int) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        assert c.role == hci.Role.CENTRAL and p.role == hci.Role.PERIPHERAL
        assert c.peer_address == peripheral.random_address
        assert p.peer_address == central.random_address
        c_reason, p_reason = _events(c, "disconnection"), _events(p, "disconnection")
        await c.disconnect(reason)
        await wait_for(lambda: c_reason and p_reason)
        assert p_reason == [(reason,)]
        assert c_reason == [(hci.HCI_CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR,)]

    run(radio, scenario)


def test_peripheral_disconnects(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        c_reason = _events(c, "disconnection")
        await p.disconnect()
        await wait_for(lambda: c_reason)
        assert c_reason == [(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR,)]

    run(radio, scenario)


def test_connect_timeout_cancel_then_connect(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        nobody = hci.Address("C0:11:22:33:44:55", hci.Address.RANDOM_DEVICE_ADDRESS)
        with pytest.raises(core.TimeoutError):
            await central.connect(nobody, timeout=0.3)
        # The cancel left the controller ready for the next connect.
        c, p = await connect(central, peripheral)
        assert c.handle in central.connections and p.handle in peripheral.connections

    run(radio, scenario)


def test_cancel_without_connect_is_disallowed(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central = await env.device("central")
        with pytest.raises(hci.HCI_Error) as error:
            await central.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        assert error.value.error_code == hci.HCI_COMMAND_DISALLOWED_ERROR

    run(radio, scenario)


def test_several_links_and_both_roles(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        hub = await env.device("hub")
        leaves = [await env.device(f"leaf{i}") for i in range(3)]
        links = [await connect(hub, leaf) for leaf in leaves]
        assert len(hub.connections) == 3
        # the hub is also a peripheral of another central
        boss = await env.device("boss")
        up, down = await connect(boss, hub)
        assert down.role == hci.Role.PERIPHERAL and len(hub.connections) == 4
        # every link is independent: drop one, the others stay
        reasons = _events(links[1][1], "disconnection")
        await links[1][0].disconnect()
        await wait_for(lambda: reasons)
        assert len(hub.connections) == 3
        rssi = await links[0][0].get_rssi()
        assert -127 < rssi < 20
        await up.disconnect()
        await wait_for(lambda: len(hub.connections) == 2)

    run(radio, scenario)


def test_connection_update_by_central(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        c_updates, p_updates = (
            _events(c, "connection_parameters_update"),
            _events(p, "connection_parameters_update"),
        )
        await c.update_parameters(50, 50, 2, 4000)
        await wait_for(lambda: c_updates and p_updates)
        for connection in (c, p):
            assert connection.parameters.connection_interval == 50
            assert connection.parameters.peripheral_latency == 2
            assert connection.parameters.supervision_timeout == 4000

    run(radio, scenario)


@pytest.mark.parametrize("use_l2cap", [False, True], ids=["ll", "l2cap"])
def test_connection_update_by_peripheral(radio: Radio, use_l2cap: bool) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        c_updates, p_updates = (
            _events(c, "connection_parameters_update"),
            _events(p, "connection_parameters_update"),
        )
        await p.update_parameters(45, 45, 0, 2000, use_l2cap=use_l2cap)
        await wait_for(lambda: c_updates and p_updates)
        assert c.parameters.connection_interval == p.parameters.connection_interval == 45

    run(radio, scenario)


def test_phy_update(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        c_phy, p_phy = _events(c, "connection_phy_update"), _events(p, "connection_phy_update")
        # the peripheral asks for 2M (the central's LL decides, with its default preferences)
        await p.set_phy(tx_phys=[hci.Phy.LE_2M], rx_phys=[hci.Phy.LE_2M])
        await wait_for(lambda: c_phy and p_phy)
        for connection in (c, p):
            phy = await connection.get_phy()
            assert (phy.tx_phy, phy.rx_phy) == (hci.Phy.LE_2M, hci.Phy.LE_2M)
        # the central asks for 1M back
        c_phy.clear(), p_phy.clear()
        await c.set_phy(tx_phys=[hci.Phy.LE_1M], rx_phys=[hci.Phy.LE_1M])
        await wait_for(lambda: c_phy and p_phy)
        for connection in (c, p):
            phy = await connection.get_phy()
            assert (phy.tx_phy, phy.rx_phy) == (hci.Phy.LE_1M, hci.Phy.LE_1M)

    run(radio, scenario)


def test_data_length(radio: Radio) -> None:
    if radio.is_rootcanal:
        pytest.skip("rootcanal 1.10 has no LE Set Data Length")

    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        # Bumble's host suggests 251 octets: the controllers negotiate it at connect time.
        await wait_for(
            lambda: c.data_length.max_tx_octets == 251 and p.data_length.max_tx_octets == 251
        )
        c_changes, p_changes = (
            _events(c, "connection_data_length_change"),
            _events(p, "connection_data_length_change"),
        )
        await c.set_data_length(27, 328)
        await wait_for(lambda: c_changes and p_changes)
        assert c.data_length.max_tx_octets == 27  # central's tx
        assert p.data_length.max_rx_octets == 27  # peripheral's rx
        assert p.data_length.max_tx_octets == 251  # peripheral still sends 251

    run(radio, scenario)


def test_remote_features(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        features = await c.get_remote_le_features()
        assert features & hci.LeFeatureMask.LE_ENCRYPTION
        features = await p.get_remote_le_features()
        assert features & hci.LeFeatureMask.LE_ENCRYPTION

    run(radio, scenario)


def test_remote_version(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, _p = await connect(central, peripheral)
        done = asyncio.get_running_loop().create_future()
        central.host.on(
            "hci_read_remote_version_information_complete_event",
            lambda *a: done.set_result(a),
        )
        central.host.on_hci_read_remote_version_information_complete_event = (  # type: ignore[method-assign]
            lambda event: done.done() or done.set_result(event)
        )
        await central.send_async_command(
            hci.HCI_Read_Remote_Version_Information_Command(connection_handle=c.handle)
        )
        event = await asyncio.wait_for(done, 5)
        assert event.status == hci.HCI_SUCCESS and event.version >= 6

    run(radio, scenario)


def test_directed_connect(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        accepted = asyncio.get_running_loop().create_future()
        peripheral.once("connection", accepted.set_result)
        await peripheral.start_advertising(
            advertising_type=AdvertisingType.DIRECTED_CONNECTABLE_LOW_DUTY,
            target=central.random_address,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        c = await central.connect(peripheral.random_address, timeout=5)
        p = await asyncio.wait_for(accepted, 5)
        assert c.peer_address == peripheral.random_address
        assert p.peer_address == central.random_address

    run(radio, scenario)


def test_advertising_stops_when_connected(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        other = await env.device("other")
        await connect(central, peripheral)
        # legacy advertising ends with the connection: another central cannot connect
        with pytest.raises(core.TimeoutError):
            await other.connect(peripheral.random_address, timeout=0.3)

    run(radio, scenario)
