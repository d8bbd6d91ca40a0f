"""Safe arithmetic expressions for the CLI (``--ic``, ``--hamiltonian``, ``--domain`` bounds).

The text is parsed with :mod:`ast` and checked against a whitelist: numbers, the given
variable names, the constants ``pi`` and ``e``, unary ``+ -``, binary ``+ - * / ** %``,
comparisons (value 1.0 or 0.0), and calls of the functions in :data:`ALLOWED_FUNCTIONS`
with the right number of positional arguments. The checked tree is turned into nested
closures over ``jax.numpy`` (or ``numpy`` for constants); Python ``eval``/``exec`` is never
used. Anything else raises :class:`solver.errors.QShockInputError` with one line naming
the problem, e.g. ``invalid --ic expression 'sin(y)': unknown name 'y' (allowed: x, pi, e)``.
"""

from __future__ import annotations

import ast
import math
from typing import Callable, Sequence

import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError

__all__ = ["ALLOWED_FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH", "compile_expression", "evaluate_constant"]

MAX_LENGTH = 2000
MAX_DEPTH = 200

CONSTANTS = {"pi": math.pi, "e": math.e}

# name -> (numpy/jax attribute, number of arguments; None = two or more)
_FUNCTIONS: dict[str, tuple[str, int | None]] = {
    "sin": ("sin", 1), "cos": ("cos", 1), "tan": ("tan", 1),
    "arcsin": ("arcsin", 1), "arccos": ("arccos", 1), "arctan": ("arctan", 1),
    "asin": ("arcsin", 1), "acos": ("arccos", 1), "atan": ("arctan", 1),
    "arctan2": ("arctan2", 2), "atan2": ("arctan2", 2),
    "sinh": ("sinh", 1), "cosh": ("cosh", 1), "tanh": ("tanh", 1),
    "arcsinh": ("arcsinh", 1), "asinh": ("arcsinh", 1),
    "exp": ("exp", 1), "expm1": ("expm1", 1), "log": ("log", 1), "log1p": ("log1p", 1),
    "log10": ("log10", 1), "log2": ("log2", 1), "sqrt": ("sqrt", 1),
    "abs": ("abs", 1), "sign": ("sign", 1), "floor": ("floor", 1), "ceil": ("ceil", 1),
    "min": ("minimum", None), "max": ("maximum", None),
    "where": ("where", 3),
}
ALLOWED_FUNCTIONS = tuple(_FUNCTIONS)

# array-namespace ufuncs (not Python operators: 1/0 must give inf, not ZeroDivisionError)
_BINOPS = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply",
    ast.Div: "true_divide", ast.Pow: "power", ast.Mod: "mod",
}
_UNARY = {ast.UAdd: "positive", ast.USub: "negative"}
_COMPARE = {
    ast.Lt: "less", ast.LtE: "less_equal", ast.Gt: "greater", ast.GtE: "greater_equal",
    ast.Eq: "equal", ast.NotEq: "not_equal",
}
# friendly names for rejected syntax
_NODE_NAMES = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.List: "lists",
    ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.IfExp: "conditional expressions (use where(c, a, b))",
    ast.BoolOp: "'and'/'or' (use where or comparisons)", ast.Starred: "starred arguments",
    ast.JoinedStr: "f-strings", ast.NamedExpr: "assignment expressions", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
}

Env = tuple  # evaluation environment: (namespace module, variable values...)


class _Reject(Exception):
    """Internal: carries the problem description up to the public entry point."""


