"""aioble.security's secrets file when it goes wrong: every corrupt file is a SecretsFileError
naming it, and a bond that cannot be written is reported (pair() raises, save_error() keeps
it) and not stored: aioble's SET_SECRET answers False and the stack forgets it."""

import json
import os
import stat
from pathlib import Path

import pytest
from aioble_support import Pair, run, until

import aioble
import bluetooth
from aioble import security

SVC = bluetooth.UUID(0x181A)
ENCRYPTED = bluetooth.UUID(0x2A6E)

ENTRY = '[2, "a2V5", "dmFsdWU="]'  # a good one: key b"key", value b"value"


def load(pair: Pair, radio: bluetooth.BLE, path: Path) -> None:
    pair.call(radio, security.load_secrets, str(path))


def secrets_of(pair: Pair, radio: bluetooth.BLE) -> dict:
    return pair.call(radio, lambda: security._security(aioble.core.radio()).secrets)


async def connect(pair: Pair) -> tuple[aioble.DeviceConnection, aioble.DeviceConnection]:
    pair.call(pair.p, aioble.config, bond=True, le_secure=True, io=security.IO_NO_INPUT_OUTPUT)
    service = aioble.Service(SVC)
    aioble.Characteristic(service, ENCRYPTED, read_encrypted=True, initial=b"secret")
    return await pair.connect(service)


