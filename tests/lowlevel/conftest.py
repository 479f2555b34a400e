"""Radios for the low-level tests: in-process virtual radios, each recording its IRQ events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from bumble.device import Device
from bumble.hci import Address, OwnAddressType

import bleradio
import bluetooth

R = TypeVar("R")


class Recorder:
    """An IRQ handler that records events and lets a test wait for them."""

    def __init__(self, ble: bluetooth.BLE, answers: dict[int, Any] | None = None) -> None:
        self.ble = ble
        self.events: list[tuple[int, tuple[Any, ...]]] = []
        self.answers = answers if answers is not None else {}
        self.cond = threading.Condition()
        ble.irq(self)

    def __call__(self, event: int, data: tuple[Any, ...]) -> Any:
        data = tuple(bytes(x) if isinstance(x, memoryview) else x for x in data)
        with self.cond:
            self.events.append((event, data))
            self.cond.notify_all()
        answer = self.answers.get(event)
        return answer(data) if callable(answer) else answer

    def wait(self, event: int, timeout: float = 5.0, start: int = 0) -> tuple[Any, ...]:
        """The data of the first ``event`` recorded at or after index ``start``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for kind, data in self.events[start:]:
                    if kind == event:
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no event {event} within {timeout} s; got {self.kinds()}")
                self.cond.wait(remaining)

    def all(self, event: int) -> list[tuple[Any, ...]]:
        with self.cond:
            return [data for kind, data in self.events if kind == event]

    def kinds(self) -> list[int]:
        with self.cond:
            return [kind for kind, _ in self.events]

    def mark(self) -> int:
        with self.cond:
            return len(self.events)


def answers_by_event(answers: dict[str, Any]) -> dict[int, Any]:
    """Keyword answers (``_29=...`` or ``29=...``) keyed by event number."""
    return {int(k.lstrip("_")): v for k, v in answers.items()}


@pytest.fixture
def new_radio() -> Iterator[
    Callable[[str | None, Callable[[bluetooth.BLE], R]], tuple[bluetooth.BLE, R]]
]:
    """Makes a radio with a recorder of the test's choosing, set before ``active(True)``
    (turning on reads the stored bonds: GET_SECRET); every radio made is turned off after
    the test."""
    made: list[bluetooth.BLE] = []

    def make(label: str | None, recorder: Callable[[bluetooth.BLE], R]) -> tuple[bluetooth.BLE, R]:
        ble = bluetooth.new_radio(label)
        handler = recorder(ble)
        ble.active(True)
        made.append(ble)
        return ble, handler

    yield make
    for ble in made:
        ble.active(False)


@pytest.fixture
def make_radio(new_radio) -> Callable[..., tuple[bluetooth.BLE, Recorder]]:
    def make(label: str | None = None, **answers: Any) -> tuple[bluetooth.BLE, Recorder]:
        return new_radio(label, lambda ble: Recorder(ble, answers_by_event(answers)))

    return make


def connect(
    central: tuple[bluetooth.BLE, Recorder], peripheral: tuple[bluetooth.BLE, Recorder]
) -> tuple[int, int]:
    """Advertise on one, connect from the other; (central's handle, peripheral's handle)."""
    (c, crec), (p, prec) = central, peripheral
    p.gap_advertise(20_000, b"\x02\x01\x06")
    addr_type, addr = p.config("mac")
    c.gap_connect(addr_type, addr)
    conn = crec.wait(7)[0]
    peer = prec.wait(1)[0]
    return conn, peer


async def raw_central_updates(address: bytes) -> None:
    """A raw Bumble central connects to ``address`` (public), changes the connection
    parameters (15 ms, latency 2, 4 s) and leaves: CONNECTION_UPDATE without a `bluetooth`
    call for it."""
    transport = await bleradio.open_hci(bleradio.RadioConfig("virtual"), label="raw-central")
    device = Device.with_hci("raw-central", None, transport.source, transport.sink)
    await device.power_on()
    connection = await device.connect(
        Address(bytes(reversed(address)), Address.PUBLIC_DEVICE_ADDRESS),
        own_address_type=OwnAddressType.PUBLIC,
    )
    await connection.update_parameters(
        connection_interval_min=15.0,
        connection_interval_max=15.0,
        max_latency=2,
        supervision_timeout=4000,
    )
    await connection.disconnect()
    await transport.close()
