"""aioble.security: pairing (Just Works, passkey, numeric comparison), protected
characteristics, every exception path, and the secrets file (two radios in one event loop)."""

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from aioble_support import Pair, run, until

import aioble
import bluetooth
from aioble import security

SVC = bluetooth.UUID(0x181A)
OPEN = bluetooth.UUID(0x2A6D)
ENCRYPTED = bluetooth.UUID(0x2A6E)
AUTHENTICATED = bluetooth.UUID(0x2A6F)

INSUFFICIENT_AUTHENTICATION, INSUFFICIENT_ENCRYPTION = 0x05, 0x0F


def make_service() -> aioble.Service:
    service = aioble.Service(SVC)
    aioble.Characteristic(service, OPEN, read=True, initial=b"open")
    aioble.Characteristic(service, ENCRYPTED, read_encrypted=True, initial=b"secret")
    aioble.Characteristic(
        service, AUTHENTICATED, read=True, write_authenticated=True, initial=b"locked"
    )
    return service


async def connect(pair: Pair, peripheral_io: int = security.IO_NO_INPUT_OUTPUT, **config: Any):
    """Bonding on both sides; the peripheral's IO capability and MITM wish from `config`."""
    pair.call(pair.p, aioble.config, bond=True, le_secure=True, io=peripheral_io, **config)
    p, c = await pair.connect(make_service())
    service = await c.service(SVC)
    chars = {}
    for uuid in (OPEN, ENCRYPTED, AUTHENTICATED):
        chars[uuid] = await service.characteristic(uuid)
    return p, c, chars


def test_just_works_unlocks_the_encrypted_characteristic(pair: Pair) -> None:
    async def main() -> None:
        p, c, chars = await connect(pair)
        assert (c.encrypted, c.authenticated, c.bonded, c.key_size) == (False, False, False, 0)
        with pytest.raises(aioble.GattError) as info:
            await chars[ENCRYPTED].read()
        assert info.value._status == INSUFFICIENT_ENCRYPTION
        await c.pair()
        assert (c.encrypted, c.authenticated, c.bonded, c.key_size) == (True, False, True, 16)
        await until(lambda: p.encrypted)
        assert (p.authenticated, p.bonded, p.key_size) == (False, True, 16)
        assert await chars[ENCRYPTED].read() == b"secret"
        # Writing needs MITM protection, which Just Works does not give.
        with pytest.raises(aioble.GattError) as info:
            await chars[AUTHENTICATED].write(b"x", response=True)
        assert info.value._status == INSUFFICIENT_AUTHENTICATION
        # Pairing an encrypted link returns at once; MITM protection cannot be added to it.
        await c.pair()
        assert c.encrypted
        with pytest.raises(security.PairingError, match="not authenticated"):
            await c.pair(mitm=True)
        # The link's encryption ends with it; the bond stays.
        await c.disconnect()
        assert (c.encrypted, c.authenticated, c.bonded, c.key_size) == (False, False, True, 0)

    run(main())


def test_the_peripheral_asks_the_central_to_pair(pair: Pair) -> None:
    async def main() -> None:
        p, c, chars = await connect(pair)
        await pair.on(pair.p, p.pair)  # a Security Request; the central pairs
        assert p.encrypted and p.bonded
        await until(lambda: c.encrypted)
        assert await chars[ENCRYPTED].read() == b"secret"

    run(main())


def test_passkey_entry_with_a_handler_on_each_side(pair: Pair) -> None:
    shown: asyncio.Future[int]
    requests: list = []

    def display(request: security.PasskeyRequest) -> None:
        # A plain function works too; returning None uses the passkey aioble chose.
        requests.append(request)
        shown.set_result(request.passkey)

    async def enter(request: security.PasskeyRequest) -> int:
        requests.append(request)
        return await shown  # what the person reads on the peripheral's display

    async def main() -> None:
        nonlocal shown
        shown = asyncio.get_running_loop().create_future()
        pair.call(pair.p, security.passkey_handler, display)
        p, c, chars = await connect(pair, security.IO_DISPLAY_ONLY, mitm=True)
        await c.pair(mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=enter)
        assert (c.encrypted, c.authenticated, c.bonded) == (True, True, True)
        await until(lambda: p.authenticated)
        await chars[AUTHENTICATED].write(b"ok", response=True)
        # (Both sides are asked at once, in no particular order.)
        shown_here, typed_there = sorted(requests, key=lambda r: -r.action)
        assert (shown_here.action, shown_here.connection) == (security.PASSKEY_DISPLAY, p)
        assert (typed_there.action, typed_there.connection) == (security.PASSKEY_INPUT, c)
        assert 0 <= shown_here.passkey <= 999_999 and typed_there.passkey is None
        assert "DISPLAY" in repr(shown_here)

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


