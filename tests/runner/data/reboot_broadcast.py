# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# A broadcast sent while an instance resets (after its WAIT_FOR_REBOOT, before its resume
# runs) is held for the resumed instance, not lost with the old process.
import machine


def instance0():
    multitest.next()
    multitest.expect_reboot("resume0", 0)
    multitest.broadcast("resetting")
    machine.reset()


def resume0():
    multitest.wait("during reset")
    print("resume0 got the broadcast sent during the reset")


def instance1():
    multitest.next()
    multitest.wait("resetting")
    multitest.broadcast("during reset")
    print("instance1 sent it")
