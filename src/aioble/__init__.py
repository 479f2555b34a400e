"""aioble: MicroPython's asyncio BLE library, on `bluetooth`.

Written only on `bluetooth`, `asyncio` and what MicroPython's standard library also has, so
the same package runs on a board. Every name works on the radio of the current context
(`bluetooth.BLE()`); on CPython, `bluetooth.use(radio)` picks one of several radios for the
code (and the tasks) run inside it.
"""

from .central import ScanResult, scan
from .client import (
    ClientCharacteristic,
    ClientDescriptor,
    ClientService,
    NotificationQueue,
)
from .core import GattError, config, const, log_error, log_info, log_warn, stop
from .device import Device, DeviceConnection, DeviceDisconnectedError, DeviceTimeout
from .peripheral import advertise
from .server import (
    BufferedCharacteristic,
    Characteristic,
    Descriptor,
    Service,
    register_services,
)

ADDR_PUBLIC = const(0)
ADDR_RANDOM = const(1)

__all__ = [
    "ADDR_PUBLIC",
    "ADDR_RANDOM",
    "BufferedCharacteristic",
    "Characteristic",
    "ClientCharacteristic",
    "ClientDescriptor",
    "ClientService",
    "Descriptor",
    "Device",
    "DeviceConnection",
    "DeviceDisconnectedError",
    "DeviceTimeout",
    "GattError",
    "NotificationQueue",
    "ScanResult",
    "Service",
    "advertise",
    "config",
    "log_error",
    "log_info",
    "log_warn",
    "register_services",
    "scan",
    "stop",
]
