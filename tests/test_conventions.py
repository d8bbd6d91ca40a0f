"""The conventions of docs/conventions.md (solver section), each checked numerically."""

import jax.numpy as jnp
import numpy as np

from qshock.manifolds import RadialQuotient, Sphere
from qshock.solver import Boundary, Grid, HamiltonJacobi
from qshock.solver._geometry import chart_factors
from qshock.solver._rhs import build_rhs
from qshock.solver.schemes import Scheme
from qshock.solver.stepping import ssprk3_step
from qshock.solver.exact import cell_average


def test_grid_is_cell_centred():
    g = Grid(-1.0, 3.0, 8)
    assert np.allclose(g.centres(), -1.0 + (np.arange(8) + 0.5) * 0.5)
    assert np.allclose(g.faces(), -1.0 + np.arange(9) * 0.5)


def test_hj_sign_and_laplacian_is_negative():
    # u_t = -H + nu*Lap u: for u = cos x at t=0 with H = 0, u_t = -nu cos x
    g = Grid(0, 2 * np.pi, 128)
    x = g.centres()
    zero_h = HamiltonJacobi(hamiltonian=lambda xx, p: 0.0 * p[0], nu=0.3)
    rhs = build_rhs(zero_h, g, Scheme("weno5", "llf", diffusion_order=4)).rhs
    assert np.max(np.abs(rhs(jnp.cos(x), 0.0) + 0.3 * jnp.cos(x))) < 1e-6
    # inviscid: u_t = -1/2 |u_x|^2 for u = sin x  ->  -1/2 cos^2 x
    rhs0 = build_rhs(HamiltonJacobi(), g, Scheme("weno5")).rhs
    assert np.max(np.abs(rhs0(jnp.sin(x), 0.0) + 0.5 * jnp.cos(x) ** 2)) < 1e-6


def test_face_metric_factors_and_zero_flux_at_poles():
    s2 = Sphere(3, "spherical")
    g = Grid((0, 0), (np.pi, 2 * np.pi), (16, 32), (Boundary("pole", partner=1), Boundary("periodic")),
             ("theta", "phi"))
    fac = chart_factors(s2, g)
    w_theta = np.asarray(fac.face_weights[0])  # sqrt(G) g^{theta theta} = sin(theta) at theta faces
    assert np.allclose(w_theta[:, 0], np.sin(np.asarray(g.faces(0))), atol=1e-15)
    assert w_theta[0, 0] == 0.0 and abs(w_theta[-1, 0]) < 1e-15
    assert np.allclose(np.asarray(fac.inv_metric_centres[1])[:, 0], 1 / np.sin(np.asarray(g.centres(0))) ** 2)


def test_weighted_manifold_uses_volume_density():
    r3 = RadialQuotient(3)
    g = Grid(0.0, 2.0, 10, Boundary("reflect", upper="outflow"), ("r",))
    fac = chart_factors(r3, g)
    # 1/sqrt(G) at a cell is the inverse of the cell-averaged weight, dx / int_cell r^2 dr
    f = np.asarray(g.faces())
    assert np.allclose(fac.inv_sqrt_det_centres, 0.2 / ((f[1:] ** 3 - f[:-1] ** 3) / 3))
    assert float(fac.face_weights[0][0]) == 0.0


def test_sqrt_g_weighted_cell_average():
    # average of cos(theta) weighted by sin(theta) over [0, pi/2] is 1/2 (exact integral)
    avg = cell_average(lambda th: jnp.cos(th), np.array([0.0, np.pi / 2]), n_gauss=8,
                       sqrt_det=lambda p: jnp.sin(p[..., 0]))
    assert abs(float(avg[0]) - 0.5) < 1e-12


def test_ssprk3_weights_sum_to_one_in_float32():
    u = jnp.asarray(np.random.default_rng(0).normal(size=1000), jnp.float32)
    out = ssprk3_step(lambda v, t: jnp.zeros_like(v), u, 0.0, 0.1)
    assert np.array_equal(np.asarray(out), np.asarray(u))  # a zero RHS leaves u bit-for-bit unchanged
