# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test one central connected to two peripherals at once: discovery, reads and writes on each
# connection, requests on both connections in flight together, notifications from both, one
# connection closed while the other keeps working, and a read on the closed one (OSError).

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

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
SERVICE = (
    SERVICE_UUID,
    ((CHAR_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_NOTIFY),),
)

counts = {}  # event -> how many arrived
last = {}  # event -> its last data
peers = {}  # conn handle -> "A" or "B", on the central
value_handles = {}  # conn handle -> value handle, on the central
collected = []  # results of requests in flight together, printed sorted
collecting = False


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        conn_handle, attr_handle = data
        value = ble.gatts_read(attr_handle)
        print("_IRQ_GATTS_WRITE", value)
        ble.gatts_notify(conn_handle, attr_handle, b"ack " + value)
    elif event == _IRQ_PERIPHERAL_CONNECT:
        conn_handle, addr_type, addr = data
        peers[conn_handle] = "A" if (addr_type, bytes(addr)) == BDADDR_A else "B"
        print("_IRQ_PERIPHERAL_CONNECT", peers[conn_handle])
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT", peers[data[0]])
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        if uuid == CHAR_UUID:
            value_handles[conn_handle] = value_handle
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", peers[data[0]], data[-1])
    elif event in (_IRQ_GATTC_READ_RESULT, _IRQ_GATTC_NOTIFY):
        name = "_IRQ_GATTC_READ_RESULT" if event == _IRQ_GATTC_READ_RESULT else "_IRQ_GATTC_NOTIFY"
        line = " ".join((name, peers[data[0]], repr(bytes(data[-1]))))
        if collecting:
            collected.append(line)
        else:
            print(line)
    elif event in (_IRQ_GATTC_READ_DONE, _IRQ_GATTC_WRITE_DONE):
        name = "_IRQ_GATTC_READ_DONE" if event == _IRQ_GATTC_READ_DONE else "_IRQ_GATTC_WRITE_DONE"
        line = " ".join((name, peers[data[0]], str(data[-1])))
        if collecting:
            collected.append(line)
        else:
            print(line)
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


def peripheral(name):
    # Both peripherals: a value to read; each write is answered by a notification.
    ((char_handle,),) = ble.gatts_register_services((SERVICE,))
    ble.gatts_write(char_handle, "value " + name)
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 3 * TIMEOUT_MS)
    finally:
        ble.active(0)


# Acting in peripheral role.
def instance0():
    multitest.globals(BDADDR_A=ble.config("mac"))
    peripheral("A")


# Acting in peripheral role.
def instance1():
    multitest.globals(BDADDR_B=ble.config("mac"))
    peripheral("B")


def print_collected():
    global collecting
    collecting = False
    for line in sorted(collected):
        print(line)
    collected.clear()


# Acting in central role.
def instance2():
    global collecting
    multitest.next()
    try:
        # Connect to A, then to B: both connections stay up.
        conns = {}
        for name, addr in (("A", BDADDR_A), ("B", BDADDR_B)):
            print("gap_connect", name)
            ble.gap_connect(*addr)
            conns[name] = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)[0]
        conn_a, conn_b = conns["A"], conns["B"]
        print("connections differ:", conn_a != conn_b)

        # One at a time.
        for conn_handle in (conn_a, conn_b):
            ble.gattc_discover_characteristics(conn_handle, 1, 65535)
            wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
        for conn_handle in (conn_a, conn_b):
            print("gattc_read", peers[conn_handle])
            ble.gattc_read(conn_handle, value_handles[conn_handle])
            wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)

        # Both at once: reads, then writes (each answered by a notification).
        print("gattc_read A and B")
        collecting = True
        ble.gattc_read(conn_a, value_handles[conn_a])
        ble.gattc_read(conn_b, value_handles[conn_b])
        wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS, 2)
        print_collected()
        print("gattc_write A and B")
        collecting = True
        ble.gattc_write(conn_a, value_handles[conn_a], "to A", 1)
        ble.gattc_write(conn_b, value_handles[conn_b], "to B", 1)
        wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS, 2)
        wait_for_event(_IRQ_GATTC_NOTIFY, TIMEOUT_MS, 2)
        print_collected()

        # Close A; B keeps working; A's handle is no longer a connection.
        print("gap_disconnect A")
        ble.gap_disconnect(conn_a)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("gattc_read B")
        ble.gattc_read(conn_b, value_handles[conn_b])
        wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)
        try:
            ble.gattc_read(conn_a, value_handles[conn_a])
        except OSError:
            print("gattc_read A: OSError")

        print("gap_disconnect B")
        ble.gap_disconnect(conn_b)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
