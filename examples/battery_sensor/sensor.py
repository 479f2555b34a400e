# A battery-powered sensor (the camera manual's §14.8.4 pattern): wake, advertise until
# the collector connects, push one reading, disconnect, aioble.stop(), sleep with the
# radio off; READINGS times.
import asyncio
import struct

import aioble
import bluetooth

import config

ENV_SENSE = bluetooth.UUID(0x181A)  # Environmental Sensing
TEMPERATURE = bluetooth.UUID(0x2A6E)
REQUEST = bluetooth.UUID("6e400002-b5a3-f393-e0a9-e50e24dcca9e")  # "send me the reading"

service = aioble.Service(ENV_SENSE)
temperature = aioble.Characteristic(service, TEMPERATURE, read=True, notify=True)
request = aioble.Characteristic(service, REQUEST, write=True)
aioble.register_services(service)


async def push(reading):
    connection = await aioble.advertise(
        config.ADV_INTERVAL_MS * 1000,
        name="battery-sensor",
        services=[ENV_SENSE],
        timeout_ms=config.ADV_TIMEOUT_MS,
    )
    async with connection:
        # the collector subscribed, then asked: push the value and hang up
        await request.written(timeout_ms=5000)
        temperature.notify(connection, struct.pack("<h", reading))
        await connection.disconnect()


async def main():
    for n in range(config.READINGS):
        reading = 2150 + n  # hundredths of a degree
        try:
            await push(reading)
            print("pushed", reading / 100)
        except (asyncio.TimeoutError, aioble.DeviceDisconnectedError) as error:
            print("no collector this time:", repr(error))
        aioble.stop()  # radio off
        await asyncio.sleep_ms(config.PERIOD_MS)


asyncio.run(main())
