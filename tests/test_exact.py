"""Exact solutions: agreement of independent methods, PDE residuals, conservation, Rankine–Hugoniot."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from qshock.solver.errors import QShockInputError
from qshock.solver.exact import (
    HJ_COS_KINK_TIME,
    burgers_characteristic_solution,
    burgers_shock_time,
    burgers_sin_bessel,
    cell_average,
    cole_hopf_burgers_1d,
    cole_hopf_hj_torus,
    hj_cos_1d,
    hj_cos_2d,
    hj_cos_bessel,
    hopf_lax,
    hopf_lax_periodic,
    lax_oleinik_burgers,
    riemann_burgers,
)
from qshock.solver.grid import Grid

TWO_PI = 2 * np.pi
XG = jnp.linspace(0.0, TWO_PI, 401)[:-1] + 0.0123  # avoids the symmetric points 0, pi


def u_sin(x):
    return jnp.sin(x)


def u_mean(x):
    return 0.5 + jnp.sin(x)


def u_two(x):  # t* = 8/9 (min u0' = -9/8)
    return jnp.sin(x) + 0.5 * jnp.sin(2 * x)


def d_fd(f, x, h):
    """4th-order centred first derivative."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def d2_fd(f, x, h):
    """4th-order centred second derivative."""
    return (-f(x + 2 * h) + 16 * f(x + h) - 30 * f(x) + 16 * f(x - h) - f(x - 2 * h)) / (12 * h**2)


# ------------------------------------------------------------------------ inviscid Burgers
@pytest.mark.parametrize("u0,t", [(u_sin, 0.5), (u_sin, 0.95), (u_mean, 0.5), (u_two, 0.8)])
def test_lax_oleinik_equals_characteristics_before_shock(u0, t):
    a = lax_oleinik_burgers(u0, XG, t)
    b = burgers_characteristic_solution(u0, XG, t)
    assert float(jnp.max(jnp.abs(a - b))) < 1e-12


def test_shock_time():
    assert burgers_shock_time(u_sin) == pytest.approx(1.0, abs=1e-12)
    assert burgers_shock_time(u_two) == pytest.approx(8 / 9, abs=1e-12)
    assert burgers_shock_time(lambda x: 0.0 * x + 1.0) == math.inf


def test_after_shock_sin_odd_with_jump_at_pi():
    t = 2.0
    x = jnp.linspace(0.0, TWO_PI, 2001)[1:-1]
    x = x[jnp.abs(x - np.pi) > 1e-9]
    u, foot = lax_oleinik_burgers(u_sin, x, t, return_foot=True)
    # entropy solution is odd about pi (u(2pi - x) = -u(x)) and satisfies x = y* + t u0(y*)
    um = lax_oleinik_burgers(u_sin, TWO_PI - x, t)
    assert float(jnp.max(jnp.abs(u + um))) < 1e-12
    assert float(jnp.max(jnp.abs(foot + t * jnp.sin(foot) - x))) < 1e-12
    # jump at pi: left limit uL solves uL = sin(pi - t uL) (i.e. uL = sin(t uL)), right = -uL
    uL = 1.0
    for _ in range(100):
        uL -= (uL - math.sin(t * uL)) / (1 - t * math.cos(t * uL))
    eps = 1e-7
    left, right = lax_oleinik_burgers(u_sin, jnp.array([np.pi - eps, np.pi + eps]), t)
    assert float(left) == pytest.approx(uL, abs=1e-6) and float(right) == pytest.approx(-uL, abs=1e-6)
    assert uL > 0.9
    # no other jumps: away from pi the profile is Lipschitz-continuous
    du = jnp.abs(jnp.diff(u))
    big = jnp.where(du > 0.05)[0]
    assert big.size == 1 and abs(float(x[big[0]]) - np.pi) < 0.01


def test_mass_conservation_after_shock():
    # u0 = 0.5 + sin x: shock at pi + 0.5 t; put a cell edge exactly on it
    t = 2.0
    xs = np.pi + 0.5 * t
    edges = xs - np.pi + jnp.linspace(0.0, TWO_PI, 257)
    avg = cell_average(lambda x: lax_oleinik_burgers(u_mean, x, t), edges, n_gauss=10)
    mass = float(jnp.sum(avg) * (TWO_PI / 256))
    assert mass == pytest.approx(np.pi, abs=1e-11)  # = integral of u0 = 2 pi * 0.5


