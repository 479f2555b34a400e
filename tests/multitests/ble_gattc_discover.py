# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Test GATT client discovery: all services, services by UUID, characteristics (with their
# exact end handles) in a range and by UUID, and descriptors (the stack-made CCCD after a
# notify/indicate characteristic, then the user's descriptors). Handles are printed relative
# to the start handle of their service, so the output does not depend on how many handles
# the stack's own GAP and GATT services take; they are also checked against the handles
# gatts_register_services returned on the server.

import time

import machine
from micropython import const

import bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_SERVICE_RESULT = const(9)
_IRQ_GATTC_SERVICE_DONE = const(10)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
_FLAG_DESC_READ = const(0x0001)
_FLAG_DESC_WRITE = const(0x0002)

SERVICE_A_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_A1_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444441")
CHAR_A2_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444442")
CHAR_A3_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444443")
DSC_1_UUID = bluetooth.UUID(0x2901)
DSC_2_UUID = bluetooth.UUID("00000000-1111-2222-3333-5555555555D2")
SERVICE_B_UUID = bluetooth.UUID(0x180F)
CHAR_B1_UUID = bluetooth.UUID(0x2A19)

SERVICE_A = (
    SERVICE_A_UUID,
    (
        (
            CHAR_A1_UUID,
            _FLAG_READ | _FLAG_NOTIFY,
            ((DSC_1_UUID, _FLAG_DESC_READ), (DSC_2_UUID, _FLAG_DESC_READ | _FLAG_DESC_WRITE)),
        ),
        (CHAR_A2_UUID, _FLAG_READ | _FLAG_WRITE),
        (CHAR_A3_UUID, _FLAG_INDICATE),
    ),
)
SERVICE_B = (SERVICE_B_UUID, ((CHAR_B1_UUID, _FLAG_READ),))

waiting_events = {}
services = {}  # uuid -> (start, end)
characteristics = []  # (uuid, value handle, end handle)
descriptors = []  # descriptor handles
base = 0  # the start handle of the service being explored
show_end = True


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_CONNECT:
        print("_IRQ_PERIPHERAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        print("_IRQ_PERIPHERAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_GATTC_SERVICE_RESULT:
        conn_handle, start_handle, end_handle, uuid = data
        if uuid in (SERVICE_A_UUID, SERVICE_B_UUID):
            print("_IRQ_GATTC_SERVICE_RESULT", uuid, "end - start =", end_handle - start_handle)
        else:
            print("_IRQ_GATTC_SERVICE_RESULT", uuid)
        services[uuid] = (start_handle, end_handle)
    elif event == _IRQ_GATTC_SERVICE_DONE:
        print("_IRQ_GATTC_SERVICE_DONE", data[-1])
        waiting_events[event] = data[-1]
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        conn_handle, end_handle, value_handle, properties, uuid = data
        if show_end:
            end = ("end", end_handle - base)
        else:
            # Filtered by UUID, MicroPython's NimBLE port ends a characteristic at the next
            # matching one (or the range's end), not at the next declaration: not compared.
            end = ()
        print(
            "_IRQ_GATTC_CHARACTERISTIC_RESULT",
            uuid,
            hex(properties),
            "value",
            value_handle - base,
            *end,
        )
        characteristics.append((uuid, value_handle, end_handle))
    elif event == _IRQ_GATTC_CHARACTERISTIC_DONE:
        print("_IRQ_GATTC_CHARACTERISTIC_DONE", data[-1])
        waiting_events[event] = data[-1]
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        conn_handle, dsc_handle, uuid = data
        print("_IRQ_GATTC_DESCRIPTOR_RESULT", uuid, dsc_handle - base)
        descriptors.append(dsc_handle)
    elif event == _IRQ_GATTC_DESCRIPTOR_DONE:
        print("_IRQ_GATTC_DESCRIPTOR_DONE", data[-1])
        waiting_events[event] = data[-1]


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError(f"Timeout waiting for {event}")


# Acting in peripheral role.
def instance0():
    handles = ble.gatts_register_services((SERVICE_A, SERVICE_B))
    print("handles per service:", [len(h) for h in handles])
    multitest.globals(BDADDR=ble.config("mac"), HANDLES=handles)
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, 2 * TIMEOUT_MS)
    finally:
        ble.active(0)


def discover_characteristics(conn_handle, start, end, uuid=None):
    global base, show_end
    base = start
    show_end = uuid is None
    characteristics.clear()
    print("gattc_discover_characteristics", "" if uuid is None else uuid)
    if uuid is None:
        ble.gattc_discover_characteristics(conn_handle, start, end)
    else:
        ble.gattc_discover_characteristics(conn_handle, start, end, uuid)
    wait_for_event(_IRQ_GATTC_CHARACTERISTIC_DONE, TIMEOUT_MS)
    return list(characteristics)


def discover_descriptors(conn_handle, value_handle, end_handle):
    descriptors.clear()
    print("gattc_discover_descriptors")
    ble.gattc_discover_descriptors(conn_handle, value_handle, end_handle)
    wait_for_event(_IRQ_GATTC_DESCRIPTOR_DONE, TIMEOUT_MS)
    return list(descriptors)


# Acting in central role.
def instance1():
    multitest.next()
    try:
        print("gap_connect")
        ble.gap_connect(*BDADDR)
        conn_handle = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)

        # All primary services, in handle order: the stack's own, then the registered ones.
        print("gattc_discover_services")
        ble.gattc_discover_services(conn_handle)
        wait_for_event(_IRQ_GATTC_SERVICE_DONE, TIMEOUT_MS)
        a_start, a_end = services[SERVICE_A_UUID]
        b_start, b_end = services[SERVICE_B_UUID]
        print("service B follows service A:", b_start == a_end + 1)

        # One service by UUID.
        services.clear()
        print("gattc_discover_services", SERVICE_B_UUID)
        ble.gattc_discover_services(conn_handle, SERVICE_B_UUID)
        wait_for_event(_IRQ_GATTC_SERVICE_DONE, TIMEOUT_MS)
        print("same range:", services[SERVICE_B_UUID] == (b_start, b_end))

        # Service A's characteristics: a characteristic ends where the next one's declaration
        # begins, the last one where the service ends.
        chars = discover_characteristics(conn_handle, a_start, a_end)
        print("value handles match:", [c[1] for c in chars] == [HANDLES[0][0], *HANDLES[0][3:]])
        (_, a1_value, a1_end), (_, a2_value, a2_end), (_, a3_value, a3_end) = chars

        # By UUID: only that characteristic.
        chars = discover_characteristics(conn_handle, a_start, a_end, CHAR_A2_UUID)
        print("found:", [(c[0], c[1] == a2_value) for c in chars])

        # Descriptors of A1: the CCCD, then the two user descriptors.
        found = discover_descriptors(conn_handle, a1_value, a1_end)
        print("descriptor handles match:", found[1:] == list(HANDLES[0][1:3]))
        # Descriptors of A3: its CCCD only.
        discover_descriptors(conn_handle, a3_value, a3_end)

        # Service B: one characteristic, ending with the service.
        chars = discover_characteristics(conn_handle, b_start, b_end)
        print("value handles match:", [c[1] for c in chars] == list(HANDLES[1]))

        print("gap_disconnect")
        ble.gap_disconnect(conn_handle)
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
