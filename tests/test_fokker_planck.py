"""Fokker–Planck operator (solver.fokker_planck): exact stationary densities, mass, orders, the 2×2
Dyson chamber against its analytic density and against a diffrax SDE ensemble."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.solver import FokkerPlanck, Grid, chamber_fraction, fp_mass, fp_solve, fp_stationary
from qshock.solver.fokker_planck import cell_average

D2 = 0.5  # 2x2 Dyson: T = 0.5, varsigma^2 = 2 -> D = T varsigma^2 / 2 = 0.5, U = (s1^2 + s2^2)/2
L2 = 4.5


def dyson2_drift(x):
    s1, s2 = x[0], x[1]
    rep = 1.0 / (s1 + s2)
    return jnp.stack([-s1 + D2 * (1.0 / (s1 - s2) + rep), -s2 + D2 * (1.0 / (s2 - s1) + rep)])


def dyson2_density(x):
    s1, s2 = x[..., 0], x[..., 1]
    return np.abs(s1 ** 2 - s2 ** 2) * np.exp(-(s1 ** 2 + s2 ** 2) / (2 * D2))


def _dyson2(n):
    g = Grid((0, 0), (L2, L2), (n, n), "reflect")
    fr = chamber_fraction(g)
    rho, info = fp_stationary(FokkerPlanck(dyson2_drift, D2), g, fr, t_max=30.0, tol=1e-9)
    ex = cell_average(g, dyson2_density, fr)
    ex /= np.sum(ex * fr * g.cell_volume)
    return g, fr, np.asarray(rho), ex, info


def test_dyson_2x2_stationary_matches_analytic_density_second_order():
    errs = []
    for n in (24, 48):
        g, fr, rho, ex, info = _dyson2(n)
        assert info["residual"] < 1e-8
        assert abs(float(fp_mass(rho, g, fr)) - 1.0) < 1e-12
        errs.append(float(np.sum(np.abs(rho - ex) * fr * g.cell_volume)))
    order = math.log2(errs[0] / errs[1])
    assert errs[1] < 6e-3, errs  # L1 distance of probability densities
    assert order > 1.6, (errs, order)


def test_mass_conserved_to_roundoff_and_positive():
    g = Grid((0, 0), (3, 3), (40, 40), "reflect")
    fr = chamber_fraction(g)
    x, y = g.mesh()
    rho0 = jnp.exp(-((x - 2.0) ** 2 + (y - 0.7) ** 2) / 0.05)
    rho = fp_solve(FokkerPlanck(dyson2_drift, D2), g, rho0, 0.7, fr)
    m0, m1 = float(fp_mass(rho0 * (fr > 0), g, fr)), float(fp_mass(rho, g, fr))
    assert abs(m1 - m0) / m0 < 1e-13
    assert float(jnp.min(rho)) >= 0.0


def _smooth_drift(D):
    # b = -grad U with U = sin(pi x) cos(pi y) + x^2/2: stationary density exp(-U/D) (no flux)
    def drift(p):
        x, y = p[0], p[1]
        return -jnp.stack([jnp.pi * jnp.cos(jnp.pi * x) * jnp.cos(jnp.pi * y) + x,
                           -jnp.pi * jnp.sin(jnp.pi * x) * jnp.sin(jnp.pi * y)])
    return drift


def test_order_of_convergence_smooth_stationary_problem():
    D = 0.4
    errs = []
    for n in (12, 24, 48):
        g = Grid((0, 0), (1, 1), (n, n), "reflect")
        rho, _ = fp_stationary(FokkerPlanck(_smooth_drift(D), D), g, t_max=10.0, tol=1e-11, chunk=0.25)

        def dens(p):
            x, y = p[..., 0], p[..., 1]
            return np.exp(-(np.sin(np.pi * x) * np.cos(np.pi * y) + x * x / 2) / D)
        ex = cell_average(g, dens)
        ex /= ex.sum() * g.cell_volume
        errs.append(float(np.sum(np.abs(np.asarray(rho) - ex)) * g.cell_volume))
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(orders) > 1.8, (errs, orders)


def test_pure_diffusion_cosine_mode_exact_decay():
    D, t1 = 0.3, 0.2
    errs = []
    for n in (16, 32):
        g = Grid((0, 0), (1, 1), (n, n), "reflect")
        h = 1.0 / n
        c = np.asarray(g.centres(0))
        avg = (np.sin(np.pi * (c + h / 2)) - np.sin(np.pi * (c - h / 2))) / (np.pi * h)  # cell mean of cos(pi x)
        mode = np.outer(avg, avg)
        rho = fp_solve(FokkerPlanck(lambda p: jnp.zeros(2), D), g, 1.0 + 0.5 * mode, t1, cfl=0.5)
        exact = 1.0 + 0.5 * mode * math.exp(-2 * math.pi ** 2 * D * t1)
        errs.append(float(np.max(np.abs(np.asarray(rho) - exact))))
    assert errs[1] < 2e-4 and math.log2(errs[0] / errs[1]) > 1.8, errs


@pytest.mark.slow
def test_sde_ensemble_histogram_agrees_with_fp_within_statistical_error():
    from qshock.experiments.lab.dyson import simulate_dyson

    g, fr, rho, _, _ = _dyson2(36)
    keys = jax.random.split(jax.random.PRNGKey(3), 2000)
    run = jax.jit(jax.vmap(lambda k: simulate_dyson(k, jnp.array([1.5, 0.5]), lambda s: s, 0.5, 2.0, 2, 2,
                                                    7.5, 0.002, 5)[1]))
    s = np.asarray(run(keys))[:, 1:].reshape(-1, 2)  # t = 3, 4.5, 6, 7.5 (relaxation time 1); Euler bias
    # at this step is below the statistical error (dt = 0.004 leaves an 8% deficit near the origin)
    # coarse 2-D bins of width 0.75 over the chamber: FP probability vs SDE frequency
    edges = np.arange(0.0, L2 + 1e-9, 0.75)
    cnt, _, _ = np.histogram2d(s[:, 0], s[:, 1], bins=[edges, edges])
    k = int(round(0.75 / g.dx[0]))
    mass = (rho * fr * g.cell_volume).reshape(len(edges) - 1, k, len(edges) - 1, k).sum(axis=(1, 3))
    expected = mass * s.shape[0]
    sel = expected > 30
    z = (cnt[sel] - expected[sel]) / np.sqrt(expected[sel])
    chi2_dof = float(np.mean(z ** 2))
    assert chi2_dof < 2.0, (chi2_dof, z)
    assert np.max(np.abs(z)) < 4.5, z


def test_bad_input_rejected():
    g = Grid((0, 0), (1, 1), (4, 4), "periodic")
    with pytest.raises(QShockInputError, match="reflect"):
        fp_solve(FokkerPlanck(lambda p: p, 1.0), g, jnp.ones((4, 4)), 0.1)
    with pytest.raises(QShockInputError, match="D must be"):
        FokkerPlanck(lambda p: p, 0.0)
    with pytest.raises(QShockInputError, match="square box"):
        chamber_fraction(Grid((0, 0), (1, 2), (4, 4), "reflect"))
