"""Which thread runs what, checked.

Every module of this package says once, in its docstring, which thread runs its code. The
stack-side entry points (what the program's threads post or call onto the stack loop, and
what Bumble calls back) are marked ``@stack_side``. With ``BLUETOOTH_CHECK_THREADS=1`` in
the environment when ``bluetooth`` is imported (the test suite sets it), a marked function
run on any other thread raises ``AssertionError`` naming it (a coroutine function: when its
coroutine starts running); otherwise the mark costs nothing (the function is returned as
it is).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

CHECKING = os.environ.get("BLUETOOTH_CHECK_THREADS", "") not in ("", "0")

_stack_ident = 0  # the stack thread's ident, once it runs


def set_stack_thread(ident: int) -> None:
    """Record the stack thread (called by it when it starts)."""
    global _stack_ident
    _stack_ident = ident


def on_stack_thread() -> bool:
    return threading.get_ident() == _stack_ident


def stack_side(function: Callable[P, R]) -> Callable[P, R]:
    """Mark ``function`` as stack-thread code (checked when CHECKING)."""
    if not CHECKING:
        return function
    if inspect.iscoroutinefunction(function):
        # (the coroutine may be made on a program's thread: it must run on the stack's)
        @functools.wraps(function)
        async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
            _check(function)
            return await function(*args, **kwargs)

        return checked_coroutine  # type: ignore[return-value]

    @functools.wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        _check(function)
        return function(*args, **kwargs)

    return checked


def _check(function: Callable[..., Any]) -> None:
    if threading.get_ident() != _stack_ident:
        raise AssertionError(
            f"{function.__qualname__} runs on the stack thread, "
            f"not on {threading.current_thread().name}"
        )
