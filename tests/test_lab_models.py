"""Training-lab models (``qshock.experiments.lab.models``): shapes, exact symmetries of the function,
layer norm, the mean-field 1/m scaling, seeding, and bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.lab import observables as O
from qshock.experiments.lab.data import load_dataset
from qshock.experiments.lab.models import COMPATIBLE, MODELS, MeanField, layer_norm, make_model

SMALL = {"mlp": dict(width=5, depth=2), "cnn": dict(width=3), "transformer": dict(width=8, heads=2),
         "meanfield": dict(width=7)}
PAIRS = [(m, d) for m in MODELS for d in COMPATIBLE[m] if d != "mnist1d"]  # mnist1d: see test_lab_data


@pytest.fixture(scope="module")
def datasets():
    return {d: load_dataset(d) for d in ("digits", "teacher", "sequence")}


_BUILT = {}


def _model(name, d, seed=0, **kw):
    """``make_model`` cached per (name, data, seed, kwargs): eager initialisation is slow on a busy machine."""
    k = (name, d.name, seed, tuple(sorted(kw.items())))
    if k not in _BUILT:
        _BUILT[k] = make_model(name, d, jax.random.PRNGKey(seed), **kw)
    return _BUILT[k]


def _inputs(d, n=5):
    return jnp.asarray(d.x[:n], jnp.int32 if d.vocab else jnp.float64)


@eqx.filter_jit
def _apply(m, x):
    """The model on a batch (vmap over examples), compiled once per model structure."""
    return jax.vmap(m)(x)


def _f64(m):
    return jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, m)


@pytest.mark.parametrize("name,data", PAIRS)
def test_output_shape_one_row_per_example(name, data, datasets):
    d = datasets[data]
    m = _model(name, d, **SMALL[name])
    out = _apply(m, _inputs(d))
    assert out.shape == (5, d.n_out) and bool(jnp.all(jnp.isfinite(out)))
    # a single example maps to a vector of n_out outputs (batching is vmap's job)
    assert eqx.filter_jit(lambda m, x: m(x))(m, _inputs(d)[0]).shape == (d.n_out,)


@pytest.mark.parametrize("case", ["mlp-relu", "mlp-norm", "cnn", "transformer", "meanfield"])
def test_function_is_invariant_under_every_group_action(case, datasets):
    """f(g·θ)(x) = f(θ)(x) for scale, rescale, GL(d_h) and permutations; for the softmax translation
    the logits move by one constant per example, so the class probabilities are unchanged."""
    name, kw, data = {"mlp-relu": ("mlp", SMALL["mlp"], "digits"),
                      "mlp-norm": ("mlp", dict(SMALL["mlp"], norm=True), "digits"),
                      "cnn": ("cnn", SMALL["cnn"], "digits"),
                      "transformer": ("transformer", SMALL["transformer"], "sequence"),
                      "meanfield": ("meanfield", SMALL["meanfield"], "digits")}[case]
    d = datasets[data]
    m = _f64(_model(name, d, **kw))
    x = _inputs(d, 6)
    out = _apply(m, x)
    key = jax.random.PRNGKey(5)
    kinds = set()
    for s in O.symmetries(m, d.task):
        kinds.add(s.kind)
        key, k = jax.random.split(key)
        if s.kind == "permutation":
            g = eqx.tree_at(lambda t: (t.W, t.b, t.A), m, (m.W[::-1], m.b[::-1], m.A[::-1]))
        else:
            g = s.act(m, 0.8 * jax.random.normal(k, (s.dim,)))
        assert not np.allclose(O.ravel_model(g), O.ravel_model(m)), s.name
        new = _apply(g, x)
        if s.kind == "translation":
            shift = new - out
            assert float(jnp.max(jnp.abs(shift - shift[:, :1]))) < 1e-12, s.name
            assert float(jnp.max(jnp.abs(jax.nn.softmax(new) - jax.nn.softmax(out)))) < 1e-12
        else:
            assert float(jnp.max(jnp.abs(new - out))) < 1e-11 * max(1.0, float(jnp.max(jnp.abs(out)))), s.name
    assert kinds, "every lab model has at least one symmetry"


def test_relu_symmetry_needs_relu_and_norm_needs_layer_norm(datasets):
    d = datasets["digits"]
    tanh = _model("mlp", d, activation="tanh", **SMALL["mlp"])
    assert {s.kind for s in O.symmetries(tanh, d.task)} == {"translation"}
    m = _f64(_model("mlp", d, **SMALL["mlp"]))
    x = _inputs(d)
    # ReLU is positively homogeneous: the rescale by e^ξ > 0 is exact; a negative factor is not a symmetry
    flipped = eqx.tree_at(lambda t: (t.weights[0], t.biases[0], t.weights[1]), m,
                          (-m.weights[0], -m.biases[0], -m.weights[1]))
    assert float(jnp.max(jnp.abs(_apply(flipped, x) - _apply(m, x)))) > 1e-3


def test_layer_norm_scale_invariant_zero_mean_unit_variance():
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 9), jnp.float64) * 3 + 1
    y = layer_norm(z, axis=-1)
    assert float(jnp.max(jnp.abs(y.mean(-1)))) < 1e-14
    assert float(jnp.max(jnp.abs(y.var(-1) - 1))) < 1e-13
    for c in (1e-3, 0.5, 7.0, 1e4):
        assert float(jnp.max(jnp.abs(layer_norm(c * z, axis=-1) - y))) < 1e-12
    # with eps > 0 the invariance is broken for small inputs (the lab models use eps = 0 where it matters)
    assert float(jnp.max(jnp.abs(layer_norm(1e-3 * z, axis=-1, eps=1e-5) - y))) > 1e-3


def test_meanfield_duplicated_particles_give_the_same_function(datasets):
    """f = (1/m) Σ a_i σ(w_i·x + b_i) is a mean over particles: doubling every particle changes nothing."""
    d = datasets["digits"]
    m = _f64(make_model("meanfield", d, jax.random.PRNGKey(3), width=5))
    twice = eqx.tree_at(lambda t: (t.W, t.b, t.A), m, (jnp.concatenate([m.W, m.W]), jnp.concatenate([m.b, m.b]),
                                                       jnp.concatenate([m.A, m.A])))
    assert isinstance(twice, MeanField) and twice.W.shape[0] == 10
    x = _inputs(d)
    assert float(jnp.max(jnp.abs(_apply(twice, x) - _apply(m, x)))) < 1e-14


def test_models_are_deterministic_functions_of_the_key(datasets):
    d = datasets["digits"]
    a, b = (O.ravel_model(make_model("mlp", d, jax.random.PRNGKey(4), **SMALL["mlp"])) for _ in range(2))
    c = O.ravel_model(make_model("mlp", d, jax.random.PRNGKey(5), **SMALL["mlp"]))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    # parameter count of the MLP 64 -> 5 -> 5 -> 10
    assert a.shape == (64 * 5 + 5 + 5 * 5 + 5 + 5 * 10 + 10,)


@pytest.mark.parametrize("name,data,kw,needle", [
    ("resnet", "digits", {}, "--model"),
    ("transformer", "digits", {}, "--data digits"),
    ("cnn", "teacher", {}, "--data teacher"),
    ("mlp", "digits", {"activation": "gelu"}, "--activation"),
    ("transformer", "sequence", {"width": 9, "heads": 2}, "--width 9"),
])
def test_bad_model_arguments_raise_one_clear_error(name, data, kw, needle, datasets):
    with pytest.raises(QShockInputError, match=needle):
        make_model(name, datasets[data], jax.random.PRNGKey(0), **kw)
