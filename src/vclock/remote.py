"""One simulated clock across processes: the master decides every jump.

The master is the clock of the process that serves the shared radio (the runner of
``aioble run --virtual-time``). It listens on a loopback control port; each program's process
connects (``AIOBLE_VIRTUAL_TIME=HOST:PORT/NAME``), follows the master's offset and, whenever
all its participants are parked, reports its earliest deadline and how many bytes of HCI it
has taken from and given to the radio. The master jumps only when its own participants are
parked, every program it expects has reported idle, and the radio has taken every byte each
program gave it and each program every byte the radio sent (nothing in flight). It then sends
the new offset to every program and waits for each to apply it before its own participants
(the radio) run on, so a program never sees the radio's next packet at the old time.

Lines on the control connection (text, one per message):

- program -> master: ``H NAME`` (hello), ``I DEADLINE RX TX`` (idle; ``-`` for no deadline),
  ``A`` (the offset is applied);
- master -> program: ``T OFFSET`` (the offset: after the hello, and after each jump).
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field

from .clock import Clock

logger = logging.getLogger(__name__)

ACK_TIMEOUT = 10.0  # real seconds a jump waits for a program to apply it


@dataclass
class Traffic:
    """Bytes of HCI between one process and the radio: ``sent`` by the radio and
    ``received`` by it (the radio's side), or ``rx``/``tx`` as the program counts them."""

    sent: int = 0
    received: int = 0


# A program's own count of its HCI bytes (all its radios): rx taken, tx given.
program_traffic = Traffic()


@dataclass
class _Remote:
    name: str
    traffic: Traffic = field(default_factory=Traffic)
    sock: socket.socket | None = None
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    idle: bool = False
    held: bool = False  # counted as running whatever it reports (hold)
    deadline: float | None = None
    rx: int = 0
    tx: int = 0
    acked: threading.Event = field(default_factory=threading.Event)


class Master:
    """The clock master's side of the control connections (a ``Coordinator``)."""

    def __init__(self, clock: Clock, host: str = "127.0.0.1") -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._remotes: dict[str, _Remote] = {}
        self._listener = socket.create_server((host, 0))
        listen_host, listen_port = self._listener.getsockname()[:2]
        self.address = f"{listen_host}:{listen_port}"
        threading.Thread(target=self._accept, name="vclock-master", daemon=True).start()
        clock.coordinator = self

    # --- the programs expected ------------------------------------------------------------

    def expect(self, name: str) -> str:
        """A program about to start: the clock waits for it (as running) until it reports;
        returns the value of ``AIOBLE_VIRTUAL_TIME`` for it."""
        with self._lock:
            if name not in self._remotes:
                self._remotes[name] = _Remote(name)
        return f"{self.address}/{name}"

    def forget(self, name: str) -> None:
        """The program's process ended (until then, a program whose control connection
        closed counts as running: it may be restarting)."""
        with self._lock:
            remote = self._remotes.pop(name, None)
        if remote is not None and remote.sock is not None:
            remote.acked.set()
            try:
                remote.sock.close()
            except OSError:
                pass
        self.clock.kick()

    def hold(self, name: str) -> None:
        """Count the program as running until its process ends (the runner is about to stop
        it by a way the clock does not see: a signal; its shutdown then runs in wall time)."""
        with self._lock:
            remote = self._remotes.get(name)
            if remote is not None:
                remote.held = True
                remote.idle = False

    def traffic(self, name: str) -> Traffic:
        """The radio's count of its bytes to and from the program ``name`` (a new count for a
        name the master does not expect: such a process is not waited for)."""
        with self._lock:
            remote = self._remotes.get(name)
            return remote.traffic if remote is not None else Traffic()

    # --- Coordinator -------------------------------------------------------------------------

    def idle(self) -> tuple[bool, float | None]:
        earliest: float | None = None
        with self._lock:
            for remote in self._remotes.values():
                if not remote.idle:
                    return False, None
                if remote.rx != remote.traffic.sent or remote.tx != remote.traffic.received:
                    return False, None
                if remote.deadline is not None and (earliest is None or remote.deadline < earliest):
                    earliest = remote.deadline
        return True, earliest

    def jumped(self, offset: float, now: float) -> None:
        with self._lock:
            remotes = [r for r in self._remotes.values() if r.sock is not None]
            for remote in remotes:
                if remote.deadline is not None and remote.deadline <= now:
                    remote.idle = False  # it wakes: wait for its next report
                remote.acked.clear()
        line = f"T {offset!r}\n".encode()
        for remote in remotes:
            self._send(remote, line)
        for remote in remotes:
            if not remote.acked.wait(ACK_TIMEOUT) and remote.sock is not None:
                logger.warning("vclock: %s did not apply the clock's jump in time", remote.name)

    # --- connections -------------------------------------------------------------------------

    def _send(self, remote: _Remote, line: bytes) -> None:
        sock = remote.sock
        if sock is None:
            return
        try:
            with remote.send_lock:
                sock.sendall(line)
        except OSError:
            remote.acked.set()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._serve, args=(sock,), name="vclock-master-conn", daemon=True
            ).start()

    def _serve(self, sock: socket.socket) -> None:
        remote: _Remote | None = None
        try:
            for line in sock.makefile("rb"):
                words = line.split()
                if not words:
                    continue
                kind = words[0]
                if kind == b"H" and remote is None:
                    name = words[1].decode()
                    with self._lock:
                        remote = self._remotes.setdefault(name, _Remote(name))
                        # A new process under this name (the first, or one that a deep sleep
                        # restarted) counts its bytes afresh, on connections it opens from now.
                        remote.traffic = Traffic()
                        remote.sock = sock
                        offset = self.clock.offset
                    self._send(remote, f"T {offset!r}\n".encode())
                elif kind == b"I" and remote is not None:
                    with self._lock:
                        remote.deadline = None if words[1] == b"-" else float(words[1])
                        remote.rx = int(words[2])
                        remote.tx = int(words[3])
                        remote.idle = not remote.held
                    self.clock.kick()
                elif kind == b"A" and remote is not None:
                    remote.acked.set()
        except (OSError, ValueError, IndexError) as exc:
            logger.debug("vclock: control connection ended: %s", exc)
        finally:
            if remote is not None:
                # Not forgotten: a process that restarts (deep sleep) says hello again; the
                # runner forgets a program whose process has ended.
                with self._lock:
                    remote.sock = None
                    remote.idle = False
                remote.acked.set()
            sock.close()


