# A board program for the interoperability tests: an aioble central that finds a peripheral
# by its advertised name, reads one characteristic and prints it.
#
#   aioble-python reader.py NAME SERVICE_UUID CHARACTERISTIC_UUID
#
# It prints "found NAME", "connected", then "read <hex>"; it exits 1 if the name is not heard
# within 10 s.
import asyncio
import binascii
import sys

import aioble
import bluetooth

name = sys.argv[1]
service_uuid = bluetooth.UUID(int(sys.argv[2], 16))
characteristic_uuid = bluetooth.UUID(int(sys.argv[3], 16))


async def main():
    device = None
    async with aioble.scan(10_000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if result.name() == name:
                device = result.device
                break
    if device is None:
        print("not found", name)
        sys.exit(1)
    print("found", name)
    connection = await device.connect(timeout_ms=10_000)
    async with connection:
        print("connected")
        service = await connection.service(service_uuid, timeout_ms=10_000)
        characteristic = await service.characteristic(characteristic_uuid, timeout_ms=10_000)
        value = await characteristic.read(timeout_ms=10_000)
        print("read", binascii.hexlify(value).decode())


try:
    asyncio.run(main())
finally:
    aioble.stop()
