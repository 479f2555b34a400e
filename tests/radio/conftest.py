from __future__ import annotations

from collections.abc import Iterator

import pytest

from bleradio.rootcanal import RootCanal, RootCanalError

from .helpers import Radio


@pytest.fixture(scope="session")
def rootcanal() -> Iterator[RootCanal]:
    instance = RootCanal()
    try:
        instance.start()
    except RootCanalError as error:
        pytest.skip(f"rootcanal unavailable: {error}")
    yield instance
    instance.stop()


@pytest.fixture(params=["virtual", "rootcanal"])
def radio(request: pytest.FixtureRequest) -> Radio:
    if request.param == "virtual":
        return Radio("virtual")
    instance = request.getfixturevalue("rootcanal")
    if not instance.alive:
        pytest.fail("rootcanal died during the session:\n" + instance.output()[-2000:])
    return Radio("rootcanal", instance.hci_transport)


@pytest.fixture
def virtual() -> Radio:
    return Radio("virtual")
