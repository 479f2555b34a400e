# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test BLE GAP advertising and scanning: advertising types (ADV_IND for a connectable
# advertiser, ADV_SCAN_IND for connectable=False), scan responses (SCAN_RSP only for active
# scans), stopping advertising, reusing the previous payloads, a scan with a duration, a scan
# forever stopped with gap_scan(None), and str payloads.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000
SCAN_MS = 300

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)

ADV_DATA = b"\x02\x01\x06\x04\xffMPY"
RESP_DATA = b"\x05\xffRESP"
ADV_DATA2 = b"\x02\x01\x06\x05\xffMPY2"
RESP_DATA2 = "\x06\x09RESP2"  # a str is a buffer too

waiting_events = {}
seen = {}  # adv_type -> set of payloads, from the advertiser under test only
scan_done_count = 0


def irq(event, data):
    global scan_done_count
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        if (addr_type, bytes(addr)) == BDADDR:
            seen.setdefault(adv_type, set()).add(bytes(adv_data))
    elif event == _IRQ_SCAN_DONE:
        print("_IRQ_SCAN_DONE")
        scan_done_count += 1
        waiting_events[event] = True


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


def scan(active):
    seen.clear()
    print("gap_scan", "active" if active else "passive")
    # A window as long as the interval: the scanner listens all the time.
    ble.gap_scan(SCAN_MS, 30_000, 30_000, active)
    wait_for_event(_IRQ_SCAN_DONE, SCAN_MS + TIMEOUT_MS)
    for adv_type in sorted(seen):
        print("  adv_type", adv_type, sorted(seen[adv_type]))
    if not seen:
        print("  nothing")


# Acting as the advertiser.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    print("gap_advertise connectable")
    ble.gap_advertise(20_000, ADV_DATA, resp_data=RESP_DATA)
    multitest.next()
    try:
        multitest.wait("scanned connectable")
        print("gap_advertise non-connectable")
        ble.gap_advertise(20_000, ADV_DATA2, resp_data=RESP_DATA2, connectable=False)
        multitest.broadcast("non-connectable")

        multitest.wait("scanned non-connectable")
        print("gap_advertise stop")
        ble.gap_advertise(None)
        multitest.broadcast("stopped")

        multitest.wait("scanned stopped")
        print("gap_advertise again with the previous payloads")
        ble.gap_advertise(20_000)
        multitest.broadcast("resumed")

        multitest.wait("done")
        ble.gap_advertise(None)
    finally:
        ble.active(0)


# Acting as the scanner.
def instance1():
    global scan_done_count
    multitest.next()
    try:
        scan(False)
        scan(True)
        multitest.broadcast("scanned connectable")

        multitest.wait("non-connectable")
        scan(False)
        scan(True)
        multitest.broadcast("scanned non-connectable")

        multitest.wait("stopped")
        scan(False)
        multitest.broadcast("scanned stopped")

        multitest.wait("resumed")
        scan(True)

        # Scan forever (duration 0) until stopped with gap_scan(None).
        seen.clear()
        print("gap_scan forever")
        ble.gap_scan(0, 30_000, 30_000)
        time.sleep_ms(SCAN_MS)
        print("gap_scan(None)")
        ble.gap_scan(None)
        wait_for_event(_IRQ_SCAN_DONE, TIMEOUT_MS)
        print("  adv_types", sorted(seen))

        # Stopping when no scan runs does nothing (no SCAN_DONE).
        scan_done_count = 0
        ble.gap_scan(None)
        time.sleep_ms(200)
        print("scan done events:", scan_done_count)
        multitest.broadcast("done")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