def test_a_fixed_passkey_and_a_wrong_one(pair: Pair) -> None:
    async def fixed(request: security.PasskeyRequest) -> int:
        return 123456  # a passkey printed on the device's label

    async def main() -> None:
        pair.call(pair.p, security.passkey_handler, fixed)
        p, c, chars = await connect(pair, security.IO_DISPLAY_ONLY, mitm=True)
        with pytest.raises(security.PairingError):
            await c.pair(mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=lambda r: 654321)
        # The link is up and in a consistent state, and pairing may be tried again.
        assert c.is_connected() and not c.encrypted and not c.authenticated
        assert await chars[OPEN].read() == b"open"
        # (Trying again on the same link: see the next test.)
        await c.disconnect()
        p, c = await pair.connect()
        await c.pair(mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=lambda r: 123456)
        assert c.authenticated

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


def test_pairing_again_on_the_same_link_after_a_failure(pair: Pair) -> None:
    async def main() -> None:
        pair.call(pair.p, security.passkey_handler, lambda r: 123456)
        p, c, chars = await connect(pair, security.IO_DISPLAY_ONLY, mitm=True)
        with pytest.raises(security.PairingError):
            await c.pair(mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=lambda r: 1)
        await c.pair(
            mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=lambda r: 123456, timeout_ms=3000
        )
        assert c.authenticated

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


@pytest.mark.parametrize("peripheral_says", [True, False])
@pytest.mark.parametrize("central_says", [True, False])
def test_numeric_comparison(pair: Pair, central_says: bool, peripheral_says: bool) -> None:
    numbers: list = []

    def answer(says: bool):
        async def handler(request: security.PasskeyRequest) -> bool:
            assert request.action == security.PASSKEY_NUMERIC_COMPARISON
            numbers.append(request.passkey)
            return says

        return handler

    async def main() -> None:
        pair.call(pair.p, security.passkey_handler, answer(peripheral_says))
        p, c, chars = await connect(pair, security.IO_DISPLAY_YESNO, mitm=True)
        pairing = c.pair(mitm=True, io=security.IO_DISPLAY_YESNO, passkey=answer(central_says))
        if central_says and peripheral_says:
            await pairing
            assert c.authenticated
            assert len(numbers) == 2 and numbers[0] == numbers[1]
            return
        with pytest.raises(security.PairingError) as info:
            await pairing
        if not central_says and peripheral_says:
            # (When both refuse, either refusal may end the pairing first.)
            assert "rejected here" in str(info.value)
        assert c.is_connected() and not c.encrypted

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


def test_no_passkey_handler_rejects_a_comparison(pair: Pair) -> None:
    async def main() -> None:
        p, c, chars = await connect(pair, security.IO_DISPLAY_YESNO, mitm=True)
        with pytest.raises(security.PairingError):
            await c.pair(mitm=True, io=security.IO_DISPLAY_YESNO, passkey=lambda r: True)

    run(main())


def test_a_handler_set_before_the_loop_runs(pair: Pair) -> None:
    seen: list = []

    async def handler(request: security.PasskeyRequest) -> bool:
        seen.append(request.action)
        return True

    # At module level, as a board program would: no event loop yet.
    pair.call(pair.p, security.passkey_handler, handler)

    async def main() -> None:
        p, c, chars = await connect(pair, security.IO_DISPLAY_YESNO, mitm=True)
        await c.pair(mitm=True, io=security.IO_DISPLAY_YESNO, passkey=lambda r: True)
        assert seen == [security.PASSKEY_NUMERIC_COMPARISON] and c.authenticated

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


