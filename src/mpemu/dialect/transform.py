"""The compile step of MicroPython's dialect: an AST transform of the program's own code.

Only operations whose MicroPython meaning differs from CPython's, on values a program
cannot tell apart statically, are rewritten. Each rewritten operation first runs as CPython
runs it; only if CPython refuses it (raises) does a helper of `runtime` decide whether
MicroPython would have done something instead. The helpers are found in the program's
builtins under `__mp_*__` names (dunder on both sides, so no class body mangles them).

| source | MicroPython's meaning kept |
|---|---|
| `a + b` | bytes/bytearray + str concatenates the str's UTF-8 bytes |
| `x += v`, `o.x += v` | the same for bytearray += str |
| `o[k] = v`, `o[k] op= v` | an int stored into a bytearray/memoryview/array keeps its low bits |
| `o.append(v)`, `o.extend(v)` | bytearray.append(300) keeps the low bits; bytearray.extend(str) |
| `"lit" in o`, `o.startswith("lit")` | a str literal is a buffer: found in bytes |

Statements (the stores, `+=`, a bare `o.append(v)`) become a `try` around the original
statement, with the helper in its `except`: on CPython 3.11 an untaken `try` costs nothing,
so ordinary code runs at full speed. Their operands are evaluated once, before the `try`,
into `__mp_tN__` temporaries unless they are plain names or constants (which can be read
again). In class bodies, where temporaries would become class attributes, and inside
expressions, a helper call does the whole operation instead (`__mp_add__(a, b)`).

Left alone: `+`/`+=` with a number literal on either side, or a str/f-string/list/tuple
display on the left (none can be the bytes + str case); stores into slices; assignments to
several targets or to unpacked tuples. Line numbers are kept, so tracebacks point at the
program's lines.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
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


def _wraps_add(node: ast.BinOp) -> bool:
    """Whether `node` is a `+` that could be bytes + str (so goes through `__mp_add__`)."""
    return (
        isinstance(node.op, ast.Add)
        and not _is_number(node.left)
        and not _is_number(node.right)
        and not _never_bytes(node.left)
    )


_PURE = (
    ast.Name,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Tuple,
    ast.List,
    ast.expr_context,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)


def _pure_with_add(node: ast.expr) -> bool:
    """An expression without calls (nothing it evaluates has effects, so evaluating it a
    second time gives the same), with at least one `+` to wrap."""
    nodes = list(ast.walk(node))
    return all(isinstance(n, _PURE) for n in nodes) and any(
        isinstance(n, ast.BinOp) and _wraps_add(n) for n in nodes
    )


def _helper(name: str, node: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(
        func=ast.Name(id=f"__mp_{name}__", ctx=ast.Load()), args=list(args), keywords=[]
    )
    return ast.copy_location(call, node)


def _rereadable(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )


def _name(name: str, ctx: ast.expr_context, at: ast.AST) -> ast.Name:
    return ast.copy_location(ast.Name(id=name, ctx=ctx), at)


def _reread(node: ast.expr) -> ast.expr:
    """A second node that reads what the re-readable `node` reads."""
    if isinstance(node, ast.Name):
        return _name(node.id, ast.Load(), node)
    return ast.copy_location(ast.Constant(node.value), node)  # type: ignore[attr-defined]


class DialectTransformer(ast.NodeTransformer):
    def __init__(self) -> None:
        self._scopes = ["module"]

    # Scopes: temporaries are fine in modules and functions, not in class bodies.
    def _visit_scope(self, node: ast.AST, kind: str) -> ast.AST:
        self._scopes.append(kind)
        try:
            self.generic_visit(node)
        finally:
            self._scopes.pop()
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._visit_scope(node, "class")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._visit_scope(node, "function")

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._visit_scope(node, "function")

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._visit_scope(node, "function")

    def _guarded(
        self,
        node: ast.stmt,
        operands: list[ast.expr],
        statement: Callable[[list[ast.expr]], ast.stmt],
        retry: Callable[[list[ast.expr], ast.expr], ast.stmt],
        errors: str,
    ) -> list[ast.stmt]:
        """`statement(operands)` in a `try` whose `except <errors> as e` runs
        `retry(operands, e)`; the operands evaluated once, in the order given."""
        prelude: list[ast.stmt] = []
        first: list[ast.expr] = []
        again: list[ast.expr] = []
        for operand in operands:
            if _rereadable(operand):
                first.append(operand)
                again.append(_reread(operand))
                continue
            temp = f"__mp_t{len(prelude)}__"
            store = ast.Assign(targets=[_name(temp, ast.Store(), operand)], value=operand)
            prelude.append(ast.copy_location(store, node))
            first.append(_name(temp, ast.Load(), operand))
            again.append(_name(temp, ast.Load(), operand))
        handler = ast.ExceptHandler(
            type=_name(f"__mp_{errors}__", ast.Load(), node),
            name="__mp_e__",
            body=[retry(again, _name("__mp_e__", ast.Load(), node))],
        )
        guard = ast.Try(body=[statement(first)], handlers=[handler], orelse=[], finalbody=[])
        return [*prelude, ast.copy_location(guard, node)]

    def _in_class(self) -> bool:
        return self._scopes[-1] == "class"

    def _call_stmt(self, node: ast.stmt, name: str, *args: ast.expr) -> ast.stmt:
        return ast.copy_location(ast.Expr(_helper(name, node, *args)), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if _wraps_add(node):
            return _helper("add", node, node.left, node.right)
        return node

    def _evaluated_again(self, node: ast.stmt) -> ast.stmt | None:
        """A statement that stores or returns a pure expression with a `+` in it, as a
        `try` of the statement as it is, whose `except TypeError` runs it again with the
        helpers (so the common case pays nothing); None where that does not apply."""
        value = getattr(node, "value", None)
        if self._in_class() or value is None or not _pure_with_add(value):
            return None
        original = copy.deepcopy(node)
        self.generic_visit(node)
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            # `x += v` itself may be bytearray += str.
            assert isinstance(node.target, ast.Name)
            call = _helper("iadd", node, _reread(node.target), node.value)
            store = _name(node.target.id, ast.Store(), node.target)
            node = ast.copy_location(ast.Assign(targets=[store], value=call), node)
        # An error of the second run is the program's own: shown alone, not chained to the
        # first run's.
        reraise = ast.Raise(exc=_name("__mp_e__", ast.Load(), node), cause=ast.Constant(None))
        again = ast.Try(
            body=[node],
            handlers=[
                ast.ExceptHandler(
                    type=_name("__mp_any_error__", ast.Load(), node),
                    name="__mp_e__",
                    body=[ast.copy_location(reraise, node)],
                )
            ],
            orelse=[],
            finalbody=[],
        )
        handler = ast.ExceptHandler(
            type=_name("__mp_type_error__", ast.Load(), node),
            name=None,
            body=[ast.copy_location(again, node)],
        )
        guard = ast.Try(body=[original], handlers=[handler], orelse=[], finalbody=[])
        return ast.copy_location(guard, node)

    def visit_Return(self, node: ast.Return) -> ast.stmt:
        guarded = self._evaluated_again(node)
        if guarded is not None:
            return guarded
        self.generic_visit(node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.stmt]:
        if isinstance(node.target, ast.Name):
            guarded = self._evaluated_again(node)
            if guarded is not None:
                return guarded
        self.generic_visit(node)
        target, value = node.target, node.value
        if isinstance(target, ast.Subscript):
            if isinstance(target.slice, ast.Slice):
                return node
            op = ast.copy_location(ast.Constant(AUG_OPS.index(type(node.op))), node)
            if self._in_class():
                return self._call_stmt(node, "augitem", target.value, target.slice, op, value)

            def aug_item(ops: list[ast.expr]) -> ast.stmt:
                sub = ast.Subscript(value=ops[0], slice=ops[1], ctx=ast.Store())
                aug = ast.AugAssign(target=ast.copy_location(sub, target), op=node.op, value=ops[2])
                return ast.copy_location(aug, node)

            def retry_item(ops: list[ast.expr], e: ast.expr) -> ast.stmt:
                return self._call_stmt(node, "augitem_retry", ops[0], ops[1], op, ops[2], e)

            return self._guarded(
                node, [target.value, target.slice, value], aug_item, retry_item, "store_errors"
            )
        if not isinstance(node.op, ast.Add) or _is_number(value):
            return node
        if isinstance(target, ast.Name):
            if self._in_class():
                call = _helper("iadd", node, _reread(target), value)
                store = _name(target.id, ast.Store(), target)
                return ast.copy_location(ast.Assign(targets=[store], value=call), node)

            def aug_name(ops: list[ast.expr]) -> ast.stmt:
                store = _name(target.id, ast.Store(), target)
                return ast.copy_location(
                    ast.AugAssign(target=store, op=ast.Add(), value=ops[0]), node
                )

            def retry_name(ops: list[ast.expr], e: ast.expr) -> ast.stmt:
                call = _helper("iadd_retry", node, _reread(target), ops[0], e)
                store = _name(target.id, ast.Store(), target)
                return ast.copy_location(ast.Assign(targets=[store], value=call), node)

            return self._guarded(node, [value], aug_name, retry_name, "type_error")
        if isinstance(target, ast.Attribute):
            attr = ast.copy_location(ast.Constant(target.attr), node)
            if self._in_class():
                return self._call_stmt(node, "iadd_attr", target.value, attr, value)

            def aug_attr(ops: list[ast.expr]) -> ast.stmt:
                store = ast.Attribute(value=ops[0], attr=target.attr, ctx=ast.Store())
                aug = ast.AugAssign(
                    target=ast.copy_location(store, target), op=ast.Add(), value=ops[1]
                )
                return ast.copy_location(aug, node)

            def retry_attr(ops: list[ast.expr], e: ast.expr) -> ast.stmt:
                return self._call_stmt(node, "iadd_attr_retry", ops[0], attr, ops[1], e)

            return self._guarded(node, [target.value, value], aug_attr, retry_attr, "type_error")
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST | list[ast.stmt]:
        if all(isinstance(t, ast.Name) for t in node.targets):
            guarded = self._evaluated_again(node)
            if guarded is not None:
                return guarded
        self.generic_visit(node)
        if len(node.targets) != 1:
            return node
        target = node.targets[0]
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return node
        if self._in_class():
            return self._call_stmt(node, "setitem", target.value, target.slice, node.value)

        # Python evaluates the value first, then the container and the key.
        def store(ops: list[ast.expr]) -> ast.stmt:
            sub = ast.Subscript(value=ops[1], slice=ops[2], ctx=ast.Store())
            assign = ast.Assign(targets=[ast.copy_location(sub, target)], value=ops[0])
            return ast.copy_location(assign, node)

        def retry(ops: list[ast.expr], e: ast.expr) -> ast.stmt:
            return self._call_stmt(node, "setitem_retry", ops[1], ops[2], ops[0], e)

        return self._guarded(
            node, [node.value, target.value, target.slice], store, retry, "store_errors"
        )

    def visit_Expr(self, node: ast.Expr) -> ast.AST | list[ast.stmt]:
        call = node.value
        if (
            self._in_class()
            or not isinstance(call, ast.Call)
            or not isinstance(call.func, ast.Attribute)
            or call.func.attr not in ("append", "extend")
            or call.keywords
            or len(call.args) != 1
            or isinstance(call.args[0], ast.Starred)
        ):
            self.generic_visit(node)
            return node
        # A bare `o.append(v)` statement: guarded, not a helper call (the common case).
        method = call.func.attr
        obj = self.visit(call.func.value)
        arg = self.visit(call.args[0])

        def invoke(ops: list[ast.expr]) -> ast.stmt:
            attr = ast.copy_location(
                ast.Attribute(value=ops[0], attr=method, ctx=ast.Load()), call.func
            )
            again = ast.Call(func=attr, args=[ops[1]], keywords=[])
            return ast.copy_location(ast.Expr(ast.copy_location(again, call)), node)

        def retry(ops: list[ast.expr], e: ast.expr) -> ast.stmt:
            return self._call_stmt(node, f"{method}_retry", ops[0], ops[1], e)

        return self._guarded(node, [obj, arg], invoke, retry, "store_errors")

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
