# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Two instances on one radio: instance1 connects to instance0 and disconnects, in the style
# of MicroPython's tests/multi_bluetooth (SET of the address, NEXT, a BROADCAST, machine.idle).
import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

waiting_events = {}


NAMES = {
    _IRQ_CENTRAL_CONNECT: "_IRQ_CENTRAL_CONNECT",
    _IRQ_CENTRAL_DISCONNECT: "_IRQ_CENTRAL_DISCONNECT",
    _IRQ_PERIPHERAL_CONNECT: "_IRQ_PERIPHERAL_CONNECT",
    _IRQ_PERIPHERAL_DISCONNECT: "_IRQ_PERIPHERAL_DISCONNECT",
}


def irq(event, data):
    # Events are printed by the main thread as it waits for them, so the output's order does
    # not depend on how fast the radio is.
    if event in NAMES:
        waiting_events[event] = data[0]


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            print(NAMES[event])
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        multitest.wait("connected")
        print("got broadcast")
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


def instance1():
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        multitest.broadcast("connected")
        time.sleep_ms(200)
        print("gap_disconnect:", ble.gap_disconnect(conn_handle))
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("gap_disconnect again:", ble.gap_disconnect(conn_handle))
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
