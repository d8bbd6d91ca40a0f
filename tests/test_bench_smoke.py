"""Smoke tests of the finite-volume benchmark's problem set-up (benchmarks/bench_fv.py) on tiny grids:
both codes solve φ_t + |∇φ| = 0 forward (errors against max(|x| − t, 0) − 0.5), hj_reachability's step
count formula matches its own loop, and the Burgers set-up matches the exact solution and the baseline."""

import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import bench_fv as b

N_HJ = 41


def test_eikonal_exact_solution():
    X, Y = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(-2, 2, 9), indexing="ij")
    r = np.hypot(X, Y)
    assert np.allclose(b.eikonal_exact(X, Y, 0.0), r - 0.5)
    # inside the ball of radius t the solution is flat at -0.5; outside it moves inward at unit speed
    assert np.allclose(b.eikonal_exact(X, Y, 0.5), np.where(r > 0.5, r - 1.0, -0.5))


def test_qshock_eikonal_error():
    fn, u0, X, Y = b.qshock_eikonal(N_HJ)
    us, steps, status, _, _ = fn(u0)
    assert int(status) == 0
    # Δt = CFL Δx / (α_x + α_y) with α = 1: ⌈0.5 / (0.25 · 4/41)⌉ steps (±1 for the landing step)
    assert abs(int(steps) - int(np.ceil(0.5 / (0.25 * 4 / N_HJ)))) <= 1
    e = b._errors(np.asarray(us[-1]) - b.eikonal_exact(X, Y, b.T_HJ), X, Y)
    assert e["L1"] < 0.05 and e["Linf"] < 0.06, e
    # time direction: the solution moved (the initial data is far from the t = 0.5 answer)
    assert float(np.abs(np.asarray(u0) - b.eikonal_exact(X, Y, b.T_HJ)).mean()) > 0.3


def test_hj_reachability_same_problem_and_step_count():
    pytest.importorskip("hj_reachability")
    call, v0, X, Y, grid, settings, dyn = b.hj_eikonal(N_HJ)
    vs = call(v0)
    k, vk = b.hj_count_steps(grid, settings, dyn, v0)
    assert k == b.hj_steps_formula(N_HJ) == 20
    assert np.allclose(np.asarray(vk), np.asarray(vs[-1]), atol=1e-13)
    e = b._errors(np.asarray(vs[-1]) - b.eikonal_exact(X, Y, b.T_HJ), X, Y)
    assert e["L1"] < 0.05 and e["Linf"] < 0.06, e


def test_burgers_setup_matches_exact_and_baseline():
    n, steps = 128, 20  # t = 0.49 < 1 (smooth)
    fn, u0, g, t1, dt = b.burgers_setup(n, jnp.float64, steps=steps)
    us, nsteps, status, _, _ = fn(u0)
    assert int(nsteps) == steps and int(status) == 0
    assert t1 == pytest.approx(steps * 0.5 * 2 * np.pi / n)
    exact = b.burgers_exact_average(g, t1)
    err = float(np.abs(np.asarray(us[-1]) - exact).mean() * 2 * np.pi)
    assert err < 1e-5, err  # measured 5.7e-6 (RK3 time error dominates at CFL 0.5)
    ref, r0 = b.reference_weno5_burgers(n, jnp.float64, steps=steps)
    assert np.allclose(np.asarray(r0), np.asarray(u0), atol=1e-15)
    # same scheme written independently (textbook weights, jnp.roll): equal to round-off
    assert float(jnp.max(jnp.abs(ref(r0) - us[-1]))) < 1e-12


def test_burgers_exact_average_is_cell_average_at_t0():
    from qshock.solver import Grid

    g = Grid(0.0, 2 * np.pi, 16)
    h = g.dx[0]
    xc = np.asarray(g.centres())
    assert np.allclose(b.burgers_exact_average(g, 0.0), np.sin(xc) * np.sin(h / 2) / (h / 2), atol=1e-12)
