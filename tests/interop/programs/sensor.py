# A board program for the interoperability tests: an aioble temperature sensor with one open
# value and two protected ones, advertising until it is stopped.
#
#   aioble-python sensor.py [IO]    IO: "none" (Just Works, the default) or "display" (it
#                                   shows a passkey that the central types in)
#
# It prints "address XX:XX:XX:XX:XX:XX" (the one it advertises with), "advertising",
# "passkey NNNNNN" when it shows one, "encrypted authenticated=... bonded=... key_size=..."
# once a link is encrypted and "disconnected bonded=..." when it ends.
import asyncio
import struct
import sys

import aioble
import bluetooth
from aioble import security

NAME = "interop-sensor"
ENVIRONMENTAL_SENSING = bluetooth.UUID(0x181A)
TEMPERATURE = bluetooth.UUID(0x2A6E)
ENCRYPTED = bluetooth.UUID("8f0d0001-63a5-4c8b-a2a3-3f6e5e2a1c01")
AUTHENTICATED = bluetooth.UUID("8f0d0002-63a5-4c8b-a2a3-3f6e5e2a1c01")

io = sys.argv[1] if len(sys.argv) > 1 else "none"
if io not in ("none", "display"):
    raise SystemExit("sensor.py: IO must be 'none' or 'display', not " + repr(io))

service = aioble.Service(ENVIRONMENTAL_SENSING)
temperature = aioble.Characteristic(service, TEMPERATURE, read=True)
aioble.Characteristic(service, ENCRYPTED, read_encrypted=True, initial=b"encrypted secret")
aioble.Characteristic(service, AUTHENTICATED, read_authenticated=True, initial=b"mitm secret")
aioble.register_services(service)
temperature.write(struct.pack("<h", 2150))  # 21.50 degrees C, in 0.01 degrees

aioble.config(
    bond=True,
    le_secure=True,
    mitm=io == "display",
    io=security.IO_DISPLAY_ONLY if io == "display" else security.IO_NO_INPUT_OUTPUT,
)


def show_passkey(request):
    if request.action == security.PASSKEY_DISPLAY:
        print(f"passkey {request.passkey:06d}")


security.passkey_handler(show_passkey)


async def report_encryption(connection):
    # aioble keeps a connection's security state current but raises no event for a pairing
    # the central started: look, as a board program would, while the link lasts.
    while connection.is_connected() and not connection.encrypted:
        await asyncio.sleep_ms(10)
    if connection.encrypted:
        print(
            f"encrypted authenticated={connection.authenticated} bonded={connection.bonded} "
            f"key_size={connection.key_size}"
        )


async def main():
    _, address = aioble.config("mac")
    print("address", ":".join(f"{byte:02X}" for byte in address))
    while True:
        print("advertising")
        connection = await aioble.advertise(100_000, name=NAME, services=[ENVIRONMENTAL_SENSING])
        watcher = asyncio.create_task(report_encryption(connection))
        await connection.disconnected(timeout_ms=None)
        await watcher
        print(f"disconnected bonded={connection.bonded}")


try:
    asyncio.run(main())
finally:
    aioble.stop()
