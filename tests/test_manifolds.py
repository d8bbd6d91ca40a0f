"""Geometry of the manifolds: metric, Christoffel symbols, closed forms vs autodiff, exp/log,
jit/vmap/grad, and bad input. Every check compares numbers to an exact identity."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import qshock.manifolds as M
from qshock.manifolds import Manifold, ManifoldError

# (id, manifold, per-axis sampling box, post-processing of the sample)
CASES = [
    ("euclidean3", M.Euclidean(3), [(-3, 3)] * 3, None),
    ("torus2", M.Torus(2, (2 * math.pi, 3.0)), [(0, 2 * math.pi), (0, 3.0)], None),
    ("circle", M.Circle(), [(0, 2 * math.pi)], None),
    ("s2_spherical", M.Sphere(3, "spherical"), [(0.35, math.pi - 0.35), (0, 2 * math.pi)], None),
    ("s2_stereo", M.Sphere(3, "stereographic"), [(-2, 2)] * 2, None),
    ("s3_spherical", M.Sphere(4, "spherical"), [(0.4, math.pi - 0.4)] * 2 + [(0, 2 * math.pi)], None),
    ("s3_stereo", M.Sphere(4, "stereographic"), [(-1.5, 1.5)] * 3, None),
    ("radial3", M.RadialQuotient(3), [(0.3, 3)], None),
    ("scale3", M.ScaleQuotient(3), [(0.35, math.pi - 0.35), (0, 2 * math.pi)], None),
    ("rescale2", M.RescaleQuotient(2), [(-2, 2)] * 2, "norm"),
    ("rescale2_c", M.RescaleQuotient(2, c=0.7), [(-2, 2)] * 2, "norm"),
    ("rescale2_polar", M.RescaleQuotient(2, chart="polar"), [(0.4, 2), (0, 2 * math.pi)], None),
    ("translation4", M.TranslationQuotient(4), [(-3, 3)] * 3, None),
    ("perm3_sorted", M.PermutationQuotient(3, "sorted"), [(-3, 3)] * 3, "sort"),
    ("perm3_gaps", M.PermutationQuotient(3, "gaps"), [(-3, 3)] + [(0, 2)] * 2, None),
    ("perm2_orth", M.PermutationQuotient(2, "orthogonal"), [(-3, 3), (0, 2)], None),
    ("perm3_orth", M.PermutationQuotient(3, "orthogonal"), [(-3, 3), (0.3, 3), (0.1, math.pi / 3 - 0.1)], None),
    ("factorised2", M.FactorisedQuotient(2, 2, 2), [(-2, 2)] * 4, "cond"),
    ("factorised32", M.FactorisedQuotient(3, 2, 2), [(-2, 2)] * 6, "cond"),
    ("meanfield3", M.MeanFieldQuotient(3, 1), [(-3, 3)] * 3, "sort"),
]
IDS = [c[0] for c in CASES]
# log by Newton shooting (no closed form): slower, fewer examples
SHOOTING = {"rescale2", "rescale2_c", "rescale2_polar", "factorised2", "factorised32"}


def _point(case, data):
    _, m, box, post = case
    x = np.array([data.draw(st.floats(lo, hi, allow_nan=False)) for lo, hi in box])
    if post == "sort":
        x = np.sort(x)
    if post == "norm":
        assume(np.linalg.norm(x) > 0.4)
    if post == "cond":
        k = m.m if hasattr(m, "m") else 1
        s = np.linalg.svd(x.reshape(k, -1), compute_uv=False)
        assume(s[-1] > 0.3 and s[0] / s[-1] < 8 and (len(s) < 2 or np.min(np.diff(s[::-1])) > 0.05))
    return jnp.asarray(x)


@functools.lru_cache(maxsize=None)
def _geometry_fn(m):
    def f(x):
        return dict(
            g=m.metric(x), ginv=m.inverse_metric(x), ginv_ad=Manifold.inverse_metric(m, x),
            lsd=m.log_sqrt_det(x), lsd_ad=Manifold.log_sqrt_det(m, x),
            gam=m.christoffel(x), gam_ad=Manifold.christoffel(m, x),
        )
    return jax.jit(f)


@functools.lru_cache(maxsize=None)
def _exp_fn(m):
    return jax.jit(lambda x, v: (m.exp(x, v), Manifold.exp(m, x, v)))


@functools.lru_cache(maxsize=None)
def _log_fn(m):
    return jax.jit(lambda x, y: (m.log(x, y), m.exp(x, m.log(x, y))))


def _chart_diff(m, a, b):
    return np.asarray(m._nearest_image(jnp.asarray(a) - jnp.asarray(b)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=15)
@given(data=st.data())
def test_metric_spd_christoffel_closed_forms(case, data):
    """g SPD and symmetric; Γ[k,i,j] symmetric in (i,j); closed forms = autodiff to 1e-10."""
    _, m, _, _ = case
    x = _point(case, data)
    r = {k: np.asarray(v) for k, v in _geometry_fn(m)(x).items()}
    g = r["g"]
    assert np.abs(g - g.T).max() <= 1e-12 * max(1.0, np.abs(g).max())
    assert np.linalg.eigvalsh(g).min() > 0
    scale = max(1.0, np.abs(r["ginv"]).max())
    assert np.abs(r["ginv"] - r["ginv_ad"]).max() <= 1e-10 * scale
    assert np.abs(r["ginv"] @ g - np.eye(m.dim)).max() <= 1e-10 * scale
    if not isinstance(m, M.RadialQuotient):  # weighted manifold: log √G is the weight by design
        assert abs(r["lsd"] - r["lsd_ad"]) <= 1e-10
    for gam in (r["gam"], r["gam_ad"]):
        assert np.abs(gam - np.swapaxes(gam, 1, 2)).max() <= 1e-10 * max(1.0, np.abs(gam).max())
    assert np.abs(r["gam"] - r["gam_ad"]).max() <= 1e-10 * max(1.0, np.abs(r["gam"]).max())


@pytest.mark.parametrize("case", [c for c in CASES if c[0] not in SHOOTING], ids=[i for i in IDS if i not in SHOOTING])
@settings(max_examples=10)
@given(data=st.data())
def test_exp_closed_equals_geodesic_ode_and_exp_log_identity(case, data):
    """Closed-form exp = diffrax geodesic integration (1e-10); log(x, exp(x, v)) = v; exp∘log = id."""
    _, m, _, _ = case
    x = _point(case, data)
    v = jnp.asarray([data.draw(st.floats(-0.4, 0.4)) for _ in range(m.dim)])
    e_closed, e_ode = _exp_fn(m)(x, v)
    assert np.abs(_chart_diff(m, e_closed, e_ode)).max() <= 1e-10
    if isinstance(m, M.PermutationQuotient) and m.chart == "sorted":
        assume(np.all(np.diff(np.asarray(e_closed)) > 0))  # stay inside the chamber
    lg, back = _log_fn(m)(x, e_closed)
    assert np.abs(np.asarray(lg) - np.asarray(v)).max() <= 1e-10
    assert np.abs(_chart_diff(m, back, e_closed)).max() <= 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c[0] in SHOOTING], ids=sorted(SHOOTING, key=IDS.index))
@settings(max_examples=10)
@given(data=st.data())
def test_exp_log_by_shooting(case, data):
    """Metrics without closed geodesics: log by Newton shooting inverts the diffrax exp (1e-10)."""
    _, m, _, _ = case
    x = _point(case, data)
    v = 0.15 * jnp.asarray([data.draw(st.floats(-1, 1)) for _ in range(m.dim)]) * jnp.linalg.norm(x)
    y, _ = _exp_fn(m)(x, v)
    lg, back = _log_fn(m)(x, y)
    assert np.abs(np.asarray(back) - np.asarray(y)).max() <= 1e-10
    assert np.abs(np.asarray(lg) - np.asarray(v)).max() <= 1e-9 * max(1.0, float(jnp.abs(v).max()))


def _shooting_roundtrip(m, x):
    """log(x, exp(x, v)) = v with exp the diffrax geodesic and log the shooting inverse."""
    v = 0.2 * jnp.linspace(-1.0, 1.0, m.dim)

    @jax.jit
    def roundtrip(x, v):
        y = Manifold.exp(m, x, v)
        return Manifold.log(m, x, y)

    assert np.abs(np.asarray(roundtrip(x, v) - v)).max() <= 1e-10


def test_exp_log_by_shooting_fast():
    """Shooting log inverts the diffrax exp on the rescale cone (c = 0)."""
    _shooting_roundtrip(M.RescaleQuotient(2), jnp.array([1.0, 0.5]))


@pytest.mark.slow
def test_exp_log_by_shooting_factorised():
    """Shooting log inverts the diffrax exp on full-rank 2×2 matrices (GL(2) quotient)."""
    _shooting_roundtrip(M.FactorisedQuotient(2, 2, 2), jnp.array([1.5, 0.3, -0.2, 0.8]))


@pytest.mark.parametrize("chart", ["stereographic", pytest.param("spherical", marks=pytest.mark.slow)])
def test_log_shooting_matches_closed_form_on_sphere(chart):
    """Generic shooting log (base class) = great-circle log (a long geodesic, 1e-10)."""
    m = M.Sphere(3, chart)
    x = jnp.array([1.1, 0.7])
    y = jnp.array([1.6, 1.9]) if chart == "spherical" else jnp.array([0.2, -0.9])
    ad = jax.jit(lambda a, b: Manifold.log(m, a, b))(x, y)
    assert np.abs(np.asarray(ad - m.log(x, y))).max() <= 1e-10


# ---------------------------------------------------------------- jit / vmap / grad
def _f_test(x):
    return jnp.sin(x).sum() + 0.3 * jnp.cos(x @ x)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jit_vmap_grad(case):
    """Batched (vmap+jit) Laplace–Beltrami = pointwise; grad of ½d²(x, y) in y = −g(y) log_y(x)."""
    _, m, box, post = case
    rng = np.random.default_rng(0)
    pts = []
    while len(pts) < 2:
        p = np.array([rng.uniform(lo, hi) for lo, hi in box])
        if post == "sort":
            p = np.sort(p)
        if post == "norm" and np.linalg.norm(p) < 0.4:
            continue
        if post == "cond":
            s = np.linalg.svd(p.reshape(m.m, -1), compute_uv=False)
            if s[-1] < 0.3 or s[0] / s[-1] > 8:
                continue
        pts.append(p)
    X = jnp.asarray(np.array(pts))
    lb_point = jax.jit(lambda x: m.laplace_beltrami(_f_test, x))
    lb = jax.jit(jax.vmap(lb_point))(X)
    for i in range(len(pts)):
        assert abs(float(lb[i]) - float(lb_point(X[i]))) <= 1e-12 * max(1.0, abs(float(lb[i])))
    # grad through log: ∇_y ½ d(x, y)² = −g(y) log_y(x) (covector)
    if case[0] in SHOOTING:
        return
    x, y = X[0], m.exp(X[0], 0.3 * (X[1] - X[0]) / max(1.0, float(jnp.abs(X[1] - X[0]).max())))
    half_d2 = lambda yy: 0.5 * m.norm(x, m.log(x, yy)) ** 2  # noqa: E731
    gy = jax.jit(jax.grad(half_d2))(y)
    expect = -m.metric(y) @ m.log(y, x)
    assert np.abs(np.asarray(gy - expect)).max() <= 1e-9


@pytest.mark.slow
def test_grad_through_shooting_log():
    """grad of ½d² through the shooting log (implicit differentiation) on the rescale cone."""
    m = M.RescaleQuotient(2)
    x, y = jnp.array([1.0, 0.5]), jnp.array([1.2, 0.8])
    gy = jax.grad(lambda yy: 0.5 * m.norm(x, m.log(x, yy)) ** 2)(y)
    expect = -m.metric(y) @ m.log(y, x)
    assert np.abs(np.asarray(gy - expect)).max() <= 1e-8


@pytest.mark.parametrize("m,c", [(M.RescaleQuotient(2, c=0.0, chart="polar"), 0.0), (M.RescaleQuotient(2, c=-0.4, chart="polar"), -0.4),
                                 (M.Sphere(3, "stereographic"), None), (M.PermutationQuotient(3, "orthogonal"), None)],
                         ids=["rescale_polar", "rescale_polar_c", "s2_stereo", "chamber3_orth"])
def test_chart_metric_is_pullback(m, c):
    """The chart metric equals Jᵀ g_emb J (J = d to_embedding): g_emb = the invariant-chart cone metric or I."""
    x = jnp.array([1.3, 2.2]) if m.dim == 2 else jnp.array([0.2, 1.1, 0.6])
    J = jax.jacfwd(m.to_embedding)(x)
    X = m.to_embedding(x)
    g_emb = M.RescaleQuotient(2, c=c).metric(X) if isinstance(m, M.RescaleQuotient) else jnp.eye(X.shape[0])
    assert np.abs(np.asarray(J.T @ g_emb @ J - m.metric(x))).max() <= 1e-14


# ---------------------------------------------------------------- radial quotient
@pytest.mark.parametrize("n", [2, 3, 5])
def test_radial_laplacian_equals_full_space(n):
    """Δ_radial f(r) = Δ_{R^n} f(|x|) (autodiff both), and the closed form f'' + (n−1)f'/r."""
    f = lambda r: jnp.exp(-r[0] ** 2) * jnp.sin(2 * r[0]) + r[0] ** 3  # noqa: E731
    F = lambda x: f(jnp.linalg.norm(x)[None])  # noqa: E731
    q, E = M.RadialQuotient(n), M.Euclidean(n)
    X = jnp.asarray(np.random.default_rng(n).normal(size=(5, n)))

    @jax.jit
    @jax.vmap
    def three(x):
        r = q.project(x)
        return E.laplace_beltrami(F, x), Manifold.laplace_beltrami(q, f, r), q.laplace_beltrami(f, r)

    full, ad, closed = (np.asarray(a) for a in three(X))
    assert np.abs(ad - full).max() <= 1e-10 * max(1, np.abs(full).max())
    assert np.abs(closed - full).max() <= 1e-10 * max(1, np.abs(full).max())


