# A sensor that a collector may walk away from: it advertises, serves a reading that
# changes every second, and advertises again whenever the link is lost (DeviceDisconnectedError
# is how aioble says so), as a board's firmware should.
import asyncio
import struct

import aioble
import bluetooth

ENV_SENSE = bluetooth.UUID(0x181A)  # Environmental Sensing
TEMPERATURE = bluetooth.UUID(0x2A6E)

service = aioble.Service(ENV_SENSE)
temperature = aioble.Characteristic(service, TEMPERATURE, read=True)
aioble.register_services(service)


async def measure():
    reading = 2150  # hundredths of a degree
    while True:
        temperature.write(struct.pack("<h", reading))
        reading += 1
        await asyncio.sleep_ms(1000)


async def serve():
    while True:
        connection = await aioble.advertise(100_000, name="walking-sensor", services=[ENV_SENSE])
        print("collector connected")
        await connection.disconnected(timeout_ms=None)
        print("collector gone")


async def main():
    asyncio.create_task(measure())
    await serve()


asyncio.run(main())
