# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test value buffers: a client write is cut to the value's buffer (20 bytes by default,
# gatts_set_buffer sizes it); an append-mode buffer concatenates writes, up to its size, and
# gatts_read empties it; gatts_set_buffer empties the value; a local gatts_write larger than
# the buffer grows it. The MTU is raised first so that it does not cut the writes itself.

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
_IRQ_MTU_EXCHANGED = const(21)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_DEFAULT_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444401")
CHAR_BIG_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444402")
CHAR_APPEND_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444403")
_RW = bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_WRITE_NO_RESPONSE
SERVICE = (
    SERVICE_UUID,
    ((CHAR_DEFAULT_UUID, _RW), (CHAR_BIG_UUID, _RW), (CHAR_APPEND_UUID, _RW)),
)
NAMES = {CHAR_DEFAULT_UUID: "default", CHAR_BIG_UUID: "big", CHAR_APPEND_UUID: "append"}

MTU = 120
DATA = bytes(range(65, 65 + 60)) * 3  # 180 bytes

waiting_events = {}
names = {}  # value handle -> name, on the peripheral
write_counts = {}  # name -> GATTS_WRITE events seen
handles = {}  # name -> value handle, on the central


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
    elif event == _IRQ_GATTS_WRITE:
        name = names[data[-1]]
        if name == "append":
            # Not read here: reading an append-mode value empties it.
            print("_IRQ_GATTS_WRITE", name)
        else:
            print("_IRQ_GATTS_WRITE", name, len(ble.gatts_read(data[-1])))
        write_counts[name] = write_counts.get(name, 0) + 1
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        if uuid in NAMES:
            handles[NAMES[uuid]] = value_handle
        return
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
    elif event == _IRQ_GATTC_READ_RESULT:
        value = bytes(data[-1])
        print("_IRQ_GATTC_READ_RESULT", len(value), value == DATA[: len(value)])
    elif event == _IRQ_GATTC_READ_DONE:
        print("_IRQ_GATTC_READ_DONE", data[-1])
    elif event == _IRQ_GATTC_WRITE_DONE:
        print("_IRQ_GATTC_WRITE_DONE", data[-1])
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


def wait_for_writes(name, count, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if write_counts.get(name, 0) >= count:
            return
        machine.idle()
    raise ValueError(f"Timeout waiting for writes to {name}")


# Acting in peripheral role.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ble.config(mtu=MTU)
    ((h_default, h_big, h_append),) = ble.gatts_register_services((SERVICE,))
    names.update({h_default: "default", h_big: "big", h_append: "append"})

    # gatts_set_buffer empties the value.
    ble.gatts_write(h_big, "before set_buffer")
    ble.gatts_set_buffer(h_big, 100)
    print("gatts_read big after set_buffer:", ble.gatts_read(h_big))
    ble.gatts_set_buffer(h_append, 100, True)

    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)

        # Four writes appended; reading empties the buffer.
        wait_for_writes("append", 4, TIMEOUT_MS)
        print("gatts_read append:", ble.gatts_read(h_append))
        print("gatts_read append:", ble.gatts_read(h_append))
        multitest.broadcast("read")

        # Two writes of 60 bytes: the buffer keeps 100.
        wait_for_writes("append", 6, TIMEOUT_MS)
        value = ble.gatts_read(h_append)
        print("gatts_read append:", len(value), value == (DATA[:60] * 2)[:100])

        # A local write larger than the buffer grows it.
        ble.gatts_write(h_default, DATA[:50])
        print("gatts_read default:", len(ble.gatts_read(h_default)))
        multitest.broadcast("grown")

        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


def write(conn_handle, name, data, mode):
    print("gattc_write", name, len(data), "mode", mode)
    ble.gattc_write(conn_handle, handles[name], data, mode)
    if mode == 1:
        wait_for_event(_IRQ_GATTC_WRITE_DONE, TIMEOUT_MS)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        ble.config(mtu=MTU)
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        ble.gattc_exchange_mtu(conn_handle)
        wait_for_event(_IRQ_MTU_EXCHANGED, TIMEOUT_MS)
        ble.gattc_discover_characteristics(conn_handle, 1, 65535)
        wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)

        # Cut to the buffer: 20 bytes by default, 100 for "big" (and 117 by the MTU).
        write(conn_handle, "default", DATA[:60], 1)
        write(conn_handle, "big", DATA[:60], 1)
        write(conn_handle, "big", DATA, 1)

        # Appended.
        write(conn_handle, "append", "a", 0)
        write(conn_handle, "append", b"bc", 0)
        write(conn_handle, "append", b"def", 0)
        write(conn_handle, "append", "ghij", 1)
        multitest.wait("read")
        write(conn_handle, "append", DATA[:60], 1)
        write(conn_handle, "append", DATA[:60], 1)

        multitest.wait("grown")
        print("gattc_read default")
        ble.gattc_read(conn_handle, handles["default"])
        wait_for_event(_IRQ_GATTC_READ_DONE, TIMEOUT_MS)

        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
