# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test address modes: with config(addr_mode=1) a device uses a random static address, which
# config("mac") reports with addr_type 1 (two top bits set). A scanner sees the advertiser
# at exactly that address; a central connects to it; each side's connect event carries the
# other's address and type. Also active() as a query.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

waiting_events = {}
found = []


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        conn_handle, addr_type, addr = data
        # The central uses a random static address too.
        print("_IRQ_CENTRAL_CONNECT", addr_type, bytes(addr)[0] & 0xC0 == 0xC0)
        waiting_events[event] = conn_handle
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        if bytes(adv_data) == b"\x02\x01\x06\x05\xffaddr":
            found.append((addr_type, bytes(addr)))
    elif event == _IRQ_SCAN_DONE:
        print("_IRQ_SCAN_DONE")
        waiting_events[event] = True
    elif event == _IRQ_PERIPHERAL_CONNECT:
        conn_handle, addr_type, addr = data
        print("_IRQ_PERIPHERAL_CONNECT", (addr_type, bytes(addr)) == BDADDR)
        waiting_events[event] = conn_handle
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
        waiting_events[event] = data[0]


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


def use_random_static_address():
    ble.config(addr_mode=1)
    addr_type, addr = ble.config("mac")
    print("addr_mode", ble.config("addr_mode"), "addr_type", addr_type)
    print("random static:", len(addr) == 6 and addr[0] & 0xC0 == 0xC0)
    return addr_type, addr


# Acting in peripheral role.
def instance0():
    print("active:", ble.active())
    multitest.globals(BDADDR=use_random_static_address())
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x05\xffaddr")
    multitest.next()
    try:
        multitest.wait("scanned")
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)
        print("active:", ble.active())


# Acting in central role.
def instance1():
    multitest.next()
    try:
        addr = use_random_static_address()
        print("gap_scan")
        ble.gap_scan(300, 30_000, 30_000)
        wait_for_event(_IRQ_SCAN_DONE, TIMEOUT_MS)
        print("advertiser seen at BDADDR:", set(found) == {BDADDR})

        multitest.broadcast("scanned")
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("own address unchanged:", ble.config("mac") == addr)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
