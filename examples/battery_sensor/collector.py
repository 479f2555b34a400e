# The collector (a gateway): scans for the sensor, connects at the interval it prefers,
# subscribes, asks for the reading, prints it, and waits for the sensor to hang up.
import asyncio
import struct

import aioble
import bluetooth

import config

ENV_SENSE = bluetooth.UUID(0x181A)
TEMPERATURE = bluetooth.UUID(0x2A6E)
REQUEST = bluetooth.UUID("6e400002-b5a3-f393-e0a9-e50e24dcca9e")


async def find_sensor():
    async with aioble.scan(
        0,
        interval_us=config.SCAN_INTERVAL_MS * 1000,
        window_us=config.SCAN_WINDOW_MS * 1000,
    ) as scanner:
        async for result in scanner:
            if ENV_SENSE in result.services():
                return result.device


async def collect(device):
    interval_us = int(config.CONN_INTERVAL_MS * 1000)
    connection = await device.connect(
        min_conn_interval_us=interval_us, max_conn_interval_us=interval_us
    )
    async with connection:
        service = await connection.service(ENV_SENSE)
        temperature = await service.characteristic(TEMPERATURE)
        request = await service.characteristic(REQUEST)
        await temperature.subscribe(notify=True)
        await request.write(b"\x01", response=True)
        value = await temperature.notified(timeout_ms=5000)
        print("reading", struct.unpack("<h", value)[0] / 100)
        await connection.disconnected(timeout_ms=5000)


async def main():
    while True:
        device = await find_sensor()
        try:
            await collect(device)
        except (asyncio.TimeoutError, aioble.DeviceDisconnectedError) as error:
            print("lost the sensor:", repr(error))


asyncio.run(main())
