# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test the ATT MTU and its effect on payload sizes. Three connections: without an exchange
# (MTU 23), with the central starting the exchange, and with the peripheral starting it. Each
# side's config(mtu=...) is its preferred MTU and the exchange settles on the smaller;
# both sides get _IRQ_MTU_EXCHANGED. Client writes (modes 0 and 1) are cut to MTU - 3,
# notifications and indications to MTU - 3, a read returns at most MTU - 1 bytes.

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
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CHAR = (
    CHAR_UUID,
    bluetooth.FLAG_READ
    | bluetooth.FLAG_WRITE
    | bluetooth.FLAG_WRITE_NO_RESPONSE
    | bluetooth.FLAG_NOTIFY
    | bluetooth.FLAG_INDICATE,
)
SERVICE = (SERVICE_UUID, (CHAR,))

PAYLOAD = bytes(i & 0xFF for i in range(300))
PERIPHERAL_MTU = 160
CENTRAL_MTUS = (100, 100, 200)  # per connection
EXCHANGE = (None, "central", "peripheral")  # who starts the exchange, per connection

waiting_events = {}
writes = []


def check(data):
    # The length, and whether it is the start of the payload.
    data = bytes(data)
    return len(data), data == PAYLOAD[: len(data)]


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        value = ble.gatts_read(data[-1])
        print("_IRQ_GATTS_WRITE", *check(value))
        writes.append(value)
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] == CHAR_UUID:
            waiting_events[event] = data[2]
        return
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_READ_RESULT:
        print("_IRQ_GATTC_READ_RESULT", *check(data[-1]))
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])
    elif event == _IRQ_GATTC_WRITE_DONE:
        print("_IRQ_GATTC_WRITE_DONE", data[-1])
    elif event == _IRQ_GATTC_NOTIFY:
        print("_IRQ_GATTC_NOTIFY", *check(data[-1]))
    elif event == _IRQ_GATTC_INDICATE:
        print("_IRQ_GATTC_INDICATE", *check(data[-1]))
    elif event == _IRQ_GATTS_INDICATE_DONE:
        print("_IRQ_GATTS_INDICATE_DONE", data[-1])
    elif event == _IRQ_MTU_EXCHANGED:
        print("_IRQ_MTU_EXCHANGED", data[-1])

    if event not in waiting_events:
        waiting_events[event] = None


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


def wait_for_writes(count, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if len(writes) >= count:
            return
        machine.idle()
    raise ValueError("Timeout waiting for writes")


# Acting in peripheral role.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ble.config(mtu=PERIPHERAL_MTU)
    ((char_handle,),) = ble.gatts_register_services((SERVICE,))
    # Room for any write: the value's buffer must not be what cuts it.
    ble.gatts_set_buffer(char_handle, 512)
    multitest.next()
    try:
        for i, exchange in enumerate(EXCHANGE):
            writes.clear()
            multitest.wait(f"connection {i}")
            print("gap_advertise")
            ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
            conn_handle = wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
            if exchange == "peripheral":
                print("gattc_exchange_mtu")
                ble.gattc_exchange_mtu(conn_handle)
            if exchange:
                wait_for_event(_IRQ_MTU_EXCHANGED, TIMEOUT_MS)

            # The central writes twice (with and without response).
            wait_for_writes(2, TIMEOUT_MS)

            print("gatts_notify")
            ble.gatts_write(char_handle, PAYLOAD)
            ble.gatts_notify(conn_handle, char_handle)
            print("gatts_indicate")
            ble.gatts_indicate(conn_handle, char_handle, PAYLOAD)
            wait_for_event(_IRQ_GATTS_INDICATE_DONE, TIMEOUT_MS)

            wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        value_handle = None
        for i, exchange in enumerate(EXCHANGE):
            mtu = CENTRAL_MTUS[i]
            ble.config(mtu=mtu)
            print("gap_connect, mtu", ble.config("mtu"))
            # The peripheral starts advertising on this message; gap_connect scans until
            # it sees it.
            multitest.broadcast(f"connection {i}")
            ble.gap_connect(*BDADDR)
            conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)

            if value_handle is None:
                ble.gattc_discover_characteristics(conn_handle, 1, 65535)
                wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
                value_handle = waiting_events.pop(_IRQ_GATTC_CHARACTERISTIC_RESULT)

            if exchange == "central":
                print("gattc_exchange_mtu")
                ble.gattc_exchange_mtu(conn_handle)
            if exchange:
                wait_for_event(_IRQ_MTU_EXCHANGED, TIMEOUT_MS)

            print("gattc_write", len(PAYLOAD), "bytes, with response")
            ble.gattc_write(conn_handle, value_handle, PAYLOAD, 1)
            wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)
            print("gattc_write", len(PAYLOAD), "bytes, without response")
            ble.gattc_write(conn_handle, value_handle, PAYLOAD, 0)

            wait_for_event(_IRQ_GATTC_NOTIFY, TIMEOUT_MS)
            wait_for_event(_IRQ_GATTC_INDICATE, TIMEOUT_MS)

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
