# Phone side of the thermostat: reads the setpoint, raises it and watches
# the room warm up.

import asyncio
import struct

import aioble
import bluetooth

print("aioble:", aioble.__file__)

_SERVICE_UUID = bluetooth.UUID("6a4e3300-667b-11e3-949a-0800200c9a66")
_ROOM_UUID = bluetooth.UUID("6a4e3301-667b-11e3-949a-0800200c9a66")
_SETPOINT_UUID = bluetooth.UUID("6a4e3302-667b-11e3-949a-0800200c9a66")


async def find_thermostat():
    async with aioble.scan(5000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == "thermo" and _SERVICE_UUID in result.services():
                return result.device
    return None


async def main():
    device = await find_thermostat()
    if not device:
        print("thermostat not found")
        return
    print("found", device)

    async with await device.connect() as connection:
        service = await connection.service(_SERVICE_UUID)
        room = await service.characteristic(_ROOM_UUID)
        setpoint = await service.characteristic(_SETPOINT_UUID)

        print("setpoint", struct.unpack("<h", await setpoint.read())[0] / 100)
        await setpoint.write(struct.pack("<h", 2150), response=True)
        print("setpoint now", struct.unpack("<h", await setpoint.read())[0] / 100)

        await room.subscribe(notify=True)
        for _ in range(4):
            print("room", struct.unpack("<h", await room.notified())[0] / 100)


asyncio.run(main())
