# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test descriptors: discovery, reads (with the server's READ_REQUEST), writes with response
# (mode 1) and without (mode 0) landing in the descriptor's value (GATTS_WRITE with the
# descriptor's handle), and a write to a read-only descriptor refused with ATT error 0x03
# (Write Not Permitted).

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_DESC_READ = const(0x0001)
_FLAG_DESC_WRITE = const(0x0002)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
DSC_RW_UUID = bluetooth.UUID("00000000-1111-2222-3333-555555555555")
DSC_RO_UUID = bluetooth.UUID(0x2901)
SERVICE = (
    SERVICE_UUID,
    (
        (
            CHAR_UUID,
            _FLAG_READ | _FLAG_WRITE | _FLAG_NOTIFY,
            ((DSC_RW_UUID, _FLAG_DESC_READ | _FLAG_DESC_WRITE), (DSC_RO_UUID, _FLAG_DESC_READ)),
        ),
    ),
)

waiting_events = {}
names = {}  # handle -> name, on each side


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        conn_handle, attr_handle = data
        print("_IRQ_GATTS_WRITE", names[attr_handle], ble.gatts_read(attr_handle))
    elif event == _IRQ_GATTS_READ_REQUEST:
        print("_IRQ_GATTS_READ_REQUEST", names[data[1]])
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        if uuid == CHAR_UUID:
            print("_IRQ_GATTC_CHARACTERISTIC_RESULT", uuid)
            waiting_events[event] = (value_handle, end_handle)
        return
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        conn_handle, dsc_handle, uuid = data
        print("_IRQ_GATTC_DESCRIPTOR_RESULT", uuid)
        names[uuid] = dsc_handle
        return
    elif event == _IRQ_GATTC_DESCRIPTOR_DONE:
        print("_IRQ_GATTC_DESCRIPTOR_DONE", data[-1])
    elif event == _IRQ_GATTC_READ_RESULT:
        print("_IRQ_GATTC_READ_RESULT", bytes(data[-1]))
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])
    elif event == _IRQ_GATTC_WRITE_DONE:
        print("_IRQ_GATTC_WRITE_DONE", data[-1])

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
    ((char_handle, dsc_rw_handle, dsc_ro_handle),) = ble.gatts_register_services((SERVICE,))
    names.update({char_handle: "char", dsc_rw_handle: "dsc_rw", dsc_ro_handle: "dsc_ro"})
    ble.gatts_write(char_handle, "char0")
    ble.gatts_write(dsc_rw_handle, "dsc_rw0")
    ble.gatts_write(dsc_ro_handle, b"read-only")
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 2 * TIMEOUT_MS)
        print("gatts_read", ble.gatts_read(dsc_rw_handle), ble.gatts_read(dsc_ro_handle))
    finally:
        ble.active(0)


def read(conn_handle, handle):
    print("gattc_read")
    ble.gattc_read(conn_handle, handle)
    wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)

        print("gattc_discover_characteristics")
        ble.gattc_discover_characteristics(conn_handle, 1, 65535)
        wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
        value_handle, end_handle = waiting_events.pop(_IRQ_GATTC_CHARACTERISTIC_RESULT)

        print("gattc_discover_descriptors")
        ble.gattc_discover_descriptors(conn_handle, value_handle, end_handle)
        wait_for_event(_IRQ_GATTC_DESCRIPTOR_DONE, TIMEOUT_MS)
        dsc_rw = names[DSC_RW_UUID]
        dsc_ro = names[DSC_RO_UUID]

        # Read both descriptors and the characteristic.
        read(conn_handle, dsc_rw)
        read(conn_handle, dsc_ro)
        read(conn_handle, value_handle)

        # Write the writable descriptor with response, then without, reading it back.
        print("gattc_write")
        ble.gattc_write(conn_handle, dsc_rw, "dsc_rw1", 1)
        wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)
        read(conn_handle, dsc_rw)
        print("gattc_write")
        ble.gattc_write(conn_handle, dsc_rw, b"dsc_rw2", 0)
        read(conn_handle, dsc_rw)

        # The read-only descriptor refuses a write.
        print("gattc_write")
        ble.gattc_write(conn_handle, dsc_ro, b"nope", 1)
        wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)
        read(conn_handle, dsc_ro)

        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
