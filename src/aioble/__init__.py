"""aioble: MicroPython's asyncio BLE library, on `bluetooth`.

Written only on `bluetooth`, `asyncio` and what MicroPython's standard library also has, so
the same package runs on a board.

Several radios in one process (CPython): every top-level call (`advertise`, `scan`,
`Device.connect`, `register_services`, `config`, `stop`) works on the radio of the current
context, `bluetooth.BLE()`; `with bluetooth.use(radio):` makes `radio` current for the code
and the tasks created inside it. Everything aioble keeps (connections, registered
characteristics, the scan, the pending connect) is kept per radio, and objects remember their
radio (a `DeviceConnection` its link's, a `Characteristic` the one it was registered on), so
a peripheral task and a central task on two radios share one event loop::

    peripheral, central = bluetooth.new_radio(label="p"), bluetooth.new_radio(label="c")
    with bluetooth.use(peripheral):
        p = asyncio.create_task(run_peripheral())
    with bluetooth.use(central):
        c = asyncio.create_task(run_central())

A program with one radio never needs any of this.

Beyond the reference library: `ClientCharacteristic.notifications()` receives every
notification in order (see `NotificationQueue`); a failed or timed-out connect leaves no
connection behind; `stop()` unwinds every waiter and registered services come back on restart;
a connection carries several L2CAP channels, and a radio connects while it listens
(`aioble.l2cap`); pairing with passkeys (`aioble.security.passkey_handler`, `PasskeyRequest`)
and bonds kept in an atomically written secrets file (`aioble.security.load_secrets`).
"""

# security is imported for its IRQ handlers too: bonds, passkeys and the connections'
# encryption state are kept whether or not the program pairs itself (the peer may).
from . import security
from .central import ScanResult, scan
from .client import (
    ClientCharacteristic,
    ClientDescriptor,
    ClientService,
    NotificationQueue,
)
from .core import GattError, config, const, log_error, log_info, log_warn, stop
from .device import Device, DeviceConnection, DeviceDisconnectedError, DeviceTimeout
from .l2cap import L2CAPChannel, L2CAPConnectionError, L2CAPDisconnectedError
from .peripheral import advertise
from .security import PairingError
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
    "L2CAPChannel",
    "L2CAPConnectionError",
    "L2CAPDisconnectedError",
    "NotificationQueue",
    "PairingError",
    "ScanResult",
    "Service",
    "advertise",
    "config",
    "log_error",
    "log_info",
    "log_warn",
    "register_services",
    "scan",
    "security",
    "stop",
]
