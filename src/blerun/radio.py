"""Private radios for a run: what `aioble run` and `aioble multitest` put their programs on.

A radio provider is a callable returning an async context manager that yields a
`PrivateRadio`: the environment variables putting a process on that radio, and the server
(for its per-device reports) when there is one. `open_radio("virtual")` serves a
private shared virtual radio (`bleradio.serve`) on loopback; `open_radio("rootcanal")`
starts Google's rootcanal controller (`bleradio.rootcanal`), every process reaching it over
its HCI TCP port. Tests may pass their own provider.

With a capture directory (``radio_provider(..., capture=DIR)``) every process on the radio
gets ``AIOBLE_CAPTURE=DIR`` (its ``LABEL.btsnoop``) and a virtual radio writes what went on
its air to ``DIR/air.pcap`` (rootcanal's air is its own: no ``air.pcap`` there).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

RadioEnv = dict[str, str]


@dataclass
class PrivateRadio:
    env: RadioEnv
    server: Any = None  # the bleradio.RadioServer of a virtual radio

    def devices(self, profile: Any = None) -> list[Any]:
        """The server's `DeviceInfo`s (label, address, energy with `profile`'s currents...);
        [] without a server."""
        return list(self.server.devices(profile)) if self.server is not None else []


RadioProvider = Callable[[], AbstractAsyncContextManager[PrivateRadio]]

# Variables that choose a process's radio (bleradio.config_from_env); a child gets exactly
# the ones its runner's radio sets, never ones inherited from the user's shell.
RADIO_VARIABLES = ("AIOBLE_RADIO", "AIOBLE_TRANSPORT")

KINDS = ("virtual", "rootcanal")


class RadioOptionError(ValueError):
    """The radio refused an option (unknown name or bad value)."""


def _capture_env(capture: str | None) -> RadioEnv:
    return {"AIOBLE_CAPTURE": os.path.abspath(capture)} if capture else {}


@asynccontextmanager
async def virtual_radio(
    host: str = "127.0.0.1", port: int = 0, *, capture: str | None = None, **options: Any
) -> AsyncIterator[PrivateRadio]:
    """A shared virtual radio, private unless given a reachable `host` (on any free port by
    default); `options` go to `bleradio.serve`, and its air to `capture`/air.pcap if given."""
    import bleradio
    from bleradio.capture import CaptureError

    try:
        server = await bleradio.serve(host=host, port=port, capture=capture, **options)
    except CaptureError:
        raise
    except (TypeError, ValueError) as exc:
        raise RadioOptionError(f"radio options {options}: {exc}") from exc
    try:
        yield PrivateRadio({"AIOBLE_RADIO": server.address, **_capture_env(capture)}, server)
    finally:
        await server.close()


@asynccontextmanager
async def rootcanal_radio(capture: str | None = None) -> AsyncIterator[PrivateRadio]:
    """A private rootcanal controller; each process connecting gets its own controller."""
    import bleradio

    async with bleradio.rootcanal() as rootcanal:
        yield PrivateRadio({"AIOBLE_TRANSPORT": rootcanal.hci_transport, **_capture_env(capture)})


def radio_provider(
    radio: str | RadioProvider, *, capture: str | None = None, **options: Any
) -> RadioProvider:
    """The provider for a kind of radio ("virtual", "rootcanal"), or `radio` itself;
    `capture`: a directory for the capture files (see the module docstring)."""
    if callable(radio):
        return radio
    if radio == "virtual":
        return lambda: virtual_radio(capture=capture, **options)
    if radio == "rootcanal":
        if options:
            raise RadioOptionError(f"rootcanal takes no radio options (got {sorted(options)})")
        return lambda: rootcanal_radio(capture)
    raise ValueError(f"unknown radio {radio!r} (expected one of {', '.join(KINDS)})")


def parse_radio_option(text: str) -> tuple[str, bool | int | float | str]:
    """`KEY=VALUE` from the command line into a keyword argument of `bleradio.serve`:
    true/false/yes/no become bools, numbers become int or float, anything else a str."""
    key, sep, value = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise ValueError(f"radio option {text!r}: expected KEY=VALUE")
    value = value.strip()
    lowered = value.lower()
    if lowered in ("true", "yes", "on"):
        return key, True
    if lowered in ("false", "no", "off"):
        return key, False
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, value
