# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
def instance0():
    multitest.skip()


def instance1():
    print("never reached")
