"""What capture costs: records/s the air.pcap writer takes, and how much a notification
flood slows down with capture on (air.pcap + both devices' btsnoop) against off.

The flood is raw Bumble on the in-process virtual radio in fast mode (so the CPU, not the
air-time model, is measured), 20-byte notifications, rounds alternating off and on, so a
machine whose load drifts affects both alike. The writer alone: ``AirCapture.data`` for
an ATT notification and the empty PDU answering it, on a link as the medium makes it.

    python bench/bench_capture.py [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bumble import gatt

import bleradio
from benchlib import arrivals, raw_pair
from bleradio.air.link import Link
from bleradio.capture import AirCapture


async def _flood(count: int) -> tuple[float, int]:
    """Notifications/s, and the records the medium's capture wrote (0 when off)."""
    props = gatt.Characteristic.Properties
    peripheral, _, char, conn, peer, proxy = await raw_pair(
        props.READ | props.NOTIFY, gatt.Characteristic.READABLE, b""
    )
    done, on_value = arrivals(count)

    await peer.subscribe(proxy, on_value)
    medium = bleradio.process_medium()
    before = medium.capture.records if medium.capture else 0
    value = bytes(20)
    start = time.perf_counter()
    for _ in range(count):
        await peripheral.notify_subscriber(conn, char, value)
    await done.wait()
    rate = count / (time.perf_counter() - start)
    records = (medium.capture.records - before) if medium.capture else 0
    medium.close_capture()
    return rate, records


def flood(count: int, directory: str | None) -> tuple[float, int]:
    if directory is None:
        os.environ.pop("AIOBLE_CAPTURE", None)
    else:
        os.environ["AIOBLE_CAPTURE"] = directory
    try:
        return asyncio.run(_flood(count))
    finally:
        os.environ.pop("AIOBLE_CAPTURE", None)


def writer_rate(count: int, directory: str) -> float:
    """Records/s of AirCapture alone: a notification (L2CAP start fragment) and the empty
    PDU the other side answers with, one connection event each."""
    capture = AirCapture(Path(directory) / "writer.pcap", fast=True, seed=1)
    # a link as the medium makes one (its controllers and medium play no part here)
    nobody = SimpleNamespace()
    link = Link(nobody, nobody, 0, nobody, 1, interval=40, latency=0, timeout=256)  # type: ignore[arg-type]
    link.access_address = 0x50654A4B
    adv = SimpleNamespace(
        pdu_type=0, address_type=0, address=bytes(6), data=b"", target_address=b""
    )
    capture.adv(adv, 37, 0.0)  # type: ignore[arg-type]
    capture.connect(link, adv, 0, bytes(range(6)))  # type: ignore[arg-type]
    notification = (2, bytes.fromhex("17000400") + b"\x1b\x0c\x00" + bytes(20), 1)
    start = time.perf_counter()
    for n in range(count):
        capture.data(link, n, n * 0.05, 1, notification)  # type: ignore[arg-type]
    capture.close()
    return capture.records / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="notifications per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bleradio.configure(fast=True)
    with tempfile.TemporaryDirectory() as directory:
        writer = statistics.median(writer_rate(20000, directory) for _ in range(args.rounds))
        off_rates, on_rates, slowdowns, records = [], [], [], []
        flood(500, None)  # warm up: imports, first connection
        for _ in range(args.rounds):
            off, _ = flood(args.count, None)
            on, written = flood(args.count, directory)
            off_rates.append(off)
            on_rates.append(on)
            slowdowns.append(off / on)
            records.append(written)
        size = sum(p.stat().st_size for p in Path(directory).iterdir())
    print(f"air.pcap writer alone: {writer:,.0f} records/s (notification + empty PDU)")
    print(
        f"notification flood, {args.count} x 20 B, median of {args.rounds}: "
        f"capture off {statistics.median(off_rates):,.0f}/s, "
        f"on {statistics.median(on_rates):,.0f}/s "
        f"(slowdown x{statistics.median(slowdowns):.2f}; "
        f"{statistics.median(records):,.0f} air records per round, "
        f"{statistics.median(on_rates) * statistics.median(records) / args.count:,.0f} records/s "
        f"written during the flood; {size / 1e6:.1f} MB of files in all)"
    )


if __name__ == "__main__":
    main()
