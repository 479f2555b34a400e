# N peripheral/central pairs in one process on the air-time radio, all connected (50 ms
# interval), each peripheral notifying once a second; prints the simulated seconds per wall
# second of the connected phase. Run with AIOBLE_VIRTUAL_TIME=1 (or not, for real time).
import asyncio
import struct
import sys
import time

import aioble
import bluetooth
import vclock

PAIRS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 60
SVC = bluetooth.UUID(0x181A)
CHR = bluetooth.UUID(0x2A6E)


async def peripheral(n, ready):
    service = aioble.Service(SVC)
    characteristic = aioble.Characteristic(service, CHR, read=True, notify=True)
    aioble.register_services(service)
    conn = await aioble.advertise(20_000, name=f"p{n}", services=[SVC])
    await ready.wait()
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        characteristic.notify(conn, struct.pack("<h", n))
        await asyncio.sleep(1)


async def central(n, connected):
    async with aioble.scan(0, interval_us=30000, window_us=30000) as scanner:
        async for result in scanner:
            if result.name() == f"p{n}":
                device = result.device
                break
    conn = await device.connect(min_conn_interval_us=50000, max_conn_interval_us=50000)
    service = await conn.service(SVC)
    characteristic = await service.characteristic(CHR)
    await characteristic.subscribe(notify=True)
    connected.append(conn)
    got = 0
    try:
        while True:
            await characteristic.notified(timeout_ms=5000)
            got += 1
    except asyncio.TimeoutError:
        return got


async def main():
    ready = asyncio.Event()
    connected = []
    tasks = []
    for n in range(PAIRS):
        with bluetooth.use(bluetooth.new_radio(label=f"p{n}")):
            tasks.append(asyncio.create_task(peripheral(n, ready)))
        with bluetooth.use(bluetooth.new_radio(label=f"c{n}")):
            tasks.append(asyncio.create_task(central(n, connected)))
    while len(connected) < PAIRS:
        await asyncio.sleep(0.1)
    wall, simulated = vclock.real_monotonic(), time.monotonic()
    ready.set()
    got = await asyncio.gather(*tasks[1::2])
    wall, simulated = vclock.real_monotonic() - wall, time.monotonic() - simulated
    print(
        f"devices={2 * PAIRS} notifications={sum(got)} simulated_s={simulated:.1f} wall_s={wall:.2f}"
    )


asyncio.run(main())
