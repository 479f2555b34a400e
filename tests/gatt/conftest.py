"""The GATT cores driven directly: no radio, no Bumble, no threads (``bluetooth._gatts`` and
``bluetooth._gattc`` take PDUs and calls, and hand back PDUs and events)."""

from __future__ import annotations

from typing import Any

import pytest

from bluetooth import UUID
from bluetooth._conn import Connection
from bluetooth._gattc import GattClient
from bluetooth._gatts import GattServer
from bluetooth._gatts_db import GattDatabase

FLAG_READ, FLAG_WRITE_NO_RESPONSE, FLAG_WRITE = 0x02, 0x04, 0x08
FLAG_NOTIFY, FLAG_INDICATE = 0x10, 0x20
FLAG_READ_ENCRYPTED, FLAG_READ_AUTHENTICATED, FLAG_WRITE_ENCRYPTED = 0x200, 0x400, 0x1000

# The table every server test serves (handles as on a board: GAP 1-5, GATT 6-9, then ours).
SERVICES = (
    (
        UUID(0x1234),
        (
            (UUID(0xAA01), FLAG_READ | FLAG_NOTIFY),  # 11 decl, 12 value, 13 CCCD
            (UUID(0xAA02), FLAG_WRITE | FLAG_WRITE_NO_RESPONSE),  # 14, 15
            (UUID(0xAA03), FLAG_READ | FLAG_WRITE | FLAG_READ_ENCRYPTED | FLAG_WRITE_ENCRYPTED),
            (UUID(0xAA04), FLAG_READ | FLAG_READ_AUTHENTICATED),  # 18, 19
            # 20 decl, 21 value, 22 CCCD, 23 a readable descriptor
            (UUID(0xAA05), FLAG_READ | FLAG_INDICATE, ((UUID(0x2901), 0x01),)),
        ),
    ),
)
HANDLES = ((12, 15, 17, 19, 21, 23),)
READ_NOTIFY, WRITE, ENCRYPTED, AUTHENTICATED, INDICATE, DESCRIPTOR = HANDLES[0]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Hooks:
    """What a core hands out, recorded: PDUs sent, events, READ_REQUEST questions, wake-ups."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.events: list[tuple[int, tuple[Any, ...]]] = []
        self.snapshots: list[tuple[int, bytes] | None] = []
        self.asked: list[int] = []
        self.answers: dict[int, int | None] = {}  # handle -> status (None: answered later)
        self.wakes: list[float] = []
        self.preferred_mtu = 256

    def send(self, conn: Connection, pdu: bytes) -> None:
        self.sent.append(pdu)

    def emit(
        self, event: int, data: tuple[Any, ...], snapshot: tuple[int, bytes] | None = None
    ) -> None:
        self.events.append((event, data))
        self.snapshots.append(snapshot)

    def read_request(self, conn: Connection, handle: int) -> int | None:
        self.asked.append(handle)
        return self.answers.get(handle, 0)

    def wake_at(self, conn: Connection, when: float) -> None:
        self.wakes.append(when)

    def take(self) -> tuple[list[bytes], list[tuple[int, tuple[Any, ...]]]]:
        """What was sent and emitted since the last take."""
        sent, events = self.sent, self.events
        self.sent, self.events, self.snapshots = [], [], []
        return sent, events


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def conn() -> Connection:
    return Connection(0, False, 0, bytes(6))


@pytest.fixture
def db() -> GattDatabase:
    db = GattDatabase()
    assert db.register(SERVICES) == HANDLES
    return db


@pytest.fixture
def server(db: GattDatabase, hooks: Hooks, clock: Clock) -> GattServer:
    return GattServer(db, hooks, clock)


@pytest.fixture
def client(hooks: Hooks, clock: Clock) -> GattClient:
    return GattClient(hooks, clock)
