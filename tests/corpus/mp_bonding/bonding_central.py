# Pairs with ble_bonding_peripheral.py (which uses a resolvable private
# address), reads its encrypted temperature, goes away, and comes back to it
# through the bond.

import asyncio
import struct

import aioble
import aioble.security
import bluetooth

_ENV_SENSE_UUID = bluetooth.UUID(0x181A)
_TEMP_UUID = bluetooth.UUID(0x2A6E)


async def find_sensor():
    async with aioble.scan(5000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == "mpy-temp" and _ENV_SENSE_UUID in result.services():
                return result.device
    return None


async def visit(n):
    device = await find_sensor()
    if device is None:
        print("visit", n, "sensor not found")
        return
    async with await device.connect(timeout_ms=5000) as connection:
        await connection.pair(bond=True, le_secure=True)
        print("visit", n, "encrypted", connection.encrypted, "bonded", connection.bonded)
        service = await connection.service(_ENV_SENSE_UUID)
        temp = await service.characteristic(_TEMP_UUID)
        value = struct.unpack("<h", await temp.read())[0] / 100
        print("visit", n, "temperature", value)


async def main():
    aioble.security.load_secrets("central_secrets.json")
    await visit(1)
    await asyncio.sleep_ms(500)
    await visit(2)


asyncio.run(main())
