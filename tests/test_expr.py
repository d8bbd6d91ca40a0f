"""Safe expression parser: values against numpy/math, every rejection, property test."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

from qshock.experiments.cli.expr import ALLOWED_FUNCTIONS, compile_expression, evaluate_constant
from qshock.solver.errors import QShockInputError

RNG = np.random.default_rng(0)
XS = RNG.uniform(0.1, 3.0, size=(7, 5))
YS = RNG.uniform(-2.0, 2.0, size=(7, 5))

CASES = [
    ("sin(x) + 0.5*cos(2*y)", lambda x, y: np.sin(x) + 0.5 * np.cos(2 * y)),
    ("exp(-x**2) * tanh(y)", lambda x, y: np.exp(-x**2) * np.tanh(y)),
    ("log(x) + sqrt(x) - abs(y)", lambda x, y: np.log(x) + np.sqrt(x) - np.abs(y)),
    ("-x**2", lambda x, y: -(x**2)),
    ("2**-x", lambda x, y: 2.0 ** (-x)),
    ("x % 0.7 - y % 1.3", lambda x, y: np.mod(x, 0.7) - np.mod(y, 1.3)),
    ("min(x, y) + max(x, y, 1)", lambda x, y: np.minimum(x, y) + np.maximum(np.maximum(x, y), 1)),
    ("where(x > 1, x, y)", lambda x, y: np.where(x > 1, x, y)),
    ("(x < y) + 2*(x >= 1.5)", lambda x, y: (x < y).astype(float) + 2 * (x >= 1.5)),
    ("0 < y <= 1", lambda x, y: ((0 < y) & (y <= 1)).astype(float)),
    ("sinh(y) + cosh(y) - arctan(x) + tan(y/3)", lambda x, y: np.sinh(y) + np.cosh(y) - np.arctan(x) + np.tan(y / 3)),
    ("arctan2(y, x) + pi*e", lambda x, y: np.arctan2(y, x) + np.pi * np.e),
    ("-cos(pi*(x+y)/2)", lambda x, y: -np.cos(np.pi * (x + y) / 2)),
    ("+x - -y", lambda x, y: x + y),
]


@pytest.mark.parametrize("text,ref", CASES)
def test_values_match_numpy(text, ref):
    f = compile_expression(text, ("x", "y"))
    got = np.asarray(f(XS, YS))
    np.testing.assert_allclose(got, ref(XS, YS), rtol=1e-14, atol=1e-14)
    assert got.dtype == np.float64


def test_jit_grad_and_float32():
    f = compile_expression("sin(x)*exp(y) + x**3", ("x", "y"))
    jf = jax.jit(f)
    x32 = jnp.asarray(XS, jnp.float32)
    y32 = jnp.asarray(YS, jnp.float32)
    out32 = jf(x32, y32)
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out32), np.sin(XS) * np.exp(YS) + XS**3, rtol=2e-6)
    # derivative d/dx = cos(x) e^y + 3x^2, via autodiff through the compiled closures
    g = jax.grad(lambda a: f(a, 0.3))(1.1)
    assert abs(float(g) - (math.cos(1.1) * math.exp(0.3) + 3 * 1.1**2)) < 1e-13


def test_constant_expression_broadcasts():
    f = compile_expression("2*pi", ("x", "y"))
    out = f(jnp.zeros((3, 1)), jnp.zeros((1, 4)))
    assert out.shape == (3, 4)
    np.testing.assert_allclose(np.asarray(out), 2 * np.pi, rtol=0, atol=0)
    f32 = compile_expression("1", ("x",))(jnp.zeros(5, jnp.float32))
    assert f32.dtype == jnp.float32 and f32.shape == (5,) and float(f32[0]) == 1.0
    # integer inputs become the default float
    assert compile_expression("x/2", ("x",))(jnp.arange(3)).dtype == jnp.float64


@pytest.mark.parametrize(
    "text,value",
    [("2*pi", 2 * math.pi), ("-pi/2", -math.pi / 2), ("1e-3", 1e-3), ("e**2", math.e**2), ("3 % 2", 1.0), ("2**3**2", 512.0),
     ("-2**2", -4.0), ("max(1, 2, 3) - min(4, 5)", -1.0), ("sqrt(2)", math.sqrt(2))],
)
def test_evaluate_constant(text, value):
    out = evaluate_constant(text)
    assert isinstance(out, float) and out == pytest.approx(value, rel=1e-15, abs=0)


REJECT = [
    ("__import__('os')", "unknown function '__import__'"),
    ("x.__class__", "attribute access"),
    ("[1]", "lists"),
    ("lambda: 1", "lambda"),
    ("sin(x, x)", "function 'sin' takes 1 argument, got 2"),
    ("foo(x)", "unknown function 'foo'"),
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("sin(y)", "unknown name 'y'"),
    ("'abc'", "string literals"),
    ("sin(x=1)", "keyword arguments"),
    ("x[0]", "subscripts"),
    ("(1, 2)", "tuples"),
    ("{1: 2}", "dicts"),
    ("x if x else 1", "conditional"),
    ("x and 1", "'and'/'or'"),
    ("x << 2", "operator LShift"),
    ("~x", "operator Invert"),
    ("x is 1", "comparison Is"),
    ("sin(*x)", "starred"),
    ("sin", "must be called"),
    ("x(1)", "'x' is not a function"),
    ("sin(x", "syntax error"),
    ("x = 1", "syntax error"),
    ("True", "True"),
    ("1j", "1j"),
    ("max(x)", "at least 2 arguments"),
    ("where(x, 1)", "takes 3 arguments, got 2"),
    ("(x).real", "attribute access"),
    ("[i for i in x]", "comprehensions"),
    ("f'{x}'", "f-strings"),
    ("(y := 1)", "assignment"),
    ("x" + "+x" * 1200, "too long"),
    ("-" * 300 + "x", "nested too deeply"),
    ("+".join(["x"] * 900), "nested too deeply"),
    ("sin(" * 250 + "x" + ")" * 250, "nested"),
    ("(" * 300 + "x" + ")" * 300, "nested"),
]


@pytest.mark.parametrize("text,fragment", REJECT)
def test_rejections_name_the_problem(text, fragment):
    with pytest.raises(QShockInputError) as info:
        compile_expression(text, ("x",), option="--ic")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("invalid --ic expression")
    assert fragment in msg


def test_long_but_legal_expressions():
    # a 120-term Fourier sum (AST depth ~120, < 2000 characters) is accepted and evaluates correctly
    text = " + ".join(f"sin({k}*x)/{k}" for k in range(1, 121))
    f = compile_expression(text, ("x",))
    xs = np.linspace(0.1, 3.0, 7)
    ref = sum(np.sin(k * xs) / k for k in range(1, 121))
    np.testing.assert_allclose(np.asarray(f(xs)), ref, rtol=1e-13, atol=1e-13)


def test_unknown_name_message_lists_allowed():
    with pytest.raises(QShockInputError) as info:
        compile_expression("sin(y)", ("x",), option="--ic")
    msg = str(info.value)
    assert msg.startswith("invalid --ic expression 'sin(y)': unknown name 'y' (allowed: x, pi, e, sin, cos")


@pytest.mark.parametrize("text", ["x", "1/0", "log(0)", "9**9**9", "foo", "__import__('os').system('true')", "10**400"])
def test_evaluate_constant_rejects(text):
    with pytest.raises(QShockInputError):
        evaluate_constant(text, option="--domain")


def test_never_evaluates_python(monkeypatch):
    import builtins

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    assert evaluate_constant("2*pi") == 2 * math.pi
    assert float(compile_expression("x+1", ("x",))(1.0)) == 2.0


def test_all_listed_functions_compile():
    for name in ALLOWED_FUNCTIONS:
        n = {"arctan2": 2, "atan2": 2, "min": 2, "max": 2, "where": 3}.get(name, 1)
        f = compile_expression(f"{name}({', '.join(['0.5'] * n)})", ("x",))
        assert np.isfinite(float(f(0.0)))


# ---------------------------------------------------------------------------- property test
_LEAVES = st.one_of(
    st.just(("x", lambda x, y: x)),
    st.just(("y", lambda x, y: y)),
    st.just(("pi", lambda x, y: math.pi)),
    st.floats(-3.0, 3.0, allow_nan=False).map(lambda c: (repr(c), lambda x, y, c=c: c)),
    st.integers(0, 5).map(lambda k: (str(k), lambda x, y, k=k: float(k))),
)
_UNARY_F = {"sin": math.sin, "cos": math.cos, "tanh": math.tanh, "abs": abs, "arctan": math.atan}


def _extend(children):
    def binop(pair, op):
        (ta, fa), (tb, fb) = pair
        py = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}[op]
        return (f"({ta}) {op} ({tb})", lambda x, y: py(fa(x, y), fb(x, y)))

    def unary(child, name):
        t, f = child
        g = _UNARY_F[name]
        return (f"{name}({t})", lambda x, y: g(f(x, y)))

    def neg(child):
        t, f = child
        return (f"-({t})", lambda x, y: -f(x, y))

    def safe_div(pair):
        (ta, fa), (tb, fb) = pair
        return (f"({ta}) / (2 + cos({tb}))", lambda x, y: fa(x, y) / (2 + math.cos(fb(x, y))))

    def square(child, k):
        t, f = child
        return (f"({t}) ** {k}", lambda x, y: f(x, y) ** k)

    def minmax(pair, name):
        (ta, fa), (tb, fb) = pair
        g = min if name == "min" else max
        return (f"{name}({ta}, {tb})", lambda x, y: g(fa(x, y), fb(x, y)))

    pairs = st.tuples(children, children)
    return st.one_of(
        st.builds(binop, pairs, st.sampled_from(["+", "-", "*"])),
        st.builds(unary, children, st.sampled_from(sorted(_UNARY_F))),
        st.builds(neg, children),
        st.builds(minmax, pairs, st.sampled_from(["min", "max"])),
        st.builds(safe_div, pairs),
        st.builds(square, children, st.sampled_from([2, 3])),
    )


_EXPRS = st.recursive(_LEAVES, _extend, max_leaves=12)
_PTS = np.array([[0.3, -1.2], [2.5, 0.7], [-1.9, 2.2]])


@given(_EXPRS)
def test_random_expressions_match_reference(expr):
    text, ref = expr
    f = compile_expression(text, ("x", "y"))
    got = np.asarray(f(_PTS[:, 0], _PTS[:, 1]))
    want = np.array([ref(px, py) for px, py in _PTS])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * (1 + np.max(np.abs(want))))
    # constants (no variables) must agree with evaluate_constant too
    if "x" not in text and "y" not in text:
        assert evaluate_constant(text) == pytest.approx(want[0], rel=1e-12, abs=1e-12)
