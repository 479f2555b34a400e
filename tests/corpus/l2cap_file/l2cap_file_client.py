# MIT license; Copyright (c) 2021 Jim Mussared
# (adapted: size() waits for its notification, download() checks length and SHA-256)

# This is a WIP client for l2cap_file_server.py. See that file for more
# information.

import sys

sys.path.append("")

from micropython import const

import asyncio
import aioble
import bluetooth

import binascii
import hashlib
import random
import struct

# Randomly generated UUIDs.
_FILE_SERVICE_UUID = bluetooth.UUID("0492fcec-7194-11eb-9439-0242ac130002")
_CONTROL_CHARACTERISTIC_UUID = bluetooth.UUID("0492fcec-7194-11eb-9439-0242ac130003")

_COMMAND_SEND = const(0)
_COMMAND_RECV = const(1)  # Not yet implemented.
_COMMAND_HASH = const(2)
_COMMAND_SIZE = const(3)
_COMMAND_DONE = const(4)

_STATUS_OK = const(0)
_STATUS_NOT_IMPLEMENTED = const(1)
_STATUS_NOT_FOUND = const(2)

_L2CAP_PSN = const(22)
_L2CAP_MTU = const(128)


async def find_file_server():
    # Scan for 5 seconds, in active mode, with very low interval/window (to
    # maximise detection rate).
    async with aioble.scan(5000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            # See if it matches our name
            if result.name() == "mpy-file":
                print("Found file server:", result.device)
                return result.device
    return None


class FileClient:
    def __init__(self, device):
        self._device = device
        self._connection = None
        self._seq = 1

    async def connect(self):
        try:
            print("Connecting to", self._device)
            self._connection = await self._device.connect()
        except asyncio.TimeoutError:
            print("Timeout during connection")
            return

        try:
            print("Discovering...")
            file_service = await self._connection.service(_FILE_SERVICE_UUID)
            self._control_characteristic = await file_service.characteristic(
                _CONTROL_CHARACTERISTIC_UUID
            )
        except asyncio.TimeoutError:
            print("Timeout discovering services/characteristics")
            return

        await self._control_characteristic.subscribe(notify=True)

        print("Connecting channel")
        self._channel = await self._connection.l2cap_connect(_L2CAP_PSN, _L2CAP_MTU)
        print("Connected")

    async def _command(self, cmd, data):
        send_seq = self._seq
        await self._control_characteristic.write(struct.pack("<BB", cmd, send_seq) + data)
        self._seq += 1
        return send_seq

    async def _done(self, seq):
        while True:
            msg = await self._control_characteristic.notified()
            if len(msg) == 3 and msg[0] == _COMMAND_DONE and msg[1] == seq:
                return msg[2]

    async def size(self, path):
        seq = await self._command(_COMMAND_SIZE, path.encode())
        while True:
            msg = await self._control_characteristic.notified()
            rseq, status, size = struct.unpack("<BBI", msg)
            if rseq == seq:
                if status != _STATUS_OK:
                    raise OSError(status)
                return size

    async def _recv(self, n, f=None, h=None):
        buf = bytearray(self._channel.our_mtu)
        mv = memoryview(buf)
        result = bytearray()
        total = 0
        while total < n:
            count = await self._channel.recvinto(buf)
            if f:
                f.write(mv[:count])
            if h:
                h.update(mv[:count])
            else:
                result += mv[:count]
            total += count
        return total, result

    async def hash(self, path):
        seq = await self._command(_COMMAND_HASH, path.encode())
        _, digest = await self._recv(32)
        await self._done(seq)
        return bytes(digest)

    async def download(self, path, dest):
        size = await self.size(path)
        print("Size of", path, "is", size)

        send_seq = await self._command(_COMMAND_SEND, path.encode())

        h = hashlib.sha256()
        with open(dest, "wb") as f:
            total, _ = await self._recv(size, f, h)
        status = await self._done(send_seq)
        return total, h.digest(), status

    async def disconnect(self):
        if self._connection:
            await self._connection.disconnect()


async def main():
    device = await find_file_server()
    if not device:
        print("File server not found")
        return

    client = FileClient(device)
    await client.connect()
    total, digest, status = await client.download("data/log.csv", "download.csv")
    expected = await client.hash("data/log.csv")
    print("Downloaded", total, "bytes, status", status)
    print("sha256", binascii.hexlify(digest).decode())
    if digest == expected:
        print("Hash OK")
    else:
        print("Hash MISMATCH, server says", binascii.hexlify(expected).decode())
    await client.disconnect()


asyncio.run(main())
