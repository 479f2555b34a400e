# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test _IRQ_GATTS_READ_REQUEST: the handler's return value allows the read (0 or None) or
# denies it with an ATT error code, which the client sees as the status of
# _IRQ_GATTC_READ_DONE (with no _IRQ_GATTC_READ_RESULT); a handler may also update the value
# with gatts_write before allowing the read. For characteristics and descriptors.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)

_GATTS_NO_ERROR = const(0x00)
_GATTS_ERROR_READ_NOT_PERMITTED = const(0x02)
_GATTS_ERROR_INSUFFICIENT_AUTHORIZATION = const(0x08)
_GATTS_ERROR_APPLICATION = const(0x80)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
DSC_UUID = bluetooth.UUID("00000000-1111-2222-3333-555555555555")
SERVICE = (
    SERVICE_UUID,
    ((CHAR_UUID, bluetooth.FLAG_READ, ((DSC_UUID, 0x01),)),),
)

# What the peripheral's handler does for each read, in order: (answer, value to write first).
ANSWERS = [
    (_GATTS_NO_ERROR, None),
    (None, None),
    (_GATTS_NO_ERROR, "updated by the handler"),
    (_GATTS_ERROR_READ_NOT_PERMITTED, None),
    (_GATTS_ERROR_INSUFFICIENT_AUTHORIZATION, None),
    (_GATTS_ERROR_APPLICATION, None),
    (_GATTS_NO_ERROR, None),  # reads the value as the handler left it
    (_GATTS_ERROR_READ_NOT_PERMITTED, None),  # the descriptor, denied
    (_GATTS_NO_ERROR, "descriptor updated"),  # the descriptor, updated and allowed
]

waiting_events = {}
names = {}
read_count = 0


def irq(event, data):
    global read_count
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_READ_REQUEST:
        conn_handle, attr_handle = data
        answer, value = ANSWERS[read_count]
        read_count += 1
        if value is not None:
            ble.gatts_write(attr_handle, value)
        print("_IRQ_GATTS_READ_REQUEST", names[attr_handle], "->", answer)
        return answer
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        if uuid == CHAR_UUID:
            waiting_events[event] = (value_handle, end_handle)
        return
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        conn_handle, dsc_handle, uuid = data
        if uuid == DSC_UUID:
            waiting_events[event] = dsc_handle
        return
    elif event == _IRQ_GATTC_DESCRIPTOR_DONE:
        print("_IRQ_GATTC_DESCRIPTOR_DONE", data[-1])
    elif event == _IRQ_GATTC_READ_RESULT:
        print("_IRQ_GATTC_READ_RESULT", bytes(data[-1]))
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])

    if event not in waiting_events:
        waiting_events[event] = None


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
    ((char_handle, dsc_handle),) = ble.gatts_register_services((SERVICE,))
    names.update({char_handle: "char", dsc_handle: "dsc"})
    ble.gatts_write(char_handle, "initial")
    ble.gatts_write(dsc_handle, "descriptor")
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 2 * TIMEOUT_MS)
        print("reads:", read_count)
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)

        ble.gattc_discover_characteristics(conn_handle, 1, 65535)
        wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
        value_handle, end_handle = waiting_events.pop(_IRQ_GATTC_CHARACTERISTIC_RESULT)
        ble.gattc_discover_descriptors(conn_handle, value_handle, end_handle)
        wait_for_event(_IRQ_GATTC_DESCRIPTOR_DONE, TIMEOUT_MS)
        dsc_handle = waiting_events.pop(_IRQ_GATTC_DESCRIPTOR_RESULT)

        for handle in [value_handle] * 7 + [dsc_handle] * 2:
            print("gattc_read", "char" if handle == value_handle else "dsc")
            ble.gattc_read(conn_handle, handle)
            wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)

        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
