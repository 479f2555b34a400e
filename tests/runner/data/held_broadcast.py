# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# instance0 broadcasts right after its NEXT, before the others have started: the runner
# holds the message (MicroPython's runner reads it only once every instance has started)
# and both later instances get it.
def instance0():
    multitest.next()
    multitest.broadcast("from0")
    multitest.wait("from2")
    print("instance0 got from2")


def instance1():
    multitest.next()
    multitest.wait("from0")
    print("instance1 got from0")


def instance2():
    multitest.next()
    multitest.wait("from0")
    print("instance2 got from0")
    multitest.broadcast("from2")
