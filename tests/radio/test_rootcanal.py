"""The rootcanal helper: starts on free loopback ports, and leaves nothing behind."""

from __future__ import annotations

import asyncio
import os

import pytest

import bleradio
from bleradio.transport.rootcanal import RootCanal, RootCanalError, _listening


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0); its state says it is dead
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1].startswith("Z")


def test_sync_start_and_stop() -> None:
    try:
        instance = RootCanal().start()
    except RootCanalError as error:
        pytest.skip(str(error))
    assert instance.process is not None
    pid, port = instance.process.pid, instance.hci_port
    assert instance.alive and _listening(port)
    assert instance.hci_transport == f"tcp-client:127.0.0.1:{port}"
    instance.stop()
    assert not instance.alive and _gone(pid)
    assert not _listening(port)


def test_async_context_manager_from_the_module() -> None:
    async def main() -> tuple[int, int]:
        async with bleradio.rootcanal() as instance:
            assert instance.process is not None
            return instance.process.pid, instance.hci_port

    try:
        pid, port = asyncio.run(main())
    except RootCanalError as error:
        pytest.skip(str(error))
    assert _gone(pid) and not _listening(port)
