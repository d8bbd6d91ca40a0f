"""Fourier pseudo-spectral solver (ETDRK4 / IMEX) against Cole–Hopf exact solutions."""

import warnings

import numpy as np
import pytest

from qshock import solver
from qshock.solver.errors import BlowUpError, QShockInputError
from qshock.solver.spectral import (ResolutionWarning, etdrk4_coefficients, fourier_interpolate,
                             solve_spectral, spectral_gradient)

TWO_PI = 2 * np.pi


def cole_hopf(x, t, nu, U0):
    r"""Exact viscous Burgers solution u = <(x-y)/t>, weights exp(-U0(y)/2ν - (x-y)²/4νt).

    Log-stable trapezoid on a window of 14 heat-kernel widths (U0 = ∫u0, any period)."""
    s = np.sqrt(2 * nu * t)
    h = min(s, np.sqrt(2 * nu)) / 40
    y = np.arange(-14 * s, 14 * s + h, h)
    out = np.empty_like(x)
    for i, xi in enumerate(x):
        lw = -U0(xi - y) / (2 * nu) - y**2 / (4 * nu * t)
        w = np.exp(lw - lw.max())
        out[i] = np.sum(y * w) / np.sum(w) / t
    return out


def sin_problem(N, nu):
    g = solver.Grid(0.0, TWO_PI, N)
    x = np.asarray(g.centres())
    return g, x, np.sin(x), lambda t: cole_hopf(x, t, nu, lambda y: -np.cos(y))


def test_contour_coefficients_match_series_for_small_z():
    # f1 = h(1/6 + z/6 + 3z²/40 + ...) for small z: no cancellation error
    z = np.array([-1e-8, -1e-4, 0.0])
    c = etdrk4_coefficients(z, 1.0)
    series = 1 / 6 + z / 6 + 3 * z**2 / 40
    assert np.max(np.abs(np.asarray(c.f1) - series)) < 1e-13
    assert np.max(np.abs(np.asarray(c.Q) - (0.5 + z / 8 + z**2 / 48))) < 1e-13


def test_burgers_sin_nu01_N128_roundoff():
    g, x, u0, exact = sin_problem(128, 0.1)
    s = solve_spectral(solver.Burgers(0.1), g, u0, 2.0, dt=1e-3)
    err = np.max(np.abs(np.asarray(s.u[-1]) - exact(2.0)))
    assert err <= 1e-10, err
    assert s.n_steps == 2000 and s.metadata["scheme"] == "spectral"


def test_etdrk4_temporal_order_four():
    g, x, u0, _ = sin_problem(128, 0.1)
    eq = solver.Burgers(0.1)
    ref = np.asarray(solve_spectral(eq, g, u0, 2.0, steps_per_output=3200).u[-1])
    ns = [50, 100, 200, 400]
    errs = [np.max(np.abs(np.asarray(solve_spectral(eq, g, u0, 2.0, steps_per_output=n).u[-1]) - ref)) for n in ns]
    slope = np.polyfit(np.log(2.0 / np.array(ns)), np.log(errs), 1)[0]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert 3.6 <= slope <= 4.3, (slope, errs)
    assert orders[-1] >= 3.8, orders


def test_burgers_sin_nu001_N1024():
    # Max-norm error at N=1024 is 4.2e-8: the exact solution's mode 511 is 1.5e-9 at t=2
    # (spectral truncation, not the time stepper). The L2 (RMS) error is below 1e-8.
    g, x, u0, exact = sin_problem(1024, 0.01)
    s = solve_spectral(solver.Burgers(0.01), g, u0, 2.0, dt=1e-3)
    e = np.asarray(s.u[-1]) - exact(2.0)
    assert np.sqrt(np.mean(e**2)) <= 1e-8
    assert np.max(np.abs(e)) <= 1e-7


