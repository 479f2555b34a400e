# Finds the ESP32 by name, listens to its UART notifications and answers.
import asyncio
import aioble
import bluetooth

UART_UUID = bluetooth.UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")
UART_TX = bluetooth.UUID("6E400003-B5A3-F393-E0A9-E50E24DCCA9E")
UART_RX = bluetooth.UUID("6E400002-B5A3-F393-E0A9-E50E24DCCA9E")


async def main():
    device = None
    async with aioble.scan(10000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == "kocoa":
                print("found", result.name(), "services", list(result.services()))
                device = result.device
                break
    if device is None:
        print("ESP32 not found")
        return

    async with await device.connect() as connection:
        uart = await connection.service(UART_UUID)
        tx = await uart.characteristic(UART_TX)
        rx = await uart.characteristic(UART_RX)
        await tx.subscribe(notify=True)
        for _ in range(3):
            data = await tx.notified()
            print("notified", data.decode())
        await rx.write("hello esp32", response=True)
        await rx.write(b"LED ON", response=True)
        print("sent 2 lines")


asyncio.run(main())
