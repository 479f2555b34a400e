# Serial terminal for HM-10 modules: finds one by its 0xFFE0 service, sends AT
# and prints the answer.

import bluetooth
import time
from ble_advertising import decode_name, decode_services
from micropython import const

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_NOTIFY = const(18)

_HM10_UUID = bluetooth.UUID(0xFFE0)
_HM10_CHAR_UUID = bluetooth.UUID(0xFFE1)

found = None
conn = None
char = None
answer = None
done = False


def irq(event, data):
    global found, conn, char, answer, done
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        if found is None and _HM10_UUID in decode_services(adv_data):
            found = (addr_type, bytes(addr), decode_name(adv_data))
            ble.gap_scan(None)
    elif event == _IRQ_SCAN_DONE:
        done = True
    elif event == _IRQ_PERIPHERAL_CONNECT:
        conn, _, _ = data
        ble.gattc_discover_characteristics(conn, 1, 0xFFFF)
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        if uuid == _HM10_CHAR_UUID:
            char = value_handle
    elif event == _IRQ_GATTC_NOTIFY:
        conn_handle, value_handle, notify_data = data
        answer = bytes(notify_data)


ble = bluetooth.BLE()
ble.active(True)
ble.irq(irq)
ble.gap_scan(5000, 30000, 30000)
while not done:
    time.sleep_ms(50)
if found is None:
    print("no HM-10 found")
else:
    print("found", found[2])
    ble.gap_connect(found[0], found[1])
    while char is None:
        time.sleep_ms(50)
    ble.gattc_write(conn, char, "AT")
    while answer is None:
        time.sleep_ms(50)
    print("answer", answer)
    ble.gap_disconnect(conn)
