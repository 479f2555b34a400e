"""The stack thread: one asyncio loop per process that owns every Bumble object.

BLE methods are synchronous and may be called from any thread (the program's main thread, its
event loop, an IRQ handler). They hand work to this loop and wait for the answer; the loop
itself never waits on another thread, so the stack keeps answering peers however the program
blocks.

Thread: ``call``, ``run`` and ``post`` from any thread; the loop and what it runs on the
stack thread (``_threads`` knows which thread that is).
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import vclock

from ._cpu import pin_from_env
from ._threads import set_stack_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _Reply:
    """A one-shot slot the stack thread fills and a caller thread waits on (cheaper than
    concurrent.futures.Future, which this path crosses for every BLE call)."""

    __slots__ = ("_lock", "value", "error", "ready", "on_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.value: Any = None
        self.error: BaseException | None = None
        self.ready = False
        # Called (on the stack thread) once set: for a waiter that also waits for other
        # things (an IRQ thread answering questions while its handler's call waits).
        self.on_set: Callable[[], None] | None = None

    def set(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error
        self.ready = True
        self._lock.release()
        on_set = self.on_set
        if on_set is not None:
            on_set()

    def wait(self, timeout: float) -> Any:
        if not self._lock.acquire(timeout=timeout):
            raise OSError(errno.ETIMEDOUT, "the Bluetooth stack did not answer (ETIMEDOUT)")
        if self.error is not None:
            raise self.error
        return self.value


class _StackLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
    """The stack's loop: asyncio's, with a cheaper wake-up from another thread."""

    def _read_from_self(self) -> None:
        # One recv, not asyncio's loop of them until EAGAIN: the self-pipe is level-triggered,
        # so bytes left (posts that came meanwhile) wake the next select at once. What this
        # saves is the failing recv of every wake-up (an exception, with its errno string),
        # and a GIL release on a read's path, where another thread is waiting for it.
        try:
            data = self._ssock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        if data:
            self._process_self_data(data)


class StackThread:
    """The process's stack loop, started on first use."""

    _instance: StackThread | None = None
    _instance_lock = threading.Lock()

    # Generous: a call only waits this long if the stack is wedged (or a controller on a
    # slow transport is resetting); normal calls answer in microseconds.
    CALL_TIMEOUT = 30.0

    def __init__(self) -> None:
        pin_from_env()  # AIOBLE_CPU: before the thread starts, which then inherits it
        self.loop = _StackLoop()
        self._ready = threading.Event()
        self._shutdown_hooks: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.thread = vclock.enlist(
            threading.Thread(target=self._run, name="bluetooth-stack", daemon=True)
        )
        self.thread.start()
        self._ready.wait()
        atexit.register(self._at_exit)

    @classmethod
    def get(cls) -> StackThread:
        instance = cls._instance
        if instance is None:
            with cls._instance_lock:
                instance = cls._instance
                if instance is None:
                    instance = cls._instance = StackThread()
        return instance

    def _run(self) -> None:
        set_stack_thread(threading.get_ident())
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def in_stack_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on the stack loop and return its result (or raise its error)."""
        if self.in_stack_thread():
            return fn(*args)
        reply = _Reply()

        def run() -> None:
            try:
                value = fn(*args)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                reply.set(error=error)
            else:
                reply.set(value)

        self.loop.call_soon_threadsafe(run)
        return reply.wait(self.CALL_TIMEOUT if timeout is None else timeout)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        timeout: float | None = None,
        wait: Callable[[_Reply, float], Any] | None = None,
    ) -> T:
        """Run a coroutine on the stack loop and wait for its result (with ``wait(reply,
        timeout)`` instead of a plain wait, if given)."""
        if self.in_stack_thread():
            coro.close()
            raise RuntimeError("a blocking BLE call cannot be made from the stack thread")
        reply = _Reply()

        def start() -> None:
            task = self.loop.create_task(coro)

            def done(task: asyncio.Task[T]) -> None:
                if task.cancelled():
                    reply.set(error=OSError(errno.ECANCELED, "operation cancelled (ECANCELED)"))
                elif (error := task.exception()) is not None:
                    reply.set(error=error)
                else:
                    reply.set(task.result())

            task.add_done_callback(done)

        self.loop.call_soon_threadsafe(start)
        if wait is not None:
            return wait(reply, self.CALL_TIMEOUT if timeout is None else timeout)
        return reply.wait(self.CALL_TIMEOUT if timeout is None else timeout)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the stack loop without waiting."""
        self.loop.call_soon_threadsafe(fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a task on the stack loop (stack thread only); its failure is logged."""
        task = self.loop.create_task(coro)
        task.add_done_callback(_log_failure)
        return task

    def on_shutdown(self, hook: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._shutdown_hooks.append(hook)

    def remove_shutdown(self, hook: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Forget a hook (a radio closed early: the list must not keep it alive)."""
        try:
            self._shutdown_hooks.remove(hook)
        except ValueError:
            pass

    def _at_exit(self) -> None:
        """At interpreter exit, let each radio power down cleanly (peers see a proper
        disconnect, shared radios see the controller leave) before the thread dies."""
        hooks, self._shutdown_hooks = self._shutdown_hooks, []
        for hook in hooks:
            try:
                self.run(hook(), timeout=5.0)
            except Exception:  # noqa: BLE001 - exiting anyway
                logger.debug("shutdown hook failed", exc_info=True)
        try:
            self.run(_cancel_pending(), timeout=5.0)
        except Exception:  # noqa: BLE001 - exiting anyway
            logger.debug("cancelling the stack's tasks failed", exc_info=True)


async def _cancel_pending() -> None:
    """Cancel the stack loop's tasks still pending at exit (an L2CAP disconnect awaiting a
    peer that is gone, say), and let them unwind: a task the interpreter destroys pending
    prints "Task was destroyed but it is pending!" into the program's output."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2.0)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("bluetooth stack task failed", exc_info=error)
