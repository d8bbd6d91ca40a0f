r"""Pseudo-spectral viscous Hamilton–Jacobi on S² for any Hamiltonian: ETDRK4 in spherical harmonics.

:math:`u_t + H(x, \nabla u) = \nu\Delta u` on the unit sphere, ``x = (θ, φ)`` the spherical chart and
``p = (∂_θ u, ∂_φ u)`` the coordinate covector (default :math:`H = \tfrac12(p_θ^2 + p_φ^2/\sin^2θ)`).
The state is the coefficient array ``c[m, l]`` (``l < L``, real field: ``m ≥ 0``) of
:class:`solver.spectral.sphere.SphereTransform`; the stiff part :math:`-\nu l(l+1)` is diagonal and
integrated exactly by ETDRK4 (Cox–Matthews, Kassam–Trefethen coefficients,
:mod:`solver.spectral.etdrk4`); the nonlinear term :math:`-H(x, p)` is evaluated on the sampling
nodes (Gauss–Legendre θ nodes avoid the poles) from ``p`` synthesised with the θ-derivative table
and ``i m``, and analysed back. The transforms are the same dense Legendre products as
:mod:`solver.spectral.sphere`, written in ``jax.numpy`` so the whole time loop is one ``lax.scan``
under ``jit``. Fixed step ``dt`` (each output interval split into equal steps). No dealiasing:
quadratic products are integrated exactly by Gauss–Legendre up to degree ``2L − 1``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..equations import HamiltonJacobi
from ..errors import QShockInputError
from ..solution import Solution
from .etdrk4 import etdrk4_coefficients, etdrk4_step
from .sphere import SphereTransform, sphere_transform

__all__ = ["JaxSphereTransform", "solve_sphere_etdrk4", "resample_to_cells"]


class JaxSphereTransform:
    """``analysis``/``synthesis`` of a :class:`SphereTransform` in ``jax.numpy`` (jittable)."""

    def __init__(self, T: SphereTransform):
        self.T = T
        self.P, self.dP = jnp.asarray(T.P), jnp.asarray(T.dP)
        m = np.arange(T.L)
        self.shift = jnp.asarray(np.exp(-1j * m * T.phi[0]))
        self.wq = jnp.asarray(T.weights * math.pi)
        self.im = jnp.asarray(1j * m)[:, None]
        self.valid = jnp.asarray(T.valid())

    def analysis(self, f):
        nphi = self.T.phi.size
        F = jnp.fft.rfft(f, axis=-1)[..., : self.T.L] / nphi * self.shift
        return jnp.einsum("im,mli->ml", F * self.wq[:, None], self.P)

    def synthesis(self, c, table=None):
        table = self.P if table is None else table
        F = jnp.einsum("ml,mli->im", c, table) / math.pi * jnp.conj(self.shift)
        nphi = self.T.phi.size
        full = jnp.zeros((F.shape[0], nphi // 2 + 1), F.dtype).at[:, : self.T.L].set(F)
        return jnp.fft.irfft(full * nphi, n=nphi, axis=-1)


def _hamiltonian_field(eq: HamiltonJacobi, T: SphereTransform) -> Callable:
    """``H_field(pθ, pφ)`` on the nodes: the default ½|p|²_g written out, else ``vmap`` of the user's H."""
    th = jnp.asarray(np.broadcast_to(T.theta[:, None], T.shape))
    if eq.is_default_hamiltonian:
        inv_s2 = 1.0 / jnp.sin(th) ** 2
        return lambda pt, pp: 0.5 * (pt * pt + pp * pp * inv_s2)
    x = jnp.stack([th, jnp.asarray(np.broadcast_to(T.phi[None, :], T.shape))], axis=-1).reshape(-1, 2)
    H = jax.vmap(eq.hamiltonian)

    def field(pt, pp):
        return H(x, jnp.stack([pt, pp], axis=-1).reshape(-1, 2)).reshape(T.shape)
    return field


