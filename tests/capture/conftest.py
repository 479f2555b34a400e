from __future__ import annotations

from collections.abc import Iterator

import pytest

from bleradio.rootcanal import RootCanal, RootCanalError


@pytest.fixture(scope="module")
def rootcanal() -> Iterator[RootCanal]:
    instance = RootCanal()
    try:
        instance.start()
    except RootCanalError as error:
        pytest.skip(f"rootcanal unavailable: {error}")
    yield instance
    instance.stop()
