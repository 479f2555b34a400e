"""Radios for the low-level tests: in-process virtual radios, each recording its IRQ events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import bluetooth


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


@pytest.fixture
def make_radio() -> Iterator[Callable[..., tuple[bluetooth.BLE, Recorder]]]:
    made: list[bluetooth.BLE] = []

    def make(label: str | None = None, **answers: Any) -> tuple[bluetooth.BLE, Recorder]:
        ble = bluetooth.new_radio(label)
        recorder = Recorder(ble, {int(k.lstrip("_")): v for k, v in answers.items()})
        ble.active(True)
        made.append(ble)
        return ble, recorder

    yield make
    for ble in made:
        ble.active(False)


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
