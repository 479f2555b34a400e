# The viewer: finds the camera, asks it for a snapshot over L2CAP, saves the JPEG as
# snapshot.jpg and checks it byte for byte against the length and SHA-256 the camera sent.
# Exits with status 1 if it does not match (or no camera was found).
import asyncio
import hashlib
import struct
import sys

import aioble
import bluetooth

SERVICE_UUID = bluetooth.UUID("6e0e0001-4a11-4d42-9b1e-7a6b636d6e01")
PSM = 0x80
MTU = 2048  # the largest SDU we take: the camera sends its image in pieces this big
PATH = "snapshot.jpg"


async def find_camera():
    # A scan that listens all the time (window = interval) hears an advertiser at once.
    async with aioble.scan(10_000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if SERVICE_UUID in result.services():
                return result.device
    return None


async def receive_exactly(channel, size):
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        got += await channel.recvinto(view[got:], timeout_ms=10_000)
    return bytes(data)


def jpeg_size(image):
    """(width, height) from the frame header of a baseline JPEG, or None."""
    i = 2
    while image[:2] == b"\xff\xd8" and i + 9 < len(image) and image[i] == 0xFF:
        marker, length = image[i + 1], struct.unpack(">H", image[i + 2 : i + 4])[0]
        if marker == 0xC0:
            height, width = struct.unpack(">HH", image[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


async def main():
    device = await find_camera()
    if device is None:
        print("no camera found")
        sys.exit(1)
    connection = await device.connect(timeout_ms=5000)
    async with connection:
        channel = await connection.l2cap_connect(PSM, MTU, timeout_ms=5000)
        async with channel:
            await channel.send(b"snap")
            length, digest = struct.unpack("<I32s", await receive_exactly(channel, 36))
            image = await receive_exactly(channel, length)
    with open(PATH, "wb") as f:
        f.write(image)
    ok = hashlib.sha256(image).digest() == digest and image.endswith(b"\xff\xd9")
    size = jpeg_size(image)
    kind = f"{size[0]}x{size[1]} JPEG" if size else "not a JPEG"
    check = "matches" if ok else "DOES NOT MATCH"
    print(f"saved {PATH} - {length} bytes, {kind}, SHA-256 {check}")
    if not ok or size is None:
        sys.exit(1)


asyncio.run(main())
