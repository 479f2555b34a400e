"""The air-time radio as a channel: each figure beside the model's own theory.

    python bench/bench_channel.py [--seconds S] [--advertisers N] [--skip-loss] [--skip-rssi]
                                  [--skip-collisions]

1. Throughput against extra loss (``--per``), 0 to 50 %: GATT notifications of 244 bytes
   and L2CAP K-frames of 247 octets (each one 251-octet LL PDU, 1M, 30 ms interval) on
   virtual time, beside ``channel.delivered_per_event`` (the link layer's retransmissions
   and the event closing after two CRC errors, worked out exactly). Nothing may be lost
   or duplicated at the application. Goal: within 5 %.
2. RSSI against distance, 1-50 m: the mean of 100 scan reports beside the log-distance
   formula (``channel.mean_rx_power_dbm``). Goal: within 3 dB.
3. Collisions, in real time: N non-connectable advertisers (20 bytes every second,
   switched on at random times) and one scanner listening all the time, in one process on
   the wall clock. The share of advertising PDUs heard beside pure ALOHA
   (``channel.collision_survival``), and whether the process keeps real time: the 99th
   percentile lateness of a 10 ms ticker, and the CPU it used.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.radio.test_loss import (  # noqa: E402
    RSSI_DISTANCES,
    ReportCounter,
    advertiser_commands,
    hci_command,
    rssi_reports,
    send_all,
    stream_l2cap,
    stream_notifications,
    theory_pdus_per_second,
)

from bleradio import Medium  # noqa: E402
from bleradio.air import channel  # noqa: E402
from bleradio.air.airtime import adv_pdu_time_us  # noqa: E402
from bleradio.controller import VirtualController  # noqa: E402

LOSSES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def bench_loss(seconds: float) -> None:
    print("1. throughput against extra loss (1M, 251-octet PDUs, 30 ms interval, virtual time)")
    print(
        f"{'loss':>5} {'kind':<14} {'PDUs/s':>8} {'theory':>8} {'ratio':>6} {'kbit/s':>7}  intact"
    )
    for per in LOSSES:
        theory = theory_pdus_per_second(per)
        # heavy loss delivers little: run longer for as many PDUs
        span = seconds / max(0.05, theory / theory_pdus_per_second(0.0))
        rate, seen, _ = stream_notifications(per, span)
        intact = seen == list(range(len(seen)))
        kbit = rate * 244 * 8 / 1000
        print(
            f"{per:>5.0%} {'notifications':<14} {rate:>8.1f} {theory:>8.1f} "
            f"{rate / theory:>6.3f} {kbit:>7.1f}  {intact}"
        )
        rate, received = stream_l2cap(per, span)
        mtu = 247 * 8 - 2
        whole = len(received) // mtu
        intact = all(
            received[i * mtu : (i + 1) * mtu] == struct.pack("<I", i).ljust(mtu, b"\x5a")
            for i in range(whole)
        )
        kbit = rate * (mtu / 8) * 8 / 1000
        print(
            f"{per:>5.0%} {'L2CAP':<14} {rate:>8.1f} {theory:>8.1f} "
            f"{rate / theory:>6.3f} {kbit:>7.1f}  {intact}"
        )


def bench_rssi() -> None:
    distances = RSSI_DISTANCES
    heard = rssi_reports(distances, seed=31)
    print("\n2. RSSI against distance (100 reports each, exponent 2.0, 0 dBm)")
    print(f"{'metres':>6} {'mean':>7} {'formula':>8} {'error':>6} {'stdev':>6}")
    for d in distances:
        mean, formula = statistics.fmean(heard[d]), channel.mean_rx_power_dbm(0, d)
        print(
            f"{d:>6} {mean:>7.1f} {formula:>8.1f} {mean - formula:>6.2f} "
            f"{statistics.pstdev(heard[d]):>6.2f}"
        )


def bench_collisions(advertisers: int, seconds: float) -> None:
    interval_s, data = 1.0, bytes(20)

    async def main() -> tuple[int, float, float, float]:
        loop = asyncio.get_running_loop()
        medium = Medium(fast=False, seed=32)
        controllers = []
        for i in range(advertisers):
            medium.move(f"adv{i}", (3, 0))
            controllers.append(VirtualController(medium, label=f"adv{i}"))
            controllers[-1].set_packet_sink(ReportCounter())
        # switched on one after the other over an interval: devices are not switched on
        # in step (a busy loop running many start timers at once would line them up)
        for ctrl in controllers:
            send_all(ctrl, advertiser_commands(interval_s * 1000, data))
            await asyncio.sleep(interval_s / advertisers)
        scanner = VirtualController(medium, label="scanner")
        sink = ReportCounter()
        scanner.set_packet_sink(sink)
        scanner.on_packet(hci_command(0x0C01, b"\xff" * 8))
        scanner.on_packet(hci_command(0x200B, struct.pack("<BHHBB", 0, 160, 160, 0, 0)))
        scanner.on_packet(hci_command(0x200C, b"\x01\x00"))
        await asyncio.sleep(2 * interval_s)
        sink.reports.clear()
        late: list[float] = []
        start, cpu = loop.time(), time.process_time()
        while loop.time() - start < seconds:
            before = loop.time()
            await asyncio.sleep(0.01)
            late.append(loop.time() - before - 0.01)
        elapsed = loop.time() - start
        cpu_share = (time.process_time() - cpu) / elapsed
        late.sort()
        return sum(sink.reports.values()), elapsed, late[int(len(late) * 0.99)], cpu_share

    heard, elapsed, p99, cpu = asyncio.run(main())
    pdu_us = adv_pdu_time_us(len(data) + 1)
    period_us = (interval_s + 0.005) * 1e6
    events = advertisers * elapsed * 1e6 / period_us
    odds = channel.collision_survival(advertisers - 1, pdu_us, period_us)
    print(
        f"\n3. collisions: {advertisers} advertisers (1 s, {pdu_us} us PDUs) and a scanner, "
        f"{elapsed:.0f} s of wall clock"
    )
    print(
        f"   heard {heard} of ~{events:.0f} PDUs on its channel: {heard / events:.3f} "
        f"(pure ALOHA: {odds:.3f}, ratio {heard / events / odds:.3f})"
    )
    print(
        f"   real time: 99th percentile lateness of a 10 ms ticker {p99 * 1000:.2f} ms, "
        f"CPU {cpu:.0%} of a core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--advertisers", type=int, default=1000)
    parser.add_argument("--skip-loss", action="store_true")
    parser.add_argument("--skip-rssi", action="store_true")
    parser.add_argument("--skip-collisions", action="store_true")
    args = parser.parse_args()
    if not args.skip_loss:
        bench_loss(args.seconds)
    if not args.skip_rssi:
        bench_rssi()
    if not args.skip_collisions:
        bench_collisions(args.advertisers, args.seconds)


if __name__ == "__main__":
    main()