# ---------------------------------------------------------------- chamber walls
@pytest.mark.parametrize("m,chart,s", [(3, "gaps", [0.3, 0.4, 0.7]), (2, "orthogonal", [0.3, 0.5]),
                                          (3, "orthogonal", [0.3, 1.2, 0.4])])
def test_chamber_charts_are_isometric_and_walls_reflect(m, chart, s):
    """Chamber charts: Δ(F∘emb) = (ΔF)∘emb; a symmetric F has zero normal flux √G g^{kj}∂_j u on each wall face."""
    q = M.PermutationQuotient(m, chart)
    F = lambda x: jnp.exp(-jnp.sum(x**2)) * (1 + jnp.prod(jnp.cos(x)) + jnp.sum(x**3) * jnp.sum(x))  # symmetric  # noqa: E731
    u = lambda y: F(q.to_embedding(y))  # noqa: E731

    @jax.jit
    def lap_and_flux(y):
        # Laplace–Beltrami in the chart, flat Laplacian of F, and the flux vector √G g^{kj}∂_j u
        return (q.laplace_beltrami(u, y), jnp.trace(jax.hessian(F)(q.to_embedding(y))),
                q.volume_density(y) * q.gradient(u, y))

    s = jnp.asarray(s)
    lap, lap_flat, _ = lap_and_flux(s)
    assert abs(float(lap - lap_flat)) <= 1e-12
    lower, upper = q.domain
    walls = [(k, b) for k in range(m) for b, kind in zip((lower[k], upper[k]), q.singular[k]) if kind == "wall"]
    assert len(walls) == m - 1  # one wall per adjacent pair of units
    for k, b in walls:
        on_wall = s.at[k].set(b)
        emb = np.asarray(q.to_embedding(on_wall))
        assert np.min(np.abs(np.diff(emb))) <= 1e-14  # the face is a coincidence x_i = x_{i+1}
        assert abs(float(lap_and_flux(on_wall)[2][k])) <= 1e-14