@pytest.mark.slow
def test_burgers_sin_nu001_N2048_max_norm():
    g, x, u0, exact = sin_problem(2048, 0.01)
    s = solve_spectral(solver.Burgers(0.01), g, u0, 2.0, dt=1e-3)
    assert np.max(np.abs(np.asarray(s.u[-1]) - exact(2.0))) <= 1e-9


def test_imex_diffrax_path():
    g, x, u0, exact = sin_problem(128, 0.1)
    s = solve_spectral(solver.Burgers(0.1), g, u0, 2.0, save_at=[0.0, 1.0, 2.0], method="diffrax")
    assert np.max(np.abs(np.asarray(s.u[1]) - exact(1.0))) <= 1e-9
    assert np.max(np.abs(np.asarray(s.u[2]) - exact(2.0))) <= 1e-9
    assert s.metadata["method"] == "diffrax" and s.n_steps > 0


def test_float32():
    g, x, u0, exact = sin_problem(128, 0.1)
    s = solve_spectral(solver.Burgers(0.1), g, u0.astype(np.float32), 2.0, dt=1e-2)
    assert s.u.dtype == np.float32
    assert np.max(np.abs(np.asarray(s.u[-1], np.float64) - exact(2.0))) <= 1e-5


def basdevant_peak(N, dt):
    """max_t |u_x(0,t)| for u0 = -sin πx on [-1,1), ν = 0.01/π (already odd and 2-periodic)."""
    g = solver.Grid(-1.0, 1.0, N)
    x = np.asarray(g.centres())
    ts = np.linspace(0.500, 0.520, 41)
    s = solve_spectral(solver.Burgers(0.01 / np.pi), g, -np.sin(np.pi * x), ts[-1], save_at=ts, dt=dt)
    ux = np.array([fourier_interpolate(s.u[k], g, [0.0], (1,))[0] for k in range(ts.size)])
    k = int(np.argmax(np.abs(ux)))
    a, b, c = np.polyfit(ts[k - 2:k + 3], np.abs(ux[k - 2:k + 3]), 2)  # parabola through the peak
    t_peak = -b / (2 * a)
    return np.polyval([a, b, c], t_peak), t_peak


def test_basdevant_quick():
    peak, tp = basdevant_peak(2048, 2.5e-4)
    assert abs(peak / 152.00516 - 1) < 1e-3, peak
    assert abs(tp / (1.60369 / np.pi) - 1) < 1e-3, tp


def test_basdevant_fine():
    peak, tp = basdevant_peak(4096, 1e-4)
    print("Basdevant N=4096:", peak, tp * np.pi)
    assert abs(peak / 152.00516 - 1) < 1e-6, peak
    assert abs(tp / (1.60369 / np.pi) - 1) < 1e-5, tp


def test_2d_hj_and_burgers_cole_hopf():
    # φ = 1 + ε e^{-2νt} cos x cos y solves φ_t = νΔφ; u = -2ν log φ; v = ∇u.
    nu, eps, N = 0.2, 0.3, 64
    g = solver.Grid((0.0, 0.0), (TWO_PI, TWO_PI), (N, N))
    X, Y = (np.asarray(a) for a in g.mesh())
    phi = lambda t: 1 + eps * np.exp(-2 * nu * t) * np.cos(X) * np.cos(Y)
    u = lambda t: -2 * nu * np.log(phi(t))
    grad = lambda t: np.stack([2 * nu * eps * np.exp(-2 * nu * t) * np.sin(X) * np.cos(Y),
                               2 * nu * eps * np.exp(-2 * nu * t) * np.cos(X) * np.sin(Y)]) / phi(t)
    s = solve_spectral(solver.HamiltonJacobi(nu=nu), g, u(0), 1.0, dt=5e-3)
    assert np.max(np.abs(np.asarray(s.u[-1]) - u(1.0))) <= 1e-11
    assert np.max(np.abs(np.asarray(s.p[-1]) - grad(1.0))) <= 1e-10
    b = solve_spectral(solver.Burgers(nu), g, grad(0), 1.0, dt=5e-3)
    assert b.u.shape == (2, 2, N, N)
    assert np.max(np.abs(np.asarray(b.u[-1]) - grad(1.0))) <= 1e-10