def _shock_position(u0, t, lo, hi, rounds=4, m=512):
    """Multisection on the sign of u - (uL + uR)/2 inside a bracket around one shock."""
    ua, ub = (float(v) for v in lax_oleinik_burgers(u0, jnp.array([lo, hi]), t))
    mid = 0.5 * (ua + ub)
    for _ in range(rounds):
        xs = np.linspace(lo, hi, m)
        left = np.asarray(lax_oleinik_burgers(u0, jnp.asarray(xs), t)) > mid
        i = int(np.argmin(left))  # first point on the right state
        lo, hi = xs[i - 1], xs[i]
    uL, uR = (float(v) for v in lax_oleinik_burgers(u0, jnp.array([lo, hi]), t))
    return 0.5 * (lo + hi), uL, uR


def test_rankine_hugoniot_shock_speed():
    # Galilean check: the sin shock moves at the mean 0.5
    x1, _, _ = _shock_position(u_mean, 2.0, np.pi + 0.5, np.pi + 1.5)
    assert x1 == pytest.approx(np.pi + 1.0, abs=1e-10)
    # asymmetric data: measured dx_s/dt equals (uL + uR)/2
    u0 = lambda x: jnp.sin(x) + 0.3 * jnp.cos(2 * x) + 0.2
    t, dt = 2.0, 1e-3
    x = jnp.linspace(0.0, TWO_PI, 801)
    du = jnp.diff(lax_oleinik_burgers(u0, x, t))
    i = int(jnp.argmin(du))
    assert float(du[i]) < -0.5  # a shock is present
    lo, hi = float(x[i]) - 0.02, float(x[i + 1]) + 0.02
    xm, _, _ = _shock_position(u0, t - dt, lo, hi)
    xp, _, _ = _shock_position(u0, t + dt, lo, hi)
    x0, uL, uR = _shock_position(u0, t, lo, hi)
    assert uL - uR > 0.5  # Lax entropy condition uL > s > uR
    speed = (xp - xm) / (2 * dt)
    assert speed == pytest.approx(0.5 * (uL + uR), abs=1e-6)


def test_lax_oleinik_input_errors():
    with pytest.raises(QShockInputError):
        lax_oleinik_burgers(u_sin, XG, -1.0)
    np.testing.assert_array_equal(np.asarray(lax_oleinik_burgers(u_sin, XG, 0.0)), np.sin(np.asarray(XG)))


# ------------------------------------------------------------------------ Riemann problems
@pytest.mark.parametrize("uL,uR", [(1.0, -0.5), (2.0, 1.0), (-1.0, 1.0), (0.5, 2.0), (-2.0, -1.0), (0.7, 0.7)])
def test_riemann_integral_balance(uL, uR):
    # d/dt int_{-A}^{A} u dx = uL^2/2 - uR^2/2 (flux in minus flux out), exact for both waves
    t, A, x0 = 0.8, 4.0, 0.3
    s = 0.5 * (uL + uR)
    # cell edges through the shock / fan corners so each cell is smooth
    kinks = sorted({x0 + s * t, x0 + uL * t, x0 + uR * t})
    edges = np.unique(np.concatenate([np.linspace(-A, A, 81), kinks]))
    avg = cell_average(lambda x: riemann_burgers(uL, uR, x, t, x0), jnp.asarray(edges), n_gauss=4)
    total = float(jnp.sum(avg * jnp.diff(jnp.asarray(edges))))
    expect = (x0 + A) * uL + (A - x0) * uR + t * (uL**2 - uR**2) / 2
    assert total == pytest.approx(expect, abs=1e-12)


