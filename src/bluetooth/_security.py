"""Pairing, bonding and passkeys (SMP through Bumble) with MicroPython's IRQ interface.

- The program keeps the bonds: Bumble's key store is backed by GET_SECRET / SET_SECRET, so a
  program (aioble.security) decides where they live. Bonds are also kept in memory for the
  life of the radio, so a program that stores nothing (no handler, or one returning None)
  still re-encrypts until it exits. A SET_SECRET handler returning False means "not stored",
  as on MicroPython: that bond is forgotten once its link ends.
- Passkeys go through PASSKEY_ACTION and ``gap_passkey``: the program shows the passkey it
  chose (DISPLAY), types the one the peer shows (INPUT) or confirms a number
  (NUMERIC_COMPARISON).
- ENCRYPTION_UPDATE reports the link's security once pairing ends (or fails), and on each
  re-encryption with a stored bond.

The module reaches the radio only through ``SecurityHooks`` (the host implements them).

Thread: the stack thread.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import secrets
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from bumble.keys import KeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate

from . import _events as ev
from ._threads import stack_side

if TYPE_CHECKING:
    from bumble.device import Device

    from ._conn import Connection
    from ._settings import Settings

logger = logging.getLogger(__name__)

PASSKEY_NONE, PASSKEY_INPUT, PASSKEY_DISPLAY, PASSKEY_NUMERIC_COMPARISON = 0, 2, 3, 4
SECRET_TYPE = 2  # a peer's keys (NimBLE's BLE_STORE_OBJ_TYPE_PEER_SEC)
PASSKEY_TIMEOUT = 30.0  # SMP's own timeout: a prompt nobody answers fails the pairing


class SecurityHooks(Protocol):
    device: Device | None  # the radio's Bumble Device while it is on
    settings: Settings

    @property
    def public_identity(self) -> bool: ...  # we pair with our public address as identity
    @property
    def has_handler(self) -> bool: ...  # a program's IRQ handler is set
    def connection(self, handle: int) -> Connection | None: ...
    def emit(self, event: int, data: tuple[Any, ...]) -> None: ...
    async def ask(self, event: int, data: tuple[Any, ...], default: Any) -> Any: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any: ...


class SecretStore(KeyStore):
    """Bumble's key store, kept by the program through GET_SECRET / SET_SECRET. A record's
    key is the peer's identity address (as Bumble names it); its value is JSON."""

    def __init__(self, hooks: SecurityHooks) -> None:
        self.hooks = hooks
        self.cache: dict[str, PairingKeys] = {}

    @staticmethod
    def _encode(name: str, keys: PairingKeys) -> bytes:
        return json.dumps({"name": name, "keys": keys.to_dict()}, sort_keys=True).encode()

    @staticmethod
    def _decode(value: Any) -> tuple[str, PairingKeys] | None:
        try:
            record = json.loads(bytes(value))
            return record["name"], PairingKeys.from_dict(record["keys"])
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            logger.warning("bluetooth: ignoring a stored secret that is not ours: %s", error)
            return None

    async def update(self, name: str, keys: PairingKeys) -> None:
        if not self.hooks.settings.bond:
            return  # no bonding asked for: the keys die with the link, as on NimBLE
        self.cache[name] = keys
        stored = await self.hooks.ask(
            ev.SET_SECRET, (SECRET_TYPE, name.encode(), self._encode(name, keys)), None
        )
        if stored is not None and not stored:
            # The program said "not stored" (MicroPython's meaning of a False return; aioble
            # says so when its secrets file cannot be written): the bond is not kept, so the
            # link stays encrypted but the next one pairs again, as on a board.
            self.cache.pop(name, None)
            logger.warning("bluetooth: bond with %s not stored (SET_SECRET returned False)", name)
        elif not stored:
            # No handler, or one that does not keep secrets (None): kept in memory for the
            # life of the radio (see the module docstring).
            logger.info("bluetooth: bond with %s kept in memory only (SET_SECRET declined)", name)

    async def get(self, name: str) -> PairingKeys | None:
        if name in self.cache:
            return self.cache[name]
        value = await self.hooks.ask(ev.GET_SECRET, (SECRET_TYPE, 0, name.encode()), None)
        if value is None:
            return None
        record = self._decode(value)
        if record is None:
            return None
        self.cache[name] = record[1]
        return record[1]

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        found = dict(self.cache)
        index = 0
        while index < 10_000:
            value = await self.hooks.ask(ev.GET_SECRET, (SECRET_TYPE, index, None), None)
            if not isinstance(value, (bytes, bytearray, memoryview)):
                break  # the end (None), or a handler that does not keep secrets
            record = self._decode(value)
            if record is not None:
                found.setdefault(*record)
            index += 1
        return list(found.items())

    async def delete(self, name: str) -> None:
        self.cache.pop(name, None)
        await self.hooks.ask(ev.SET_SECRET, (SECRET_TYPE, name.encode(), None), False)

    async def delete_all(self) -> None:
        for name, _ in await self.get_all():
            await self.delete(name)


