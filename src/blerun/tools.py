"""`aioble scan` and `aioble gatt-dump`: look at the devices around, on whichever radio the
environment selects (`AIOBLE_RADIO`: a shared virtual radio; `AIOBLE_TRANSPORT`: a real
controller; neither: an in-process virtual radio with nobody else on it).

Both are written on this project's `bluetooth` and `aioble` modules, not on Bumble's device
API, so they run on every radio path those modules do, and behave as a board program would.
Bumble is used only for the names of well-known UUIDs.

Addresses are written as Bumble prints and parses them (`bumble.hci.Address`):
`AA:BB:CC:DD:EE:FF/P` for a public address, plain `AA:BB:CC:DD:EE:FF` for a random one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TextIO

logger = logging.getLogger(__name__)

ADDR_PUBLIC = 0
ADDR_RANDOM = 1

# Scan parameters of the tools: listen all the time, so an air-time radio hears everything.
_SCAN_INTERVAL_US = 30_000
_SCAN_WINDOW_US = 30_000

_ADDRESS_RE = re.compile(r"^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}(/P)?$")

# Characteristic property bits (Core Vol 3 Part G 3.3.1.1), in the order they are printed.
_PROPERTIES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)
_READ = 0x02


class AddressError(ValueError):
    """A device address that is not `AA:BB:CC:DD:EE:FF` or `AA:BB:CC:DD:EE:FF/P`."""


class ToolError(Exception):
    """A tool could not do its job (radio unreachable, device not found...): one line for
    the user, exit status 1."""


# ---------------------------------------------------------------------- addresses
def parse_address(text: str) -> tuple[int, bytes]:
    """`AA:BB:CC:DD:EE:FF/P` (public) or `AA:BB:CC:DD:EE:FF` (random) -> (addr_type, the
    6 bytes most significant first, as `aioble.Device` takes them)."""
    if not _ADDRESS_RE.match(text):
        raise AddressError(
            f"{text!r} is not a device address: expected AA:BB:CC:DD:EE:FF/P for a public "
            "address or AA:BB:CC:DD:EE:FF for a random one"
        )
    public = text.endswith("/P")
    return (ADDR_PUBLIC if public else ADDR_RANDOM), bytes.fromhex(text[:17].replace(":", ""))


def format_address(addr_type: int, addr: bytes) -> str:
    """(addr_type, 6 bytes most significant first) -> `AA:BB:CC:DD:EE:FF[/P]`."""
    text = ":".join(f"{b:02X}" for b in addr)
    return text + "/P" if addr_type == ADDR_PUBLIC else text


# ---------------------------------------------------------------------- UUIDs and values
@cache
def _uuid_names() -> dict[bytes, str]:
    import bumble.gatt  # noqa: F401  (registers the GATT names)
    from bumble.core import UUID

    return {bytes(u.uuid_bytes): u.name for u in UUID.UUIDS if u.name}


def format_uuid(uuid: Any) -> str:
    """A `bluetooth.UUID` as `0x181A` (16/32-bit) or its canonical 128-bit form."""
    data = bytes(uuid)
    if len(data) == 16:
        h = data[::-1].hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return f"0x{int.from_bytes(data, 'little'):0{2 * len(data)}X}"


def describe_uuid(uuid: Any) -> str:
    """`0x181A (Environmental Sensing)` where the UUID has a well-known name."""
    name = _uuid_names().get(bytes(uuid))
    return f"{format_uuid(uuid)} ({name})" if name else format_uuid(uuid)


def format_value(value: bytes) -> str:
    """Hex bytes, then the text they spell when they are printable UTF-8."""
    if not value:
        return "(empty)"
    hexed = value.hex(" ")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return hexed
    return f'{hexed} "{text}"' if text.isprintable() else hexed


def format_properties(properties: int) -> str:
    return ",".join(name for bit, name in _PROPERTIES if properties & bit) or "none"


# ---------------------------------------------------------------------- the radio
def check_radio_environment() -> str | None:
    """Raise ValueError (naming the variable) if the radio variables are malformed; return a
    note when none is set (the tool would be alone on an in-process radio)."""
    import bleradio

    config = bleradio.config_from_env()
    if config.kind == "virtual":
        return (
            "neither AIOBLE_RADIO nor AIOBLE_TRANSPORT is set: this is an in-process virtual "
            "radio with no other device on it"
        )
    return None


def _run_on_radio(tool: str, main: Coroutine[Any, Any, None]) -> None:
    """Run `main` in a new event loop with this tool's radio current (labelled
    AIOBLE_LABEL, else `aioble-TOOL`), powered on first and closed after; ToolError if the
    radio cannot be powered on (a shared radio or a controller that cannot be reached)."""
    import bluetooth

    ble = bluetooth.new_radio(os.environ.get("AIOBLE_LABEL") or f"aioble-{tool}")
    try:
        try:
            ble.active(True)
        except OSError as exc:
            raise ToolError(f"cannot power the radio on: {exc}") from exc
        with bluetooth.use(ble):
            asyncio.run(main)
    finally:
        main.close()  # (never awaited if the radio did not power on)
        ble.close()


# ---------------------------------------------------------------------- scan
@dataclass
class HeardDevice:
    """One device a scan heard: what its advertising (and scan response) said."""

    address: str
    name: str | None
    rssi: int | None
    connectable: bool
    services: list[str] = field(default_factory=list)
    manufacturer: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def from_result(cls, result: Any) -> HeardDevice:
        device = result.device
        return cls(
            address=format_address(device.addr_type, device.addr),
            name=result.name(),
            rssi=result.rssi,
            connectable=bool(result.connectable),
            services=[format_uuid(u) for u in result.services()],
            manufacturer=[(company, bytes(data)) for company, data in result.manufacturer()],
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "address": self.address,
                "name": self.name,
                "rssi": self.rssi,
                "connectable": self.connectable,
                "services": self.services,
                "manufacturer": [
                    {"company": company, "data": data.hex()} for company, data in self.manufacturer
                ],
            }
        )

    def to_line(self) -> str:
        parts = [self.address, repr(self.name) if self.name is not None else "(no name)"]
        parts.append(f"rssi {self.rssi}" if self.rssi is not None else "rssi ?")
        if self.services:
            parts.append("services " + ",".join(self.services))
        for company, data in self.manufacturer:
            parts.append(f"manufacturer 0x{company:04X}:{data.hex()}")
        if not self.connectable:
            parts.append("not connectable")
        return "  ".join(parts)


async def scan(
    duration_s: float, *, active: bool = True, on_device: Callable[[HeardDevice], None]
) -> list[HeardDevice]:
    """Scan the current radio for `duration_s` seconds, calling `on_device` once per device
    heard: when its scan response has come (active scan), at once (passive), or at the end
    for an active scan's device that sent none. Returns every device, in the order heard."""
    import aioble

    pending: dict[Any, Any] = {}  # device -> ScanResult still waiting for a scan response
    reported: dict[Any, HeardDevice] = {}
    duration_ms = max(1, round(duration_s * 1000))
    async with aioble.scan(
        duration_ms, interval_us=_SCAN_INTERVAL_US, window_us=_SCAN_WINDOW_US, active=active
    ) as scanner:
        async for result in scanner:
            device = result.device
            if device in reported:
                continue
            if active and result.resp_data is None:
                pending[device] = result
                continue
            pending.pop(device, None)
            reported[device] = heard = HeardDevice.from_result(result)
            on_device(heard)
    for device, result in pending.items():
        if device not in reported:
            reported[device] = heard = HeardDevice.from_result(result)
            on_device(heard)
    return list(reported.values())


