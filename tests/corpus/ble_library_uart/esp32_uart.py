# ESP32 BLE UART with kocoafab's ble_library (pip/mip: ble_library.py next to this file)
import bluetooth
import time
from ble_library import BLESimplePeripheral

ble = bluetooth.BLE()
p = BLESimplePeripheral(ble, "kocoa")


def on_rx(data):
    print("Received:", data)


p.on_write(on_rx)

count = 0
while True:
    if p.is_connected():
        msg = "count=%d" % count
        p.send(msg)
        print("Sent:", msg)
        count += 1
    time.sleep_ms(300)
