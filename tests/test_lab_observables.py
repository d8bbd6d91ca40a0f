"""Quotient observables of the training lab (``qshock.experiments.lab.observables``), on small models.

* each section is idempotent, and ``project`` (all sections) is too;
* invariants and the quotient chart point do not move under each symmetry's own group action;
* Noether: every conserved quantity c has ∇c · ∇L = 0, and the orbit tangents are orthogonal to
  ∇L, so c is constant along gradient flow; gradient descent with step η changes the scale
  quantity |w|² by exactly η²|g|² per step, so over a fixed time the drift is first order in η;
* ``quotient_observables`` adds the effective learning rate η/|w|² of every scale group.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from qshock.experiments.lab import observables as O
from qshock.experiments.lab.data import load_dataset
from qshock.experiments.lab.models import make_model

CASES = {
    "mlp-relu": ("mlp", "digits", dict(width=6, depth=2)),
    "mlp-norm": ("mlp", "digits", dict(width=6, depth=2, norm=True)),
    "mlp-tanh-teacher": ("mlp", "teacher", dict(width=6, depth=1, activation="tanh")),
    "cnn-2d": ("cnn", "digits", dict(width=3)),
    "transformer": ("transformer", "sequence", dict(width=8, heads=2)),
    "meanfield": ("meanfield", "digits", dict(width=12)),
}


def _setup(case, key=1):
    name, data, kw = CASES[case]
    d = load_dataset(data)
    m = make_model(name, d, jax.random.PRNGKey(key), **kw)
    m = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, m)
    x = jnp.asarray(d.x[:32], jnp.int32 if d.vocab else jnp.float64)
    y = jnp.asarray(d.y[:32])
    return m, d.task, x, y


def _loss_fn(model, task, x, y):
    """The training loss as a function of the flat parameters (CE for classification, MSE else)."""
    params, static = eqx.partition(model, eqx.is_array)
    _, unravel = ravel_pytree(params)

    def f(theta):
        out = jax.vmap(eqx.combine(unravel(theta), static))(x)
        if task == "classification":
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out), y[:, None], axis=1))
        return 0.5 * jnp.mean(jnp.sum((out - y) ** 2, axis=1))
    return f, unravel, static


_project = eqx.filter_jit(O.project)
_invariants = eqx.filter_jit(O.invariants)


def _close(a, b, tol=1e-10):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b), initial=0.0)) <= tol * max(1.0, float(np.max(np.abs(a), initial=0.0)))


@pytest.mark.parametrize("case", list(CASES))
def test_sections_are_idempotent(case):
    m, task, _, _ = _setup(case)
    p = _project(m, task)
    assert _close(O.ravel_model(_project(p, task)), O.ravel_model(p), 1e-12)
    for s in O.symmetries(m, task):
        once = s.section(m)
        assert _close(O.ravel_model(s.section(once)), O.ravel_model(once), 1e-12), s.name
    # a section really moves a generic point onto the section (except when there is nothing to fix)
    if O.lie_dim(m, task):
        assert not _close(O.ravel_model(p), O.ravel_model(m), 1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_invariants_and_chart_point_fixed_by_each_group_action(case):
    m, task, _, _ = _setup(case)
    inv0, p0 = _invariants(m, task), O.ravel_model(_project(m, task))
    key = jax.random.PRNGKey(3)
    for s in O.symmetries(m, task):
        key, k = jax.random.split(key)
        moved = s.act(m, 0.6 * jax.random.normal(k, (s.dim,))) if s.dim else m
        if s.kind == "permutation":  # the discrete group: reverse the particle order
            moved = eqx.tree_at(lambda t: (t.W, t.b, t.A), m, (m.W[::-1], m.b[::-1], m.A[::-1]))
        assert not _close(O.ravel_model(moved), O.ravel_model(m), 1e-6), f"{s.name} acted trivially"
        inv1 = _invariants(moved, task)
        assert set(inv1) == set(inv0)
        for k_ in inv0:
            assert _close(inv1[k_], inv0[k_]), (s.name, k_)
        assert _close(O.ravel_model(_project(moved, task)), p0), s.name


@eqx.filter_jit
def _noether(m, task, x, y):
    """dc/dt = -J_c ∇L for every conserved component, |∇c_k| |∇L|, and the orbit tangents' T^T ∇L."""
    f, unravel, static = _loss_fn(m, task, x, y)
    theta = O.ravel_model(m)
    g = jax.grad(f)(theta)

    def cons(th):
        return ravel_pytree(O.conserved(eqx.combine(unravel(th), static), task))[0]

    J = jax.jacfwd(cons)(theta)  # (n_conserved, P)
    T = O.orbit_tangents(m, task)
    return J @ (-g), jnp.linalg.norm(J, axis=1) * jnp.linalg.norm(g), T.T @ g, jnp.linalg.norm(T, axis=0) * \
        jnp.linalg.norm(g)


