# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test calling BLE methods from inside the IRQ handler. The central drives a whole session
# from its handler, each step started by the event that ends the previous one: discover
# services, characteristics and descriptors, read, subscribe, write, exchange the MTU and
# disconnect. The peripheral answers a write from its handler with gatts_write(...,
# send_update=True), and reads the value back there.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_SERVICE_RESULT = const(9)
_IRQ_GATTC_SERVICE_DONE = const(10)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_MTU_EXCHANGED = const(21)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CCCD_UUID = bluetooth.UUID(0x2902)
SERVICE = (
    SERVICE_UUID,
    ((CHAR_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_NOTIFY),),
)

waiting_events = {}
state = {}


def peripheral_irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
        waiting_events[event] = True
    elif event == _IRQ_GATTS_WRITE:
        conn_handle, attr_handle = data
        value = ble.gatts_read(attr_handle)
        print("_IRQ_GATTS_WRITE", value)
        # Answer from here: the new value goes to the subscribed client.
        ble.gatts_write(attr_handle, b"echo " + value, True)
        print("gatts_read", ble.gatts_read(attr_handle))
    elif event == _IRQ_MTU_EXCHANGED:
        print("_IRQ_MTU_EXCHANGED", data[-1])


def central_irq(event, data):
    if event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        state["conn"] = conn_handle = data[0]
        print("gattc_discover_services")
        ble.gattc_discover_services(conn_handle)
    elif event == _IRQ_GATTC_SERVICE_RESULT:
        conn_handle, start_handle, end_handle, uuid = data
        print("_IRQ_GATTC_SERVICE_RESULT", uuid)
        if uuid == SERVICE_UUID:
            state["service"] = (start_handle, end_handle)
    elif event == _IRQ_GATTC_SERVICE_DONE:
        print("_IRQ_GATTC_SERVICE_DONE", data[-1])
        start_handle, end_handle = state["service"]
        print("gattc_discover_characteristics")
        ble.gattc_discover_characteristics(data[0], start_handle, end_handle)
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        print("_IRQ_GATTC_CHARACTERISTIC_RESULT", uuid)
        state["char"] = (value_handle, end_handle)
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
        value_handle, end_handle = state["char"]
        print("gattc_discover_descriptors")
        ble.gattc_discover_descriptors(data[0], value_handle, end_handle)
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        conn_handle, dsc_handle, uuid = data
        print("_IRQ_GATTC_DESCRIPTOR_RESULT", uuid)
        if uuid == CCCD_UUID:
            state["cccd"] = dsc_handle
    elif event == _IRQ_GATTC_DESCRIPTOR_DONE:
        print("_IRQ_GATTC_DESCRIPTOR_DONE", data[-1])
        print("gattc_read")
        ble.gattc_read(data[0], state["char"][0])
    elif event == _IRQ_GATTC_READ_RESULT:
        print("_IRQ_GATTC_READ_RESULT", bytes(data[-1]))
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])
        print("gattc_write cccd")
        ble.gattc_write(data[0], state["cccd"], b"\x01\x00", 1)
    elif event == _IRQ_GATTC_WRITE_DONE:
        conn_handle, value_handle, status = data
        if value_handle == state["cccd"]:
            print("_IRQ_GATTC_WRITE_DONE cccd", status)
            print("gattc_write value")
            ble.gattc_write(conn_handle, state["char"][0], "central", 1)
        else:
            print("_IRQ_GATTC_WRITE_DONE value", status)
    elif event == _IRQ_GATTC_NOTIFY:
        print("_IRQ_GATTC_NOTIFY", bytes(data[-1]))
        print("gattc_exchange_mtu")
        ble.gattc_exchange_mtu(data[0])
    elif event == _IRQ_MTU_EXCHANGED:
        print("_IRQ_MTU_EXCHANGED", data[-1])
        print("gap_disconnect:", ble.gap_disconnect(data[0]))
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
        waiting_events[event] = True


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
    ble.irq(peripheral_irq)
    ble.config(mtu=100)
    ((char_handle,),) = ble.gatts_register_services((SERVICE,))
    ble.gatts_write(char_handle, "periph")
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 2 * TIMEOUT_MS)
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    ble.irq(central_irq)
    ble.config(mtu=64)
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, 2 * TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
