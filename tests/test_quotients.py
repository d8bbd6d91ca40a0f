"""Quotients of parameter symmetries: invariance of project, sections, conservation laws of
gradient flow, induced metrics, orbit volumes and the W₂ normalisation."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.stats import wasserstein_distance

import qshock.manifolds as M

QUOTIENTS = [
    ("radial3", M.RadialQuotient(3)),
    ("scale3_spherical", M.ScaleQuotient(3, "spherical")),
    ("scale4_stereo", M.ScaleQuotient(4, "stereographic")),
    ("rescale3", M.RescaleQuotient(3)),
    ("rescale2_c", M.RescaleQuotient(2, c=-0.6)),
    ("rescale2_polar", M.RescaleQuotient(2, c=0.3, chart="polar")),
    ("translation4", M.TranslationQuotient(4)),
    ("perm4_sorted", M.PermutationQuotient(4, "sorted")),
    ("perm4_gaps", M.PermutationQuotient(4, "gaps")),
    ("perm3_orth", M.PermutationQuotient(3, "orthogonal")),
    ("factorised32", M.FactorisedQuotient(3, 2, 2)),
    ("factorised431", M.FactorisedQuotient(4, 3, 1)),
    ("meanfield4x1", M.MeanFieldQuotient(4, 1)),
    ("meanfield3x2", M.MeanFieldQuotient(3, 2)),
]
QIDS = [q[0] for q in QUOTIENTS]


def _theta(q, key):
    th = jax.random.normal(key, (q.total_dim,))
    if isinstance(q, M.RescaleQuotient) and q.c != 0:
        # put θ on the level set c = |w|² − a² of the quotient's metric
        a2 = (jnp.sum(th[1:] ** 2) - q.c)
        th = th.at[0].set(jnp.sqrt(jnp.maximum(a2, 0.1)))
        th = th.at[1:].multiply(jnp.sqrt((th[0] ** 2 + q.c) / jnp.sum(th[1:] ** 2)))
    return th


@pytest.mark.parametrize("name,q", QUOTIENTS, ids=QIDS)
def test_project_invariant_and_section(name, q):
    """project(g·θ) = project(θ) to 1e-12 for random g; project(section(x)) = x; section is on the level set."""
    proj = jax.jit(q.project)
    for seed in range(4):
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        th = _theta(q, k1)
        g = q.random_group_element(k2)
        x = proj(th)
        assert np.abs(np.asarray(proj(q.group_action(th, g)) - x)).max() <= 1e-12 * max(1.0, float(jnp.abs(x).max()))
        lift = q.section(x)
        assert lift.shape == (q.total_dim,)
        assert np.abs(np.asarray(proj(lift) - x)).max() <= 1e-12 * max(1.0, float(jnp.abs(x).max()))
        if isinstance(q, M.RescaleQuotient):
            assert abs(float(q.conserved(lift)[0] - q.c)) <= 1e-12
        if isinstance(q, M.FactorisedQuotient):  # balanced lift
            assert np.abs(np.asarray(q.conserved(lift))).max() <= 1e-12


def _loss_on(q):
    """A smooth G-invariant loss L(θ) = ℓ(project(θ)) with a fixed random ℓ."""
    d = q.dim
    A = jax.random.normal(jax.random.PRNGKey(7), (3, d))
    b = jax.random.normal(jax.random.PRNGKey(8), (3,))

    def ell(x):
        return jnp.sum(jnp.sin(A @ x + b)) + 0.1 * jnp.sum(x**2)

    if isinstance(q, (M.ScaleQuotient,)):
        # use the embedded representative so the loss is smooth everywhere on the sphere
        An = jax.random.normal(jax.random.PRNGKey(9), (3, q.n))
        return lambda th: jnp.sum(jnp.sin(An @ (th / jnp.linalg.norm(th)) + b))
    return lambda th: ell(q.project(th))


@functools.lru_cache(maxsize=None)
def _euler_drift(q, steps):
    L = _loss_on(q)
    gradL = jax.grad(L)

    @jax.jit
    def run(th0):
        dt = 0.5 / steps
        thT = jax.lax.fori_loop(0, steps, lambda _, th: th - dt * gradL(th), th0)
        return jnp.abs(q.conserved(thT) - q.conserved(th0)).max(), jnp.linalg.norm(thT - th0)

    return run


@pytest.mark.parametrize("name,q", [c for c in QUOTIENTS if c[1].conserved(jnp.ones(c[1].total_dim)).size], ids=[i for i, c in zip(QIDS, QUOTIENTS) if c[1].conserved(jnp.ones(c[1].total_dim)).size])
def test_conserved_under_gradient_flow(name, q):
    """Explicit Euler on θ' = −∇L for t ∈ [0, 0.5]: conserved drift is O(dt) (halves with dt) or round-off."""
    th0 = _theta(q, jax.random.PRNGKey(3))
    d1, moved = (float(a) for a in _euler_drift(q, 200)(th0))
    d2, _ = (float(a) for a in _euler_drift(q, 400)(th0))
    assert moved > 1e-2  # the flow really moves θ
    assert d1 <= 0.5 / 200 * 10  # O(dt) with a modest constant
    assert d2 <= 0.6 * d1 + 1e-12  # first order in dt (or exact)
    if isinstance(q, (M.TranslationQuotient, M.RadialQuotient)):
        assert d1 <= 1e-12  # exactly conserved even by finite steps (translation: even SGD)