@pytest.mark.parametrize("case", ["mlp-relu", "mlp-norm", "mlp-tanh-teacher", "transformer", "meanfield"])
def test_noether_conserved_quantities_are_orthogonal_to_the_gradient(case):
    m, task, x, y = _setup(case)
    if O.lie_dim(m, task) == 0:  # tanh MLP on a regression task: no continuous symmetry, nothing conserved
        assert O.conserved(m, task) == {} and O.orbit_tangents(m, task).shape == (O.ravel_model(m).size, 0)
        return
    rate, scale, tg, tscale = (np.asarray(a) for a in _noether(m, task, x, y))
    assert rate.size >= 1 and tg.size == O.lie_dim(m, task)
    assert np.all(np.abs(rate) <= 1e-10 * scale + 1e-14), np.max(np.abs(rate) / scale)  # dc/dt = 0 on the flow
    assert np.all(np.abs(tg) <= 1e-10 * tscale + 1e-14)  # L constant along the orbit


def test_gradient_descent_scale_quantity_exact_step_identity_and_first_order_drift():
    m, task, x, y = _setup("mlp-norm")
    f, unravel, static = _loss_fn(m, task, x, y)
    # plain gradient descent θ <- θ - η ∇L(θ); η and the number of steps are traced: one compilation
    gd = jax.jit(lambda th, eta, steps: jax.lax.fori_loop(0, steps, lambda _, t: t - eta * jax.grad(f)(t), th))
    theta = O.ravel_model(m)
    key = "scale_sqnorm_layer0"

    def c(th):
        return float(O.conserved(eqx.combine(unravel(th), static), task)[key])

    gm = unravel(jax.grad(f)(theta))  # the gradient as a model: its layer-0 group is the scale group
    g0_sq = float(jnp.sum(gm.weights[0] ** 2) + jnp.sum(gm.biases[0] ** 2))
    lr, T = 0.02, 0.4  # steps 20, 40, 80: well inside the stable range
    drifts = []
    for k in (1, 2, 4):
        eta = lr / k
        steps = int(round(T / eta))
        th1 = gd(theta, eta, 1)
        # w·g = 0 for the scale group, so |w - ηg|² = |w|² + η²|g|² exactly
        assert abs(c(th1) - (c(theta) + eta ** 2 * g0_sq)) <= 1e-12 * c(theta)
        thT = gd(theta, eta, steps)
        drifts.append(c(thT) - c(theta))
    assert all(d > 0 for d in drifts)  # |w|² only grows under plain GD
    ratios = [drifts[i] / drifts[i + 1] for i in range(2)]
    assert all(1.8 < r < 2.3 for r in ratios), (drifts, ratios)  # drift = O(η) at fixed time T


def test_quotient_observables_effective_learning_rate():
    m, task, _, _ = _setup("mlp-norm")
    q = O.quotient_observables(m, task, 0.1)
    scale_keys = sorted(k for k in q if k.startswith("scale_sqnorm_"))
    assert scale_keys == ["scale_sqnorm_layer0", "scale_sqnorm_layer1"]
    for k in scale_keys:
        layer = int(k[-1])
        sq = float(jnp.sum(m.weights[layer] ** 2) + jnp.sum(m.biases[layer] ** 2))
        assert abs(float(q[k]) - sq) <= 1e-12 * sq
        assert abs(float(q["eff_lr_" + k[len("scale_sqnorm_"):]]) - 0.1 / sq) <= 1e-12 * 0.1 / sq
    assert {"logits_bias_sum", "logits_col_sums", "logits_centred_sqnorm"} <= set(q)
