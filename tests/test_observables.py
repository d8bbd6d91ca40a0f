"""Gauge invariance of the quotient observables on the real models.

A random symmetry transformation (neuron rescaling, scaling of normalised weights, logits-bias
shift, W_Q A / W_K A^{-T}, W_V B / B^{-1} W_O, particle permutation) must leave the loss, the
quotient chart point project(theta), the invariants and the quotient sharpness unchanged to
1e-10 (relative), while the conserved quantities, the raw norm and the raw sharpness move.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.experiments.lab import observables as O
from qshock.experiments.lab.data import load_dataset
from qshock.experiments.lab.models import make_model
from qshock.experiments.lab.sharpness import quotient_sharpness, sharpness

CASES = {
    "mlp-relu": ("mlp", "digits", dict(width=8, depth=2)),
    "mlp-norm": ("mlp", "digits", dict(width=8, depth=2, norm=True)),
    "cnn-2d": ("cnn", "digits", dict(width=4)),
    "transformer": ("transformer", "sequence", dict(width=8, heads=2)),
    "meanfield": ("meanfield", "digits", dict(width=16)),
}
EXPECTED_KINDS = {
    "mlp-relu": {"translation", "rescale"},
    "mlp-norm": {"translation", "scale"},
    "cnn-2d": {"translation", "scale"},
    "transformer": {"translation", "gl"},
    "meanfield": {"translation", "rescale", "permutation"},
}


def _loss(model, x, y):
    out = jax.vmap(model)(x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out), y[:, None], axis=1))


@eqx.filter_jit
def _summary(model, x, y):
    params, static = eqx.partition(model, eqx.is_array)
    theta = O.ravel_model(model)
    _, unravel = jax.flatten_util.ravel_pytree(params)
    f = lambda th: _loss(eqx.combine(unravel(th), static), x, y)  # noqa: E731
    pm = O.project(model, "classification")
    key = jax.random.PRNGKey(0)
    return dict(loss=f(theta), proj=O.ravel_model(pm), inv=O.invariants(model, "classification"),
                cons=O.conserved(model, "classification"), norm=jnp.linalg.norm(theta),
                raw=sharpness(f, theta, key, iters=20, k=1)[0][0],
                quot=quotient_sharpness(f, O.ravel_model(pm), O.orbit_tangents(pm, "classification"), key, iters=20)[0])


@pytest.mark.parametrize("case", [c if c in ("mlp-relu", "mlp-norm", "transformer") else
                                  pytest.param(c, marks=pytest.mark.slow) for c in CASES])
def test_gauge_invariance(case):
    name, data, kw = CASES[case]
    d = load_dataset(data)
    model = make_model(name, d, jax.random.PRNGKey(1), **kw)
    model = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, model)
    assert {s.kind for s in O.symmetries(model, d.task)} == EXPECTED_KINDS[case]
    g = O.gauge_transform(model, d.task, jax.random.PRNGKey(7), size=0.7)
    x, y = jnp.asarray(d.x[:48]), jnp.asarray(d.y[:48])
    if d.vocab:
        x = x.astype(jnp.int32)
    a, b = _summary(model, x, y), _summary(g, x, y)

    def close(u, v, tol=1e-10):
        u, v = np.asarray(u), np.asarray(v)
        return np.max(np.abs(u - v)) <= tol * max(1.0, np.max(np.abs(u)))

    assert close(a["loss"], b["loss"])
    assert close(a["proj"], b["proj"]), "quotient chart point moved"
    for k in a["inv"]:
        assert close(a["inv"][k], b["inv"][k]), k
    assert close(a["quot"], b["quot"], 1e-9)
    # the raw quantities are not invariant
    assert abs(float(a["norm"]) - float(b["norm"])) > 1e-3 * float(a["norm"])
    assert abs(float(a["raw"]) - float(b["raw"])) > 1e-3 * abs(float(a["raw"]))
    moved = [k for k in a["cons"] if not close(a["cons"][k], b["cons"][k], 1e-3)]
    assert moved == list(a["cons"]), f"conserved quantities that did not move: {set(a['cons']) - set(moved)}"