def test_scale_effective_learning_rate():
    """One GD step on w with L(w/|w|): the projected step is exp_x(−(η/|w|²) grad_g ℓ) + O(η²)."""
    q = M.ScaleQuotient(3)
    ell = lambda X: jnp.sin(X[0] + 2 * X[1]) + X[2] ** 2  # noqa: E731
    L = lambda w: ell(w / jnp.linalg.norm(w))  # noqa: E731
    w = jnp.array([0.6, -1.1, 1.7])
    x = q.project(w)
    errs = []
    for eta in (1e-2, 5e-3):
        stepped = q.project(w - eta * jax.grad(L)(w))
        pred = q.exp(x, -q.effective_lr(w, eta) * q.gradient(lambda y: ell(q.to_embedding(y)), x))
        errs.append(float(q.distance(stepped, pred)))
    assert errs[0] <= 1e-4 and errs[0] / errs[1] >= 3.5  # at least O(η²) (measured: O(η³))
    # without the 1/|w|² factor the prediction is wrong at O(η)
    wrong = q.exp(x, -1e-2 * q.gradient(lambda y: ell(q.to_embedding(y)), x))
    assert float(q.distance(q.project(w - 1e-2 * jax.grad(L)(w)), wrong)) > 100 * errs[0]


@pytest.mark.parametrize("q", [M.RescaleQuotient(3), M.RescaleQuotient(2, c=-0.6), M.RescaleQuotient(2, c=0.9, chart="polar"),
                               M.FactorisedQuotient(3, 2, 2), M.FactorisedQuotient(2, 3, 2), M.FactorisedQuotient(1, 3, 1)],
                         ids=["rescale3", "rescale_c-", "rescale_polar_c+", "fact32", "fact23", "fact13"])
def test_induced_metric_is_gradient_flow(q):
    """At the section point, d/dt project(θ) under θ' = −∇L equals −g⁻¹(x) ∇ℓ(x) (1e-12)."""
    A = jax.random.normal(jax.random.PRNGKey(1), (q.dim,))
    ell = lambda x: jnp.sin(A @ x) + 0.3 * jnp.sum(x**3)  # noqa: E731
    x = q.project(_theta(q, jax.random.PRNGKey(5)))
    th = q.section(x)
    L = lambda t: ell(q.project(t))  # noqa: E731
    xdot = jax.jvp(q.project, (th,), (-jax.grad(L)(th),))[1]
    pred = -q.inverse_metric(x) @ jax.grad(ell)(x)
    assert np.abs(np.asarray(xdot - pred)).max() <= 1e-12 * max(1.0, float(jnp.abs(pred).max()))
    if isinstance(q, M.FactorisedQuotient):
        W = x.reshape(q.m, q.n)
        G = jax.grad(ell)(x).reshape(q.m, q.n)
        assert np.abs(np.asarray(q.flow_operator(W, G).reshape(-1) + pred)).max() <= 1e-12 * max(1.0, float(jnp.abs(pred).max()))


def test_fixed_rank_flow_operator():
    """r < min(m, n): balanced gradient flow of (U, V) moves W = UVᵀ by −K_W(∇ℓ)."""
    q = M.FactorisedQuotient(4, 3, 1)
    B = jax.random.normal(jax.random.PRNGKey(2), (4, 3))
    ell = lambda W: jnp.sum(jnp.sin(B * W))  # noqa: E731
    th = q.section(q.project(jax.random.normal(jax.random.PRNGKey(4), (q.total_dim,))))
    W = q.project(th).reshape(4, 3)
    L = lambda t: ell(q.project(t).reshape(4, 3))  # noqa: E731
    Wdot = jax.jvp(q.project, (th,), (-jax.grad(L)(th),))[1].reshape(4, 3)
    assert np.abs(np.asarray(Wdot + q.flow_operator(W, jax.grad(ell)(W)))).max() <= 1e-12
    assert np.sum(np.asarray(q.singular_values(W.reshape(-1))) > 1e-10) == 1


def test_rescale_balanced_cone_closed_form():
    """c = 0: g⁻¹ = |θ|(I + θ̂θ̂ᵀ), and FactorisedQuotient(1, n, 1) gives the same metric."""
    q, f = M.RescaleQuotient(3), M.FactorisedQuotient(1, 3, 1)
    x = jnp.array([0.4, -1.2, 0.7])
    r = jnp.linalg.norm(x)
    K = r * (jnp.eye(3) + jnp.outer(x, x) / r**2)
    assert np.abs(np.asarray(q.inverse_metric(x) - K)).max() <= 1e-14
    assert np.abs(np.asarray(q.metric(x) - f.metric(x))).max() <= 1e-13


