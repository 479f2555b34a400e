"""The compile step of MicroPython's dialect: an AST transform of the program's own code.

Only operations whose MicroPython meaning differs from CPython's, on values a program
cannot tell apart statically, are rewritten into calls of the helpers in `runtime` (found in
the program's builtins under `__mp_*__` names; dunder on both sides, so no class body
mangles them):

| source | becomes | why |
|---|---|---|
| `a + b` | `__mp_add__(a, b)` | bytes/bytearray + str concatenates |
| `x += v` (name or attribute) | `x = __mp_iadd__(x, v)` / `__mp_iadd_attr__(o, "x", v)` | bytearray += str |
| `o[k] = v` | `__mp_setitem__(o, k, v)` | integer stores keep the element's low bits |
| `o[k] op= v` | `__mp_augitem__(o, k, OP, v)` | the same, after the operation |
| `o.append(v)` / `o.extend(v)` | `__mp_append__(o, v)` / `__mp_extend__(o, v)` | bytearray.append(300), bytearray.extend(str) |
| `"lit" in o` | `__mp_contains__(o, "lit")` | a str is a buffer: `"OK" in data` on bytes |
| `o.startswith("lit")` | `__mp_startswith__(o, "lit")` | the same for startswith / endswith |

Left alone, so that the hot paths of ordinary code cost nothing: `+`/`+=` with a number
literal on either side, or a str/f-string/list/tuple display on the left (none can be the
bytes + str case); stores into slices; assignments to several targets or to unpacked tuples.
Line numbers are kept, so tracebacks point at the program's lines.
"""

from __future__ import annotations

import ast
from types import CodeType

# Augmented operators by index (the runtime's table has the same order).
AUG_OPS: tuple[type[ast.operator], ...] = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.MatMult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
    ast.BitOr,
    ast.BitXor,
    ast.BitAnd,
)

_LITERAL_NUMBERS = (int, float, complex)


def _is_number(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, _LITERAL_NUMBERS)
        and not isinstance(node.value, bool)
    ) or (isinstance(node, ast.UnaryOp) and _is_number(node.operand))


def _never_bytes(node: ast.expr) -> bool:
    """A left operand that cannot be bytes or bytearray, whatever the names hold."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, bytes)
    return isinstance(node, ast.JoinedStr | ast.List | ast.ListComp | ast.Tuple)


def _is_str(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _helper(name: str, node: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(id=f"__mp_{name}__", ctx=ast.Load()), args=list(args), keywords=[])
    return ast.copy_location(call, node)


def _load(node: ast.Name) -> ast.Name:
    """A store target's name, read."""
    return ast.copy_location(ast.Name(id=node.id, ctx=ast.Load()), node)


class DialectTransformer(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if (
            isinstance(node.op, ast.Add)
            and not _is_number(node.left)
            and not _is_number(node.right)
            and not _never_bytes(node.left)
        ):
            return _helper("add", node, node.left, node.right)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        target, value = node.target, node.value
        if isinstance(target, ast.Subscript):
            if isinstance(target.slice, ast.Slice):
                return node
            index = ast.copy_location(ast.Constant(AUG_OPS.index(type(node.op))), node)
            call = _helper("augitem", node, target.value, target.slice, index, value)
            return ast.copy_location(ast.Expr(call), node)
        if not isinstance(node.op, ast.Add) or _is_number(value):
            return node
        if isinstance(target, ast.Name):
            call = _helper("iadd", node, _load(target), value)
            store = ast.Name(id=target.id, ctx=ast.Store())
            return ast.copy_location(ast.Assign(targets=[store], value=call), node)
        if isinstance(target, ast.Attribute):
            name = ast.copy_location(ast.Constant(target.attr), node)
            call = _helper("iadd_attr", node, target.value, name, value)
            return ast.copy_location(ast.Expr(call), node)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.stmt:
        self.generic_visit(node)
        if len(node.targets) != 1:
            return node
        target = node.targets[0]
        if isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
            call = _helper("setitem", node, target.value, target.slice, node.value)
            return ast.copy_location(ast.Expr(call), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        func = node.func
        if not isinstance(func, ast.Attribute) or node.keywords:
            return node
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            return node
        if func.attr in ("append", "extend") and len(node.args) == 1:
            return _helper(func.attr, node, func.value, node.args[0])
        if func.attr in ("startswith", "endswith") and node.args and _is_str(node.args[0]):
            return _helper(func.attr, node, func.value, *node.args)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if len(node.ops) != 1 or not _is_str(node.left):
            return node
        op = node.ops[0]
        if not isinstance(op, ast.In | ast.NotIn):
            return node
        call = _helper("contains", node, node.comparators[0], node.left)
        if isinstance(op, ast.NotIn):
            return ast.copy_location(ast.UnaryOp(op=ast.Not(), operand=call), node)
        return call


def transform(tree: ast.Module) -> ast.Module:
    return ast.fix_missing_locations(DialectTransformer().visit(tree))


def compile_program(source: str | bytes, filename: str, mode: str = "exec") -> CodeType:
    """Compile a program's own code in MicroPython's dialect (a code object)."""
    tree = ast.parse(source, filename, mode)
    return compile(transform(tree), filename, mode, dont_inherit=True)
