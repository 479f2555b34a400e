"""config_from_env: which radio a process drives."""

from __future__ import annotations

import pytest

from bleradio import RadioConfig, config_from_env
from bleradio.air.medium import MediumOptions


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, RadioConfig("virtual")),
        ({"AIOBLE_RADIO": "127.0.0.1:5555"}, RadioConfig("shared", address="127.0.0.1:5555")),
        ({"AIOBLE_RADIO": " localhost:1 "}, RadioConfig("shared", address="localhost:1")),
        ({"AIOBLE_RADIO": "[::1]:6000"}, RadioConfig("shared", address="[::1]:6000")),
        ({"AIOBLE_TRANSPORT": "usb:0"}, RadioConfig("hci", transport="usb:0")),
        (
            {"AIOBLE_TRANSPORT": "serial:/dev/ttyACM0"},
            RadioConfig("hci", transport="serial:/dev/ttyACM0"),
        ),
        (
            {"AIOBLE_TRANSPORT": "tcp-client:127.0.0.1:9000"},
            RadioConfig("hci", transport="tcp-client:127.0.0.1:9000"),
        ),
        ({"AIOBLE_RADIO": "", "AIOBLE_TRANSPORT": ""}, RadioConfig("virtual")),
    ],
)
def test_config_from_env(environ: dict[str, str], expected: RadioConfig) -> None:
    assert config_from_env(environ) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"AIOBLE_RADIO": "1:2", "AIOBLE_TRANSPORT": "usb:0"},
            "both AIOBLE_TRANSPORT and AIOBLE_RADIO",
        ),
        ({"AIOBLE_RADIO": "nohost"}, "AIOBLE_RADIO='nohost': expected HOST:PORT"),
        ({"AIOBLE_RADIO": "127.0.0.1:port"}, "AIOBLE_RADIO=.*not a number"),
        ({"AIOBLE_RADIO": "127.0.0.1:70000"}, "AIOBLE_RADIO=.*out of range"),
        ({"AIOBLE_RADIO": ":5555"}, "AIOBLE_RADIO"),
        ({"AIOBLE_TRANSPORT": ":0"}, "AIOBLE_TRANSPORT"),
        ({"AIOBLE_TRANSPORT": "tcp-client:nowhere"}, "AIOBLE_TRANSPORT"),
    ],
)
def test_config_errors_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_env(environ)


def test_radio_config_checks_itself() -> None:
    with pytest.raises(ValueError):
        RadioConfig("shared")
    with pytest.raises(ValueError):
        RadioConfig("hci")
    with pytest.raises(ValueError):
        RadioConfig("bogus")  # type: ignore[arg-type]


def test_medium_options_from_env() -> None:
    assert MediumOptions.from_env({}).fast is False  # air time is the default
    assert MediumOptions.from_env({"AIOBLE_RADIO_FAST": "1"}).fast is True
    assert MediumOptions.from_env({"AIOBLE_RADIO_SEED": "3"}).seed == 3
    assert MediumOptions.from_env({"AIOBLE_RADIO_FAST": "0"}).fast is False
    with pytest.raises(ValueError, match="AIOBLE_RADIO_FAST"):
        MediumOptions.from_env({"AIOBLE_RADIO_FAST": "maybe"})
