"""The air-time virtual radio: throughput against theory, and how many devices keep real time.

    python bench/bench_airtime.py [--seconds S] [--devices N,N,...] [--skip-throughput] [--skip-real-time]

1. Throughput, through `bluetooth` on the in-process air-time radio: GATT notifications
   (MTU 247 with data length extension, 23 without) and an L2CAP credit-based channel
   (MTU 2048, MPS 247), for 1M and 2M PHY, DLE on and off, 7.5 ms and 50 ms connection
   intervals. Each case runs in a child process whose radio is configured with
   `bleradio.configure(fast=False, phy=..., data_length=...)`, and is printed beside
   the theoretical figure for the same parameters (`bleradio.air.airtime.max_throughput_bps`)
   and the published application limits (about 800 kbit/s on 1M, 1.4 Mbit/s on 2M, DLE).
   Goal: within +-10 % of theory.
2. Real time: N raw-Bumble devices in one process on one air-time medium, paired into N/2
   links at 50 ms, each peripheral notifying 20 bytes once a second. The medium runs each
   busy connection event on a timer; its lateness (start time minus the event's anchor)
   says whether the process keeps up. A count keeps real time when the 99th percentile of
   lateness stays under 5 ms (a tenth of the interval) and the process uses under one core.
   The largest such count of those tried is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time

# ---------------------------------------------------------------------------- throughput

CASES = [
    (phy, dle, interval)
    for phy in ("1M", "2M")
    for dle in (True, False)
    for interval in (7.5, 50.0)
]
PUBLISHED = {"1M": 800_000, "2M": 1_400_000}  # application throughput with DLE, bits/s
L2CAP_MTU = 2048
L2CAP_MPS = 247


def _packed_bps(pdus: list[int], payload: int, interval_us: int, phy: int) -> float:
    """Application bits/s when LL PDUs of sizes ``pdus`` (repeating, ``payload`` bytes of
    application data per repetition) fill every connection event greedily, as the model
    does: exchanges (PDU, T_IFS, empty reply, T_IFS) while the next one fits."""
    from bleradio.air.airtime import T_IFS_US, exchange_time_us

    budget = interval_us - T_IFS_US
    cycles = 2000
    sent = used = events = 0
    i = 0
    total = len(pdus) * cycles
    while i < total:
        need = exchange_time_us(pdus[i % len(pdus)], 0, phy)
        if used and used + need > budget:
            events += 1
            used = 0
            continue
        used += need
        i += 1
        sent += 1
    events += 1 if used else 0
    return payload * cycles * 8 / (events * interval_us / 1e6)


def _fragments(size: int, octets: int) -> list[int]:
    return [min(octets, size - i) for i in range(0, size, octets)]


def theory_bps(kind: str, phy: str, dle: bool, interval_ms: float) -> float:
    """The model's arithmetic for the same parameters (no radio, no host)."""
    from bleradio.air.airtime import PHY_1M, PHY_2M, max_throughput_bps

    octets = 251 if dle else 27
    code = PHY_2M if phy == "2M" else PHY_1M
    interval_us = int(interval_ms * 1000)
    if kind == "notify":
        return max_throughput_bps(interval_us, octets, code, att_mtu=247 if dle else 23)
    # L2CAP: an SDU plus its 2-byte length cut into K-frames of MPS, each with a 4-byte
    # header, each cut into LL PDUs
    sdu = L2CAP_MTU + 2
    pdus = [
        size
        for k in range(0, sdu, L2CAP_MPS)
        for size in _fragments(min(L2CAP_MPS, sdu - k) + 4, octets)
    ]
    return _packed_bps(pdus, L2CAP_MTU, interval_us, code)


