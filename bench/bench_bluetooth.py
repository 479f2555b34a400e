"""Notifications/s and write-with-response round trips/s: `bluetooth` vs raw Bumble.

Both run on the same virtual link (bleradio's in-process medium, fast mode, so that the CPU
and not the air-time model is what is measured), in one run, and the ratio is printed.
Raw Bumble means Bumble's own Device, GATT server and GATT client driven directly from
asyncio; `bluetooth` means this project's module, driven as a MicroPython program would
(synchronous calls, IRQ handler).

    python bench/bench_bluetooth.py [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

from bumble import gatt

import bleradio
import bluetooth
from benchlib import again_on_one_core, arrivals, compare, raw_pair

# --- raw Bumble ---------------------------------------------------------------------------


async def _raw_pair() -> tuple:
    props = gatt.Characteristic.Properties
    return await raw_pair(
        props.READ | props.WRITE | props.NOTIFY,
        gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
        b"",
    )


async def _raw_notifications(count: int) -> float:
    peripheral, _, char, conn, peer, proxy = await _raw_pair()
    done, on_value = arrivals(count)

    await peer.subscribe(proxy, on_value)
    value = bytes(20)
    start = time.perf_counter()
    for _ in range(count):
        await peripheral.notify_subscriber(conn, char, value)
    await done.wait()
    return count / (time.perf_counter() - start)


async def _raw_writes(count: int) -> float:
    _, _, _, _, peer, proxy = await _raw_pair()
    value = bytes(20)
    start = time.perf_counter()
    for _ in range(count):
        await peer.write_value(proxy, value, with_response=True)
    return count / (time.perf_counter() - start)


def raw_notifications(count: int) -> float:
    return asyncio.run(_raw_notifications(count))


def raw_writes(count: int) -> float:
    return asyncio.run(_raw_writes(count))


# --- bluetooth ------------------------------------------------------------------------------

_NOTIFY, _WRITE_DONE, _PERIPHERAL_CONNECT, _CENTRAL_CONNECT = 18, 17, 7, 1


class _Pair:
    """A peripheral and a central radio of this process, connected, as two programs."""

    def __init__(self) -> None:
        self.peripheral = bluetooth.new_radio("bench-peripheral")
        self.central = bluetooth.new_radio("bench-central")
        self.event = threading.Event()
        self.count = 0
        self.target = 0
        self.conn = self.peer = -1
        self.peripheral.irq(self._peripheral_irq)
        self.central.irq(self._central_irq)
        self.peripheral.active(True)
        self.central.active(True)
        ((self.char,),) = self.peripheral.gatts_register_services(
            [
                (
                    bluetooth.UUID(0x181A),
                    (
                        (
                            bluetooth.UUID(0x2A6E),
                            bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_NOTIFY,
                        ),
                    ),
                )
            ]
        )
        self.peripheral.gap_advertise(20_000, b"\x02\x01\x06")
        self.central.gap_connect(*self.peripheral.config("mac"))
        if not self.event.wait(5):
            raise RuntimeError("bench: no connection")
        while self.peer < 0:
            time.sleep(0.001)

    def _peripheral_irq(self, event: int, data: tuple) -> None:
        if event == _CENTRAL_CONNECT:
            self.peer = data[0]

    def _central_irq(self, event: int, data: tuple) -> None:
        if event == _PERIPHERAL_CONNECT:
            self.conn = data[0]
            self.event.set()
        elif event == _NOTIFY:
            self.count += 1
            if self.count == self.target:
                self.event.set()
        elif event == _WRITE_DONE:
            self.event.set()

    def close(self) -> None:
        self.central.active(False)
        self.peripheral.active(False)


def bluetooth_notifications(count: int) -> float:
    pair = _Pair()
    try:
        pair.event.clear()
        pair.count, pair.target = 0, count
        value = bytes(20)
        start = time.perf_counter()
        for _ in range(count):
            pair.peripheral.gatts_notify(pair.peer, pair.char, value)
        if not pair.event.wait(60):
            raise RuntimeError(f"bench: {pair.count} of {count} notifications arrived")
        return count / (time.perf_counter() - start)
    finally:
        pair.close()


def bluetooth_writes(count: int) -> float:
    pair = _Pair()
    try:
        value = bytes(20)
        start = time.perf_counter()
        for _ in range(count):
            pair.event.clear()
            pair.central.gattc_write(pair.conn, pair.char, value, 1)
            if not pair.event.wait(5):
                raise RuntimeError("bench: write not acknowledged")
        return count / (time.perf_counter() - start)
    finally:
        pair.close()


# --- report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the median is shown)")
    args = parser.parse_args()
    bleradio.configure(fast=True)
    rows = [
        ("notifications/s (20 B, MTU 23)", raw_notifications, bluetooth_notifications, args.count),
        ("write-with-response round trips/s", raw_writes, bluetooth_writes, args.count // 5),
    ]
    compare(rows, args.rounds, "bluetooth")
    again_on_one_core()


if __name__ == "__main__":
    main()
