"""Google's rootcanal (PyPI ``rootcanal``) as a supervised child process on loopback.

    async with RootCanal() as rc:
        transport = await open_hci(RadioConfig("hci", transport=rc.hci_transport))

or, from a pytest fixture, ``rc = RootCanal(); rc.start(); ...; rc.stop()``.

Each TCP connection to the HCI port gets a new controller; all share one LE link. The
binary is run directly where the package ships it (``python -m rootcanal`` is the fallback,
whose wrapper process would survive a kill of its child: hence a process group of its own,
stopped whole on exit). It listens on every interface (it has no option to bind loopback
only).

Quirks this module and its callers rely on (rootcanal 1.10.0, the newest that runs on glibc
2.36; 1.12+ need glibc 2.38): it writes each H4 packet in two `send()` calls without
TCP_NODELAY, so a host re-arms TCP_QUICKACK after every receive (else ~40 ms per packet);
a malformed HCI command from any host, or a test-port client that drops abruptly, aborts it
for everyone (so it is supervised, and a lost transport is an infrastructure failure); it
has no LE Set Data Length and no key-compare confirmation; its simulation advances on a
5 ms tick, ignoring interval, PHY, data length and scan window (no energy or timing
figures); a killed host's peer gets Disconnection Complete 0x15 within ~7 ms.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

logger = logging.getLogger(__name__)


class RootCanalError(RuntimeError):
    """rootcanal is not installed, did not start, or died."""


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _binary() -> list[str]:
    try:
        import rootcanal.binaries  # type: ignore[import-untyped]
    except ImportError as error:
        raise RootCanalError(
            "rootcanal is not installed (pip install rootcanal==1.10.0)"
        ) from error
    path = rootcanal.binaries.get_package_binary_resource_path("rootcanal")
    if os.path.exists(path):
        return [path]
    return [sys.executable, "-m", "rootcanal"]


def _listening(port: int) -> bool:
    """Is something listening on ``port``? Read from /proc (connecting would make a controller)."""
    found_proc = False
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as table:
                found_proc = True
                next(table)
                for line in table:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    if found_proc:
        return False
    try:  # no /proc: a connection is the only way to know
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class RootCanal:
    """A rootcanal process: ``start()``/``stop()``, or ``async with``."""

    def __init__(self, *, startup_timeout: float = 10.0, log_path: str | None = None) -> None:
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[Any] | None = None
        self.hci_port = self.test_port = self.link_port = self.link_ble_port = 0

    @property
    def hci_transport(self) -> str:
        """The Bumble transport spec of its HCI port."""
        return f"tcp-client:127.0.0.1:{self.hci_port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> RootCanal:
        if self.process is not None:
            raise RootCanalError("rootcanal already started")
        self.hci_port, self.test_port, self.link_port, self.link_ble_port = _free_ports(4)
        command = _binary() + [
            f"--hci_port={self.hci_port}",
            f"--test_port={self.test_port}",
            f"--link_port={self.link_port}",
            f"--link_ble_port={self.link_ble_port}",
        ]
        if self.log_path:
            self._log = open(self.log_path, "wb")
        else:
            self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not _listening(self.hci_port):
            if self.process.poll() is not None:
                output = self.output()
                self.stop()
                raise RootCanalError(f"rootcanal exited at start:\n{output[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RootCanalError(
                    f"rootcanal did not listen on port {self.hci_port} "
                    f"within {self.startup_timeout} s"
                )
            time.sleep(0.02)
        logger.info("rootcanal (pid %d) on %s", self.process.pid, self.hci_transport)
        return self

    def output(self) -> str:
        """What rootcanal printed so far."""
        if self._log is None:
            return ""
        try:
            self._log.flush()
            if self.log_path:
                with open(self.log_path, "rb") as log:
                    return log.read().decode(errors="replace")
            self._log.seek(0)
            return self._log.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RootCanal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> RootCanal:
        await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # (stop waits for the process: not on the event loop)
        await asyncio.get_running_loop().run_in_executor(None, self.stop)


class _CallableModule(sys.modules[__name__].__class__):  # type: ignore[misc]
    """``bleradio.rootcanal(...)`` is ``RootCanal(...)``: the module doubles as the factory."""

    def __call__(self, **kwargs: Any) -> RootCanal:
        return RootCanal(**kwargs)


sys.modules[__name__].__class__ = _CallableModule
