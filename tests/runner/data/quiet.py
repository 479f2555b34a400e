# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# instance0 prints nothing: its block in the output is its header and an empty line.
def instance0():
    multitest.next()
    multitest.wait("done")


def instance1():
    multitest.next()
    print("instance1 done")
    multitest.broadcast("done")
