# Pairs with the door lock once, then comes back later: the bond is reused
# (ble_secrets.json, aioble.security's default file).

import asyncio
import aioble
import aioble.security
import bluetooth

_LOCK_UUID = bluetooth.UUID("7d1c0001-5b3a-4c9e-9f2e-1a2b3c4d5e6f")
_STATE_UUID = bluetooth.UUID("7d1c0002-5b3a-4c9e-9f2e-1a2b3c4d5e6f")


async def find_lock():
    async with aioble.scan(5000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == "mpy-lock":
                return result.device
    return None


async def visit(device, n):
    async with await device.connect(timeout_ms=5000) as connection:
        await connection.pair(bond=True)
        print("visit", n, "encrypted", connection.encrypted, "bonded", connection.bonded)
        service = await connection.service(_LOCK_UUID)
        state = await service.characteristic(_STATE_UUID)
        print("visit", n, "state", (await state.read()).decode())


async def main():
    aioble.security.load_secrets()
    device = await find_lock()
    if device is None:
        print("lock not found")
        return
    await visit(device, 1)
    await asyncio.sleep_ms(500)
    await visit(device, 2)


asyncio.run(main())
