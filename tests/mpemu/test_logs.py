"""`AIOBLE_LOG` (`mpemu.logs`): which records a program's process writes to stderr."""

from __future__ import annotations

import logging

import pytest

from mpemu import logs


@pytest.mark.parametrize(
    ("spec", "root", "loggers"),
    [
        ("", None, {}),
        ("debug", logging.DEBUG, {"bumble": logging.INFO, "bluetooth._quiet_host": logging.INFO}),
        (
            "DEBUG,bumble=DEBUG",
            logging.DEBUG,
            {"bumble": logging.DEBUG, "bluetooth._quiet_host": logging.INFO},
        ),
        ("info", logging.INFO, {}),
        ("WARNING, mpemu.machine=debug", logging.WARNING, {"mpemu.machine": logging.DEBUG}),
        ("mpemu.machine=DEBUG", None, {"mpemu.machine": logging.DEBUG}),
    ],
)
def test_specs(spec: str, root: int | None, loggers: dict[str, int]) -> None:
    assert logs.parse(spec) == (root, loggers)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("loud", "'loud' is no log level"), ("=DEBUG", "names no logger"), ("x=", "'' is no")],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(logs.LogSpecError, match=message):
        logs.parse(spec)
