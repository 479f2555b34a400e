"""Raw-Bumble scenarios on a radio: the virtual medium, or rootcanal over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bumble import hci
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.transport.common import Transport

from bleradio import Medium, RadioConfig, open_hci
from bleradio.controller import VirtualController
from bleradio.transport.hci import VirtualTransport


@dataclass(frozen=True)
class Radio:
    kind: str  # "virtual" or "rootcanal"
    transport: str | None = None

    @property
    def config(self) -> RadioConfig:
        if self.kind == "virtual":
            return RadioConfig("virtual")
        return RadioConfig("hci", transport=self.transport)

    @property
    def is_rootcanal(self) -> bool:
        return self.kind == "rootcanal"


class Env:
    """Devices made for one scenario; closes their transports at the end."""

    def __init__(self, radio: Radio) -> None:
        self.radio = radio
        self.transports: list[Transport] = []
        self._n = 0

    async def transport(self, label: str) -> Transport:
        transport = await open_hci(self.radio.config, label=label)
        self.transports.append(transport)
        return transport

    async def device(self, label: str | None = None, **config: Any) -> Device:
        self._n += 1
        label = label or f"dev{self._n}"
        transport = await self.transport(label)
        configuration = DeviceConfiguration(name=label, **config)
        # A fixed random identity per label, so bonds are keyed the same on every radio.
        device = Device(config=configuration, host=Host(transport.source, transport.sink))
        await device.power_on()
        return device

    async def close(self) -> None:
        for transport in self.transports:
            try:
                await transport.close()
            except Exception:
                pass
        # let the medium deliver the consequences before the loop closes
        await asyncio.sleep(0)


def run(radio: Radio, scenario: Callable[[Env], Awaitable[Any]], timeout: float = 20.0) -> Any:
    async def main() -> Any:
        env = Env(radio)
        try:
            return await asyncio.wait_for(scenario(env), timeout)
        finally:
            await env.close()

    return asyncio.run(main())


def collect_reports(device: Device) -> list[Any]:
    """Raw HCI advertising reports as the host parsed them."""
    reports: list[Any] = []
    device.host.on("advertising_report", reports.append)
    return reports


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.005) -> Any:
    """Poll ``predicate`` until truthy (scenario timeouts, never wall-clock assertions)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def connect(central: Device, peripheral: Device, **kw: Any) -> tuple[Any, Any]:
    """Advertise on ``peripheral``, connect from ``central``; both connection objects."""
    accepted: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_connection(connection: Any) -> None:
        if not accepted.done():
            accepted.set_result(connection)

    peripheral.once("connection", on_connection)
    await peripheral.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    connection = await central.connect(peripheral.random_address, timeout=5, **kw)
    return connection, await asyncio.wait_for(accepted, 5)


async def connect_at(
    central: Device,
    peripheral: Device,
    interval_ms: float = 50.0,
    timeout_ms: int | None = None,
    latency: int = 0,
) -> tuple[Any, Any]:
    """``connect`` at a fixed connection interval (and peripheral latency); the supervision
    timeout ``timeout_ms``, else 1 s or four (latency-stretched) intervals if longer."""
    from bumble.device import ConnectionParametersPreferences

    if timeout_ms is None:
        timeout_ms = max(1000, int(interval_ms * (latency + 1) * 4))
    prefs = ConnectionParametersPreferences(
        connection_interval_min=interval_ms,
        connection_interval_max=interval_ms,
        max_latency=latency,
        supervision_timeout=timeout_ms,
    )
    return await connect(
        central, peripheral, connection_parameters_preferences={hci.HCI_LE_1M_PHY: prefs}
    )


async def device_on(medium: Medium, label: str) -> Device:
    """A raw Bumble device on its own controller of `medium` (in this loop), powered on;
    its transport is kept on it."""
    transport = VirtualTransport(VirtualController(medium, label=label))
    device = Device(name=label, host=Host(transport.source, transport.sink))
    device.transport = transport  # type: ignore[attr-defined]
    await device.power_on()
    return device


def address(device: Device) -> hci.Address:
    return device.random_address
