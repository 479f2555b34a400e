# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# instance1 waits for a broadcast nobody sends: it times out.
def instance0():
    print("instance0 done")


def instance1():
    print("instance1 waiting")
    multitest.wait("never")