class _Delegate(PairingDelegate):
    """Asks the program, through PASSKEY_ACTION, whatever pairing needs a person for."""

    def __init__(self, security: Security, conn: Connection, io: int) -> None:
        super().__init__(io_capability=PairingDelegate.IoCapability(io))
        self.security = security
        self.conn = conn

    async def generate_passkey(self) -> int:
        passkey = await self.security.prompt(self.conn, PASSKEY_DISPLAY, 0)
        if passkey is None:
            return secrets.randbelow(1_000_000)
        return int(passkey) % 1_000_000

    async def get_number(self) -> int | None:
        passkey = await self.security.prompt(self.conn, PASSKEY_INPUT, 0)
        return None if passkey is None else int(passkey) % 1_000_000

    async def compare_numbers(self, number: int, digits: int) -> bool:
        return bool(await self.security.prompt(self.conn, PASSKEY_NUMERIC_COMPARISON, number))


class Security:
    def __init__(self, hooks: SecurityHooks) -> None:
        self.hooks = hooks
        self.store = SecretStore(hooks)
        self._prompts: dict[tuple[int, int], asyncio.Future[Any]] = {}

    def attach(self, device: Any) -> None:
        device.keystore = self.store
        device.pairing_config_factory = self._pairing_config
        device.host.long_term_key_provider = self._long_term_key

    async def _long_term_key(self, connection_handle: int, rand: bytes, ediv: int) -> bytes | None:
        """The key a peripheral answers an LTK request with. Bumble 0.0.236 answers a legacy
        bond with the central's key instead of its own, and a real controller then drops the
        link (MIC failure); this picks the stored key whose EDIV and Rand the central sent."""
        device = self.hooks.device
        if device is None or (link := device.lookup_connection(connection_handle)) is None:
            return None
        ltk = device.smp_manager.get_long_term_key(link, rand, ediv)
        if ltk is not None:
            return ltk
        keys = await self.store.get(str(link.peer_address))
        if keys is None:
            return None
        if keys.ltk is not None:
            return keys.ltk.value
        for key in (keys.ltk_central, keys.ltk_peripheral):
            if key is not None and key.ediv == ediv and (key.rand or bytes(8)) == rand:
                return key.value
        return None

    def _pairing_config(self, link: Any) -> PairingConfig:
        settings = self.hooks.settings
        conn = self.hooks.connection(link.handle)
        public = self.hooks.public_identity
        return PairingConfig(
            sc=settings.le_secure,
            mitm=settings.mitm,
            bonding=settings.bond,
            delegate=_Delegate(self, conn, settings.io) if conn is not None else None,
            identity_address_type=(
                PairingConfig.AddressType.PUBLIC if public else PairingConfig.AddressType.RANDOM
            ),
        )

    def watch(self, conn: Connection) -> None:
        """Follow a new connection's security events."""
        link = conn.link
        link.on(link.EVENT_CONNECTION_ENCRYPTION_CHANGE, lambda: self._encryption_changed(conn))
        link.on(link.EVENT_CONNECTION_ENCRYPTION_FAILURE, lambda error: self._report(conn))
        link.on(link.EVENT_PAIRING_START, lambda: setattr(conn, "pairing", True))
        link.on(link.EVENT_PAIRING, lambda keys: self._paired(conn, keys))
        link.on(link.EVENT_PAIRING_FAILURE, lambda reason: self._pairing_failed(conn, reason))
        link.on(link.EVENT_SECURITY_REQUEST, lambda auth_req: self._security_requested(conn))

    # --- pairing ------------------------------------------------------------------------------

    @stack_side
    async def pair(self, conn: Connection) -> None:
        """``gap_pair``: a central pairs, or re-encrypts with a stored bond; a peripheral asks
        the central to (a Security Request)."""
        device = self.hooks.device
        if device is None or not conn.connected:
            return
        link = conn.link
        if conn.securing or conn.pairing:
            return  # already under way (say, our gap_pair and the peer's Security Request)
        if conn.encrypted:
            # Already secured (Bumble's encrypt() would wait forever for a key refresh event
            # that an encrypted link never sends): report the state as it is.
            self._report(conn)
            return
        if not conn.central:
            device.request_pairing(link)
            return
        # While we secure the link, the events along the way (a failed re-encryption before a
        # new pairing, say) are not reported: one ENCRYPTION_UPDATE says how it ended.
        conn.securing = True
        try:
            if await self.store.get(str(link.peer_address)) is not None:
                try:
                    await device.encrypt(link)
                    return
                except Exception as error:  # noqa: BLE001 - the peer lost the bond: pair anew
                    logger.info("bluetooth: re-encryption failed (%s); pairing again", error)
                    if not conn.connected:
                        return
            await device.pair(link)
        except Exception as error:  # noqa: BLE001 - reported through ENCRYPTION_UPDATE
            logger.info("bluetooth: pairing with %s failed: %s", link.peer_address, error)
        finally:
            conn.securing = False
            self._report(conn)

    def _security_requested(self, conn: Connection) -> None:
        if conn.central:
            self.hooks.spawn(self.pair(conn))

    def _encryption_changed(self, conn: Connection) -> None:
        if conn.pairing:
            return  # reported once pairing completes, with the keys' properties
        keys = self.store.cache.get(str(conn.link.peer_address))
        conn.mitm = _authenticated(keys)
        conn.bonded = keys is not None
        self._report(conn)

    def _session_over(self, conn: Connection) -> None:
        """Bumble 0.0.236 keeps a finished SMP session until the link drops, and hands the
        next Pairing Request on that link to it, which stalls: forget it once it is over."""
        conn.pairing = False
        if (device := self.hooks.device) is not None:
            device.smp_manager.sessions.pop(conn.handle, None)

    def _paired(self, conn: Connection, keys: PairingKeys) -> None:
        self._session_over(conn)
        conn.mitm = _authenticated(keys)
        has_ltk = any(key is not None for key in (keys.ltk, keys.ltk_central, keys.ltk_peripheral))
        conn.bonded = bool(self.hooks.settings.bond) and has_ltk
        self._report(conn)

    def _pairing_failed(self, conn: Connection, reason: int) -> None:
        logger.info(
            "bluetooth: pairing failed on connection %d (SMP reason %d)", conn.handle, reason
        )
        self._session_over(conn)
        self._cancel_prompts(conn)
        self._report(conn)

    def _report(self, conn: Connection) -> None:
        if conn.connected and not conn.securing:
            # Ints, as MicroPython builds them: a program printing these shows 1 0 1, not
            # True False True.
            self.hooks.emit(
                ev.ENCRYPTION_UPDATE,
                (
                    conn.handle,
                    int(conn.encrypted),
                    int(conn.authenticated),
                    int(conn.bonded),
                    conn.key_size,
                ),
            )

    # --- passkeys -------------------------------------------------------------------------------

    async def prompt(self, conn: Connection, action: int, value: int) -> Any:
        """PASSKEY_ACTION, then wait for the program's ``gap_passkey``."""
        if not self.hooks.has_handler:
            return None
        key = (conn.handle, action)
        future = asyncio.get_running_loop().create_future()
        self._prompts[key] = future
        self.hooks.emit(ev.PASSKEY_ACTION, (conn.handle, action, value))
        try:
            return await asyncio.wait_for(future, PASSKEY_TIMEOUT)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # Bumble ended the pairing (the link went): nothing more to send
            return None  # the prompt itself was withdrawn
        finally:
            if self._prompts.get(key) is future:
                del self._prompts[key]

    @stack_side
    def answer(self, conn_handle: int, action: int, passkey: int) -> None:
        """``gap_passkey``."""
        future = self._prompts.get((conn_handle, action))
        if future is None or future.done():
            raise OSError(
                errno.EINVAL,
                f"no passkey request with action {action} is pending on connection {conn_handle} (EINVAL)",
            )
        future.set_result(passkey)

    def connection_gone(self, conn: Connection) -> None:
        self._cancel_prompts(conn)

    def _cancel_prompts(self, conn: Connection) -> None:
        for key in [key for key in self._prompts if key[0] == conn.handle]:
            future = self._prompts.pop(key)
            if not future.done():
                future.set_result(None)


def _authenticated(keys: PairingKeys | None) -> bool:
    if keys is None:
        return False
    return any(
        key is not None and key.authenticated
        for key in (keys.ltk, keys.ltk_central, keys.ltk_peripheral)
    )
