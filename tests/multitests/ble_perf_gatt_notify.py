# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Performance: GATT notifications, in the style of MicroPython's perf_gatt_notify.py. Both
# devices are servers over one connection. First a ping-pong: the peripheral notifies, the
# central's handler notifies back, N times (round trips per second).
# Then a one-way burst of notifications, closed by an indication (notifications per second).
# The figures are OUTPUT_METRIC lines (not compared); the output proper is deterministic.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)

_NUM_PING_PONGS = const(100)
_NUM_BURST = const(500)
_BURST_SIZE = const(100)
_MTU = const(256)
_CONN_INTERVAL_US = const(7500)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
SERVICE = (
    SERVICE_UUID,
    ((CHAR_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_NOTIFY | bluetooth.FLAG_INDICATE),),
)

waiting_events = {}
is_central = False
notified = 0


def irq(event, data):
    global notified
    if event == _IRQ_CENTRAL_CONNECT or event == _IRQ_PERIPHERAL_CONNECT:
        waiting_events[event] = data[0]
    elif event == _IRQ_GATTC_NOTIFY:
        notified += 1
        if is_central and notified <= _NUM_PING_PONGS:
            # The central answers each ping from its handler.
            ble.gatts_notify(data[0], char_handle, data[-1])
        else:
            waiting_events[event] = bytes(data[-1])
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
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        conn_handle = wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_MTU_EXCHANGED, TIMEOUT_MS)
        multitest.wait("ready")

        print("ping-pong")
        t0 = time.ticks_ms()
        for i in range(_NUM_PING_PONGS):
            ping = b"ping" + str(i).encode()
            ble.gatts_notify(conn_handle, char_handle, ping)
            if wait_for_event(_IRQ_GATTC_NOTIFY, TIMEOUT_MS) != ping:
                print("wrong pong", i)
        ms = max(1, time.ticks_diff(time.ticks_ms(), t0))
        multitest.output_metric(
            f"{_NUM_PING_PONGS} notification round trips in {ms} ms: "
            f"{_NUM_PING_PONGS * 1000 // ms} round trips/s"
        )

        print("burst")
        payload = bytes(_BURST_SIZE)
        t0 = time.ticks_ms()
        for _ in range(_NUM_BURST):
            ble.gatts_notify(conn_handle, char_handle, payload)
        ble.gatts_indicate(conn_handle, char_handle, b"end")
        wait_for_event(_IRQ_GATTS_INDICATE_DONE, 4 * TIMEOUT_MS)
        ms = max(1, time.ticks_diff(time.ticks_ms(), t0))
        multitest.output_metric(
            f"{_NUM_BURST} notifications of {_BURST_SIZE} bytes in {ms} ms: "
            f"{_NUM_BURST * 1000 // ms} notifications/s, {_NUM_BURST * _BURST_SIZE * 1000 // ms} B/s"
        )
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 4 * TIMEOUT_MS)
        print("done")
    finally:
        ble.active(0)


# Acting in central role.
def instance1():
    global is_central
    is_central = True
    multitest.next()
    try:
        ble.gap_connect(BDADDR[0], BDADDR[1], 2000, _CONN_INTERVAL_US, _CONN_INTERVAL_US)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        ble.gattc_exchange_mtu(conn_handle)
        wait_for_event(_IRQ_MTU_EXCHANGED, TIMEOUT_MS)
        multitest.broadcast("ready")

        print("ping-pong")
        wait_for_event(_IRQ_GATTC_INDICATE, 8 * TIMEOUT_MS)
        received = notified - _NUM_PING_PONGS
        print("burst received:", received == _NUM_BURST)
        if received != _NUM_BURST:
            print("received", received, "of", _NUM_BURST)

        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("done")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.config(mtu=_MTU)
((char_handle,),) = ble.gatts_register_services((SERVICE,))
ble.irq(irq)
