"""Two aioble devices in one process: a peripheral and a central, each on its own radio."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

import aioble
import bluetooth

T = TypeVar("T")


class Pair:
    """A peripheral radio `p` and a central radio `c`, and helpers to run code on each."""

    def __init__(self, p: bluetooth.BLE, c: bluetooth.BLE) -> None:
        self.p = p
        self.c = c

    def on(
        self, radio: bluetooth.BLE, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> "asyncio.Task[T]":
        """Start `fn(*args, **kwargs)` as a task whose current radio is `radio`."""
        with bluetooth.use(radio):
            return asyncio.ensure_future(fn(*args, **kwargs))

    def call(self, radio: bluetooth.BLE, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with bluetooth.use(radio):
            return fn(*args, **kwargs)

    async def connect(
        self, *services: aioble.Service, mtu: int | None = None
    ) -> tuple[aioble.DeviceConnection, aioble.DeviceConnection]:
        """Register `services` on the peripheral, connect; (peripheral's, central's) connection."""
        with bluetooth.use(self.p):
            if services:
                aioble.register_services(*services)
            addr = aioble.config("mac")
            advertising = asyncio.ensure_future(aioble.advertise(20_000, name="p", timeout_ms=5000))
        with bluetooth.use(self.c):
            central = await aioble.Device(*addr).connect(timeout_ms=5000)
        peripheral = await advertising
        if mtu:
            await central.exchange_mtu(mtu)
        return peripheral, central

    def stop(self) -> None:
        for radio in (self.p, self.c):
            with bluetooth.use(radio):
                aioble.stop()


@pytest.fixture
def pair(ble_devices: Any) -> Iterator[Pair]:
    """A peripheral and a central on the test's own medium (the plugin's ble_devices, which
    closes them after the test)."""
    radios = Pair(*ble_devices("peripheral", "central"))
    yield radios
    radios.stop()


def run(coro: Awaitable[T], timeout: float = 30) -> T:
    """Run a test coroutine with a bound on its total time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `predicate` on the loop until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
