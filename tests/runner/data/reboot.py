# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# expect_reboot: the instance resets, and the runner starts resume0() in its place.
import machine


def instance0():
    multitest.expect_reboot("resume0", 50)
    print("resetting")
    machine.reset()
    print("not reached")


def resume0():
    print("resumed")