class _Compiler:
    def __init__(self, variables: Sequence[str]):
        self.variables = {name: i for i, name in enumerate(variables)}

    def allowed(self) -> str:
        names = list(self.variables) + [c for c in CONSTANTS if c not in self.variables]
        return ", ".join(names + list(ALLOWED_FUNCTIONS))

    def compile(self, node: ast.AST, depth: int = 0) -> Callable:
        if depth > MAX_DEPTH:
            raise _Reject(f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
        d = depth + 1
        if isinstance(node, ast.Expression):
            return self.compile(node.body, d)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                kind = "string literals" if isinstance(v, (str, bytes)) else f"the literal {v!r}"
                raise _Reject(f"{kind} are not allowed" if isinstance(v, (str, bytes)) else f"{kind} is not allowed")
            try:
                value = float(v)
            except OverflowError:
                raise _Reject(f"number {str(v)[:20]}... is too large") from None
            return lambda xp, args: value
        if isinstance(node, ast.Name):
            name = node.id
            if name in self.variables:
                i = self.variables[name]
                return lambda xp, args: args[i]
            if name in CONSTANTS:
                value = CONSTANTS[name]
                return lambda xp, args: value
            if name in _FUNCTIONS:
                raise _Reject(f"function {name!r} must be called with arguments, e.g. {name}(...)")
            raise _Reject(f"unknown name {name!r} (allowed: {self.allowed()})")
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise _Reject(f"operator {type(node.op).__name__} is not allowed (use + - * / ** %)")
            f, a = _UNARY[type(node.op)], self.compile(node.operand, d)
            return lambda xp, args: getattr(xp, f)(a(xp, args))
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise _Reject(f"operator {type(node.op).__name__} is not allowed (use + - * / ** %)")
            f = _BINOPS[type(node.op)]
            a, b = self.compile(node.left, d), self.compile(node.right, d)
            return lambda xp, args: getattr(xp, f)(a(xp, args), b(xp, args))
        if isinstance(node, ast.Compare):
            parts = [self.compile(node.left, d)] + [self.compile(c, d) for c in node.comparators]
            ops = []
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise _Reject(f"comparison {type(op).__name__} is not allowed (use < <= > >= == !=)")
                ops.append(_COMPARE[type(op)])

            def compare(xp, args):
                vals = [p(xp, args) for p in parts]
                ok = True
                for name, lhs, rhs in zip(ops, vals[:-1], vals[1:]):
                    ok = xp.logical_and(ok, getattr(xp, name)(lhs, rhs))
                return xp.where(ok, 1.0, 0.0)

            return compare
        if isinstance(node, ast.Call):
            return self.compile_call(node, d)
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        raise _Reject(f"{what} not allowed")

    def compile_call(self, node: ast.Call, d: int) -> Callable:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _Reject("attribute access not allowed")
            raise _Reject("only calls of named functions are allowed")
        name = node.func.id
        if name not in _FUNCTIONS:
            if name in self.variables or name in CONSTANTS:
                raise _Reject(f"{name!r} is not a function")
            raise _Reject(f"unknown function {name!r} (allowed functions: {', '.join(ALLOWED_FUNCTIONS)})")
        if node.keywords:
            raise _Reject(f"keyword arguments are not allowed in {name}(...)")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _Reject(f"starred arguments are not allowed in {name}(...)")
        attr, nargs = _FUNCTIONS[name]
        n = len(node.args)
        if nargs is None and n < 2:
            raise _Reject(f"function {name!r} takes at least 2 arguments, got {n}")
        if nargs is not None and n != nargs:
            plural = "argument" if nargs == 1 else "arguments"
            raise _Reject(f"function {name!r} takes {nargs} {plural}, got {n}")
        args_c = [self.compile(a, d) for a in node.args]
        if name == "where":
            c, a, b = args_c
            return lambda xp, args: xp.where(c(xp, args) != 0, a(xp, args), b(xp, args))
        if nargs is None:  # min/max of several arguments: fold pairwise

            def fold(xp, args):
                f = getattr(xp, attr)
                out = args_c[0](xp, args)
                for g in args_c[1:]:
                    out = f(out, g(xp, args))
                return out

            return fold
        if nargs == 1:
            (a,) = args_c
            return lambda xp, args: getattr(xp, attr)(a(xp, args))
        return lambda xp, args: getattr(xp, attr)(*[g(xp, args) for g in args_c])


def _label(option: str | None) -> str:
    return f"invalid {option} expression" if option else "invalid expression"


def _parse(text, variables: Sequence[str], option: str | None) -> Callable:
    label = _label(option)
    if not isinstance(text, str):
        raise QShockInputError(f"{label}: expected a string, got {type(text).__name__}")
    shown = repr(text if len(text) <= 80 else text[:77] + "...")
    if len(text) > MAX_LENGTH:
        raise QShockInputError(f"{label} {shown}: too long ({len(text)} characters, at most {MAX_LENGTH})")
    if not text.strip():
        raise QShockInputError(f"{label} {shown}: empty expression")
    for v in variables:
        if not isinstance(v, str) or not v.isidentifier() or v in _FUNCTIONS:
            raise ValueError(f"bad variable name {v!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise QShockInputError(f"{label} {shown}: syntax error{col} ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise QShockInputError(f"{label} {shown}: cannot parse ({type(exc).__name__})") from None
    try:
        return _Compiler(variables).compile(tree)
    except _Reject as exc:
        raise QShockInputError(f"{label} {shown}: {exc}") from None
    except RecursionError:
        raise QShockInputError(f"{label} {shown}: expression is nested too deeply") from None


def compile_expression(text: str, variables: Sequence[str], *, option: str | None = None) -> Callable:
    """Compile ``text`` into a jax-traceable function of the named variables.

    Args:
        text: e.g. ``"sin(x) + 0.5*cos(2*y)"``.
        variables: argument names in call order, e.g. ``("x", "y")``.
        option: CLI option named in error messages (``"--ic"``).

    Returns:
        ``f(*arrays) -> jnp.ndarray`` with the broadcast shape of its inputs (a constant
        expression gives a full array) and their floating dtype (float32 stays float32;
        integer inputs become the default float).

    Raises:
        QShockInputError: anything outside the whitelist, with one line naming the problem.
    """
    variables = tuple(variables)
    body = _parse(text, variables, option)

    def fn(*arrays):
        if len(arrays) != len(variables):
            raise QShockInputError(
                f"expression {text!r} takes {len(variables)} arguments ({', '.join(variables)}), got {len(arrays)}"
            )
        arrs = [jnp.asarray(a) for a in arrays]
        dtype = jnp.result_type(*arrs, float) if arrs else jnp.result_type(float)
        if not jnp.issubdtype(dtype, jnp.floating):
            dtype = jnp.result_type(float)
        arrs = [a.astype(dtype) for a in arrs]
        shape = jnp.broadcast_shapes(*[a.shape for a in arrs]) if arrs else ()
        out = jnp.asarray(body(jnp, arrs))
        return jnp.broadcast_to(out, shape).astype(dtype)

    fn.__doc__ = f"Compiled expression {text!r} of ({', '.join(variables)})."
    fn.expression = text
    fn.variables = variables
    return fn


def evaluate_constant(text: str, *, option: str | None = None) -> float:
    """Evaluate a constant expression (``'2*pi'``, ``'-pi/2'``, ``'1e-3'``) in float64.

    Raises:
        QShockInputError: a name other than ``pi``/``e``, any non-whitelisted syntax, or a
        non-finite result.
    """
    body = _parse(text, (), option)
    with np.errstate(all="ignore"):
        value = float(np.float64(body(np, ())))
    if not math.isfinite(value):
        raise QShockInputError(f"{_label(option)} {text!r}: value is not finite ({value})")
    return value
