# A collector that survives its sensor walking out of range: it reads every half second,
# and when the link is lost (aioble.DeviceDisconnectedError, "the most common exception by
# far") it scans and connects again. It stops after READINGS_AFTER_RETURN readings on a
# reconnected link.
import asyncio
import struct

import aioble
import bluetooth

ENV_SENSE = bluetooth.UUID(0x181A)
TEMPERATURE = bluetooth.UUID(0x2A6E)
READINGS_AFTER_RETURN = 3


async def find_sensor():
    async with aioble.scan(0, interval_us=30_000, window_us=30_000) as scanner:
        async for result in scanner:
            if ENV_SENSE in result.services():
                return result.device


async def read_until_lost(device, wanted):
    connection = await device.connect(timeout_ms=5000)
    async with connection:
        characteristic = await (await connection.service(ENV_SENSE)).characteristic(TEMPERATURE)
        got = 0
        while wanted is None or got < wanted:
            # no deadline of its own: it waits as long as the link lives
            value = await characteristic.read(timeout_ms=None)
            print("reading", struct.unpack("<h", value)[0] / 100)
            got += 1
            await asyncio.sleep_ms(500)


async def main():
    links = 0
    while True:
        device = await find_sensor()
        links += 1
        print("connecting, link", links)
        try:
            await read_until_lost(device, READINGS_AFTER_RETURN if links > 1 else None)
            print("done")
            return
        except aioble.DeviceDisconnectedError:
            print("lost the sensor; looking for it again")
        except asyncio.TimeoutError:
            print("could not connect; looking for it again")


asyncio.run(main())
