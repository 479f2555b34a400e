"""aioble is written only on `bluetooth` + asyncio (it could run on a board), and its
multitests pass under the `aioble multitest` command (tests/test_multitests.py runs every
multitest file on both radios through the same library; here the command line itself)."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "aioble"
# A few quick ones, whose instances use L2CAP, security and GATT between them.
MULTITESTS = [
    ROOT / "tests" / "multitests" / name
    for name in ("aioble_characteristic.py", "aioble_l2cap_transfer.py", "aioble_security_pair.py")
]

# What MicroPython also has (plus typing, only ever imported under a guard).
ALLOWED = {
    "asyncio",
    "binascii",
    "bluetooth",
    "collections",
    "errno",
    "json",
    "micropython",
    "os",
    "random",
    "struct",
    "typing",
}
TYPE_CHECKING_ONLY = {"collections.abc", "types", "typing"}


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module, under `if TYPE_CHECKING`) for every absolute import."""
    found = []

    def visit(node: ast.AST, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            child_guarded = guarded or (
                isinstance(child, ast.If)
                and isinstance(child.test, ast.Name)
                and child.test.id == "TYPE_CHECKING"
            )
            if isinstance(child, ast.Import):
                found.extend((alias.name, guarded) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module, guarded))
            visit(child, child_guarded)

    visit(tree, False)
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_only_bluetooth_asyncio_and_micropython_stdlib(path: Path) -> None:
    for module, guarded in _imports(ast.parse(path.read_text())):
        if (path.name, module) == ("core.py", "mpemu.threadsafeflag"):
            continue  # plain CPython's asyncio.ThreadSafeFlag (a board's asyncio has its own)
        top = module.split(".")[0]
        if guarded:
            assert module in TYPE_CHECKING_ONLY or top in ALLOWED, (path.name, module)
        else:
            assert top in ALLOWED, f"{path.name} imports {module}"
            assert top not in ("bumble", "bleradio", "blerun")


def test_public_names() -> None:
    import aioble

    for name in (
        "Device DeviceDisconnectedError GattError config stop advertise scan Service Characteristic "
        "BufferedCharacteristic Descriptor register_services ADDR_PUBLIC ADDR_RANDOM log_info "
        "log_warn log_error"
    ).split():
        assert hasattr(aioble, name), name
    assert (aioble.ADDR_PUBLIC, aioble.ADDR_RANDOM) == (0, 1)
    assert (PACKAGE / "py.typed").exists()


def _aioble_command() -> list[str]:
    script = Path(sys.executable).with_name("aioble")
    return [str(script)] if script.exists() else [sys.executable, "-m", "blerun.cli"]


@pytest.mark.parametrize("radio", ["virtual", "rootcanal"])
def test_multitests(radio: str) -> None:
    if radio == "rootcanal" and importlib.util.find_spec("rootcanal") is None:
        pytest.skip("rootcanal is not installed")
    result = subprocess.run(
        [*_aioble_command(), "multitest", "--radio", radio, *map(str, MULTITESTS)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(MULTITESTS)} passed, 0 failed" in result.stdout
