# The camera: a peripheral that takes a snapshot whenever a viewer asks for one and sends it
# over an L2CAP channel (connection-oriented, credit-based: as fast as the link and the
# viewer's reading allow, no 20-byte GATT values). Each answer is a 36-byte header (the
# length, little-endian, and the SHA-256 of the image) followed by the JPEG itself.
#
# Run it with its viewer:  aioble run examples/camera_snapshot/camera.py \
#                                     examples/camera_snapshot/viewer.py
import asyncio
import hashlib
import math
import struct

import jpeg  # beside this file: the "hardware" encoder

import aioble
import bluetooth
from aioble import l2cap

SERVICE_UUID = bluetooth.UUID("6e0e0001-4a11-4d42-9b1e-7a6b636d6e01")
PSM = 0x80  # an LE PSM of the dynamic range (0x80-0xFF)
MTU = 64  # the largest request we take; images go out in SDUs of the viewer's MTU
WIDTH, HEIGHT = 320, 240  # QVGA


frames = 0


def snapshot():
    """Take a picture: a sunny landscape (the sun moves from one frame to the next)."""
    global frames
    frames += 1
    sun_x, sun_y = 60 + (frames * 37) % 200, 55

    def pixel(x, y):
        hill = 160 + 20 * math.sin(x / 34) + 10 * math.sin(x / 14 + 1)
        if (x - sun_x) ** 2 + (y - sun_y) ** 2 < 480:
            return (255, 220, 60)
        if y > hill:
            return (40, min(255, 150 + int(y - hill)), 40)
        return (90 + y // 2, 150 + y // 2, 255)

    return jpeg.encode(WIDTH, HEIGHT, pixel, quality=80)


async def serve(connection):
    channel = await connection.l2cap_accept(PSM, MTU, timeout_ms=10_000)
    async with channel:
        request = bytearray(MTU)
        while True:
            await channel.recvinto(request)  # any request means "take a picture"
            image = snapshot()
            header = struct.pack("<I", len(image)) + hashlib.sha256(image).digest()
            await channel.send(header + image)
            await channel.flush()
            print("sent snapshot", frames, "-", len(image), "bytes")


async def main():
    # Listen before advertising: a viewer may open its channel as soon as it connects.
    l2cap.listen(PSM, MTU)
    while True:
        connection = await aioble.advertise(100_000, name="camera", services=[SERVICE_UUID])
        print("viewer connected")
        try:
            await serve(connection)
        except (aioble.L2CAPDisconnectedError, aioble.DeviceDisconnectedError):
            pass  # the viewer closed the channel, or left
        await connection.disconnected(timeout_ms=None)
        print("viewer gone")


asyncio.run(main())
