# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test the GAP device name: config(gap_name=...) set before and after registering services
# (str or bytes), read back with config("gap_name"), and read by a client from the GAP
# service's Device Name characteristic (0x2A00), found by a discovery filtered by UUID.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)

GAP_DEVICE_NAME_UUID = bluetooth.UUID(0x2A00)

waiting_events = {}


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        print("_IRQ_GATTC_CHARACTERISTIC_RESULT", uuid, properties)
        waiting_events[event] = value_handle
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
        waiting_events[event] = data[-1]
    elif event == _IRQ_GATTC_READ_RESULT:
        print("_IRQ_GATTC_READ_RESULT", bytes(data[-1]))
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])
        waiting_events[event] = data[-1]


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

    # Set and get the name before registering services.
    ble.config(gap_name="GAP_NAME")
    print(ble.config("gap_name"))
    ble.gatts_register_services([])
    print(ble.config("gap_name"))
    multitest.next()
    try:
        for iteration in range(2):
            # A new name for each connection (str, then bytes).
            name = "GAP_NAME" + str(iteration)
            ble.config(gap_name=name if iteration == 0 else name.encode())
            print(ble.config("gap_name"))
            multitest.wait(f"connection {iteration}")
            ble.gap_advertise(20_000, b"\x02\x01\x06")
            wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
            if iteration == 1:
                # Change the name while connected: the next read sees it (a single ATT read:
                # MTU 23 carries 22 bytes of it).
                multitest.wait("read 1")
                ble.config(gap_name="renamed while connected")
                multitest.broadcast("renamed")
            wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        value_handle = None
        for iteration in range(2):
            print("gap_connect")
            # The peripheral starts advertising on this message; gap_connect scans until
            # it sees it.
            multitest.broadcast(f"connection {iteration}")
            ble.gap_connect(*BDADDR)
            conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)

            if iteration == 0:
                # Discover the name's characteristic on the first connection only: its handle
                # does not change.
                print("gattc_discover_characteristics")
                ble.gattc_discover_characteristics(conn_handle, 1, 65535, GAP_DEVICE_NAME_UUID)
                wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
                value_handle = waiting_events.pop(_IRQ_GATTC_CHARACTERISTIC_RESULT)

            print("gattc_read")
            ble.gattc_read(conn_handle, value_handle)
            wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)

            if iteration == 1:
                multitest.broadcast("read 1")
                multitest.wait("renamed")
                print("gattc_read")
                ble.gattc_read(conn_handle, value_handle)
                wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)

            print("gap_disconnect")
            ble.gap_disconnect(conn_handle)
            wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
