"""bleradio: the radio under the `bluetooth` module.

- ``config_from_env`` / ``RadioConfig``: which radio (virtual, shared, hci).
- ``open_hci``: a Bumble transport to that radio (the one seam the host side uses).
- ``serve`` / ``RadioServer``: the shared virtual radio behind ``aioble radio``.
- ``rootcanal()`` / ``RootCanal``: Google's rootcanal as a supervised child process
  (``async with bleradio.rootcanal() as rc: rc.hci_transport``).
- ``Medium`` / ``VirtualController``: the virtual radio itself; ``configure`` sets the
  options of this process's in-process medium; ``private_medium`` gives the radios opened
  in a block a medium of their own (the pytest plugin's ``ble_devices``).
"""

from . import rootcanal
from .config import RadioConfig, config_from_env
from .controller import VirtualController
from .medium import (
    DeviceInfo,
    Medium,
    MediumOptions,
    configure,
    private_medium,
    process_medium,
)
from .rootcanal import RootCanal, RootCanalError
from .server import RadioServer, serve
from .transport import open_hci

__all__ = [
    "DeviceInfo",
    "Medium",
    "MediumOptions",
    "RadioConfig",
    "RadioServer",
    "RootCanal",
    "RootCanalError",
    "VirtualController",
    "config_from_env",
    "configure",
    "open_hci",
    "private_medium",
    "process_medium",
    "rootcanal",
    "serve",
]
