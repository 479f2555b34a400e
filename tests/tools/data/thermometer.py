# A board program for the tools' tests: an Environmental Sensing service whose temperature
# (21.50 C, sint16 hundredths) has a user description, advertised with manufacturer data.
import asyncio
import struct

import aioble
import bluetooth

SERVICE_UUID = bluetooth.UUID(0x181A)
TEMP_UUID = bluetooth.UUID(0x2A6E)
DESCRIPTION_UUID = bluetooth.UUID(0x2901)

service = aioble.Service(SERVICE_UUID)
temp = aioble.Characteristic(service, TEMP_UUID, read=True, notify=True)
description = aioble.Descriptor(temp, DESCRIPTION_UUID, read=True)
aioble.register_services(service)
temp.write(struct.pack("<h", 2150))
description.write(b"outdoor")


async def main():
    print("advertising")
    while True:
        conn = await aioble.advertise(
            100_000,
            name="tools-thermo",
            services=[SERVICE_UUID],
            manufacturer=(0xFFFF, b"\x01\x02"),
        )
        await conn.disconnected(timeout_ms=None)


asyncio.run(main())
