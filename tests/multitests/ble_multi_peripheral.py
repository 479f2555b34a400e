# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test one peripheral with two centrals connected at once: it advertises again after the
# first connection; only the first central subscribes, so gatts_write(..., send_update=True)
# reaches it alone, while gatts_notify goes to the connection it names, subscribed or not;
# each central's write arrives on the peripheral.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000
QUIET_MS = 300  # how long a central listens to check that nothing else arrives

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
SERVICE = (
    SERVICE_UUID,
    ((CHAR_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_NOTIFY),),
)

counts = {}  # event -> how many arrived
last = {}  # event -> its last data
conns = []  # on the peripheral: connection handles, in connection order


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        conns.append(data[0])
        print("_IRQ_CENTRAL_CONNECT", len(conns))
        if len(conns) == 1:
            # Advertising stopped with the connection: start it again, from the handler,
            # for the second central.
            print("gap_advertise")
            ble.gap_advertise(20_000)
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        conn_handle, attr_handle = data
        print("_IRQ_GATTS_WRITE from central", conns.index(conn_handle) + 1)
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] != CHAR_UUID:
            return
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_WRITE_DONE:
        print("_IRQ_GATTC_WRITE_DONE", data[-1])
    elif event == _IRQ_GATTC_NOTIFY:
        print("_IRQ_GATTC_NOTIFY", bytes(data[-1]))
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
    ((char_handle,),) = ble.gatts_register_services((SERVICE,))
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, 3 * TIMEOUT_MS, 2)
        wait_for_event(_IRQ_GATTS_WRITE, TIMEOUT_MS, 2)

        multitest.wait("ready")
        print("gatts_write send_update")
        ble.gatts_write(char_handle, "update", True)
        print("gatts_notify central 2")
        ble.gatts_notify(conns[1], char_handle, "to central 2")
        print("gatts_notify central 1")
        ble.gatts_notify(conns[0], char_handle, "to central 1")
        multitest.broadcast("sent")

        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 2 * TIMEOUT_MS, 2)
    finally:
        ble.active(0)


def connect_and_write():
    print("gap_connect")
    ble.gap_connect(*BDADDR)
    conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, 2 * TIMEOUT_MS)[0]
    ble.gattc_discover_characteristics(conn_handle, 1, 65535)
    wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
    value_handle = last[_IRQ_GATTC_CHARACTERISTIC_RESULT][2]
    print("gattc_write")
    ble.gattc_write(conn_handle, value_handle, "hello", 1)
    wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)
    return conn_handle, value_handle


def listen_and_disconnect(conn_handle, notifications):
    multitest.wait("sent")
    wait_for_event(_IRQ_GATTC_NOTIFY, TIMEOUT_MS, notifications)
    time.sleep_ms(QUIET_MS)
    print("gap_disconnect")
    ble.gap_disconnect(conn_handle)
    wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)


# Acting in central role: subscribes.
def instance1():
    try:
        conn_handle, value_handle = connect_and_write()
        # The CCCD follows the value.
        print("gattc_write cccd")
        ble.gattc_write(conn_handle, value_handle + 1, b"\x01\x00", 1)
        wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)
        multitest.next()
        listen_and_disconnect(conn_handle, 2)
    finally:
        ble.active(0)


# Acting in central role: does not subscribe.
def instance2():
    multitest.next()
    try:
        conn_handle, value_handle = connect_and_write()
        multitest.broadcast("ready")
        listen_and_disconnect(conn_handle, 1)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