def test_riemann_shock_rarefaction_transonic():
    x = jnp.array([-1.0, 0.09, 0.11, 1.0])
    # shock uL=1, uR=-0.5: speed 0.25, at t=0.4 the shock sits at 0.1 (value s on it)
    np.testing.assert_allclose(np.asarray(riemann_burgers(1.0, -0.5, x, 0.4)), [1.0, 1.0, -0.5, -0.5])
    assert float(riemann_burgers(1.0, -0.5, 0.25, 1.0)) == 0.25
    # transonic rarefaction uL=-1 < 0 < uR=1: u = x/t in the fan, u(x0) = 0
    xf = jnp.linspace(-0.99, 0.99, 11) * 2.0
    np.testing.assert_allclose(np.asarray(riemann_burgers(-1.0, 1.0, xf, 2.0)), np.asarray(xf) / 2.0, rtol=1e-15)
    assert float(riemann_burgers(-1.0, 1.0, 0.0, 5.0)) == 0.0
    # fan satisfies u_t + u u_x = 0 pointwise (FD residual)
    f = lambda tt: riemann_burgers(-1.0, 1.0, xf, tt)
    ut = d_fd(f, 2.0, 1e-3)
    ux = d_fd(lambda xx: riemann_burgers(-1.0, 1.0, xx, 2.0), xf, 1e-4)
    assert float(jnp.max(jnp.abs(ut + f(2.0) * ux))) < 1e-9
    # t = 0: the initial data
    np.testing.assert_allclose(np.asarray(riemann_burgers(2.0, 3.0, jnp.array([-1.0, 1.0]), 0.0)), [2.0, 3.0])


# ------------------------------------------------------------------------ viscous Burgers (Cole–Hopf)
@pytest.mark.parametrize("t", [0.5, 2.0])
def test_cole_hopf_bessel_fft_quadrature_agree(t):
    nu = 0.1
    b = burgers_sin_bessel(XG, t, nu)
    f = cole_hopf_burgers_1d(u_sin, XG, t, nu, method="fft")
    q = cole_hopf_burgers_1d(u_sin, XG, t, nu, method="quadrature")
    assert float(jnp.max(jnp.abs(b - f))) < 1e-10
    assert float(jnp.max(jnp.abs(b - q))) < 1e-10
    # data given as the periodic potential U0 = -cos x (velocity U0' = sin x)
    pf = cole_hopf_burgers_1d(lambda s: -jnp.cos(s), XG, t, nu, potential=True)
    assert float(jnp.max(jnp.abs(b - pf))) < 1e-10
    # the Burgers solution is the x-derivative of the HJ solution with u0 = -cos x
    assert float(jnp.max(jnp.abs(b - d_fd(lambda s: hj_cos_bessel(s, t, nu, -1.0), XG, 1e-3)))) < 1e-9


@pytest.mark.parametrize("method,nu", [("fft", 0.1), ("quadrature", 0.1), ("quadrature", 0.03)])
def test_viscous_burgers_pde_residual(method, nu):
    t, h, ht = 1.5, 1e-3, 1e-3
    x = XG[::8]
    U = lambda xx, tt: cole_hopf_burgers_1d(u_mean, xx, tt, nu, method=method)
    offs = jnp.array([-2, -1, 0, 1, 2]) * h
    ux_all = U((x[None, :] + offs[:, None]).reshape(-1), t).reshape(5, -1)
    u = ux_all[2]
    ux = (ux_all[0] - 8 * ux_all[1] + 8 * ux_all[3] - ux_all[4]) / (12 * h)
    uxx = (-ux_all[0] + 16 * ux_all[1] - 30 * ux_all[2] + 16 * ux_all[3] - ux_all[4]) / (12 * h**2)
    ut = d_fd(lambda tt: U(x, tt), t, ht)
    res = ut + u * ux - nu * uxx
    scale = 1.0 + float(jnp.max(jnp.abs(uxx))) * nu
    assert float(jnp.max(jnp.abs(res))) / scale < 1e-7
    # mass conservation: the mean of u stays 0.5
    xs = jnp.linspace(0.0, TWO_PI, 257)[:-1]
    assert float(jnp.mean(U(xs, t))) == pytest.approx(0.5, abs=1e-12)


def test_small_viscosity_quadrature_converges_to_lax_oleinik():
    t = 2.0
    x = XG[jnp.abs(XG - np.pi) > 0.5]
    inviscid = lax_oleinik_burgers(u_sin, x, t)
    errs = []
    for nu in (4e-3, 2e-3, 1e-3):
        v = cole_hopf_burgers_1d(u_sin, x, t, nu)  # auto -> quadrature
        assert bool(jnp.all(jnp.isfinite(v)))
        errs.append(float(jnp.max(jnp.abs(v - inviscid))))
    # away from the shock the viscous correction is O(nu)
    assert errs[2] < 3e-3 and errs[0] / errs[2] == pytest.approx(4.0, rel=0.1)
    # the viscous shock at pi: odd profile, steep layer of width ~ nu
    v = cole_hopf_burgers_1d(u_sin, jnp.array([np.pi - 0.05, np.pi, np.pi + 0.05]), t, 1e-3)
    assert abs(float(v[1])) < 1e-10 and float(v[0]) > 0.9 and float(v[2]) == pytest.approx(-float(v[0]), abs=1e-10)