def test_mitm_asked_but_only_just_works_possible(pair: Pair) -> None:
    async def main() -> None:
        p, c, chars = await connect(pair)
        with pytest.raises(security.PairingError, match="not authenticated"):
            await c.pair(mitm=True)
        assert c.encrypted and not c.authenticated  # what it is, honestly
        assert await chars[ENCRYPTED].read() == b"secret"

    run(main())


def test_a_handler_that_raises_rejects(pair: Pair) -> None:
    def broken(request: security.PasskeyRequest) -> bool:
        raise RuntimeError("bug in the handler")

    async def main() -> None:
        pair.call(pair.p, security.passkey_handler, lambda r: True)
        p, c, chars = await connect(pair, security.IO_DISPLAY_YESNO, mitm=True)
        with pytest.raises(security.PairingError, match="rejected here"):
            await c.pair(mitm=True, io=security.IO_DISPLAY_YESNO, passkey=broken)

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


def test_timeout_cancels_the_prompt_and_leaves_the_link_usable(pair: Pair) -> None:
    cancelled = asyncio.Event()

    async def never(request: security.PasskeyRequest) -> int:
        try:
            await asyncio.sleep(3600)  # nobody types anything
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    async def main() -> None:
        pair.call(pair.p, security.passkey_handler, lambda r: None)
        p, c, chars = await connect(pair, security.IO_DISPLAY_ONLY, mitm=True)
        with pytest.raises(asyncio.TimeoutError):
            await c.pair(mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=never, timeout_ms=300)
        await asyncio.wait_for(cancelled.wait(), 1)
        assert c.is_connected() and not c.encrypted
        assert await chars[OPEN].read() == b"open"

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


@pytest.mark.parametrize("how", ["peer", "self", "stop"])
def test_link_lost_mid_pairing(pair: Pair, how: str) -> None:
    async def waiting(request: security.PasskeyRequest) -> int:
        await asyncio.sleep(3600)
        return 0

    async def main() -> None:
        pair.call(pair.p, security.passkey_handler, lambda r: None)
        p, c, chars = await connect(pair, security.IO_DISPLAY_ONLY, mitm=True)
        task = asyncio.ensure_future(
            c.pair(mitm=True, io=security.IO_KEYBOARD_ONLY, passkey=waiting)
        )
        await asyncio.sleep(0.2)
        assert not task.done()
        if how == "peer":
            await p.disconnect()
        elif how == "self":
            await c.disconnect()
        else:
            pair.call(pair.c, aioble.stop)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        assert not c.encrypted
        with pytest.raises(aioble.DeviceDisconnectedError):
            await c.pair()

    try:
        run(main())
    finally:
        pair.call(pair.p, security.passkey_handler, None)


# --- bonds and the secrets file -------------------------------------------------------------


def load(pair: Pair, radio: bluetooth.BLE, path: Path) -> None:
    pair.call(radio, security.load_secrets, str(path))


