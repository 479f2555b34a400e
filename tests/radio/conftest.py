from __future__ import annotations

import pytest

from .helpers import Radio


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