# ------------------------------------------------------------------------ viscous HJ on tori
@pytest.mark.parametrize("t", [0.5, 2.0])
def test_hj_torus_1d_fft_quadrature_bessel(t):
    nu, n = 0.1, 48
    xc = (jnp.arange(n) + 0.5) * TWO_PI / n
    b = hj_cos_bessel(xc, t, nu, 1.0)
    f = cole_hopf_hj_torus(jnp.cos, (n,), (TWO_PI,), t, nu, method="fft", oversample=3)
    q = cole_hopf_hj_torus(jnp.cos, (n,), (TWO_PI,), t, nu, method="quadrature")
    f2 = cole_hopf_hj_torus(jnp.cos, (n,), (TWO_PI,), t, nu, method="fft", oversample=2)  # even: Fourier series
    assert float(jnp.max(jnp.abs(b - f))) < 1e-10
    assert float(jnp.max(jnp.abs(b - f2))) < 1e-10
    assert float(jnp.max(jnp.abs(b - q))) < 1e-10


@pytest.mark.slow
def test_hj_torus_2d_separable_against_bessel():
    nu, t = 0.1, 0.7
    shape, lengths, lower = (24, 20), (TWO_PI, TWO_PI), (0.0, -np.pi)
    u0 = lambda x, y: jnp.cos(x) - 0.7 * jnp.cos(y)
    xs = [lo + (jnp.arange(n) + 0.5) * L / n for n, L, lo in zip(shape, lengths, lower)]
    X, Y = jnp.meshgrid(*xs, indexing="ij")
    exact = hj_cos_bessel(X, t, nu, 1.0) + hj_cos_bessel(Y, t, nu, -0.7)
    f = cole_hopf_hj_torus(u0, shape, lengths, t, nu, lower=lower, method="fft", oversample=3)
    q = cole_hopf_hj_torus(u0, shape, lengths, t, nu, lower=lower, method="quadrature")
    assert float(jnp.max(jnp.abs(exact - f))) < 1e-10
    assert float(jnp.max(jnp.abs(exact - q))) < 1e-10


@pytest.mark.parametrize("method", ["fft", "quadrature"])
def test_hj_torus_points_and_gradient(method):
    # at arbitrary points: u vs Bessel, and grad u = the viscous Burgers solution for u0' = sin
    nu, t = 0.1, 0.5
    x = jnp.linspace(0.0, 6.0, 37)
    u, g = cole_hopf_hj_torus(lambda s: -jnp.cos(s), (64,), (TWO_PI,), t, nu, points=x, method=method, return_gradient=True)
    assert u.shape == (37,) and g.shape == (37, 1)
    assert float(jnp.max(jnp.abs(u - hj_cos_bessel(x, t, nu, -1.0)))) < 1e-10
    assert float(jnp.max(jnp.abs(g[:, 0] - burgers_sin_bessel(x, t, nu)))) < 1e-10
    # 2-D, non-separable: fft (Fourier series of phi) and quadrature agree at random points
    P = jnp.asarray(np.random.default_rng(3).uniform(-3.0, 3.0, size=(20, 2)))
    u0 = lambda a, b: 0.5 * jnp.cos(a) + 0.3 * jnp.sin(a + b)
    other = "quadrature" if method == "fft" else "fft"
    ua, ga = cole_hopf_hj_torus(u0, (32, 32), (TWO_PI, TWO_PI), 0.6, nu, points=P, method=method, return_gradient=True)
    ub, gb = cole_hopf_hj_torus(u0, (32, 32), (TWO_PI, TWO_PI), 0.6, nu, points=P, method=other, return_gradient=True)
    assert float(jnp.max(jnp.abs(ua - ub))) < 1e-12 and float(jnp.max(jnp.abs(ga - gb))) < 1e-12


