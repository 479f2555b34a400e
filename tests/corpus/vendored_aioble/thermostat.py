# Room thermostat: the room temperature (read/notify) and a setpoint the
# phone can change (read/write). aioble installed with `mip install aioble`.

import asyncio
import struct

import aioble
import bluetooth

print("aioble:", aioble.__file__)

_SERVICE_UUID = bluetooth.UUID("6a4e3300-667b-11e3-949a-0800200c9a66")
_ROOM_UUID = bluetooth.UUID("6a4e3301-667b-11e3-949a-0800200c9a66")
_SETPOINT_UUID = bluetooth.UUID("6a4e3302-667b-11e3-949a-0800200c9a66")

service = aioble.Service(_SERVICE_UUID)
room = aioble.Characteristic(service, _ROOM_UUID, read=True, notify=True)
setpoint = aioble.Characteristic(
    service, _SETPOINT_UUID, read=True, write=True, initial=struct.pack("<h", 2000)
)
aioble.register_services(service)


async def heat(connection):
    temp = 1850
    while connection.is_connected():
        target = struct.unpack("<h", setpoint.read())[0]
        if temp < target:
            temp += 25
        data = struct.pack("<h", temp)
        room.write(data)
        room.notify(connection, data)
        await asyncio.sleep_ms(200)


async def setpoints():
    while True:
        await setpoint.written()
        print("new setpoint", struct.unpack("<h", setpoint.read())[0] / 100)


async def main():
    asyncio.create_task(setpoints())
    while True:
        connection = await aioble.advertise(
            250_000, name="thermo", services=[_SERVICE_UUID]
        )
        print("connected", connection.device)
        heater = asyncio.create_task(heat(connection))
        await connection.disconnected(timeout_ms=None)
        await heater
        print("disconnected")


asyncio.run(main())
