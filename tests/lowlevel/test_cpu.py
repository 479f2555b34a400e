"""AIOBLE_CPU: the whole process on one core, on request; a bad value is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bluetooth._cpu import cpus_from_env

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="this system cannot pin threads"
)

ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


@pytest.mark.parametrize("value", ["", " ", "all"])
def test_unset_or_all_changes_nothing(value: str) -> None:
    assert cpus_from_env({"AIOBLE_CPU": value}) is None
    assert cpus_from_env({}) is None


def test_a_core_number_or_auto_is_one_allowed_core() -> None:
    assert cpus_from_env({"AIOBLE_CPU": str(ALLOWED[-1])}) == {ALLOWED[-1]}
    (core,) = cpus_from_env({"AIOBLE_CPU": "auto"}) or {-1}
    assert core in ALLOWED


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fast", "AIOBLE_CPU='fast': expected auto, all or a core number"),
        ("4096", "AIOBLE_CPU='4096': this process may use"),
        ("-1", "AIOBLE_CPU='-1': this process may use"),
    ],
)
def test_a_bad_value_names_the_variable(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cpus_from_env({"AIOBLE_CPU": value})


PROGRAM = """
import os, threading, bluetooth
started = threading.Event()
before = threading.Thread(target=started.wait, daemon=True)  # a thread the program had
before.start()
ble = bluetooth.BLE()
ble.active(True)
def allowed(tid):
    with open(f"/proc/self/task/{tid}/status") as status:
        line = next(l for l in status if l.startswith("Cpus_allowed_list"))
    return line.split()[1]
print(sorted({allowed(tid) for tid in os.listdir("/proc/self/task")}))
print(sorted({os.sched_getscheduler(int(tid)) for tid in os.listdir("/proc/self/task")}))
started.set()
"""


def _run(value: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIOBLE_CPU": value}
    return subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux's /proc")
def test_every_thread_of_the_process_moves_to_the_core() -> None:
    core = ALLOWED[-1]
    result = _run(str(core))
    assert result.returncode == 0, result.stderr
    # the main thread, the thread it had started, the stack thread and the rest: one core,
    # as batch threads (a woken thread does not preempt the running one)
    cores, policies = result.stdout.splitlines()
    assert cores == str([str(core)])
    if hasattr(os, "SCHED_BATCH"):
        assert policies == str([os.SCHED_BATCH])


def test_a_bad_value_stops_the_first_radio_with_its_message() -> None:
    result = _run("many")
    assert result.returncode == 1
    assert "ValueError: AIOBLE_CPU='many': expected auto, all or a core number" in result.stderr