def solve_sphere_etdrk4(equation: HamiltonJacobi, u0, L: int, t1: float, *, dt: float,
                        save_at: Optional[Sequence[float]] = None, sampling: str = "gl",
                        nlat: Optional[int] = None, nlon: Optional[int] = None) -> Solution:
    r"""Viscous HJ on S² for any ``H(x, p)`` by pseudo-spectral ETDRK4 (see the module docstring).

    Args:
        equation: :class:`solver.HamiltonJacobi` with ν > 0 (``manifold`` ignored: the unit sphere
            in the spherical chart ``(θ, φ)``).
        u0: callable ``u0(theta, phi)`` (numpy-vectorised) or samples of ``sphere_transform(L, ...).shape``.
        L: band limit; ``dt``: fixed time step (> 0); ``save_at``: output times in ``[0, t1]``.

    Returns:
        :class:`solver.Solution` on the nodes (coordinates in ``coords``), ``p = (∂_θ u, ∂_φ u)``.
    """
    if not isinstance(equation, HamiltonJacobi) or not equation.nu > 0:
        raise QShockInputError("solve_sphere_etdrk4: needs a HamiltonJacobi equation with nu > 0")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise QShockInputError(f"solve_sphere_etdrk4: dt must be a positive number, got {dt!r}")
    from .sphere import _samples

    T = sphere_transform(L, sampling, nlat, nlon)
    ts = np.array([0.0, float(t1)]) if save_at is None else np.asarray(save_at, float)
    if ts.ndim != 1 or ts[0] < 0 or np.any(np.diff(ts) <= 0) or not np.all(np.isfinite(ts)):
        raise QShockInputError("solve_sphere_etdrk4: save_at must be increasing finite times >= 0")
    J = JaxSphereTransform(T)
    Hf = _hamiltonian_field(equation, T)
    lam = -equation.nu * T.degrees() * (T.degrees() + 1) * T.valid()

    def N(c):
        pt, pp = J.synthesis(c, J.dP), J.synthesis(J.im * c)
        return -J.analysis(Hf(pt, pp)) * J.valid

    counts = [max(1, int(math.ceil((b - a) / dt - 1e-9))) for a, b in zip(ts[:-1], ts[1:])]
    coefs = [etdrk4_coefficients(lam, (b - a) / n_) for n_, a, b in zip(counts, ts[:-1], ts[1:])]

    @jax.jit
    def run(c0):
        out, c = [c0], c0
        for co, n_ in zip(coefs, counts):
            c, _ = jax.lax.scan(lambda v, _, co=co: (etdrk4_step(v, co, N), None), c, None, length=n_)
            out.append(c)
        return jnp.stack(out)

    cs = run(J.analysis(jnp.asarray(_samples(u0, T))) * J.valid)
    us = jax.vmap(J.synthesis)(cs)
    p = jnp.stack([jax.vmap(lambda c: J.synthesis(c, J.dP))(cs), jax.vmap(lambda c: J.synthesis(J.im * c))(cs)], axis=1)
    meta = {"equation": "hj", "scheme": "spectral", "method": "spherical-harmonic-etdrk4", "nu": equation.nu,
            "L": int(L), "sampling": T.sampling, "dt": float(dt), "n_steps": int(sum(counts))}
    coords = {"theta": tuple(float(v) for v in T.theta), "phi": tuple(float(v) for v in T.phi)}
    return Solution(t=jnp.asarray(ts), u=us, grid=T.grid(), p=p, n_steps=int(sum(counts)), metadata=meta,
                    coords=coords)


def resample_to_cells(u, T: SphereTransform, nlat: int, nlon: int):
    r"""Band-limited samples ``u`` on the nodes of ``T`` evaluated at the cell centres
    :math:`θ_i = (i+½)π/n_\text{lat}`, :math:`φ_j = (j+½)2π/n_\text{lon}` of a spherical-chart grid
    (``nlon ≥ 2L − 1``): analysis on ``T``, synthesis with Legendre tables at the centres."""
    from .sphere import _legendre_tables

    if nlon < 2 * T.L - 1:
        raise QShockInputError(f"resample_to_cells: nlon = {nlon} < 2L - 1 = {2 * T.L - 1}")
    theta = (np.arange(nlat) + 0.5) * np.pi / nlat
    phi = (np.arange(nlon) + 0.5) * 2 * np.pi / nlon
    P, dP = _legendre_tables(T.L, theta)
    c = JaxSphereTransform(T).analysis(jnp.asarray(u))
    target = SphereTransform(T.L, "cells", theta, phi, np.ones(nlat), P, dP)
    return JaxSphereTransform(target).synthesis(c)
