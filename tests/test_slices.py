"""Quotient chart of a checkpoint (experiments/lab/slices.py): gauge invariance, horizontality,
the inherited metric, the grid values and the mini-batch statistics, against direct evaluation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from qshock.errors import QShockInputError
from qshock.experiments.lab.models import MLP
from qshock.experiments.lab.observables import orbit_tangents
from qshock.experiments.lab.slices import ChartSymmetry, LossChart, chart_extent, loss_chart
from qshock.manifolds import Manifold
from qshock.solver import Grid


def _problem(norm=False, seed=0, n_data=48):
    k0, k1, k2 = jax.random.split(jax.random.PRNGKey(seed), 3)
    model = MLP(4, [6], 3, k0, activation="relu", norm=norm)
    model = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, model)
    params, static = eqx.partition(model, eqx.is_array)
    flat, unravel = ravel_pytree(params)
    model_of = lambda th: eqx.combine(unravel(th), static)  # noqa: E731
    X = jax.random.normal(k1, (n_data, 4), jnp.float64)
    y = jax.random.randint(k2, (n_data,), 0, 3)

    def batch_loss(th, b):
        xb, yb = b
        logp = jax.nn.log_softmax(jax.vmap(model_of(th))(xb))
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    return model, model_of, flat, (lambda th: batch_loss(th, (X, y))), batch_loss, (X, y)


def _rescaled(model, alpha):
    """ReLU layer 0 rescaled: (w_in, b) * alpha, w_out / alpha (the same function)."""
    return eqx.tree_at(lambda t: (t.weights[0], t.biases[0], t.weights[1]), model,
                       (model.weights[0] * alpha, model.biases[0] * alpha, model.weights[1] / alpha))


def _horizontal_spectrum(H, J):
    """Eigenvalues (ascending) of H restricted to the orthogonal complement of span(J) (dense)."""
    U, sv, _ = np.linalg.svd(J, full_matrices=True)
    Q = U[:, int(np.sum(sv > 1e-10 * sv[0])):]
    return np.linalg.eigvalsh(Q.T @ H @ Q)


def _flat(model):
    return ravel_pytree(eqx.filter(model, eqx.is_array))[0]


def test_quotient_chart_is_gauge_invariant_raw_chart_is_not():
    model, model_of, theta, loss, _, _ = _problem()
    key = jax.random.PRNGKey(3)
    sym = (model_of, "classification")
    q = {a: loss_chart(loss, _flat(_rescaled(model, a)), symmetries=sym, m=2, n=9, key=key, lanczos_iters=30, lr=0.5)
         for a in (1.0, 0.25, 4.0)}
    r = {a: loss_chart(loss, _flat(_rescaled(model, a)), m=2, n=9, key=key, lanczos_iters=30, raw=True, lr=0.5)
         for a in (1.0, 0.25, 4.0)}
    for a in (0.25, 4.0):
        # same function
        assert abs(float(loss(_flat(_rescaled(model, a)))) - float(loss(theta))) < 1e-12
        np.testing.assert_allclose(q[a].eigenvalues, q[1.0].eigenvalues, rtol=1e-6)
        np.testing.assert_allclose(q[a].extent, q[1.0].extent, rtol=1e-6)
        np.testing.assert_allclose(q[a].loss, q[1.0].loss, rtol=0, atol=1e-6)
        np.testing.assert_allclose(q[a].origin, q[1.0].origin, atol=1e-10)
        # the raw top eigenvalue moves by far more than the tolerance above
        assert abs(float(r[a].eigenvalues[0]) / float(r[1.0].eigenvalues[0]) - 1) > 0.05
    assert q[1.0].quotient and not r[1.0].quotient


def test_directions_are_horizontal_orthonormal_and_diagonalise_the_hessian():
    model, model_of, theta, loss, _, _ = _problem(norm=True)  # scale symmetry of layer 0
    # "bottom" is the harder case: the orbit directions are null directions of the Hessian
    c = loss_chart(loss, theta, symmetries=(model_of, "classification"), m=2, n=7, which="bottom",
                   key=jax.random.PRNGKey(1), lanczos_iters=40)
    J = np.asarray(orbit_tangents(model_of(c.origin), "classification"))
    J = J / np.linalg.norm(J, axis=0)
    assert np.max(np.abs(np.asarray(c.directions) @ J)) < 1e-8
    assert c.info["max_orthogonality"] < 1e-8
    np.testing.assert_allclose(c.metric, np.eye(2), atol=1e-12)
    H = np.asarray(jax.jit(jax.hessian(loss))(c.origin))
    Dm = np.asarray(c.directions)
    np.testing.assert_allclose(Dm @ H @ Dm.T, np.diag(c.eigenvalues), atol=1e-8)
    # the most negative horizontal eigenvalues (dense check)
    ev = _horizontal_spectrum(H, J)
    assert ev[1] < 0
    np.testing.assert_allclose(c.eigenvalues, ev[:2], rtol=1e-6)
    # on the scale sphere the section point has unit norm per group
    w0 = model_of(c.origin).weights[0]
    b0 = model_of(c.origin).biases[0]
    assert abs(float(jnp.sum(w0 ** 2) + jnp.sum(b0 ** 2)) - 1.0) < 1e-12


def test_top_directions_match_dense_horizontal_hessian():
    model, model_of, theta, loss, _, _ = _problem()
    c = loss_chart(loss, theta, symmetries=(model_of, "classification"), m=2, n=7, key=jax.random.PRNGKey(2),
                   lanczos_iters=60)
    J = np.asarray(orbit_tangents(model_of(c.origin), "classification"))
    ev = _horizontal_spectrum(np.asarray(jax.jit(jax.hessian(loss))(c.origin)), J)[::-1]
    np.testing.assert_allclose(c.eigenvalues, ev[:2], rtol=1e-8)


def test_grid_values_and_minibatch_statistics():
    model, model_of, theta, loss, batch_loss, (X, y) = _problem()
    batches = [(X[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8)]
    c = loss_chart(loss, theta, symmetries=(model_of, "classification"), m=1, n=11, key=jax.random.PRNGKey(0),
                   batch_loss_fn=batch_loss, batches=batches, extent=0.3)
    g = c.grid()
    assert isinstance(g, Grid) and g.shape == (11,) and g.lower == (-0.3,) and g.upper == (0.3,)
    assert isinstance(c.manifold(), Manifold)
    np.testing.assert_allclose(c.manifold().metric(jnp.zeros(1)), c.metric)
    xs = np.asarray(g.centres())
    jl, jbl, jgb = jax.jit(loss), jax.jit(batch_loss), jax.jit(jax.grad(batch_loss))
    for i in (0, 5, 10):
        th = c.origin + xs[i] * c.directions[0]
        assert abs(float(c.loss[i]) - float(jl(th))) < 1e-12
        bl = np.array([float(jbl(th, b)) for b in batches])
        assert abs(float(c.loss_var[i]) - bl.var(ddof=1)) < 1e-12
    gb = np.array([float(jgb(c.origin, b) @ c.directions[0]) for b in batches])
    assert abs(float(c.grad_var[0]) - 8 * gb.var(ddof=1)) < 1e-10
    assert abs(float(c.gradient[0]) - float(jax.jit(jax.grad(loss))(c.origin) @ c.directions[0])) < 1e-12


def test_default_extent_contains_the_quadratic_valley_and_the_step_scale():
    e = chart_extent(np.array([2.0, 0.1]), np.array([4.0, 1.0]), np.array([9.0, 0.0]), 0.1, 1.0)
    assert e[0] >= 1.5 * 2.0 / 4.0 and e[0] >= 4 * 0.1 * 2.0 and e[0] >= 4 * 0.1 * 3.0
    assert e[1] >= np.sqrt(2 * 0.5 / 1.0)
    # a quadratic loss: the valley x = -g/lam of each direction lies inside the default box
    A = jnp.diag(jnp.array([5.0, 2.0, 1.0]))
    th = jnp.array([1.0, -0.5, 0.2])
    c = loss_chart(lambda t: 0.5 * t @ A @ t, th, m=2, n=9, key=jax.random.PRNGKey(0))
    valley = -np.asarray(c.gradient) / np.asarray(c.eigenvalues)
    assert np.all(np.abs(valley) < np.asarray(c.extent))
    np.testing.assert_allclose(c.eigenvalues, [5.0, 2.0], rtol=1e-12)


def test_custom_symmetry_and_bad_input():
    # translation-invariant loss f(theta) = g(theta - mean(theta)): the section centres theta
    f = lambda t: jnp.sum((t - t.mean()) ** 2 * jnp.arange(1.0, 5.0))  # noqa: E731
    sym = ChartSymmetry(lambda t: t - t.mean(), lambda t: jnp.ones((t.shape[0], 1)) / 2.0, "shift")
    th = jnp.array([0.3, -0.1, 0.7, 0.2])
    c1 = loss_chart(f, th, symmetries=sym, m=1, n=7, key=jax.random.PRNGKey(0))
    c2 = loss_chart(f, th + 5.0, symmetries=sym, m=1, n=7, key=jax.random.PRNGKey(0))
    np.testing.assert_allclose(c1.eigenvalues, c2.eigenvalues, rtol=1e-10)
    assert abs(float(jnp.sum(c1.directions))) < 1e-10
    assert isinstance(c1, LossChart)
    for kw, word in [(dict(m=4), "m must"), (dict(which="middle"), "which"), (dict(n=3), "n must"),
                     (dict(lr=-1.0), "lr"), (dict(key=None), "key"), (dict(extent=-1.0), "extent"),
                     (dict(batches=[1]), "batch_loss_fn")]:
        args = dict(m=1, n=7, key=jax.random.PRNGKey(0))
        args.update(kw)
        with pytest.raises(QShockInputError, match=word):
            loss_chart(f, th, **args)
    with pytest.raises(QShockInputError, match="theta"):
        loss_chart(f, jnp.zeros((2, 2)), key=jax.random.PRNGKey(0))


@pytest.mark.slow
@pytest.mark.parametrize("model,data,kw", [("cnn", "digits", dict(width=4)), ("transformer", "sequence", dict(width=8)),
                                           ("meanfield", "teacher", dict(width=32)), ("mlp", "mnist1d", dict(width=16))])
def test_chart_of_every_lab_model_through_its_trainer(model, data, kw):
    from qshock.experiments.lab.training import TrainConfig, get_trainer

    cfg = TrainConfig(model=model, data=data, lr=0.1, steps=10, batch=32, dtype="float64", sharpness_batch=64,
                      **kw).validate()
    tr = get_trainer(cfg)
    A = tr.arrays
    theta = tr.init(jnp.array([0]), 0.1, 0.0, 0.0)[0][0]
    loss = lambda th: tr.loss_acc(th, A["Xs"], A["Ys"])[0]  # noqa: E731
    c = loss_chart(loss, theta, symmetries=tr, m=1, n=17, lr=0.1, key=jax.random.PRNGKey(0))
    J = np.asarray(orbit_tangents(tr.model_of(c.origin), tr.task))
    if J.shape[1]:
        J = J / np.linalg.norm(J, axis=0)
        assert np.max(np.abs(np.asarray(c.directions) @ J)) < 1e-8
    np.testing.assert_allclose(c.metric, np.eye(1), atol=1e-12)
    assert abs(float(c.loss[8]) - float(loss(c.origin))) < 1e-10  # the origin is the centre cell
    assert abs(float(loss(c.origin)) - float(loss(theta))) < 1e-8  # the section point is the same function


def test_extent_fn_widens_the_box_before_the_grid_is_evaluated():
    # extent_fn sees the default half-widths and grad_var; the grid values are those of the new box
    A = jnp.diag(jnp.array([3.0, 2.0, 1.0]))
    loss = lambda t: 0.5 * t @ A @ t  # noqa: E731
    seen = {}

    def fn(e, gv):
        seen["e"] = np.asarray(e).copy()
        return 1.5 * e

    c = loss_chart(loss, jnp.array([0.1, 0.2, 0.3]), m=1, n=9, key=jax.random.PRNGKey(0), extent_fn=fn)
    c0 = loss_chart(loss, jnp.array([0.1, 0.2, 0.3]), m=1, n=9, key=jax.random.PRNGKey(0))
    np.testing.assert_allclose(np.asarray(c.extent), 1.5 * np.asarray(c0.extent), rtol=1e-14)
    np.testing.assert_allclose(seen["e"], np.asarray(c0.extent), rtol=1e-14)
    x = np.asarray(c.grid().centres(0))
    want = [float(loss(c.origin + xi * c.directions[0])) for xi in x]
    np.testing.assert_allclose(np.asarray(c.loss), want, rtol=1e-12)
