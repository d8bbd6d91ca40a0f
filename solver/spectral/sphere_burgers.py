r"""The Burgers form on S² for gradient fields, solved spectrally through its potential.

For a gradient field :math:`v = \nabla u` (a 1-form; the case the project uses, ``v0 = −grad L``)
the Burgers form

.. math:: v_t + \nabla\big(\tfrac12|v|_g^2\big) = \nu\,\Delta v

with :math:`\Delta = -(d\delta + \delta d)` the Hodge Laplacian on 1-forms is the gradient of viscous HJ
:math:`u_t + \tfrac12|\nabla u|_g^2 = \nu\Delta u` (:math:`\Delta\,du = d\,\Delta u`; with the Bochner
Laplacian :math:`\nabla^*\nabla` the unit sphere would add :math:`-\nu\,\mathrm{Ric}(v) = -\nu v`). So
:func:`solve_sphere_burgers` recovers the potential from ``v0``, solves HJ by pseudo-spectral ETDRK4
(:func:`solver.spectral.sphere_etdrk4.solve_sphere_etdrk4`) and returns :math:`v = \nabla u`. This is not a
vector-harmonic (spheroidal/toroidal) solver for general ``v``: a toroidal (curl) part is refused.

Potential: the spheroidal coefficients :math:`c_{lm} = \langle v, \nabla Y_{lm}\rangle / (l(l+1)\|Y_{lm}\|^2)`,
with :math:`\langle v, \nabla Y\rangle = \int v_θ\,\partial_θ\bar Y + \hat v_φ\,\overline{im Y}/\sinθ\,dA`
(:math:`\hat v_φ = v_φ/\sinθ` the physical component) — by the same quadrature as the scalar analysis;
for a band-limited gradient field the integrands are polynomials in cos θ of degree ≤ 2L − 2, so the
Gauss–Legendre rule recovers ``u`` exactly (up to its mean, which ``v`` does not see).
"""

from __future__ import annotations

from typing import Optional, Sequence

import jax.numpy as jnp
import numpy as np

from ..equations import Burgers, HamiltonJacobi
from ..errors import QShockInputError
from ..solution import Solution
from .sphere import sphere_band_limit, sphere_transform
from .sphere_etdrk4 import JaxSphereTransform, sphere_default_dt, solve_sphere_etdrk4

__all__ = ["sphere_potential", "solve_sphere_burgers"]


def sphere_potential(v, T) -> tuple[np.ndarray, float]:
    r"""``(u, residual)``: samples of the potential ``u`` (mean zero) of the covector field ``v = (v_θ, v_φ)``
    (shape ``(2, *T.shape)``, coordinate components) on the nodes of ``T``, and the toroidal residual
    :math:`\max|v - \nabla u|_g / \max|v|_g` (0 up to round-off for a band-limited gradient field)."""
    v = np.asarray(v, float)
    if v.shape != (2, *T.shape):
        raise QShockInputError(f"v0 has shape {v.shape}; the sphere grid needs (2, {T.shape[0]}, {T.shape[1]})")
    if not np.all(np.isfinite(v)):
        raise QShockInputError("v0 contains NaN or inf")
    J = JaxSphereTransform(T)
    s = np.sin(T.theta)[:, None]
    P_over_sin = jnp.asarray(T.P / np.sin(T.theta))
    l = np.arange(T.L, dtype=float)[None, :]
    lam = np.where(l > 0, l * (l + 1), 1.0)

    def project(f, table):
        nphi = T.phi.size
        F = jnp.fft.rfft(jnp.asarray(f), axis=-1)[..., : T.L] / nphi * J.shift
        return jnp.einsum("im,mli->ml", F * J.wq[:, None], table)

    proj = project(v[0], J.dP) + jnp.conj(J.im) * project(v[1] / s, P_over_sin)
    c = proj / lam * J.valid * (l > 0)
    u = np.asarray(J.synthesis(c))
    grad = np.stack([np.asarray(J.synthesis(c, J.dP)), np.asarray(J.synthesis(J.im * c))])
    norm = np.sqrt(v[0] ** 2 + (v[1] / s) ** 2)
    err = np.sqrt((grad[0] - v[0]) ** 2 + ((grad[1] - v[1]) / s) ** 2)
    return u, float(np.max(err) / max(float(np.max(norm)), 1e-300))


def solve_sphere_burgers(equation: Burgers, v0, nlat: int, nlon: int, t1: float, *,
                         save_at: Optional[Sequence[float]] = None, sampling: str = "gl", dt: Optional[float] = None,
                         curl_tol: float = 1e-6) -> Solution:
    r"""The Burgers form on S² for a gradient field ``v0`` (module docstring), ν > 0.

    ``v0``: covector samples ``(v_θ, v_φ)`` of shape ``(2, nlat, nlon)`` on the nodes of ``sampling``
    (or a callable ``v0(theta, phi) -> (v_θ, v_φ)``). Refused (``QShockInputError``) when its toroidal part
    exceeds ``curl_tol`` relative to ``max|v0|``. Returns a :class:`solver.Solution` with ``u`` the field
    ``v`` (``(nt, 2, nlat, nlon)``, coordinate components), ``p = None`` and ``metadata['potential_residual']``.
    """
    if not isinstance(equation, Burgers) or not equation.nu > 0:
        raise QShockInputError("solve_sphere_burgers: needs a Burgers equation with nu > 0")
    L = sphere_band_limit(nlat, nlon, sampling)
    T = sphere_transform(L, sampling, nlat, nlon)
    if callable(v0):
        th, ph = np.meshgrid(T.theta, T.phi, indexing="ij")
        v0 = np.stack([np.broadcast_to(np.asarray(c, float), T.shape) for c in v0(th, ph)])
    u0, residual = sphere_potential(v0, T)
    if not residual <= curl_tol:
        raise QShockInputError(f"v0 is not a gradient field on S^2 (toroidal part {residual:.2e} of max|v0| > "
                               f"{curl_tol:g}); the spectral Burgers form is solved for v = grad u only")
    hj = HamiltonJacobi(nu=equation.nu)
    if dt is None:
        ts = np.array([0.0, float(t1)]) if save_at is None else np.asarray(save_at, float)
        dt = min(sphere_default_dt(hj, u0, T), float(np.max(np.diff(np.concatenate([[0.0], ts])))))
    sol = solve_sphere_etdrk4(hj, u0, L, t1, dt=dt, save_at=save_at, sampling=sampling, nlat=nlat, nlon=nlon)
    meta = dict(sol.metadata, equation="burgers", potential_residual=residual,
                method="spherical-harmonic-etdrk4-potential")
    return Solution(t=sol.t, u=sol.p, grid=sol.grid, p=None, n_steps=sol.n_steps, metadata=meta, coords=sol.coords)
