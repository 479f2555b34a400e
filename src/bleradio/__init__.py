"""bleradio: the radio under the `bluetooth` module.

- ``config_from_env`` / ``RadioConfig``: which radio (virtual, shared, hci).
- ``open_hci``: a Bumble transport to that radio (the one seam the host side uses).
- ``serve`` / ``RadioServer``: the shared virtual radio behind ``aioble radio``.
- ``Medium`` / ``VirtualController``: the virtual radio itself; ``configure`` sets the
  options of this process's in-process medium.
"""

from .config import RadioConfig, config_from_env
from .controller import VirtualController
from .medium import DeviceInfo, Medium, MediumOptions, configure, process_medium
from .server import RadioServer, serve
from .transport import open_hci

__all__ = [
    "DeviceInfo",
    "Medium",
    "MediumOptions",
    "RadioConfig",
    "RadioServer",
    "VirtualController",
    "config_from_env",
    "configure",
    "open_hci",
    "process_medium",
    "serve",
]
