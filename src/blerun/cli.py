"""The `aioble` command: `run`, `radio`, `multitest`, `scan`, `gatt-dump`. Argument parsing
only; the work is done by `blerun.run`, `blerun.multitest`, `blerun.tools` and `bleradio`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from bleradio.config import ENVIRONMENT_HELP
from blerun import multitest, run, tools
from blerun.radio import KINDS, RadioOptionError, parse_radio_option, virtual_radio
from mpemu import logs

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def package_version() -> str:
    """This package's version, from its installed metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aioble-cpython")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _subparser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def _add_fast(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "virtual radio",
        "The virtual radio keeps air time by default (advertising events, scan windows, "
        "connection events, radio time per device). AIOBLE_RADIO_FAST=1 in the environment "
        "makes --fast the default.",
    )
    group.add_argument(
        "--fast",
        action="store_true",
        help="no air time: packets are delivered at once (unit tests)",
    )
    group.add_argument(
        "--phy",
        choices=("1M", "2M"),
        help="PHY of new links: 2M moves each link to 2M right after connecting (default 1M)",
    )
    group.add_argument(
        "--data-length",
        type=int,
        metavar="OCTETS",
        help="largest LL payload, 27 (no data length extension) to 251 (default 251)",
    )
    group.add_argument(
        "--conn-interval",
        type=float,
        metavar="MS",
        help="connection interval the controller picks within the host's range "
        "(default: the top of the range)",
    )
    group.add_argument(
        "--event-length",
        type=float,
        metavar="MS",
        help="longest connection event (default: the whole interval)",
    )
    group.add_argument(
        "-o",
        "--radio-option",
        action="append",
        default=[],
        type=_radio_option,
        metavar="KEY=VALUE",
        help="any parameter of the virtual radio (a bleradio.MediumOptions field); repeatable",
    )
    group.add_argument(
        "--per",
        type=float,
        metavar="P",
        help="extra loss, 0 to 1, of every packet on air (air time only)",
    )
    group.add_argument(
        "--place",
        action="append",
        default=[],
        metavar="LABEL=X,Y[,Z]",
        help="where a device stands, in metres (a program's label in `aioble run` is its "
        "file's stem; multitest instances are instance0, instance1...); repeatable",
    )
    group.add_argument(
        "--scenario",
        metavar="FILE",
        help="a scenario (JSON, or TOML if FILE ends in .toml): positions, TX powers, "
        "walls, path loss exponent, loss, and timed events (move, cut, per, jam, "
        "power_off...); --place and --per override it",
    )
    parser.add_argument(
        "--capture",
        metavar="DIR",
        help="write each device's HCI traffic to DIR/LABEL.btsnoop and the virtual radio's "
        "air to DIR/air.pcap (Wireshark, tshark, scapy); DIR is made if missing",
    )


def _capture_ok(args: argparse.Namespace, who: str) -> bool:
    """--capture names a directory that can be written (made if missing; args.capture
    becomes its absolute path), else a usage error is printed."""
    if args.capture is None:
        return True
    from bleradio.capture import CaptureError, capture_directory

    try:
        args.capture = str(capture_directory(args.capture, what="--capture"))
    except CaptureError as exc:
        print(f"{who}: {exc}", file=sys.stderr)
        return False
    return True


def _scenario_ok(args: argparse.Namespace, who: str) -> bool:
    """--scenario, --place and --per make a valid scenario (args.scenario_built, None if
    none is given), else a usage error naming the key and the problem is printed."""
    from bleradio.air.scenario import ScenarioError, build_scenario, parse_place

    try:
        places = [parse_place(text) for text in args.place]
        args.scenario_built = build_scenario(args.scenario, places, args.per)
    except ScenarioError as exc:
        print(f"{who}: {exc}", file=sys.stderr)
        return False
    return True


