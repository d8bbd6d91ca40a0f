"""The Burgers form on S² for gradient fields (solver.spectral.sphere_burgers): v = ∇u with u the viscous HJ
solution by ETDRK4, against the exact v = ∇u of u = −2ν log(1 + ε e^{−2νt} sin θ cos φ).

Measured (L = 32 Gauss–Legendre, t = 0.5, ν = 0.1): max|v − v_exact| = 1.95e-9 at dt = 0.1 and 1.24e-10 at
dt = 0.05 (ratio 15.8: fourth order in time); a rotation (toroidal field) is refused.
"""

import math

import numpy as np
import pytest

from qshock.solver import Burgers, Grid, QShockInputError, solve
from qshock.solver.charts import chart_setup
from qshock.solver.spectral import sphere_transform
from qshock.solver.spectral.sphere_burgers import solve_sphere_burgers, sphere_potential

NU, EPS, T1 = 0.1, 0.5, 0.5


def v_exact(th, ph, t):
    a = EPS * math.exp(-2 * NU * t)
    f = -2 * NU * a / (1 + a * np.sin(th) * np.cos(ph))
    return np.stack([f * np.cos(th) * np.cos(ph), -f * np.sin(th) * np.sin(ph)])


def _error(sol, t):
    th, ph = np.meshgrid(np.asarray(sol.coords["theta"]), np.asarray(sol.coords["phi"]), indexing="ij")
    return float(np.max(np.abs(np.asarray(sol.u[-1]) - v_exact(th, ph, t))))


def test_burgers_sphere_gradient_field_fourth_order_in_time():
    errs = [_error(solve_sphere_burgers(Burgers(nu=NU), lambda th, ph: v_exact(th, ph, 0.0), 32, 64, T1, dt=dt), T1)
            for dt in (0.1, 0.05)]
    assert errs[0] < 5e-9 and errs[0] / errs[1] > 12, errs


def test_potential_recovers_a_band_limited_gradient_exactly():
    T = sphere_transform(12, "gl")
    th, ph = np.meshgrid(T.theta, T.phi, indexing="ij")
    # u = Y-like polynomial of degree < 12: cos θ sin²θ cos 2φ + sin θ sin φ
    u = np.cos(th) * np.sin(th) ** 2 * np.cos(2 * ph) + np.sin(th) * np.sin(ph)
    v = np.stack([(np.cos(th) * 2 * np.sin(th) * np.cos(th) - np.sin(th) ** 3) * np.cos(2 * ph) + np.cos(th) * np.sin(ph),
                  -2 * np.cos(th) * np.sin(th) ** 2 * np.sin(2 * ph) + np.sin(th) * np.cos(ph)])
    u_fit, residual = sphere_potential(v, T)
    assert residual < 1e-13
    assert np.ptp(u_fit - u) < 1e-13  # u up to a constant


def test_toroidal_field_refused():
    with pytest.raises(QShockInputError, match="not a gradient field"):
        solve_sphere_burgers(Burgers(nu=NU), lambda th, ph: (0 * th, np.sin(th) ** 2), 16, 32, T1)  # rotation


def test_solve_spectral_burgers_on_sphere_chart_grid():
    """``solve(Burgers(manifold=sphere), grid, v0, scheme='spectral')`` on the 32×64 chart grid (Fejér nodes =
    cell centres, L = 16): same exact solution."""
    m, names, dom, bcs, _, _ = chart_setup("sphere", "spherical")
    g = Grid(dom[0], dom[1], (32, 64), bcs, names)
    th, ph = (np.asarray(c) for c in g.mesh())
    sol = solve(Burgers(nu=NU, manifold=m), g, v_exact(th, ph, 0.0), T1, scheme="spectral")
    assert sol.u.shape == (2, 2, 32, 64) and _error(sol, T1) < 1e-7