# ---------------------------------------------------------------- bad input
def test_bad_input_messages():
    s2 = M.Sphere(3)
    with pytest.raises(ManifoldError, match=r"outside the domain.*theta=4.*\(0, 3.14159\)"):
        s2.check_point([4.0, 1.0])
    with pytest.raises(ManifoldError, match=r"singular set.*theta=0"):
        s2.check_point([0.0, 1.0])
    with pytest.raises(ManifoldError, match=r"dimension mismatch.*theta, phi.*\(2,\).*\(3,\)"):
        s2.check_point([1.0, 1.0, 1.0])
    with pytest.raises(ManifoldError, match=r"non-finite"):
        s2.check_point([np.nan, 1.0])
    assert np.allclose(s2.check_point([[1.0, 7.0], [2.0, -1.0]]), [[1.0, 7.0], [2.0, -1.0]])  # phi periodic
    with pytest.raises(ManifoldError, match=r"singular set.*r=0"):
        M.RadialQuotient(3).check_point([0.0])
    M.RadialQuotient(1).check_point([0.0])  # R/O(1): r = 0 is a reflecting wall, part of the chart
    with pytest.raises(ManifoldError, match=r"outside the domain.*r=-1"):
        M.RadialQuotient(1).check_point([-1.0])
    with pytest.raises(ManifoldError, match=r"sorted x1 <= ... <= x3"):
        M.PermutationQuotient(3).check_point([1.0, 0.0, 2.0])
    M.PermutationQuotient(3, "gaps").check_point([-1.0, 0.0, 0.0])  # walls are in the chart
    with pytest.raises(ManifoldError, match=r"s2=-0.5"):
        M.PermutationQuotient(3, "gaps").check_point([0.0, -0.5, 0.0])
    with pytest.raises(ManifoldError, match=r"cone tip"):
        M.RescaleQuotient(2).check_point([0.0, 0.0])
    with pytest.raises(ManifoldError, match=r"rank < 2"):
        M.FactorisedQuotient(2, 2, 2).check_point([1.0, 2.0, 2.0, 4.0])
    with pytest.raises(ManifoldError, match=r"only for r = min"):
        M.FactorisedQuotient(3, 3, 1).metric(jnp.ones(9))
    with pytest.raises(ManifoldError, match=r"unknown manifold 'klein'.*sphere.*chamber"):
        M.make_manifold("klein")
    with pytest.raises(ManifoldError, match=r"unknown chart 'mercator'.*spherical, stereographic"):
        M.make_manifold("sphere", chart="mercator")
    with pytest.raises(ManifoldError, match=r"unknown chart"):
        M.Sphere(3, "mercator")
    with pytest.raises(ManifoldError, match=r"dim must be a positive integer"):
        M.make_manifold("torus", dim=0)
    assert issubclass(ManifoldError, ValueError)


def test_registry():
    assert M.make_manifold("sphere").coordinate_names == ("theta", "phi")
    assert M.make_manifold("sphere", dim=3).n == 4
    assert M.make_manifold("Sphere", "stereographic").coordinate_names == ("y1", "y2")
    assert M.make_manifold("chamber").singular[1] == ("wall", "open")
    assert M.make_manifold("chamber", dim=3).coordinate_names == ("c", "rho", "alpha")
    assert M.make_manifold("radial").weighted and not M.make_manifold("sphere").weighted
    with pytest.raises(ManifoldError, match=r"m = 2 or 3 only"):
        M.make_manifold("chamber", dim=4)
    for name in M.MANIFOLD_NAMES:
        for chart in M.MANIFOLD_CHARTS[name]:
            m = M.make_manifold(name, chart)
            assert m.chart_name == chart and len(m.domain[0]) == m.dim == len(m.periodic) == len(m.singular)
            assert all(k in M.FACE_KINDS for pair in m.singular for k in pair)
