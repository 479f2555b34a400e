# The seed's central (§14.8.3) with one change: its scan listens all the time (a 30 ms
# window every 30 ms) instead of aioble's default 11.25 ms every 1.28 s, so on a radio
# with air time it hears the 250 ms peripheral within its 5 s scan every time.
import asyncio

import aioble
import bluetooth

SERVICE_UUID = bluetooth.UUID(0x181A)
TEMP_UUID = bluetooth.UUID(0x2A6E)


async def main():
    device = None
    async with aioble.scan(
        duration_ms=5000, interval_us=30000, window_us=30000, active=True
    ) as scanner:
        async for result in scanner:
            if SERVICE_UUID in result.services():
                device = result.device
                break
    if device is None:
        print("no sensor found")
        return

    async with await device.connect() as conn:
        service = await conn.service(SERVICE_UUID)
        char = await service.characteristic(TEMP_UUID)
        print(await char.read())


asyncio.run(main())
