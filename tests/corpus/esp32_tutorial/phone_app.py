# What the phone app does: connect to "ESP32BLE", ask for the LED state.
import asyncio
import aioble
import bluetooth

NUS = bluetooth.UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")
RX = bluetooth.UUID("6E400002-B5A3-F393-E0A9-E50E24DCCA9E")
TX = bluetooth.UUID("6E400003-B5A3-F393-E0A9-E50E24DCCA9E")


async def main():
    device = None
    async with aioble.scan(5000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == "ESP32BLE":
                device = result.device
                break
    if device is None:
        print("ESP32BLE not found")
        return
    async with await device.connect() as connection:
        uart = await connection.service(NUS)
        rx = await uart.characteristic(RX)
        tx = await uart.characteristic(TX)
        await tx.subscribe(notify=True)
        await rx.write("read_LED", response=True)
        print("LED state:", (await tx.notified(timeout_ms=5000)).decode().strip())


asyncio.run(main())
