"""L2CAP credit-based channel throughput (MB/s): `aioble` vs raw Bumble, in one run, with the ratio.

Both run on the same kind of virtual link: bleradio's in-process medium in fast mode (so the
CPU, not the air-time model, is measured), every device opening its HCI through
`bleradio.open_hci(bleradio.RadioConfig("virtual"))`. One direction, central to peripheral:
the clock runs from the first send until the receiver holds every byte (checked).

- raw Bumble: Bumble's Device and its LE CoC channel (`create_l2cap_server`,
  `create_l2cap_channel`, `write` + `drain`, a `sink` per SDU), on one asyncio loop. Its
  channel spec (MTU, MPS 247, credits) is the one `bluetooth` uses for the same MTU, so both
  have the same receive window; a second raw row uses Bumble's defaults (MTU = MPS = 2048,
  256 credits), for reference.
- aioble: two radios of this process (`bluetooth.new_radio`), a peripheral and a central, each
  an aioble program, in one event loop: `channel.send(data)` (SDUs of the peer's MTU) against
  `channel.recvinto(buf)` in a loop, as a user writes it.

    python bench/bench_l2cap.py [--size BYTES] [--rounds R] [--mtu N ...] [--breakdown]

`--breakdown` times the `bluetooth` calls an aioble round makes on the program's thread.
For a profile of every thread, sample where the GIL is held, e.g.
`py-spy record --gil --threads -f raw -o out.txt -- python bench/bench_l2cap.py --rounds 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bumble.device import Device
from bumble.hci import OwnAddressType
from bumble.l2cap import LeCreditBasedChannelSpec

import aioble
import bleradio
import bluetooth
from benchlib import again_on_one_core
from bluetooth import _l2cap as bluetooth_l2cap

PSM = 0x80


def _payload(size: int) -> bytes:
    # A 251-byte period, so that a lost, repeated or reordered SDU shows.
    return (bytes(range(251)) * (size // 251 + 1))[:size]


# --- raw Bumble ---------------------------------------------------------------------------


async def _raw(size: int, spec: LeCreditBasedChannelSpec) -> float:
    devices = []
    for label in ("raw-peripheral", "raw-central"):
        transport = await bleradio.open_hci(bleradio.RadioConfig("virtual"), label=label)
        devices.append(Device.with_hci(label, None, transport.source, transport.sink))
    peripheral, central = devices
    for device in devices:
        await device.power_on()
    received = bytearray()
    done = asyncio.Event()
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_sdu(sdu: bytes) -> None:
        received.extend(sdu)
        if len(received) >= size:
            done.set()

    def on_channel(channel) -> None:
        channel.sink = on_sdu
        accepted.set_result(channel)

    peripheral.create_l2cap_server(spec=spec, handler=on_channel)
    await peripheral.start_advertising(own_address_type=OwnAddressType.PUBLIC)
    connection = await central.connect(
        peripheral.public_address, own_address_type=OwnAddressType.PUBLIC
    )
    channel = await connection.create_l2cap_channel(spec=spec)
    await accepted
    data = _payload(size)
    view = memoryview(data)
    start = time.perf_counter()
    step = channel.peer_mtu
    for offset in range(0, size, step):
        channel.write(bytes(view[offset : offset + step]))
        await channel.drain()
    await done.wait()
    elapsed = time.perf_counter() - start
    assert bytes(received) == data
    for device in devices:
        await device.power_off()
    return size / elapsed / 1e6


def raw_same_window(size: int, mtu: int) -> float:
    return asyncio.run(_raw(size, bluetooth_l2cap._spec(PSM, mtu)))  # the same spec as ours


def raw_bumble_defaults(size: int, mtu: int) -> float:
    return asyncio.run(_raw(size, LeCreditBasedChannelSpec(psm=PSM)))


# --- aioble ---------------------------------------------------------------------------------


async def _aioble(size: int, mtu: int) -> float:
    radios = (bluetooth.new_radio("aioble-peripheral"), bluetooth.new_radio("aioble-central"))
    try:
        with bluetooth.use(radios[0]):
            addr = aioble.config("mac")
            advertising = asyncio.ensure_future(aioble.advertise(20_000, timeout_ms=5000))
        with bluetooth.use(radios[1]):
            central = await aioble.Device(*addr).connect(timeout_ms=5000)
        peripheral = await advertising
        accepting = asyncio.ensure_future(peripheral.l2cap_accept(PSM, mtu, timeout_ms=5000))
        await asyncio.sleep(0)  # listening before the central connects
        sender = await central.l2cap_connect(PSM, mtu, timeout_ms=5000)
        receiver = await accepting
        data = _payload(size)

        async def receive() -> bytearray:
            buf = bytearray(4096)
            out = bytearray()
            while len(out) < size:
                n = await receiver.recvinto(buf, timeout_ms=10_000)
                out += buf[:n]
            return out

        start = time.perf_counter()
        receiving = asyncio.ensure_future(receive())
        await sender.send(data, timeout_ms=10_000)
        out = await receiving
        elapsed = time.perf_counter() - start
        assert bytes(out) == data
        return size / elapsed / 1e6
    finally:
        for radio in radios:
            with bluetooth.use(radio):
                aioble.stop()


def aioble_throughput(size: int, mtu: int) -> float:
    return asyncio.run(_aioble(size, mtu))


# --- report ---------------------------------------------------------------------------------


def _breakdown(size: int, mtu: int) -> None:
    """Where an aioble round's wall time goes on the program's thread: the `bluetooth` calls
    it makes, timed (each is synchronous: it runs on, or waits for, the stack thread)."""
    from bluetooth import _ble

    spent: dict[str, list[float]] = {}

    def timed(name: str) -> None:
        original = getattr(_ble.BLE, name)

        def wrapper(self: object, *args: object) -> object:
            start = time.perf_counter()
            try:
                return original(self, *args)
            finally:
                spent.setdefault(name, []).append(time.perf_counter() - start)

        setattr(_ble.BLE, name, wrapper)

    for name in ("l2cap_send", "l2cap_recvinto"):
        timed(name)
    start = time.perf_counter()
    rate = aioble_throughput(size, mtu)
    wall = time.perf_counter() - start
    print(f"aioble, MTU {mtu}: {rate:.2f} MB/s, {wall:.2f} s for {size:,} bytes (with set-up)")
    for name, times in spent.items():
        total = sum(times)
        print(
            f"  {name:<15} {len(times):>6} calls {total:6.3f} s "
            f"({total / len(times) * 1e6:5.0f} us each, {total / wall:4.0%} of the run)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2_000_000, help="bytes per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the median is shown)")
    parser.add_argument("--mtu", type=int, nargs="+", default=[512, 2048], help="channel MTUs")
    parser.add_argument(
        "--breakdown", action="store_true", help="time the bluetooth calls of one aioble round"
    )
    args = parser.parse_args()
    bleradio.configure(fast=True)
    if args.breakdown:
        for mtu in args.mtu:
            _breakdown(args.size, mtu)
        return
    print(
        f"{'MTU':>5} {'raw Bumble':>11} {'aioble':>9} {'ratio':>7}   "
        f"{'raw, Bumble defaults':>20}   (MB/s, {args.size:,} bytes, median of {args.rounds})"
    )
    for mtu in args.mtu:
        # Interleaved, so that a machine whose load drifts affects both sides alike; the
        # ratio shown is the median of the per-round ratios.
        raw_rates, our_rates, default_rates = [], [], []
        for _ in range(args.rounds):
            raw_rates.append(raw_same_window(args.size, mtu))
            our_rates.append(aioble_throughput(args.size, mtu))
            default_rates.append(raw_bumble_defaults(args.size, mtu))
        ratio = statistics.median(o / r for o, r in zip(our_rates, raw_rates, strict=True))
        print(
            f"{mtu:>5} {statistics.median(raw_rates):>11.2f} "
            f"{statistics.median(our_rates):>9.2f} {ratio:>6.2f}x   "
            f"{statistics.median(default_rates):>20.2f}"
        )
    again_on_one_core()


if __name__ == "__main__":
    main()
