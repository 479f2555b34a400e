# Passive observer: picks the beacon's manufacturer data out of the
# advertisements it hears and prints each new sequence number.

import bluetooth
import micropython
import struct
import time

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)

_ADV_TYPE_MANUFACTURER = const(0xFF)
_COMPANY_ID = const(0xFFFF)

_WANTED = const(5)

readings = []
scan_done = False
last_seq = -1


def find_manufacturer(adv):
    i = 0
    while i + 1 < len(adv):
        if adv[i + 1] == _ADV_TYPE_MANUFACTURER:
            return adv[i + 2 : i + adv[i] + 1]
        i += 1 + adv[i]
    return None


def on_advert(args):
    global last_seq
    adv_type, rssi, mfr = args
    company, seq, centi = struct.unpack("<HBh", mfr)
    if company != _COMPANY_ID or seq == last_seq:
        return
    last_seq = seq
    readings.append(seq)
    print("beacon seq", seq, "temp", centi / 100, "adv_type", adv_type)


def bt_irq(event, data):
    global scan_done
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        mfr = find_manufacturer(adv_data)
        if mfr is not None and len(mfr) == 5:
            # copy out of the IRQ's buffer, handle it outside the IRQ
            micropython.schedule(on_advert, (adv_type, rssi, bytes(mfr)))
    elif event == _IRQ_SCAN_DONE:
        scan_done = True


ble = bluetooth.BLE()
ble.active(True)
ble.irq(bt_irq)
ble.gap_scan(20000, 30000, 30000)

start = time.ticks_ms()
while not scan_done and len(readings) < _WANTED:
    time.sleep_ms(50)
ble.gap_scan(None)

print("heard", len(readings), "readings in", time.ticks_diff(time.ticks_ms(), start) // 1000, "s")
