# ruff: noqa: F821 - `multitest` and the SET globals are injected by the runner
# Metrics are collected apart from the compared output; stderr is merged into it.
import sys


def instance0():
    multitest.output_metric("rate 12.5 ops/s")
    print("on stderr", file=sys.stderr)
    print("done")
