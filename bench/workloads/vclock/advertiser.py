# One advertiser alone on the air-time radio (100 ms, connectable) for SECONDS simulated
# seconds; prints the simulated seconds per wall second.
import asyncio
import sys
import time

import aioble
import vclock

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 600


async def main():
    wall, simulated = vclock.real_monotonic(), time.monotonic()
    try:
        await aioble.advertise(100_000, name="lonely", timeout_ms=int(SECONDS * 1000))
    except asyncio.TimeoutError:
        pass
    wall, simulated = vclock.real_monotonic() - wall, time.monotonic() - simulated
    print(f"simulated_s={simulated:.1f} wall_s={wall:.2f}")


asyncio.run(main())
