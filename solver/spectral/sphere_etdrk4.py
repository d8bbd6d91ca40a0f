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

__all__ = ["JaxSphereTransform", "solve_sphere_etdrk4", "resample_to_cells", "SPHERE_METHODS", "sphere_default_dt",
           "solve_sphere_spectral"]

#: time integration of :func:`solve_sphere_spectral`: ``auto`` is Cole–Hopf (exact in time) for the
#: default H = ½|p|²_g and ETDRK4 otherwise
SPHERE_METHODS = ("auto", "cole-hopf", "etdrk4")


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
    late = ts[0] > 0
    if late:
        ts = np.concatenate([[0.0], ts])
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
    if late:  # u0 is at t = 0, before the first output time
        cs, ts = cs[1:], ts[1:]
    us = jax.vmap(J.synthesis)(cs)
    p = jnp.stack([jax.vmap(lambda c: J.synthesis(c, J.dP))(cs), jax.vmap(lambda c: J.synthesis(J.im * c))(cs)], axis=1)
    meta = {"equation": "hj", "scheme": "spectral", "method": "spherical-harmonic-etdrk4", "nu": equation.nu,
            "L": int(L), "sampling": T.sampling, "dt": float(dt), "n_steps": int(sum(counts))}
    coords = {"theta": tuple(float(v) for v in T.theta), "phi": tuple(float(v) for v in T.phi)}
    return Solution(t=jnp.asarray(ts), u=us, grid=T.grid(), p=p, n_steps=int(sum(counts)), metadata=meta,
                    coords=coords)


def _speed_field(eq: HamiltonJacobi, T: SphereTransform) -> Callable:
    r"""``speed(pθ, pφ)``: :math:`|\partial H/\partial p|_g = \sqrt{q_θ^2 + \sin^2θ\,q_φ^2}`, ``q = ∂H/∂p``, on the nodes."""
    th = jnp.asarray(np.broadcast_to(T.theta[:, None], T.shape))
    x = jnp.stack([th, jnp.asarray(np.broadcast_to(T.phi[None, :], T.shape))], axis=-1).reshape(-1, 2)

    def default_h(xp, pp):
        return 0.5 * (pp[0] ** 2 + pp[1] ** 2 / jnp.sin(xp[0]) ** 2)
    dH = jax.vmap(jax.grad(default_h if eq.is_default_hamiltonian else eq.hamiltonian, argnums=1))
    s2 = jnp.sin(th) ** 2

    def speed(pt, pp):
        q = dH(x, jnp.stack([pt, pp], axis=-1).reshape(-1, 2)).reshape(T.shape + (2,))
        return jnp.sqrt(q[..., 0] ** 2 + s2 * q[..., 1] ** 2)
    return speed


def sphere_default_dt(equation: HamiltonJacobi, u0, T: SphereTransform, cfl: float = 0.25) -> float:
    r"""ETDRK4 step ``cfl / (L max|∂H/∂p|_g)`` at the initial data (``p`` synthesised from the band-limited
    ``u0``): the explicit nonlinear term has wave numbers up to :math:`\sqrt{L(L-1)} < L` on the unit sphere,
    so ``|Δt λ| ≤ cfl`` (RK4-type stability reaches 2.8 on the imaginary axis; 0.25 keeps the O(Δt⁴)
    error below 1e-8 on the test problems). ``inf`` for data at rest."""
    from .sphere import _samples

    J = JaxSphereTransform(T)
    c = J.analysis(jnp.asarray(_samples(u0, T))) * J.valid
    vmax = float(jnp.max(_speed_field(equation, T)(J.synthesis(c, J.dP), J.synthesis(J.im * c))))
    if not math.isfinite(vmax):
        raise QShockInputError("sphere_default_dt: |dH/dp| is not finite at the initial data")
    return cfl / (T.L * vmax) if vmax > 0 else math.inf


def _check_sphere_manifold(equation) -> None:
    m = getattr(equation, "manifold", None)
    if m is None:
        return
    if not (getattr(m, "name", None) == "sphere" and getattr(m, "chart_name", None) == "spherical"
            and getattr(m, "dim", 2) == 2):
        raise QShockInputError("spectral solves on a manifold are available for the sphere S^2 in the spherical "
                               "chart only")


def solve_sphere_spectral(equation, u0, nlat: int, nlon: int, t1: float, *, save_at=None, sampling: str = "gl",
                          method: str = "auto", dt: Optional[float] = None) -> Solution:
    r"""Viscous HJ (any H) or heat on S² on an ``nlat × nlon`` grid (band limit from ``nlat``,
    :func:`solver.spectral.sphere.sphere_band_limit`).

    ``method``: ``'cole-hopf'`` (default H only, exact in time, :func:`solver.spectral.solve_sphere`),
    ``'etdrk4'`` (any H, :func:`solve_sphere_etdrk4` with step ``dt``, default :func:`sphere_default_dt`
    capped by the output interval) or ``'auto'`` (Cole–Hopf for the default H and for :class:`Heat`,
    ETDRK4 otherwise). ``u0``: callable ``u0(theta, phi)`` or samples on the nodes of ``sampling``.
    """
    from .sphere import solve_sphere, sphere_band_limit

    if method not in SPHERE_METHODS:
        raise QShockInputError(f"unknown spectral method on the sphere {method!r}; expected one of "
                               f"{', '.join(SPHERE_METHODS)}")
    _check_sphere_manifold(equation)
    L = sphere_band_limit(nlat, nlon, sampling)
    hj_general = isinstance(equation, HamiltonJacobi) and not equation.is_default_hamiltonian
    if method == "auto":
        method = "etdrk4" if hj_general else "cole-hopf"
    if method == "cole-hopf":
        if hj_general:
            raise QShockInputError("method 'cole-hopf' needs the default Hamiltonian H = |p|^2/2; use 'etdrk4'")
        return solve_sphere(equation, u0, L, t1, save_at=save_at, sampling=sampling, nlat=nlat, nlon=nlon)
    T = sphere_transform(L, sampling, nlat, nlon)
    if dt is None:
        ts = np.array([0.0, float(t1)]) if save_at is None else np.asarray(save_at, float)
        dt = min(sphere_default_dt(equation, u0, T), float(np.max(np.diff(ts))))
    return solve_sphere_etdrk4(equation, u0, L, t1, dt=dt, save_at=save_at, sampling=sampling, nlat=nlat,
                               nlon=nlon)


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
