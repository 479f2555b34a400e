"""Which radio a process drives: parsed from the environment, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

RadioKind = Literal["virtual", "shared", "hci"]

ENV_TRANSPORT = "AIOBLE_TRANSPORT"
ENV_RADIO = "AIOBLE_RADIO"

# The end of every command's --help (`aioble ...`, `aioble-python`): the variables that
# choose a process's radio.
ENVIRONMENT_HELP = """\
environment (which radio; configuration, never code):
  AIOBLE_RADIO=HOST:PORT    join the shared virtual radio served by `aioble radio`
  AIOBLE_TRANSPORT=SPEC     a real controller, through any Bumble transport: usb:0,
                            serial:/dev/ttyACM0,1000000, hci-socket:0, tcp-client:HOST:PORT
  (neither)                 a virtual radio inside the process, which only devices of the
                            same process hear: for `aioble scan` and `aioble gatt-dump` the
                            useful cases are the two above
  AIOBLE_LABEL=NAME         the device's name on a virtual radio (its address derives from
                            it, so it is the same in every run)
  AIOBLE_RADIO_FAST=1       virtual radios without air time (everything delivered at once)
  AIOBLE_CAPTURE=DIR        write the device's HCI traffic to DIR/LABEL.btsnoop (and an
                            in-process virtual radio's air to DIR/air.pcap)
  AIOBLE_VIRTUAL_TIME=1     simulated time: waiting costs no wall time (aioble-python)
  AIOBLE_CPU=auto|N         the whole process on one core (faster where waking a thread
                            on another core is slow, e.g. on virtual machines)
"""


@dataclass(frozen=True)
class RadioConfig:
    """Where a host's HCI goes.

    - ``virtual``: a controller on this process's in-process medium.
    - ``shared``: a controller on an ``aioble radio`` server at ``address`` ("HOST:PORT").
    - ``hci``: a real (or foreign) controller through a Bumble transport spec.
    """

    kind: RadioKind
    address: str | None = None
    transport: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("virtual", "shared", "hci"):
            raise ValueError(f"RadioConfig.kind must be virtual, shared or hci, not {self.kind!r}")
        if self.kind == "shared":
            if not self.address:
                raise ValueError("RadioConfig(kind='shared') needs address='HOST:PORT'")
            parse_host_port(self.address, what="RadioConfig.address")
        if self.kind == "hci" and not self.transport:
            raise ValueError("RadioConfig(kind='hci') needs transport=<Bumble transport spec>")


def parse_host_port(value: str, *, what: str) -> tuple[str, int]:
    """Split "HOST:PORT" (IPv6 hosts in brackets); ValueError naming ``what`` if malformed."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{what}={value!r}: expected HOST:PORT, e.g. 127.0.0.1:5555")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{what}={value!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{what}={value!r}: port {port} is out of range 1..65535")
    return host, port


def _check_transport_spec(spec: str) -> str:
    scheme, _, rest = spec.strip().partition(":")
    if not scheme or not scheme.replace("-", "").replace("_", "").isalnum():
        raise ValueError(
            f"{ENV_TRANSPORT}={spec!r}: expected a Bumble transport spec such as usb:0, "
            "serial:/dev/ttyACM0 or tcp-client:127.0.0.1:9000"
        )
    if scheme == "tcp-client":
        parse_host_port(rest, what=ENV_TRANSPORT + " (tcp-client)")
    return spec.strip()


def config_from_env(environ: Mapping[str, str] = os.environ) -> RadioConfig:
    """AIOBLE_TRANSPORT=SPEC -> hci; AIOBLE_RADIO=HOST:PORT -> shared; neither -> virtual.

    Both set, or a malformed value, is a ValueError that names the variable.
    """
    transport = environ.get(ENV_TRANSPORT, "").strip()
    radio = environ.get(ENV_RADIO, "").strip()
    if transport and radio:
        raise ValueError(
            f"both {ENV_TRANSPORT} and {ENV_RADIO} are set: choose one radio "
            f"({ENV_TRANSPORT} for a controller, {ENV_RADIO} for a shared virtual radio)"
        )
    if transport:
        return RadioConfig("hci", transport=_check_transport_spec(transport))
    if radio:
        parse_host_port(radio, what=ENV_RADIO)
        return RadioConfig("shared", address=radio)
    return RadioConfig("virtual")
