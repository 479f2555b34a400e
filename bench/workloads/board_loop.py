# A board program's busy part, written as board programs are: advertising payloads built
# by concatenation, a ring buffer of readings, a checksum with byte stores, struct packing
# of notifications, string formatting of a status line. Prints the loop's own time (µs).
# It is valid CPython too (the name is encoded before it is appended), so that it runs with
# the dialect turned off and the two times measure what the dialect costs valid code.
import struct
import time

from micropython import const

_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_NAME = const(0x09)
_RING = const(32)


def advertising_payload(name, services):
    payload = bytearray()

    def _append(adv_type, value):
        nonlocal payload
        payload += struct.pack("BB", len(value) + 1, adv_type) + value

    _append(_ADV_TYPE_FLAGS, struct.pack("B", 0x06))
    _append(_ADV_TYPE_NAME, name.encode())
    for uuid in services:
        _append(0x03, uuid)
    return payload


def checksum(buf):
    c = 0
    for i in range(len(buf)):
        c = (c + buf[i]) & 0xFF
    return c


def main(rounds):
    ring = bytearray(_RING * 2)
    readings = []
    total = 0
    line = ""
    for n in range(rounds):
        value = (n * 37) % 4096
        i = (n % _RING) * 2
        ring[i] = value & 0xFF
        ring[i + 1] = value >> 8
        readings.append(value)
        if len(readings) > 16:
            readings = readings[8:]
        total += value
        if n % 16 == 0:
            payload = advertising_payload("sensor-" + str(n % 10), [b"\x1a\x18"])
            total += checksum(payload)
            note = struct.pack("<hBI", value - 2048, checksum(ring), n)
            total += note[0]
            line = "n=%d avg=%d" % (n, sum(readings) // len(readings))
    return total, line


t0 = time.ticks_us()
result = main(int(__import__("sys").argv[1]) if len(__import__("sys").argv) > 1 else 20000)
print(time.ticks_diff(time.ticks_us(), t0), result[0])