def test_hj_torus_2d_pde_residual_non_separable():
    # small data amplitude: the grid values are then exact to ~1e-13, so that spectral
    # derivatives (which amplify grid noise by k^2) measure the PDE residual
    nu, t, dt, n = 0.1, 0.6, 1e-3, 64
    u0 = lambda x, y: 0.5 * jnp.cos(x) + 0.3 * jnp.sin(x + y)
    U = lambda tt: cole_hopf_hj_torus(u0, (n, n), (TWO_PI, TWO_PI), tt, nu)
    ut = d_fd(U, t, dt)
    u = U(t)
    k = jnp.fft.fftfreq(n, 1.0 / n)
    uh = jnp.fft.fft2(u)
    ux = jnp.real(jnp.fft.ifft2(1j * k[:, None] * uh))
    uy = jnp.real(jnp.fft.ifft2(1j * k[None, :] * uh))
    lap = jnp.real(jnp.fft.ifft2(-(k[:, None] ** 2 + k[None, :] ** 2) * uh))
    res = ut + 0.5 * (ux**2 + uy**2) - nu * lap
    assert float(jnp.max(jnp.abs(res))) < 1e-8


# ------------------------------------------------------------------------ Hopf–Lax
def _neg_cos(y):
    return -jnp.cos(y[0])


@pytest.mark.parametrize("t", [0.5, 2.0])
def test_hopf_lax_periodic_gradient_is_burgers_entropy_solution(t):
    x = XG[::10]
    x = x[jnp.abs(x - np.pi) > 1e-3]
    u, p = hopf_lax_periodic(_neg_cos, x, t, [TWO_PI])
    ref = lax_oleinik_burgers(u_sin, x, t)
    assert float(jnp.max(jnp.abs(p - ref))) < 1e-11
    # the value is the inviscid limit of viscous HJ: compare with nu -> 0 Cole–Hopf quadrature
    n = 64
    xc = (jnp.arange(n) + 0.5) * TWO_PI / n
    uv = cole_hopf_hj_torus(lambda s: -jnp.cos(s), (n,), (TWO_PI,), t, 1e-3, method="quadrature")
    u_c, _ = hopf_lax_periodic(_neg_cos, xc, t, [TWO_PI])
    assert float(jnp.max(jnp.abs(uv - u_c))) < 1e-2