def _child_throughput(kind: str, phy: str, dle: bool, interval_ms: float, seconds: float) -> None:
    """In a child process: one central and one peripheral through `bluetooth`."""
    import bleradio

    bleradio.configure(fast=False, phy=phy, data_length=251 if dle else 27, seed=1)
    import bluetooth

    _IRQ_CENTRAL_CONNECT = 1
    _IRQ_PERIPHERAL_CONNECT = 7
    _IRQ_GATTC_NOTIFY = 18
    _IRQ_MTU_EXCHANGED = 21
    _IRQ_L2CAP_ACCEPT = 22
    _IRQ_L2CAP_CONNECT = 23
    _IRQ_L2CAP_RECV = 25
    _IRQ_L2CAP_SEND_READY = 26

    service = bluetooth.UUID("a5a5a5a5-ffff-9999-1111-5a5a5a5a5a5a")
    char = (bluetooth.UUID("a5a5a5a5-ffff-9999-2222-5a5a5a5a5a5a"), bluetooth.FLAG_NOTIFY)
    psm = 0x0080
    state: dict[str, object] = {"bytes": 0}
    events: dict[int, threading.Event] = {
        e: threading.Event()
        for e in (_IRQ_CENTRAL_CONNECT, _IRQ_PERIPHERAL_CONNECT, _IRQ_MTU_EXCHANGED)
    }
    l2cap_ready = threading.Event()
    send_ready = threading.Event()
    received = [0]
    lock = threading.Lock()
    buf = bytearray(L2CAP_MTU)

    peripheral = bluetooth.new_radio("peripheral")
    central = bluetooth.new_radio("central")

    def p_irq(event: int, data: tuple) -> object:
        if event == _IRQ_CENTRAL_CONNECT:
            state["p_conn"] = data[0]
            events[event].set()
        elif event == _IRQ_L2CAP_ACCEPT:
            return 0
        elif event == _IRQ_L2CAP_CONNECT:
            state["p_cid"] = data[1]
            l2cap_ready.set()
        elif event == _IRQ_L2CAP_SEND_READY:
            send_ready.set()
        return None

    def c_irq(event: int, data: tuple) -> None:
        if event == _IRQ_PERIPHERAL_CONNECT:
            state["c_conn"] = data[0]
            events[event].set()
        elif event == _IRQ_MTU_EXCHANGED:
            events[event].set()
        elif event == _IRQ_GATTC_NOTIFY:
            with lock:
                received[0] += len(data[2])
        elif event == _IRQ_L2CAP_CONNECT:
            l2cap_ready.set()
        elif event == _IRQ_L2CAP_RECV:
            conn, cid = data[0], data[1]
            while True:
                n = central.l2cap_recvinto(conn, cid, buf)
                if not n:
                    break
                with lock:
                    received[0] += n

    peripheral.irq(p_irq)
    central.irq(c_irq)
    for ble in (peripheral, central):
        ble.active(True)
        ble.config(mtu=247 if dle else 23)
    ((handle,),) = peripheral.gatts_register_services([(service, (char,))])
    if kind == "l2cap":
        peripheral.l2cap_listen(psm, L2CAP_MTU)
    peripheral.gap_advertise(20_000, b"\x02\x01\x06")
    addr_type, addr = peripheral.config("mac")
    interval_us = int(interval_ms * 1000)
    central.gap_connect(addr_type, addr, 2000, interval_us, interval_us)
    for e in (_IRQ_CENTRAL_CONNECT, _IRQ_PERIPHERAL_CONNECT):
        if not events[e].wait(10):
            raise SystemExit("no connection")
    c_conn, p_conn = state["c_conn"], state["p_conn"]
    if dle:
        central.gattc_exchange_mtu(c_conn)
        events[_IRQ_MTU_EXCHANGED].wait(5)
    time.sleep(0.3)

    stop = threading.Event()

    if kind == "notify":
        payload = bytes((247 if dle else 23) - 3)

        def send() -> None:
            while not stop.is_set():
                peripheral.gatts_notify(p_conn, handle, payload)

    else:
        l2cap_ready.clear()
        central.l2cap_connect(c_conn, psm, L2CAP_MTU)
        if not l2cap_ready.wait(5):
            raise SystemExit("no L2CAP channel")
        time.sleep(0.2)
        sdu = bytes(L2CAP_MTU)
        cid = state["p_cid"]

        def send() -> None:
            while not stop.is_set():
                send_ready.clear()
                if not peripheral.l2cap_send(p_conn, cid, sdu):
                    send_ready.wait(0.5)  # stalled: wait for the peer's credits

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    time.sleep(1.0)  # fill the pipe
    with lock:
        start_bytes = received[0]
    start = time.monotonic()
    time.sleep(seconds)
    with lock:
        got = received[0] - start_bytes
    elapsed = time.monotonic() - start
    stop.set()
    print(json.dumps({"bps": got * 8 / elapsed}))
    sys.stdout.flush()
    os._exit(0)