def run_scan(duration_s: float, *, active: bool, as_json: bool, out: TextIO) -> int:
    """`aioble scan`: print one line (or JSON object) per device heard; exit status."""

    def show(heard: HeardDevice) -> None:
        out.write((heard.to_json() if as_json else heard.to_line()) + "\n")
        out.flush()

    _run_on_radio("scan", scan(duration_s, active=active, on_device=show))
    return 0


# ---------------------------------------------------------------------- gatt-dump
async def gatt_dump(
    address: str, *, read: bool, timeout_s: float, out: Callable[[str], None]
) -> None:
    """Connect to `address` on the current radio and write its GATT database with `out`,
    one line per service, characteristic and descriptor (with `read`, the values of the
    readable characteristics and of every descriptor)."""
    import aioble

    addr_type, addr = parse_address(address)
    timeout_ms = max(1, round(timeout_s * 1000))
    try:
        # The controller keeps trying past our timeout, so aioble's timeout is what ends the
        # attempt (when both end it at once, Bumble leaves an unretrieved error behind).
        connection = await aioble.Device(addr_type, addr).connect(
            timeout_ms=timeout_ms, scan_duration_ms=timeout_ms + 5000
        )
    except TimeoutError:
        hint = "" if address.endswith("/P") else " (a public address ends in /P)"
        raise ToolError(f"no device {address} found within {timeout_s:g} s{hint}") from None
    async with connection:
        out(f"Connected to {address}")
        services = [service async for service in connection.services(timeout_ms=timeout_ms)]
        for service in services:
            out(
                f"Service {describe_uuid(service.uuid)} "
                f"handles {service._start_handle}-{service._end_handle}"
            )
            characteristics = [c async for c in service.characteristics(timeout_ms=timeout_ms)]
            for char in characteristics:
                line = (
                    f"  Characteristic {describe_uuid(char.uuid)} handle {char._value_handle} "
                    f"[{format_properties(char.properties)}]"
                )
                if read and char.properties & _READ:
                    line += f" value: {await _read(char, timeout_ms)}"
                out(line)
                descriptors = [d async for d in char.descriptors(timeout_ms=timeout_ms)]
                for descriptor in descriptors:
                    line = (
                        f"    Descriptor {describe_uuid(descriptor.uuid)} "
                        f"handle {descriptor._value_handle}"
                    )
                    if read:
                        line += f" value: {await _read(descriptor, timeout_ms)}"
                    out(line)


async def _read(attribute: Any, timeout_ms: int) -> str:
    import aioble

    try:
        return format_value(bytes(await attribute.read(timeout_ms=timeout_ms)))
    except aioble.GattError as exc:
        return f"(not readable: ATT error 0x{exc._status:02X})"
    except TimeoutError:
        return "(no answer)"


def run_gatt_dump(address: str, *, read: bool, timeout_s: float, out: TextIO) -> int:
    """`aioble gatt-dump`: exit status 0, or ToolError (device not found, link lost)."""

    def write(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    import aioble

    parse_address(address)  # a usage error before the radio starts
    try:
        _run_on_radio("gatt-dump", gatt_dump(address, read=read, timeout_s=timeout_s, out=write))
    except aioble.DeviceDisconnectedError as exc:
        raise ToolError(f"{address} disconnected during the dump") from exc
    except TimeoutError as exc:
        raise ToolError(f"{address} stopped answering during the dump") from exc
    return 0