def test_hopf_lax_quadratic_data_exact():
    # u0 = a|y|^2/2  ->  u = a|x|^2 / (2(1 + a t)),  p = a x / (1 + a t)
    a, t = 1.3, 0.7
    g = jnp.linspace(-3.0, 3.0, 31)
    cands = jnp.stack(jnp.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    x = jnp.array([[0.3, -0.4], [1.0, 0.5], [-1.2, 0.9]])
    u, p = hopf_lax(lambda y: 0.5 * a * jnp.sum(y**2), x, t, cands)
    np.testing.assert_allclose(np.asarray(u), a * np.sum(np.asarray(x) ** 2, -1) / (2 * (1 + a * t)), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(p), a * np.asarray(x) / (1 + a * t), rtol=1e-12)
    # without refinement: only the discrete minimum (error ~ grid spacing)
    u0r, _ = hopf_lax(lambda y: 0.5 * a * jnp.sum(y**2), x, t, cands, refine=False)
    assert 1e-6 < float(jnp.max(jnp.abs(u0r - u))) < 0.05


@pytest.mark.slow
def test_hopf_lax_periodic_2d_separable():
    t = 1.5
    x = jnp.array([[0.4, 2.0], [3.0, 5.5], [6.0, 1.1]])
    u2, p2 = hopf_lax_periodic(lambda y: -jnp.cos(y[0]) - jnp.cos(y[1]), x, t, [TWO_PI, TWO_PI], n_search=96)
    u1, p1 = hopf_lax_periodic(_neg_cos, x.reshape(-1), t, [TWO_PI])
    np.testing.assert_allclose(np.asarray(u2), np.asarray(u1).reshape(3, 2).sum(-1), atol=1e-12)
    np.testing.assert_allclose(np.asarray(p2), np.asarray(p1).reshape(3, 2), atol=1e-11)


# ------------------------------------------------------------------------ Osher–Shu HJ benchmark
def test_hj_cos_methods_agree_and_pde_residual():
    x = jnp.linspace(-1.0, 1.0, 161)[:-1]
    t = 0.05
    a = hj_cos_1d(x, t, method="characteristics")
    b = hj_cos_1d(x, t, method="hopf_lax")
    assert float(jnp.max(jnp.abs(a - b))) < 1e-12
    phix = d_fd(lambda s: hj_cos_1d(s, t), x, 1e-3)
    phit = d_fd(lambda tt: hj_cos_1d(x, tt), t, 1e-4)
    assert float(jnp.max(jnp.abs(phit + 0.5 * (phix + 1) ** 2))) < 1e-8
    # returned gradient and periodicity
    _, p = hj_cos_1d(x, t, return_gradient=True)
    assert float(jnp.max(jnp.abs(p - phix))) < 1e-8
    assert float(jnp.max(jnp.abs(hj_cos_1d(x + 2.0, t) - a))) < 1e-12


def test_hj_cos_after_kink_residual_away_from_kink():
    t = 0.3  # > 1/pi^2
    assert HJ_COS_KINK_TIME == pytest.approx(1 / np.pi**2)
    x = jnp.linspace(-1.0, 1.0, 201)[:-1]
    phi, p = hj_cos_1d(x, t, return_gradient=True)
    jump = jnp.abs(jnp.diff(p))
    kink = float(x[int(jnp.argmax(jump))])
    dist = jnp.abs((x - kink + 1.0) % 2.0 - 1.0)
    xs = x[dist > 0.1]
    phix = d_fd(lambda s: hj_cos_1d(s, t), xs, 1e-4)
    phit = d_fd(lambda tt: hj_cos_1d(xs, tt), t, 1e-4)
    assert float(jnp.max(jnp.abs(phit + 0.5 * (phix + 1) ** 2))) < 1e-8
    # after the kink the solution stays continuous (Lipschitz) while phi_x jumps
    assert float(jnp.max(jnp.abs(jnp.diff(phi)))) < 0.05 and float(jnp.max(jump)) > 1.0
    with pytest.raises(QShockInputError):
        hj_cos_1d(x, t, method="characteristics")


def test_hj_cos_2d_reduces_to_1d_and_residual():
    t, h = 0.05, 1e-3
    g = jnp.linspace(-2.0, 2.0, 17)[:-1]
    X, Y = jnp.meshgrid(g, g, indexing="ij")
    phi = hj_cos_2d(X, Y, t)
    assert float(jnp.max(jnp.abs(phi - hj_cos_1d(0.5 * (X + Y), t)))) == 0.0
    phix = d_fd(lambda s: hj_cos_2d(s, Y, t), X, h)
    phiy = d_fd(lambda s: hj_cos_2d(X, s, t), Y, h)
    phit = d_fd(lambda tt: hj_cos_2d(X, Y, tt), t, 1e-4)
    assert float(jnp.max(jnp.abs(phit + 0.5 * (phix + phiy + 1) ** 2))) < 1e-8
    # periodic on [-2, 2)^2 and initial data -cos(pi (x+y)/2)
    assert float(jnp.max(jnp.abs(hj_cos_2d(X + 4.0, Y, t) - phi))) < 1e-12
    np.testing.assert_allclose(np.asarray(hj_cos_2d(X, Y, 0.0)), -np.cos(np.pi * np.asarray(X + Y) / 2), atol=1e-15)


# ------------------------------------------------------------------------ cell averages
def test_cell_average_exactness():
    e = jnp.array([0.0, 0.3, 1.0, 1.7])
    avg = cell_average(lambda x: x**7 - 2 * x, e, n_gauss=4)  # exact for degree <= 7
    exact = ((e[1:] ** 8 - e[:-1] ** 8) / 8 - (e[1:] ** 2 - e[:-1] ** 2)) / jnp.diff(e)
    assert float(jnp.max(jnp.abs(avg - exact))) < 1e-13
    grid = Grid((0.0, -1.0), (1.0, 1.0), (4, 5))
    avg2 = cell_average(lambda x, y: x**3 * y**2 + 1.0, grid, n_gauss=3)
    fx, fy = grid.faces(0), grid.faces(1)
    ex = jnp.outer(jnp.diff(fx**4) / 4 / jnp.diff(fx), jnp.diff(fy**3) / 3 / jnp.diff(fy)) + 1.0
    assert avg2.shape == (4, 5) and float(jnp.max(jnp.abs(avg2 - ex))) < 1e-14
    # smooth periodic function: cell averages sum to the integral (mean of sin^2 = 1/2)
    avg3 = cell_average(lambda x: jnp.sin(x) ** 2, jnp.linspace(0, TWO_PI, 33))
    assert float(jnp.mean(avg3)) == pytest.approx(0.5, abs=1e-15)
