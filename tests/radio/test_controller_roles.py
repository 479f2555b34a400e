"""The virtual controller's roles and what each uses of the others (``bleradio.controller``):
the dependency graph its docstring states, checked against the roles' source."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import bleradio.controller
from bleradio import Medium, VirtualController

CONTROLLER = Path(bleradio.controller.__file__).parent
ROLES = ("core", "addresses", "gap", "procedures", "connections")
# role -> (its module, the roles it uses)
USES = {
    "core": ("core.py", set()),
    "addresses": ("address.py", {"core", "gap"}),
    "gap": ("gap.py", {"core", "addresses"}),
    "procedures": ("procedures.py", {"core"}),
    "connections": ("connections.py", {"core", "addresses", "gap", "procedures"}),
}


def _roles_used(module: str) -> set[str]:
    tree = ast.parse((CONTROLLER / module).read_text())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and node.attr in ROLES
    }


def test_each_role_uses_only_the_roles_it_is_given() -> None:
    for role, (module, uses) in USES.items():
        assert _roles_used(module) - {role} == uses, role


def test_the_controller_owns_one_object_per_role() -> None:
    async def main() -> None:
        controller = VirtualController(Medium(fast=True), label="roles")
        try:
            for role, (_module, uses) in USES.items():
                part = getattr(controller, role)
                assert part.controller is controller
                for used in uses:
                    assert getattr(part, used) is getattr(controller, used), (role, used)
        finally:
            controller.close()

    asyncio.run(main())
