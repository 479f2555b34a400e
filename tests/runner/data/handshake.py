# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# SET, NEXT and BROADCAST across two instances, run in the test's folder.
import os


def instance0():
    multitest.globals(VALUE=42, NAME="abc")
    multitest.next()
    multitest.wait("hello")
    print("instance0 got hello in", os.path.basename(os.getcwd()))
    multitest.broadcast("bye")


def instance1():
    multitest.next()
    print("instance1 sees", VALUE, NAME)
    multitest.broadcast("hello")
    multitest.wait("bye")
    print("instance1 got bye")
