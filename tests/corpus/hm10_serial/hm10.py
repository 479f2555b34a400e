# An "HM-10" style BLE serial bridge, as the cheap modules and the phone apps for
# them expect: service 0xFFE0, one characteristic 0xFFE1 (write without
# response from the phone, notify back). Answers "AT" with "OK".

import bluetooth
import time
from ble_advertising import advertising_payload
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_NOTIFY = const(0x0010)

_HM10_UUID = bluetooth.UUID(0xFFE0)
_HM10_CHAR = (bluetooth.UUID(0xFFE1), _FLAG_READ | _FLAG_WRITE_NO_RESPONSE | _FLAG_NOTIFY)
_HM10_SERVICE = (_HM10_UUID, (_HM10_CHAR,))

ble = bluetooth.BLE()
ble.active(True)
((char,),) = ble.gatts_register_services((_HM10_SERVICE,))
payload = advertising_payload(name="HMSoft", services=[_HM10_UUID])
pending = []


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("connected")
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("disconnected")
        ble.gap_advertise(100_000, payload)
    elif event == _IRQ_GATTS_WRITE:
        conn_handle, value_handle = data
        pending.append((conn_handle, ble.gatts_read(value_handle)))


ble.irq(irq)
ble.gap_advertise(100_000, payload)

while True:
    while pending:
        conn_handle, line = pending.pop(0)
        print("rx", line)
        ble.gatts_notify(conn_handle, char, b"OK" if line == b"AT" else b"ERR")
    time.sleep_ms(20)
