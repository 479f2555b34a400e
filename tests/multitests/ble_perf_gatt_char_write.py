# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Performance: characteristic writes, in the style of MicroPython's perf_gatt_char_write.py.
# The central writes with response N times, each after the previous one is acknowledged
# (round trips per second); then writes without response as fast as it can, closed by one
# write with response (writes per second, bytes per second). The peripheral checks it got
# every write. The figures are OUTPUT_METRIC lines (not compared).

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
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_MTU_EXCHANGED = const(21)

_NUM_WRITES = const(100)
_NUM_COMMANDS = const(500)
_MTU = const(256)
_WRITE_SIZE = const(200)
_CONN_INTERVAL_US = const(7500)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
SERVICE = (
    SERVICE_UUID,
    ((CHAR_UUID, bluetooth.FLAG_WRITE | bluetooth.FLAG_WRITE_NO_RESPONSE),),
)

waiting_events = {}
writes = []  # on the peripheral: (length, first byte) of each write
value_handle = None


def irq(event, data):
    global value_handle
    if event == _IRQ_GATTS_WRITE:
        value = ble.gatts_read(data[-1])
        writes.append((len(value), value[0]))
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] == CHAR_UUID:
            value_handle = data[2]
    elif event == _IRQ_GATTC_WRITE_DONE:
        waiting_events[event] = data[-1]
    elif event in (_IRQ_CENTRAL_CONNECT, _IRQ_PERIPHERAL_CONNECT):
        waiting_events[event] = data[0]
    else:
        waiting_events[event] = data


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
    ((char_handle,),) = ble.gatts_register_services((SERVICE,))
    ble.gatts_set_buffer(char_handle, _WRITE_SIZE)
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 8 * TIMEOUT_MS)
        expected = [(_WRITE_SIZE, i & 0xFF) for i in range(_NUM_WRITES)]
        expected += [(_WRITE_SIZE, i & 0xFF) for i in range(_NUM_COMMANDS)]
        expected.append((1, 0xFF))
        print("writes received:", len(writes))
        print("all in order:", writes == expected)
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        ble.gap_connect(BDADDR[0], BDADDR[1], 2000, _CONN_INTERVAL_US, _CONN_INTERVAL_US)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        ble.gattc_exchange_mtu(conn_handle)
        wait_for_event(_IRQ_MTU_EXCHANGED, TIMEOUT_MS)
        ble.gattc_discover_characteristics(conn_handle, 1, 65535)
        wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)

        print("writes with response")
        buf = bytearray(_WRITE_SIZE)
        failed = 0
        t0 = time.ticks_ms()
        for i in range(_NUM_WRITES):
            buf[0] = i & 0xFF
            ble.gattc_write(conn_handle, value_handle, buf, 1)
            failed += wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS) != 0
        ms = max(1, time.ticks_diff(time.ticks_ms(), t0))
        print("failed:", failed)
        multitest.output_metric(
            f"{_NUM_WRITES} writes with response of {_WRITE_SIZE} bytes in {ms} ms: "
            f"{_NUM_WRITES * 1000 // ms} writes/s, {_NUM_WRITES * _WRITE_SIZE * 1000 // ms} B/s"
        )

        print("writes without response")
        t0 = time.ticks_ms()
        for i in range(_NUM_COMMANDS):
            buf[0] = i & 0xFF
            ble.gattc_write(conn_handle, value_handle, buf, 0)
        ble.gattc_write(conn_handle, value_handle, b"\xff", 1)
        wait_for_event(_IRQ_GATTC_WRITE_DONE, 4 * TIMEOUT_MS)
        ms = max(1, time.ticks_diff(time.ticks_ms(), t0))
        multitest.output_metric(
            f"{_NUM_COMMANDS} writes without response of {_WRITE_SIZE} bytes in {ms} ms: "
            f"{_NUM_COMMANDS * 1000 // ms} writes/s, {_NUM_COMMANDS * _WRITE_SIZE * 1000 // ms} B/s"
        )

        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("done")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.config(mtu=_MTU)
ble.irq(irq)