class Client:
    """A program's side: follow the master's offset, report when idle (a ``Reporter``)."""

    def __init__(self, clock: Clock, address: str, name: str) -> None:
        host, _, port = address.rpartition(":")
        self.clock = clock
        self._sock = socket.create_connection((host, int(port)))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send_lock = threading.Lock()
        self._last: tuple[float | None, int, int] | None = None
        self._lines = self._sock.makefile("rb")
        self._send(f"H {name}\n".encode())
        first = self._lines.readline().split()
        if len(first) != 2 or first[0] != b"T":
            raise ConnectionError(f"the clock master at {address} did not answer")
        clock.set_offset(float(first[1]))
        clock.reporter = self
        threading.Thread(target=self._read, name="vclock-client", daemon=True).start()

    def _send(self, line: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(line)

    def report(self, deadline: float | None) -> None:
        state = (deadline, program_traffic.received, program_traffic.sent)
        if state == self._last:
            return
        self._last = state
        text = "-" if deadline is None else repr(deadline)
        try:
            self._send(f"I {text} {state[1]} {state[2]}\n".encode())
        except OSError:
            pass  # the master is gone (the run is ending)

    def _read(self) -> None:
        try:
            for line in self._lines:
                words = line.split()
                if words and words[0] == b"T":
                    self._last = None  # report again after every jump
                    self.clock.set_offset(float(words[1]))
                    self._send(b"A\n")
        except (OSError, ValueError):
            pass