def _radio_option(text: str) -> tuple[str, object]:
    try:
        return parse_radio_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _radio_options(args: argparse.Namespace) -> dict[str, object]:
    options = dict(args.radio_option)
    if args.fast:
        options["fast"] = True
    named = {
        "phy": args.phy,
        "data_length": args.data_length,
        "conn_interval_ms": args.conn_interval,
        "event_length_ms": args.event_length,
    }
    options.update({key: value for key, value in named.items() if value is not None})
    if getattr(args, "scenario_built", None) is not None:
        options["scenario"] = args.scenario_built
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aioble",
        description="Run MicroPython BLE programs on CPython, and look at the devices around.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aioble {package_version()}")
    parser.add_argument(
        "--log",
        metavar="LEVEL",
        help="log level of the runner and of the programs it starts, LEVEL[,LOGGER=LEVEL...] "
        "(e.g. DEBUG: every virtual pin and peripheral a program drives; the HCI packet dumps of "
        "bumble and bluetooth._quiet_host stay at INFO unless named); sets AIOBLE_LOG for them",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _subparser(
        sub,
        "run",
        help="run programs, one process each, on one private radio",
        description="Run each program under aioble-python in its own process, all on one "
        "private virtual radio, each output line prefixed with the program's name. The run "
        "ends when the last program listed exits (the others are stopped).",
    )
    p.add_argument("programs", nargs="+", metavar="PROGRAM.py")
    p.add_argument("--timeout", type=float, metavar="S", help="stop everything after S seconds")
    p.add_argument(
        "--energy",
        action="store_true",
        help="at the end, print each program's radio time, duty cycle, current and charge",
    )
    p.add_argument(
        "--current-profile",
        metavar="PROFILE",
        help="the chip's currents for --energy: nrf52832 (the default, from its datasheet) "
        "or [NAME=]TX_MA,RX_MA,IDLE_MA,RAMP_US, e.g. esp32=130,95,0.8,150",
    )
    p.add_argument(
        "--timeline",
        metavar="FILE.svg",
        help="draw each program's radio activity on one time axis into FILE.svg",
    )
    p.add_argument(
        "--virtual-time",
        action="store_true",
        help="run the radio and every program on one simulated clock: waiting costs no wall "
        "time (--timeout is then in simulated seconds)",
    )
    _add_fast(p)

    p = _subparser(
        sub,
        "radio",
        help="serve a shared virtual radio",
        description="Serve one shared virtual radio until Ctrl-C. A process whose environment "
        "has AIOBLE_RADIO=HOST:PORT joins it.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    _add_fast(p)

    p = _subparser(
        sub,
        "multitest",
        help="run MicroPython multitest files",
        description="Run MicroPython multitest files (one process per instanceN, all on one "
        "private radio) and compare their output with FILE.py.exp.",
    )
    p.add_argument("tests", nargs="+", metavar="FILE.py")
    p.add_argument("--radio", choices=KINDS, default="virtual")
    _add_fast(p)
    p.add_argument("-v", "--verbose", action="store_true", help="show every line as it comes")
    p.add_argument(
        "--instance-timeout",
        type=float,
        default=multitest.INSTANCE_TIMEOUT_S,
        metavar="S",
        help="seconds of silence after which an instance is stopped (default %(default)s)",
    )
    p.add_argument(
        "--virtual-time",
        action="store_true",
        help="run the radio and the instances on one simulated clock: waiting costs no wall "
        "time (--instance-timeout is then in simulated seconds)",
    )

    p = _subparser(
        sub,
        "scan",
        help="list the devices advertising on the radio",
        description="Scan the radio the environment selects and print one line per device "
        "heard: its address (AA:BB:CC:DD:EE:FF/P public, AA:BB:CC:DD:EE:FF random), name, "
        "RSSI, advertised services and manufacturer data.",
    )
    p.add_argument("--duration", type=_positive_seconds, default=5.0, metavar="S", help="default 5")
    p.add_argument(
        "--passive", action="store_true", help="send no scan requests (no scan responses)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = _subparser(
        sub,
        "gatt-dump",
        help="connect to a device and print its GATT database",
        description="Connect to ADDRESS on the radio the environment selects and print its "
        "services, characteristics (with their properties) and descriptors.",
    )
    p.add_argument(
        "address",
        type=_device_address,
        metavar="ADDRESS",
        help="AA:BB:CC:DD:EE:FF/P for a public address, AA:BB:CC:DD:EE:FF for a random one "
        "(as `aioble scan` prints them)",
    )
    p.add_argument("--read", action="store_true", help="read the readable values too")
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=10.0,
        metavar="S",
        help="give up finding the device after S seconds (default 10)",
    )
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _device_address(text: str) -> str:
    try:
        tools.parse_address(text)
    except tools.AddressError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _cmd_run(args: argparse.Namespace) -> int:
    profile = None
    if not _capture_ok(args, "aioble run") or not _scenario_ok(args, "aioble run"):
        return EXIT_USAGE
    if args.current_profile is not None and not args.energy:
        print("aioble run: --current-profile is for --energy", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout is not None and args.timeout <= 0:
        print(f"aioble run: --timeout must be positive, got {args.timeout:g}", file=sys.stderr)
        return EXIT_USAGE
    if args.timeline is not None:
        try:  # before anything runs, not after
            open(args.timeline, "a").close()
        except OSError as exc:
            print(f"aioble run: cannot write the timeline: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        if args.current_profile is not None:
            from bleradio.air.airtime import parse_profile

            profile = parse_profile(args.current_profile)
        result = run.run_programs(
            args.programs,
            timeout=args.timeout,
            radio_options=_radio_options(args),
            energy=args.energy,
            profile=profile,
            timeline=args.timeline,
            capture=args.capture,
            virtual_time=args.virtual_time,
        )
    except (run.ProgramNotFound, RadioOptionError, ValueError) as exc:
        print(f"aioble run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result.exit_status


async def _serve_radio(
    host: str, port: int, options: dict[str, object], capture: str | None = None
) -> int:
    try:
        async with virtual_radio(host, port, capture=capture, **options) as radio:
            run.warn_about_scans(radio.server, "aioble radio", sys.stderr)
            radio.server.watch_members(_print_member)
            print(f"aioble radio: listening on {radio.server.address}")
            print(f"export AIOBLE_RADIO={radio.server.address}", flush=True)
            if capture is not None:
                print(
                    f"aioble radio: the air goes to {capture}/air.pcap; a program writes its "
                    f"HCI traffic there with: export AIOBLE_CAPTURE={capture}",
                    flush=True,
                )
            await asyncio.Event().wait()
    except RadioOptionError as exc:
        print(f"aioble radio: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"aioble radio: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_member(info: Any) -> None:
    """One line per device joining or leaving `aioble radio`: its label and its address as
    Bumble writes a public one (a virtual controller's address is public)."""
    verb = "joined" if info.connected else "left"
    print(f"aioble radio: {verb} {info.label} {info.address}/P", flush=True)


def _cmd_radio(args: argparse.Namespace) -> int:
    if not _capture_ok(args, "aioble radio") or not _scenario_ok(args, "aioble radio"):
        return EXIT_USAGE
    return asyncio.run(_serve_radio(args.host, args.port, _radio_options(args), args.capture))


def _cmd_multitest(args: argparse.Namespace) -> int:
    if not _capture_ok(args, "aioble multitest") or not _scenario_ok(args, "aioble multitest"):
        return EXIT_USAGE
    try:
        summary = multitest.run_tests(
            args.tests,
            radio=args.radio,
            radio_options=_radio_options(args),
            verbose=args.verbose,
            instance_timeout=args.instance_timeout,
            capture=args.capture,
            virtual_time=args.virtual_time,
        )
    except (FileNotFoundError, RadioOptionError, ValueError) as exc:
        print(f"aioble multitest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return summary.exit_status


def _run_tool(name: str, tool: Any, **kwargs: Any) -> int:
    try:
        note = tools.check_radio_environment()
    except ValueError as exc:
        print(f"aioble {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if note is not None:
        print(f"aioble {name}: note: {note}", file=sys.stderr)
    try:
        return tool(out=sys.stdout, **kwargs)
    except tools.ToolError as exc:
        print(f"aioble {name}: {exc}", file=sys.stderr)
        return 1


def _cmd_scan(args: argparse.Namespace) -> int:
    return _run_tool(
        "scan",
        tools.run_scan,
        duration_s=args.duration,
        active=not args.passive,
        as_json=args.json,
    )


def _cmd_gatt_dump(args: argparse.Namespace) -> int:
    return _run_tool(
        "gatt-dump",
        tools.run_gatt_dump,
        address=args.address,
        read=args.read,
        timeout_s=args.timeout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.log:
        try:
            logs.configure(args.log)
        except logs.LogSpecError as exc:
            parser.error(f"--log: {exc}")
        os.environ["AIOBLE_LOG"] = args.log  # the programs' aioble-python
    commands = {
        "run": _cmd_run,
        "radio": _cmd_radio,
        "multitest": _cmd_multitest,
        "scan": _cmd_scan,
        "gatt-dump": _cmd_gatt_dump,
    }
    # SIGTERM unwinds like Ctrl-C, so the programs and controllers started are stopped too;
    # and Ctrl-C stops a command even where this process was started with SIGINT ignored (a
    # background job of a non-interactive shell, and whatever it starts, inherits that).
    previous = signal.signal(signal.SIGTERM, _terminate)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`aioble run ... | head`): stop quietly.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the interpreter's exit
        return 128 + signal.SIGPIPE
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
