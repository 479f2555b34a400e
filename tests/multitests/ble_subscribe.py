# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test subscriptions: the client writes the stack-made CCCDs (0x0001 notify, 0x0002
# indicate, 0x0000 unsubscribe) and the server's gatts_write(..., send_update=True) then
# notifies or indicates the new value, only while the client is subscribed. A gatts_write
# without send_update sends nothing. CCCD writes raise no _IRQ_GATTS_WRITE on the server.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000
QUIET_MS = 300  # how long the client listens to check that nothing arrives

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)
_IRQ_GATTS_INDICATE_DONE = const(20)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_N_UUID = bluetooth.UUID("00000000-1111-2222-3333-44444444444E")
CHAR_I_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444449")
CCCD_UUID = bluetooth.UUID(0x2902)
SERVICE = (
    SERVICE_UUID,
    (
        (CHAR_N_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_NOTIFY),
        (CHAR_I_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_INDICATE),
    ),
)

waiting_events = {}
chars = {}  # uuid -> (value handle, end handle), on the client
cccds = []  # CCCD handles found by the last descriptor discovery


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        print("_IRQ_GATTS_WRITE (unexpected)")
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        chars[uuid] = (value_handle, end_handle)
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        conn_handle, dsc_handle, uuid = data
        if uuid == CCCD_UUID:
            cccds.append(dsc_handle)
    elif event == _IRQ_GATTC_DESCRIPTOR_DONE:
        print("_IRQ_GATTC_DESCRIPTOR_DONE", data[-1])
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
    ((char_n, char_i),) = ble.gatts_register_services((SERVICE,))
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)

        for step in ("not subscribed", "subscribed", "unsubscribed"):
            multitest.wait(step)
            print("gatts_write send_update,", step)
            ble.gatts_write(char_n, "n " + step, True)
            ble.gatts_write(char_i, "i " + step, True)
            if step == "subscribed":
                wait_for_event(_IRQ_GATTS_INDICATE_DONE, TIMEOUT_MS)
                # A local write without send_update goes nowhere.
                ble.gatts_write(char_n, "n local only")
            multitest.broadcast("sent")

        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


def write_cccd(conn_handle, cccd, value):
    print("gattc_write cccd", value)
    ble.gattc_write(conn_handle, cccd, value, 1)
    wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)


def read(conn_handle, handle):
    ble.gattc_read(conn_handle, handle)
    wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)

        ble.gattc_discover_characteristics(conn_handle, 1, 65535)
        wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
        handles = {}
        for uuid in (CHAR_N_UUID, CHAR_I_UUID):
            value_handle, end_handle = chars[uuid]
            cccds.clear()
            ble.gattc_discover_descriptors(conn_handle, value_handle, end_handle)
            wait_for_event(_IRQ_GATTC_DESCRIPTOR_DONE, TIMEOUT_MS)
            handles[uuid] = (value_handle, cccds[0])
        n_value, n_cccd = handles[CHAR_N_UUID]
        i_value, i_cccd = handles[CHAR_I_UUID]

        # Not subscribed: nothing arrives.
        multitest.broadcast("not subscribed")
        multitest.wait("sent")
        time.sleep_ms(QUIET_MS)

        # Subscribe to notifications of N and indications of I.
        write_cccd(conn_handle, n_cccd, b"\x01\x00")
        write_cccd(conn_handle, i_cccd, b"\x02\x00")
        print("read cccds")
        read(conn_handle, n_cccd)
        read(conn_handle, i_cccd)
        multitest.broadcast("subscribed")
        wait_for_event(_IRQ_GATTC_NOTIFY, TIMEOUT_MS)
        wait_for_event(_IRQ_GATTC_INDICATE, TIMEOUT_MS)
        multitest.wait("sent")
        time.sleep_ms(QUIET_MS)
        print("gattc_read n")
        read(conn_handle, n_value)

        # Unsubscribe: nothing arrives any more.
        write_cccd(conn_handle, n_cccd, b"\x00\x00")
        write_cccd(conn_handle, i_cccd, b"\x00\x00")
        multitest.broadcast("unsubscribed")
        multitest.wait("sent")
        time.sleep_ms(QUIET_MS)
        print("gattc_read n, i")
        read(conn_handle, n_value)
        read(conn_handle, i_value)

        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