def test_hj_custom_hamiltonian_matches_default():
    nu = 0.1
    g = solver.Grid(0.0, TWO_PI, 128)
    u0 = np.cos(np.asarray(g.centres()))
    a = solve_spectral(solver.HamiltonJacobi(nu=nu), g, u0, 1.0, dt=1e-2)
    b = solve_spectral(solver.HamiltonJacobi(lambda x, p: 0.5 * p @ p, nu=nu), g, u0, 1.0, dt=1e-2)
    assert np.max(np.abs(np.asarray(a.u) - np.asarray(b.u))) < 1e-13


def test_hj_gradient_is_burgers():
    # p = ∂x u of the viscous HJ solution solves viscous Burgers (u0 = -cos x ⇒ p0 = sin x).
    nu = 0.1
    g, x, u0, exact = sin_problem(128, nu)
    s = solve_spectral(solver.HamiltonJacobi(nu=nu), g, -np.cos(x), 2.0, dt=1e-3)
    assert np.max(np.abs(np.asarray(s.p[-1]) - exact(2.0))) <= 1e-10


def test_fourier_helpers_exact_on_trig_polynomials():
    g = solver.Grid(0.0, TWO_PI, 16)
    x = np.asarray(g.centres())
    u = np.sin(3 * x) + 0.5 * np.sin(8 * x)  # includes the Nyquist mode (cos 8x vanishes at centres)
    pts = np.array([0.1, 1.3, 4.0])
    assert np.max(np.abs(fourier_interpolate(u, g, pts) - (np.sin(3 * pts) + 0.5 * np.sin(8 * pts)))) < 1e-13
    assert np.max(np.abs(fourier_interpolate(np.sin(3 * x), g, pts, (1,)) - 3 * np.cos(3 * pts))) < 1e-12
    assert np.max(np.abs(np.asarray(spectral_gradient(np.sin(3 * x), g)) - 3 * np.cos(3 * x))) < 1e-12


def test_input_errors():
    g = solver.Grid(0.0, 1.0, 32, boundaries="outflow")
    with pytest.raises(QShockInputError, match="'x'"):
        solve_spectral(solver.Burgers(0.1), g, np.zeros(32), 1.0)
    g = solver.Grid(0.0, 1.0, 32)
    bad = np.zeros(32)
    bad[3] = np.nan
    with pytest.raises(QShockInputError, match="NaN"):
        solve_spectral(solver.Burgers(0.1), g, bad, 1.0)
    with pytest.raises(QShockInputError, match="shape"):
        solve_spectral(solver.Burgers(0.1), g, np.zeros(31), 1.0)
    with pytest.raises(QShockInputError, match="save_at"):
        solve_spectral(solver.Burgers(0.1), g, np.zeros(32), 1.0, save_at=[0.5, 0.2])


def test_blowup_is_reported():
    g, x, u0, _ = sin_problem(128, 0.0)
    with pytest.raises(BlowUpError) as info:
        solve_spectral(solver.Burgers(0.0), g, 3 * u0, 5.0, dt=0.5)
    e = info.value
    assert 0 <= e.time < 5.0 and e.step == round(e.time / 0.5) and len(e.location) == 1


def test_resolution_warning_states_needed_n():
    g, x, u0, _ = sin_problem(64, 0.002)
    with pytest.warns(ResolutionWarning, match=r"N >= \d+"):
        solve_spectral(solver.Burgers(0.002), g, u0, 2.0)
    g, x, u0, _ = sin_problem(128, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResolutionWarning)
        solve_spectral(solver.Burgers(0.1), g, u0, 2.0)
