# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test BLE GAP connections: connect, then disconnect from the central and from the
# peripheral side; gap_disconnect of a gone connection; a connect attempt to a device that
# does not advertise (times out), a connect attempt cancelled with gap_connect(None), and a
# second gap_connect while one is pending. A failed or cancelled attempt ends with
# _IRQ_PERIPHERAL_DISCONNECT with conn_handle 65535.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

ABSENT_ADDR = (0, b"\x00\x11\x22\x33\x44\x55")

waiting_events = {}


def addr_name(addr):
    if addr == ABSENT_ADDR:
        return "ABSENT_ADDR"
    if addr == BDADDR:
        return "BDADDR"
    return "another address"


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        conn_handle, addr_type, addr = data
        print("_IRQ_CENTRAL_CONNECT", addr_type in (0, 1), len(addr))
        waiting_events[event] = conn_handle
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_CONNECT:
        conn_handle, addr_type, addr = data
        print("_IRQ_PERIPHERAL_CONNECT", (addr_type, bytes(addr)) == BDADDR)
        waiting_events[event] = conn_handle
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        conn_handle, addr_type, addr = data
        if conn_handle == 65535:
            # A failed attempt: the handle says so, the address is the one asked for.
            print("_IRQ_PERIPHERAL_DISCONNECT", conn_handle, addr_name((addr_type, bytes(addr))))
        else:
            print("_IRQ_PERIPHERAL_DISCONNECT", (addr_type, bytes(addr)) == BDADDR)
        waiting_events[event] = conn_handle


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


# Acting in peripheral role.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        # The central connects and disconnects.
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)

        # Advertising stopped when the central connected: start it again. The central
        # connects, and this time the peripheral disconnects.
        print("gap_advertise")
        ble.gap_advertise(20_000)
        multitest.broadcast("advertising")
        conn_handle = wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        multitest.wait("connected")
        print("gap_disconnect")
        result = ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
        print("gap_disconnect returned", result)
        print("gap_disconnect again:", ble.gap_disconnect(conn_handle))

        # Not advertising any more: the central's next attempts fail.
        multitest.broadcast("not advertising")
        multitest.wait("done")
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        print("gap_disconnect")
        result = ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("gap_disconnect returned", result)
        print("gap_disconnect again:", ble.gap_disconnect(conn_handle))

        # Connect again, with connection interval bounds; the peripheral disconnects.
        multitest.wait("advertising")
        print("gap_connect")
        ble.gap_connect(BDADDR[0], BDADDR[1], 2000, 20_000, 40_000)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        multitest.broadcast("connected")
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("gap_disconnect:", ble.gap_disconnect(conn_handle))

        # The peripheral no longer advertises: the attempt gives up after its scan duration.
        multitest.wait("not advertising")
        print("gap_connect, 500 ms")
        ble.gap_connect(*BDADDR, 500)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)

        # An attempt to an absent device, cancelled with gap_connect(None); a second
        # gap_connect while one is pending fails.
        print("gap_connect absent")
        ble.gap_connect(*ABSENT_ADDR, 5000)
        try:
            ble.gap_connect(*ABSENT_ADDR)
        except OSError:
            print("gap_connect while pending: OSError")
        time.sleep_ms(200)
        print("gap_connect(None)")
        ble.gap_connect(None)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        multitest.broadcast("done")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
