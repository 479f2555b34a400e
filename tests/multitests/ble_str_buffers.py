# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test that a str is accepted wherever a buffer is, as MicroPython programs pass "text":
# advertising and scan response payloads, the GAP name, gatts_write, gatts_notify,
# gatts_indicate and gattc_write (both modes). The peer receives the UTF-8 bytes.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)
_IRQ_GATTS_INDICATE_DONE = const(20)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
NAME_UUID = bluetooth.UUID(0x2A00)
CHAR = (
    CHAR_UUID,
    bluetooth.FLAG_READ
    | bluetooth.FLAG_WRITE
    | bluetooth.FLAG_WRITE_NO_RESPONSE
    | bluetooth.FLAG_NOTIFY
    | bluetooth.FLAG_INDICATE,
)
SERVICE = (SERVICE_UUID, (CHAR,))

ADV_DATA = "\x02\x01\x06\x05\x09MPYs"
RESP_DATA = "\x04\x08str"

counts = {}
last = {}
handles = {}  # uuid -> value handle, on the central
seen = {}  # adv_type -> payloads, on the central


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        print("_IRQ_GATTS_WRITE", ble.gatts_read(data[-1]))
    elif event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        if (addr_type, bytes(addr)) == BDADDR:
            seen.setdefault(adv_type, set()).add(bytes(adv_data))
    elif event == _IRQ_SCAN_DONE:
        print("_IRQ_SCAN_DONE")
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        handles[uuid] = value_handle
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_READ_RESULT:
        print("_IRQ_GATTC_READ_RESULT", bytes(data[-1]))
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])
    elif event == _IRQ_GATTC_WRITE_DONE:
        print("_IRQ_GATTC_WRITE_DONE", data[-1])
    elif event == _IRQ_GATTC_NOTIFY:
        print("_IRQ_GATTC_NOTIFY", bytes(data[-1]))
    elif event == _IRQ_GATTC_INDICATE:
        print("_IRQ_GATTC_INDICATE", bytes(data[-1]))
    elif event == _IRQ_GATTS_INDICATE_DONE:
        print("_IRQ_GATTS_INDICATE_DONE", data[-1])
    counts[event] = counts.get(event, 0) + 1
    last[event] = data


def wait_for_event(event, timeout_ms, count=1):
    # Waits until `count` such events arrived since the last wait for it; returns the last.
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if counts.get(event, 0) >= count:
            counts[event] -= count
            return last[event]
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


# Acting in peripheral role.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ble.config(gap_name="str name")
    ((char_handle,),) = ble.gatts_register_services((SERVICE,))
    ble.gatts_write(char_handle, "str value")
    print("gap_advertise")
    ble.gap_advertise(20_000, ADV_DATA, resp_data=RESP_DATA)
    multitest.next()
    try:
        conn_handle = wait_for_event(_IRQ_CENTRAL_CONNECT, 2 * TIMEOUT_MS)[0]
        wait_for_event(_IRQ_GATTS_WRITE, TIMEOUT_MS, 2)
        multitest.wait("written")
        print("gatts_notify")
        ble.gatts_notify(conn_handle, char_handle, "str notify")
        print("gatts_indicate")
        ble.gatts_indicate(conn_handle, char_handle, "str indicate")
        wait_for_event(_IRQ_GATTS_INDICATE_DONE, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        print("gap_scan")
        ble.gap_scan(300, 30_000, 30_000, True)
        wait_for_event(_IRQ_SCAN_DONE, TIMEOUT_MS)
        for adv_type in sorted(seen):
            print("  adv_type", adv_type, sorted(seen[adv_type]))

        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)[0]
        ble.gattc_discover_characteristics(conn_handle, 1, 65535)
        wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
        value_handle = handles[CHAR_UUID]

        print("gattc_read name, value")
        ble.gattc_read(conn_handle, handles[NAME_UUID])
        wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)
        ble.gattc_read(conn_handle, value_handle)
        wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)

        print("gattc_write")
        ble.gattc_write(conn_handle, value_handle, "str write 0", 0)
        ble.gattc_write(conn_handle, value_handle, "str write 1", 1)
        wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)
        multitest.broadcast("written")
        wait_for_event(_IRQ_GATTC_NOTIFY, TIMEOUT_MS)
        wait_for_event(_IRQ_GATTC_INDICATE, TIMEOUT_MS)

        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