# ------------------------------------------------------------- raw Bumble, virtual time


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    """When nothing is ready, time jumps to the next timer (as tests/radio/vtime.py)."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0

    def time(self) -> float:
        return self._now

    def _run_once(self) -> None:  # type: ignore[override]
        if not self._ready and self._scheduled:  # type: ignore[attr-defined]
            when = self._scheduled[0]._when  # type: ignore[attr-defined]
            self._now = max(self._now, when)
        super()._run_once()  # type: ignore[misc]


async def _raw_l2cap(phy: str, dle: bool, interval_ms: float, seconds: float) -> float:
    """L2CAP CoC between two raw Bumble devices on the air-time medium, with a credit
    window large enough that only the radio limits it (MTU 2048, MPS 247)."""
    from bumble import hci
    from bumble.device import ConnectionParametersPreferences, Device
    from bumble.host import Host
    from bumble.l2cap import LeCreditBasedChannelSpec

    from bleradio import Medium
    from bleradio.controller import VirtualController
    from bleradio.transport.hci import VirtualTransport

    medium = Medium(fast=False, seed=5, phy=phy, data_length=251 if dle else 27)

    async def device(label: str) -> Device:
        transport = VirtualTransport(VirtualController(medium, label=label))
        dev = Device(name=label, host=Host(transport.source, transport.sink))
        await dev.power_on()
        return dev

    server, client = await device("server"), await device("client")
    spec = LeCreditBasedChannelSpec(psm=0x80, mtu=L2CAP_MTU, mps=L2CAP_MPS, max_credits=2000)
    received = [0]
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_channel(channel) -> None:  # type: ignore[no-untyped-def]
        channel.sink = lambda sdu: received.__setitem__(0, received[0] + len(sdu))
        accepted.set_result(channel)

    client.create_l2cap_server(spec, on_channel)
    await server.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    prefs = ConnectionParametersPreferences(
        connection_interval_min=interval_ms, connection_interval_max=interval_ms
    )
    await client.connect(
        server.random_address,
        timeout=5,
        connection_parameters_preferences={hci.HCI_LE_1M_PHY: prefs},
    )
    await asyncio.sleep(0.5)
    peer_connection = next(iter(server.connections.values()))
    channel = await peer_connection.create_l2cap_channel(spec)
    await accepted
    sdu = bytes(L2CAP_MTU)

    async def pump() -> None:
        while True:
            channel.write(sdu)
            await channel.drain()

    task = asyncio.create_task(pump())
    await asyncio.sleep(1.0)
    start_bytes, start = received[0], asyncio.get_running_loop().time()
    await asyncio.sleep(seconds)
    task.cancel()
    return (received[0] - start_bytes) * 8 / (asyncio.get_running_loop().time() - start)


def raw_l2cap_bps(phy: str, dle: bool, interval_ms: float, seconds: float) -> float:
    loop = _VirtualTimeLoop()
    try:
        return loop.run_until_complete(_raw_l2cap(phy, dle, interval_ms, seconds))
    finally:
        loop.close()


def run_throughput(seconds: float) -> None:
    print(
        "Throughput on the air-time virtual radio (one run each): notify and l2cap through "
        "`bluetooth` (its L2CAP receive window is 4 KB: credits go back as the program "
        "reads), l2cap-raw through raw Bumble with a 2,000-credit window, on virtual time"
    )
    header = (
        f"{'kind':<10}{'PHY':<5}{'DLE':<5}{'interval':>9}{'measured':>13}{'theory':>13}"
        f"{'ratio':>8}{'published':>12}"
    )
    print(header)
    for phy, dle, interval in CASES:
        measured = raw_l2cap_bps(phy, dle, interval, seconds)
        theory = theory_bps("l2cap", phy, dle, interval)
        published = f"{PUBLISHED[phy] / 1000:,.0f} kbit/s" if dle else "-"
        print(
            f"{'l2cap-raw':<10}{phy:<5}{'on' if dle else 'off':<5}{interval:>7g} ms"
            f"{measured / 1000:>9,.0f} kb/s{theory / 1000:>9,.0f} kb/s"
            f"{measured / theory:>8.2f}{published:>13}",
            flush=True,
        )
    for kind in ("notify", "l2cap"):
        for phy, dle, interval in CASES:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", kind, phy, str(int(dle)), str(interval)]
                + ["--seconds", str(seconds)],
                capture_output=True,
                text=True,
                timeout=120,
                env={k: v for k, v in os.environ.items() if not k.startswith("AIOBLE_")},
            )
            try:
                measured = json.loads(proc.stdout.strip().splitlines()[-1])["bps"]
            except (IndexError, ValueError, KeyError):
                print(f"{kind} {phy} {dle} {interval}: failed\n{proc.stdout}{proc.stderr}")
                continue
            theory = theory_bps(kind, phy, dle, interval)
            published = f"{PUBLISHED[phy] / 1000:,.0f} kbit/s" if dle else "-"
            print(
                f"{kind:<10}{phy:<5}{'on' if dle else 'off':<5}{interval:>7g} ms"
                f"{measured / 1000:>9,.0f} kb/s{theory / 1000:>9,.0f} kb/s"
                f"{measured / theory:>8.2f}{published:>13}",
                flush=True,
            )


# ------------------------------------------------------------------------------ real time


async def _real_time(devices: int, seconds: float) -> dict[str, float]:
    from bumble import hci
    from bumble.device import ConnectionParametersPreferences, Device
    from bumble.gatt import Characteristic, Service
    from bumble.host import Host

    from bleradio import Medium
    from bleradio.air.air_medium import AirMedium
    from bleradio.controller import VirtualController
    from bleradio.transport.hci import VirtualTransport

    logging.getLogger("bumble").setLevel(logging.ERROR)  # notifications nobody subscribed to
    lateness: list[float] = []
    original = AirMedium._event

    def timed(self: AirMedium, link, n, used=0.0, *resumed):  # type: ignore[no-untyped-def]
        if not used and link.state is not None:
            lateness.append(self.loop.time() - (link.state.anchor + n * link.state.interval))
        original(self, link, n, used, *resumed)

    AirMedium._event = timed  # type: ignore[method-assign]
    try:
        medium = Medium(fast=False, seed=3)
        prefs = ConnectionParametersPreferences(
            connection_interval_min=50, connection_interval_max=50, supervision_timeout=2000
        )

        async def device(label: str) -> Device:
            transport = VirtualTransport(VirtualController(medium, label=label))
            dev = Device(name=label, host=Host(transport.source, transport.sink))
            await dev.power_on()
            return dev

        async def pair(i: int):  # type: ignore[no-untyped-def]
            central, peripheral = await device(f"c{i}"), await device(f"p{i}")
            characteristic = Characteristic(
                "2A6E", Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"\0" * 20
            )
            peripheral.add_service(Service("181A", [characteristic]))
            accepted = asyncio.get_running_loop().create_future()
            peripheral.once("connection", accepted.set_result)
            await peripheral.start_advertising(
                advertising_interval_min=20, advertising_interval_max=20
            )
            await central.connect(
                peripheral.random_address,
                timeout=10,
                connection_parameters_preferences={hci.HCI_LE_1M_PHY: prefs},
            )
            return peripheral, characteristic, await accepted

        links = []
        for start in range(0, devices // 2, 20):  # connect twenty links at a time
            links += await asyncio.gather(
                *(pair(i) for i in range(start, min(devices // 2, start + 20)))
            )

        async def notify(peripheral, characteristic, connection) -> None:  # type: ignore[no-untyped-def]
            await asyncio.sleep(medium.random.uniform(0, 1))
            while True:
                await peripheral.notify_subscriber(
                    connection, characteristic, bytes(20), force=True
                )
                await asyncio.sleep(1.0)

        tasks = [asyncio.create_task(notify(*link)) for link in links]
        await asyncio.sleep(1.5)
        lateness.clear()
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        for task in tasks:
            task.cancel()
        late = sorted(lateness)
        return {
            "events": len(late) / wall,
            "p50_ms": statistics.median(late) * 1000 if late else 0.0,
            "p99_ms": late[int(len(late) * 0.99) - 1] * 1000 if late else 0.0,
            "cpu": cpu / wall,
        }
    finally:
        AirMedium._event = original  # type: ignore[method-assign]


def run_real_time(counts: list[int], seconds: float) -> None:
    print()
    print(
        "Real time: N raw-Bumble devices in one process (N/2 links at 50 ms), "
        "a 20-byte notification per second each"
    )
    print(f"{'devices':>8}{'busy events/s':>15}{'lateness p50':>14}{'p99':>10}{'CPU':>8}  keeps up")
    best = 0
    for n in counts:
        proc = subprocess.run(
            [sys.executable, __file__, "--child-real-time", str(n), "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        try:
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            print(f"{n:>8}  failed\n{proc.stderr[-2000:]}")
            break
        ok = r["p99_ms"] < 5.0 and r["cpu"] < 1.0
        best = n if ok else best
        print(
            f"{n:>8}{r['events']:>15,.0f}{r['p50_ms']:>11.2f} ms{r['p99_ms']:>7.2f} ms"
            f"{r['cpu']:>7.0%}  {'yes' if ok else 'no'}",
            flush=True,
        )
        if not ok:
            break
    print(f"keeps real time with up to {best} connected devices (of those tried)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--devices", default="100,200,400,800,1200")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-real-time", action="store_true")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--child-real-time", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, phy, dle, interval = args.child
        _child_throughput(kind, phy, dle == "1", float(interval), args.seconds)
        return
    if args.child_real_time:
        result = asyncio.run(_real_time(args.child_real_time, args.seconds))
        print(json.dumps(result))
        return
    if not args.skip_throughput:
        run_throughput(args.seconds)
    if not args.skip_real_time:
        run_real_time([int(n) for n in args.devices.split(",")], args.seconds)


if __name__ == "__main__":
    main()
