"""bleradio: the radio under the `bluetooth` module.

- ``config_from_env`` / ``RadioConfig``: which radio (virtual, shared, hci).
- ``open_hci``: a Bumble transport to that radio (the one seam the host side uses).
- ``serve`` / ``RadioServer``: the shared virtual radio behind ``aioble radio``.
- ``rootcanal()`` / ``RootCanal``: Google's rootcanal as a supervised child process
  (``async with bleradio.rootcanal() as rc: rc.hci_transport``).
- ``Medium`` / ``VirtualController``: the virtual radio itself; ``configure`` sets the
  options of this process's in-process medium; ``private_medium`` gives the radios opened
  in a block a medium of their own (the pytest plugin's ``ble_devices``).

The parts, one subpackage each:

- ``controller/``: ``VirtualController``, an LE-only HCI controller (one module per role);
- ``air/``: the medium the controllers share (fast ``Medium`` and air-time ``AirMedium``),
  its links, the channel model and its arithmetic (``airtime``, ``channel``), the live
  conditions and scenarios, each device's radio activity;
- ``transport/``: where a host's HCI goes (``open_hci``), the shared radio's server and
  wire, rootcanal;
- ``config`` (which radio, from the environment) and ``capture`` (what a sniffer would
  record: each host's HCI, the medium's air) serve all three.
"""

from .air.medium import (
    DeviceInfo,
    Medium,
    MediumOptions,
    configure,
    private_medium,
    process_medium,
)
from .config import RadioConfig, config_from_env
from .controller import VirtualController
from .transport import rootcanal
from .transport.hci import open_hci
from .transport.rootcanal import RootCanal, RootCanalError
from .transport.server import RadioServer, serve

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
