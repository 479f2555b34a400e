# Reads the soil sensor a few times, then blinks its LED once.

import asyncio
import struct

import aioble
import bluetooth

SERVICE_UUID = bluetooth.UUID('4fafc201-1fb5-459e-8fcc-c5c9c331914b')
READING_UUID = bluetooth.UUID('beb5483e-36e1-4688-b7f5-ea07361b26a8')
LED_UUID = bluetooth.UUID('beb5483e-36e1-4688-b7f5-ea07361b26a9')


async def main():
    device = None
    async with aioble.scan(10000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == 'ESP32-Soil':
                device = result.device
                break
    if device is None:
        print('sensor not found')
        return

    connection = await device.connect()
    async with connection:
        service = await connection.service(SERVICE_UUID)
        reading = await service.characteristic(READING_UUID)
        led = await service.characteristic(LED_UUID)
        await reading.subscribe(notify=True)
        for _ in range(3):
            raw, mv = struct.unpack('<HH', await reading.notified())
            print('moisture raw', raw, 'mV', mv)
        await led.write(b'on', response=True)
        await asyncio.sleep_ms(300)
        await led.write(b'off', response=True)
        print('LED blinked')


asyncio.run(main())