def test_secrets_file_written_atomically_private_and_loaded_back(
    pair: Pair, tmp_path: Path
) -> None:
    central_file, peripheral_file = tmp_path / "central.json", tmp_path / "peripheral.json"
    load(pair, pair.c, central_file)
    load(pair, pair.p, peripheral_file)
    assert not central_file.exists()  # a missing file is an empty one

    async def main() -> None:
        p, c, chars = await connect(pair)
        await c.pair()
        await until(lambda: p.bonded)

    run(main())
    for path in (central_file, peripheral_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        entries = json.loads(path.read_text())
        assert entries and all(
            isinstance(t, int) and isinstance(k, str) and isinstance(v, str) for t, k, v in entries
        )
    assert sorted(os.listdir(tmp_path)) == ["central.json", "peripheral.json"]  # no temp file
    # Loading it back gives what the radio holds.
    state = pair.call(pair.c, aioble.core.radio).roles["security"]
    held = dict(state.secrets)
    load(pair, pair.c, central_file)
    assert state.secrets == held


def test_bonded_peers_re_encrypt_after_both_restart_without_pairing_again(
    pair: Pair, tmp_path: Path
) -> None:
    files = {pair.c: tmp_path / "c.json", pair.p: tmp_path / "p.json"}
    for radio, path in files.items():
        load(pair, radio, path)

    async def main() -> None:
        p, c, chars = await connect(pair)
        await c.pair()
        await until(lambda: p.bonded)
        before = {radio: path.read_bytes() for radio, path in files.items()}
        pair.stop()
        # As a new process would: aioble and the stack forget everything, then the file is
        # loaded again (the stack's own cache is cleared here to be sure it plays no part).
        for radio, path in files.items():
            pair.call(radio, aioble.core.radio).roles["security"].secrets.clear()
            radio._host.security.store.cache.clear()
            load(pair, radio, path)
        p, c = await pair.connect()
        chars = await (await c.service(SVC)).characteristic(ENCRYPTED)
        await c.pair()
        assert c.encrypted and c.bonded
        assert await chars.read() == b"secret"
        await until(lambda: p.encrypted)
        # Re-encrypted with the stored keys: nothing was paired or written again.
        assert {radio: path.read_bytes() for radio, path in files.items()} == before

    run(main())


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"a": 1}',
        '[[2, "a2V5"]]',
        '[["2", "a2V5", "dmFsdWU="]]',
        '[[2, "a2V5", "!!not base64!!"]]',
    ],
    ids=["not-json", "not-a-list", "short-entry", "bad-type", "bad-base64"],
)
def test_a_corrupt_secrets_file_is_a_clear_error_and_never_overwritten(
    pair: Pair, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(content)
    with pytest.raises(security.SecretsFileError) as info:
        load(pair, pair.c, path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value) and "left unchanged" in str(info.value)

    async def main() -> None:
        p, c, chars = await connect(pair)
        await c.pair()  # the bond is kept in memory only
        assert c.bonded

    run(main())
    assert path.read_text() == content


def test_an_unreadable_secrets_file(pair: Pair, tmp_path: Path) -> None:
    (tmp_path / "secrets.json").mkdir()
    with pytest.raises(security.SecretsFileError, match="cannot read"):
        load(pair, pair.c, tmp_path / "secrets.json")


def test_a_failed_save_keeps_the_old_file(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("[]")
    load(pair, pair.c, path)

    def broken_rename(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", broken_rename)

    async def main() -> None:
        p, c, chars = await connect(pair)
        # The pairing succeeded, saving its bond failed: pair() says so, naming the file.
        with pytest.raises(security.SecretsFileError, match="No space left") as info:
            await c.pair()
        assert info.value.path == str(path) and info.value.saving
        assert c.encrypted

    run(main())
    assert path.read_text() == "[]"
    assert os.listdir(tmp_path) == ["secrets.json"]


def test_default_path_and_round_trip_of_the_format(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # The reference library's format: base64 with a trailing newline is read as well.
    Path("ble_secrets.json").write_text('[[2, "a2V5\\n", "dmFsdWU=\\n"], [1, "", ""]]')
    pair.call(pair.c, security.load_secrets)
    state = pair.call(pair.c, aioble.core.radio).roles["security"]
    assert state.secrets == {(2, b"key"): b"value", (1, b""): b""}
    assert state.path == "ble_secrets.json"
    # The stack's view through the IRQs: by key, by index, delete.
    r = pair.call(pair.c, aioble.core.radio)
    assert security._get_secret_irq(r, 29, (2, 0, None)) == b"value"
    assert security._get_secret_irq(r, 29, (2, 1, None)) is None
    assert security._get_secret_irq(r, 29, (2, 0, b"key")) == b"value"
    assert security._set_secret_irq(r, 30, (2, b"new", b"v2")) is True
    assert security._set_secret_irq(r, 30, (2, b"key", None)) is True
    assert security._set_secret_irq(r, 30, (2, b"missing", None)) is False
    assert json.loads(Path("ble_secrets.json").read_text()) == [[1, "", ""], [2, "bmV3", "djI="]]


def test_pairing_anew_when_the_peer_lost_the_bond(pair: Pair) -> None:
    async def main() -> None:
        p, c, chars = await connect(pair)
        await c.pair()
        await c.disconnect()
        # The peripheral forgets the bond (as a factory reset would).
        pair.call(pair.p, aioble.core.radio).roles["security"].secrets.clear()
        pair.p._host.security.store.cache.clear()
        p, c = await pair.connect()
        await c.pair()
        assert c.encrypted and c.bonded

    run(main())