def test_orbit_volumes():
    """log V: radial (n−1) log r; rescale ½ log(a²+|w|²) = ¼ log(c² + 4|θ|²); translation ½ log k; permutation 0."""
    r = M.RadialQuotient(4)
    assert abs(float(r.log_orbit_volume(jnp.array([2.0]))) - 3 * np.log(2.0)) <= 1e-14
    assert abs(float(r.noise_drift(jnp.array([2.0]), 0.5)[0]) - 0.5 * 3 / 2.0) <= 1e-14  # ν(n−1)/r
    for c in (0.0, 0.8):
        q = M.RescaleQuotient(2, c=c)
        x = jnp.array([0.3, -0.9])
        assert abs(float(q.log_orbit_volume(x)) - 0.25 * np.log(c**2 + 4 * float(x @ x))) <= 1e-14
    assert abs(float(M.TranslationQuotient(5).log_orbit_volume(jnp.zeros(4))) - 0.5 * np.log(5)) <= 1e-14
    assert float(M.PermutationQuotient(3).log_orbit_volume(jnp.array([0.0, 1.0, 2.0]))) == 0.0
    assert float(M.ScaleQuotient(3).log_orbit_volume(jnp.array([1.0, 2.0]))) == pytest.approx(0.0, abs=1e-15)
    # GL(r): orbit of the balanced lift; invariant under orthogonal A (balanced-preserving)
    f = M.FactorisedQuotient(3, 2, 2)
    x = jnp.array([1.0, 0.2, -0.3, 0.9, 0.5, 0.1])
    assert np.isfinite(float(f.log_orbit_volume(x)))


def test_meanfield_w2_normalisation():
    """d = 1: W₂² = (1/m)Σ(x_(i) − y_(i))² = optimal assignment; W₁ = (1/m)Σ|x_(i) − y_(i)| (scipy)."""
    q = M.MeanFieldQuotient(7, 1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.normal(size=7), rng.normal(size=7) + 0.5
        C = (x[:, None] - y[None, :]) ** 2
        i, j = linear_sum_assignment(C)
        w2_ref = np.sqrt(C[i, j].sum() / 7)
        assert abs(float(q.wasserstein2(jnp.asarray(x), jnp.asarray(y))) - w2_ref) <= 1e-13
        chamber = float(jnp.linalg.norm(q.project(jnp.asarray(x)) - q.project(jnp.asarray(y))))
        assert abs(chamber / np.sqrt(7) - w2_ref) <= 1e-13
        # the metric (1/m) I makes the chart distance equal W₂
        xs, ys = q.project(jnp.asarray(x)), q.project(jnp.asarray(y))
        assert abs(float(q.norm(xs, q.log(xs, ys))) - w2_ref) <= 1e-13
        w1 = float(jnp.mean(jnp.abs(xs - ys)))
        assert abs(w1 - wasserstein_distance(x, y)) <= 1e-13


def test_translation_helmert_chart():
    """Hᵀ1 = 0, HᵀH = I; embedding of the projection = centred logits; SGD-style steps keep 1ᵀz."""
    q = M.TranslationQuotient(5)
    H = M.helmert_basis(5)
    assert np.abs(H.T @ np.ones(5)).max() <= 1e-15 and np.abs(H.T @ H - np.eye(4)).max() <= 1e-15
    z = jnp.array([0.3, -1.0, 2.0, 0.1, 0.7])
    assert np.abs(np.asarray(q.to_embedding(q.project(z)) - q.centre(z))).max() <= 1e-15
    # cross-entropy gradient (any batch) sums to zero over classes: 1ᵀz exactly conserved by SGD
    ce = lambda zz, k: -jax.nn.log_softmax(zz)[k]  # noqa: E731
    zz = z
    for k in [0, 3, 1, 4, 2, 2]:
        zz = zz - 0.7 * jax.grad(ce)(zz, k)
    assert abs(float(jnp.sum(zz) - jnp.sum(z))) <= 1e-14


def test_quotient_methods_under_jit_vmap_grad():
    """vmap(project) over a batch = per-sample project; grad of ℓ∘project is G-equivariant."""
    q = M.RescaleQuotient(2)
    th = jax.random.normal(jax.random.PRNGKey(0), (6, 3))
    xs = jax.jit(jax.vmap(q.project))(th)
    assert np.abs(np.asarray(xs - th[:, :1] * th[:, 1:])).max() <= 1e-15
    L = lambda t: jnp.sin(q.project(t)).sum()  # noqa: E731
    g = jax.grad(L)(th[0])
    alpha = 1.7
    g2 = jax.grad(L)(q.group_action(th[0], alpha))
    # ∇L transforms contragrediently: (∂_a, ∂_w) at (a/α, αw) = (α ∂_a, ∂_w/α)
    assert np.abs(np.asarray(g2 - jnp.concatenate([alpha * g[:1], g[1:] / alpha]))).max() <= 1e-14
