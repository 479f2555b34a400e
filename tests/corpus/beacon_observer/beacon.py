# Non-connectable beacon: a sequence number and a temperature in the
# manufacturer specific data, refreshed every 200 ms.

import bluetooth
import struct
import time
from micropython import const

_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_NAME = const(0x09)
_ADV_TYPE_MANUFACTURER = const(0xFF)

_COMPANY_ID = const(0xFFFF)  # "not assigned", for testing
_ADV_INTERVAL_US = const(100_000)

ble = bluetooth.BLE()
ble.active(True)

name = "bcn"
seq = 0
temp = 21.5

while True:
    mfr = struct.pack("<HBh", _COMPANY_ID, seq, int(temp * 100))
    adv = bytearray()
    adv += struct.pack("BBB", 2, _ADV_TYPE_FLAGS, 0x06)
    adv += struct.pack("BB", len(name) + 1, _ADV_TYPE_NAME) + name
    adv += struct.pack("BB", len(mfr) + 1, _ADV_TYPE_MANUFACTURER) + mfr
    ble.gap_advertise(_ADV_INTERVAL_US, adv_data=adv, connectable=False)
    seq = (seq + 1) % 256
    temp += 0.25
    time.sleep_ms(200)
