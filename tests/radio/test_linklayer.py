"""The interface between the medium and a controller (``bleradio.air.linklayer.LinkLayer``):
the virtual controller has all of it, and the media use nothing else of a controller."""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path

from bleradio import Medium, VirtualController
from bleradio.air import linklayer
from bleradio.air.linklayer import LinkLayer

AIR = Path(linklayer.__file__).parent
# the modules that call controllers (capture only reads PDUs and links)
MEDIA = ("medium.py", "air_medium.py", "link.py")
# collections of controllers in the media: a loop over one binds a controller
_COLLECTIONS = ("self.listeners", "self._adv_timers", "self.controllers", "_ends(", "_ends_of(")


def _members() -> set[str]:
    return {name for name in vars(LinkLayer) if not name.startswith("_")}


def _used_by_media() -> dict[str, set[str]]:
    """Attribute -> where the media use it on a controller: on a parameter annotated
    ``LinkLayer``, a loop variable over a collection of controllers, a name bound to
    ``<x>.controller`` or ``<x>.advertiser``, or such an expression directly."""
    used: dict[str, set[str]] = {}
    for module in MEDIA:
        tree = ast.parse((AIR / module).read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            controllers = {
                arg.arg
                for arg in function.args.args + function.args.kwonlyargs
                if arg.annotation is not None and "LinkLayer" in ast.unparse(arg.annotation)
            }
            for node in ast.walk(function):
                if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                    if any(c in ast.unparse(node.iter) for c in _COLLECTIONS):
                        controllers.add(node.target.id)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        pairs = (
                            zip(target.elts, getattr(node.value, "elts", []), strict=False)
                            if isinstance(target, ast.Tuple)
                            else [(target, node.value)]
                        )
                        for name, value in pairs:
                            if (
                                isinstance(name, ast.Name)
                                and isinstance(value, ast.Attribute)
                                and value.attr in ("controller", "advertiser")
                            ):
                                controllers.add(name.id)
            for node in ast.walk(function):
                if not isinstance(node, ast.Attribute):
                    continue
                value = node.value
                if (isinstance(value, ast.Name) and value.id in controllers) or (
                    isinstance(value, ast.Attribute) and value.attr in ("controller", "advertiser")
                ):
                    used.setdefault(node.attr, set()).add(f"{module}:{function.name}")
    return used


def test_the_media_use_only_the_link_layer_of_a_controller() -> None:
    used = _used_by_media()
    assert {"on_ll_data", "rx_full", "on_adv_pdu", "listen_parameters"} <= set(used)  # (found)
    outside = {name: sorted(where) for name, where in used.items() if name not in _members()}
    assert not outside, f"the media use these outside LinkLayer: {outside}"


def test_every_member_of_the_link_layer_is_documented_and_used() -> None:
    used = _used_by_media()
    for name in _members():
        member = vars(LinkLayer)[name]
        assert inspect.getdoc(member), f"LinkLayer.{name} has no contract"
        assert name in used, f"LinkLayer.{name}: no medium calls it"


def test_the_virtual_controller_is_a_link_layer() -> None:
    async def main() -> None:
        controller = VirtualController(Medium(fast=True), label="ll")
        try:
            assert isinstance(controller, LinkLayer)
            for name in _members():
                assert hasattr(controller, name), name
            assert controller.label == "ll" and not controller.closed
            assert controller.initiating is None and not controller.rx_full
        finally:
            controller.close()

    asyncio.run(main())