# --- corrupt files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe[" + ENTRY.encode() + b"]", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b"[[2, " + b"[" * 50 + b"]" * 50 + b', ""]]', "not [sec_type, key, value]"),
        (b'[[2, "a2V5!", "dmFsdWU="]]', "not base64"),  # CPython alone would skip the "!"
        (b'[[2, "a2V5", "dmFsd"]]', "not base64"),  # bad padding
        (b'[{"sec_type": 2, "key": "a2V5", "value": "dmFsdWU="}]', "not [sec_type"),
        (b'{"entries": []}', "not a JSON list"),
        (b"[[2, 5, 6]]", "not [sec_type"),
        (b'[["2", "a2V5", "dmFsdWU="]]', "not [sec_type"),
        (b'[[true, "a2V5", "dmFsdWU="]]', "not [sec_type"),
        (b'[[-1, "a2V5", "dmFsdWU="]]', "not [sec_type"),
        (b'[[2.5, "a2V5", "dmFsdWU="]]', "not [sec_type"),
        (b"[[2, null, null]]", "not [sec_type"),
        (b"[[]]", "not [sec_type"),
        (b"", "not JSON"),
        (b"null", "not a JSON list"),
    ],
    ids=[
        "not-utf8",
        "deep-nesting",
        "deep-nesting-in-an-entry",
        "base64-with-a-stray-character",
        "base64-bad-padding",
        "object-not-list",
        "object-at-top",
        "numbers-not-strings",
        "string-sec-type",
        "bool-sec-type",
        "negative-sec-type",
        "float-sec-type",
        "nulls",
        "empty-entry",
        "empty-file",
        "null",
    ],
)
def test_every_corrupt_file_is_a_secrets_file_error(
    pair: Pair, tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "secrets.json"
    path.write_bytes(content)
    secrets_of(pair, pair.c)[(2, b"held")] = b"before"
    with pytest.raises(security.SecretsFileError) as info:
        load(pair, pair.c, path)
    assert info.value.path == str(path) and not info.value.saving
    assert str(path) in str(info.value) and problem in str(info.value)
    # Nothing changed: the file, and what the radio held.
    assert path.read_bytes() == content
    assert secrets_of(pair, pair.c) == {(2, b"held"): b"before"}


def test_the_reference_format_still_loads(pair: Pair, tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('[[2, "a2V5\\n", "dmFsdWU=\\n"], ' + ENTRY + ', [1, "", ""]]')
    load(pair, pair.c, path)
    assert secrets_of(pair, pair.c) == {(2, b"key"): b"value", (1, b""): b""}


# --- bonds that cannot be saved -----------------------------------------------------------------


def check_not_stored(pair: Pair, radio: bluetooth.BLE) -> None:
    """Neither aioble nor the stack holds a bond: a restart would not have it either."""
    assert secrets_of(pair, radio) == {}
    assert radio._host.security.store.cache == {}


def test_a_missing_directory_fails_pair_with_the_path(pair: Pair, tmp_path: Path) -> None:
    path = tmp_path / "gone" / "secrets.json"
    load(pair, pair.c, path)  # a missing file is an empty one

    async def main() -> None:
        p, c = await connect(pair)
        with pytest.raises(security.SecretsFileError) as info:
            await c.pair()
        assert info.value.path == str(path) and info.value.saving
        assert str(path) in str(info.value) and "not saved" in str(info.value)
        # The pairing itself succeeded: the link is encrypted and usable.
        assert c.is_connected() and c.encrypted
        assert pair.call(pair.c, security.save_error) is info.value
        check_not_stored(pair, pair.c)
        # The next link pairs again (nothing to re-encrypt with); still not saved.
        await c.disconnect()
        p, c = await pair.connect()
        with pytest.raises(security.SecretsFileError):
            await c.pair()

    run(main())
    assert not path.parent.exists()


def test_a_read_only_file_is_not_replaced(pair: Pair, tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("[" + ENTRY + "]")
    path.chmod(0o400)
    load(pair, pair.c, path)  # readable: its bonds are used

    async def main() -> None:
        p, c = await connect(pair)
        with pytest.raises(security.SecretsFileError, match="read-only") as info:
            await c.pair()
        assert info.value.path == str(path)
        assert c.encrypted

    run(main())
    assert path.read_text() == "[" + ENTRY + "]"
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert os.listdir(tmp_path) == ["secrets.json"]  # no temp file left
    # What the radio holds is still what the file holds.
    assert secrets_of(pair, pair.c) == {(2, b"key"): b"value"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_an_unwritable_directory(pair: Pair, tmp_path: Path) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    path = directory / "secrets.json"
    load(pair, pair.c, path)
    directory.chmod(0o500)
    try:

        async def main() -> None:
            p, c = await connect(pair)
            with pytest.raises(security.SecretsFileError) as info:
                await c.pair()
            assert info.value.path == str(path)

        run(main())
        assert os.listdir(directory) == []
    finally:
        directory.chmod(0o700)


def test_a_full_disk_keeps_the_old_file(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("[]")
    load(pair, pair.c, path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)

    async def main() -> None:
        p, c = await connect(pair)
        with pytest.raises(security.SecretsFileError, match="No space left") as info:
            await c.pair()
        assert info.value.path == str(path)
        check_not_stored(pair, pair.c)
        # Once the disk has room again, the next bond is saved and the error is cleared.
        monkeypatch.undo()
        await c.disconnect()
        p, c = await pair.connect()
        await c.pair()
        assert c.bonded and pair.call(pair.c, security.save_error) is None

    run(main())
    assert len(json.loads(path.read_text())) == 1
    assert os.listdir(tmp_path) == ["secrets.json"]


def test_a_pairing_the_peer_started_reports_through_save_error(pair: Pair, tmp_path: Path) -> None:
    path = tmp_path / "gone" / "peripheral.json"
    load(pair, pair.p, path)

    async def main() -> None:
        p, c = await connect(pair)
        assert pair.call(pair.p, security.save_error) is None
        await c.pair()  # the central's bond is kept (in memory); the peripheral's is not
        await until(lambda: p.encrypted)
        error = pair.call(pair.p, security.save_error)
        assert isinstance(error, security.SecretsFileError) and error.path == str(path)
        check_not_stored(pair, pair.p)

    run(main())


# --- symlinks -----------------------------------------------------------------------------------


def test_a_symlinked_file_updates_its_target(pair: Pair, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "secrets.json"
    target.write_text("[]")
    target.chmod(0o600)
    link = tmp_path / "secrets.json"
    link.symlink_to(target)
    load(pair, pair.c, link)

    async def main() -> None:
        p, c = await connect(pair)
        await c.pair()
        assert c.bonded

    run(main())
    assert link.is_symlink() and link.resolve() == target
    assert len(json.loads(target.read_text())) == 1
    assert sorted(os.listdir(target.parent)) == ["secrets.json"]
    held = dict(secrets_of(pair, pair.c))
    load(pair, pair.c, link)
    assert secrets_of(pair, pair.c) == held


def test_a_dangling_symlink_creates_its_target(pair: Pair, tmp_path: Path) -> None:
    target = tmp_path / "target.json"
    link = tmp_path / "secrets.json"
    link.symlink_to(target)
    load(pair, pair.c, link)

    async def main() -> None:
        p, c = await connect(pair)
        await c.pair()

    run(main())
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(json.loads(target.read_text())) == 1
