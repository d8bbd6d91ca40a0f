r"""Spherical-harmonic solver on the unit sphere S²: heat equation and viscous HJ by Cole–Hopf.

Transform: Gauss–Legendre (``sampling='gl'`` or ``'gauss'``, ``N_theta >= L`` nodes in
:math:`\cos\theta`) or Fejér's first rule (``sampling='fejer'``, ``N_theta >= 2L - 1`` equiangular
nodes :math:`\theta_i = (i+\tfrac12)\pi/N_\theta`, which coincide with the cell centres of a
:class:`solver.Grid`) in the polar angle, times an FFT over ``N_phi >= 2L - 1`` azimuths
:math:`\phi_j = (j + \tfrac12)\,2\pi/N_\phi` (defaults ``L``/``2L`` by ``2L - 1``; any
``nlat × nlon`` grid such as the T31-style Gaussian ``48 × 96``, see :func:`sphere_band_limit`). Both
quadratures integrate products of band-limited (degree < L) functions exactly, so
analysis∘synthesis is the identity on the band. Fields are expanded as
:math:`f = \sum_{l<L}\sum_{|m|\le l} c_{lm}\,\lambda_{lm}(\cos\theta)e^{im\phi}` with
:math:`\lambda_{lm}` the associated Legendre functions normalised on [−1, 1]
(:math:`\int\lambda_{lm}\lambda_{l'm}\,dx = \delta_{ll'}`), computed by the standard
three-term recurrence in float64. The transforms run on the host in numpy (they are
small dense matrix products; the solve is exact in time, so there is no time loop to jit).

Equations (Δ the Laplace–Beltrami operator, :math:`-\Delta Y_{lm} = l(l+1)Y_{lm}`):

* :class:`Heat`: :math:`\varphi_t = \nu\Delta\varphi`, solved exactly
  :math:`c_{lm}(t) = e^{-\nu l(l+1)t}c_{lm}(0)`;
* :class:`solver.HamiltonJacobi` (default :math:`H = \tfrac12|\nabla u|_g^2`, ν > 0):
  :math:`u = -2\nu\log\varphi`, :math:`\varphi = e^{-u/2\nu}` (shifted by ``min u0`` to
  avoid overflow), with a guard that φ stays positive on the nodes.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Callable, NamedTuple, Optional, Sequence, Union

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..equations import HamiltonJacobi
from .._validate import final_time, viscosity
from ..errors import QShockInputError
from ..grid import Grid
from ..solution import Solution
from .torus import ResolutionWarning

__all__ = ["Heat", "SphereTransform", "sphere_transform", "sphere_band_limit", "solve_sphere", "sphere_laplacian",
           "sphere_laplacian_eigenvalues", "heat_trace"]


class Heat(eqx.Module):
    r"""Heat equation :math:`\varphi_t = \nu\Delta\varphi` (spectral solve on S²)."""

    nu: float = eqx.field(static=True, default=1.0)

    def __init__(self, nu: float = 1.0):
        self.nu = viscosity(nu)

    name = "heat"


class SphereTransform(NamedTuple):
    """Sampling nodes, weights and normalised Legendre tables for band limit ``L``."""

    L: int
    sampling: str
    theta: np.ndarray      # (Nθ,) polar nodes
    phi: np.ndarray        # (Nφ,) azimuth nodes
    weights: np.ndarray    # (Nθ,) quadrature weights in x = cos θ (sum 2)
    P: np.ndarray          # (L, L, Nθ): P[m, l, i] = λ_lm(cos θ_i) (0 for l < m)
    dP: np.ndarray         # (L, L, Nθ): d/dθ of the above

    @property
    def shape(self) -> tuple[int, int]:
        return (self.theta.size, self.phi.size)

    def grid(self) -> Grid:
        """Chart grid ('theta', 'phi') on [0, π] × [0, 2π); centres = nodes for 'fejer'."""
        return Grid((0.0, 0.0), (math.pi, 2 * math.pi), self.shape, ("reflect", "periodic"), ("theta", "phi"))

    def analysis(self, f):
        """Coefficients ``c[m, l]`` (complex, ``m = 0..L-1``) of real samples ``f`` (..., Nθ, Nφ)."""
        f = np.asarray(f, dtype=np.float64)
        nphi = self.phi.size
        F = np.fft.rfft(f, axis=-1)[..., : self.L] / nphi
        F = F * np.exp(-1j * np.arange(self.L) * self.phi[0])  # nodes start at φ0, not 0
        return np.einsum("...im,mli->...ml", F * (self.weights * math.pi)[:, None], self.P, optimize=True)

    def synthesis(self, c, table=None):
        """Real samples (..., Nθ, Nφ) from coefficients ``c[m, l]`` (``table`` = P or dP)."""
        table = self.P if table is None else table
        F = np.einsum("...ml,mli->...im", np.asarray(c), table, optimize=True) / math.pi
        F = F * np.exp(1j * np.arange(self.L) * self.phi[0])
        nphi = self.phi.size
        full = np.zeros(F.shape[:-1] + (nphi // 2 + 1,), complex)
        full[..., : self.L] = F
        return np.fft.irfft(full * nphi, n=nphi, axis=-1)

    def degrees(self) -> np.ndarray:
        """``l`` for each ``[m, l]`` slot (float64)."""
        return np.broadcast_to(np.arange(self.L, dtype=np.float64)[None, :], (self.L, self.L))

    def valid(self) -> np.ndarray:
        """Mask of the slots with ``l >= m``."""
        m = np.arange(self.L)[:, None]
        return np.arange(self.L)[None, :] >= m


def _legendre_tables(L: int, theta: np.ndarray):
    """λ_lm(cos θ) and d/dθ, orthonormal on [-1, 1], by the three-term recurrence."""
    x, s = np.cos(theta), np.sin(theta)
    nt = theta.size
    P = np.zeros((L, L, nt))
    dP = np.zeros((L, L, nt))
    pmm = np.full(nt, math.sqrt(0.5))
    dpmm = np.zeros(nt)
    for m in range(L):
        if m > 0:
            c = math.sqrt((2 * m + 1) / (2 * m))
            pmm, dpmm = c * s * pmm, c * (x * pmm + s * dpmm)
        P[m, m], dP[m, m] = pmm, dpmm
        if m + 1 < L:
            c = math.sqrt(2 * m + 3)
            P[m, m + 1] = c * x * pmm
            dP[m, m + 1] = c * (-s * pmm + x * dpmm)
        for l in range(m + 2, L):
            a = math.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            P[m, l] = a * (x * P[m, l - 1] - b * P[m, l - 2])
            dP[m, l] = a * (-s * P[m, l - 1] + x * dP[m, l - 1] - b * dP[m, l - 2])
    return P, dP


def _fejer_weights(n: int) -> np.ndarray:
    """Fejér's first rule on x = cos θ_i, θ_i = (i+½)π/n (exact to degree n−1)."""
    th = (np.arange(n) + 0.5) * np.pi / n
    j = np.arange(1, n // 2 + 1)
    return (2.0 / n) * (1 - 2 * np.sum(np.cos(2 * np.outer(th, j)) / (4 * j**2 - 1), axis=1))


SAMPLINGS = {"gl": "gl", "gauss": "gl", "fejer": "fejer"}


def _sampling_name(sampling: str) -> str:
    """Canonical sampling name (``'gauss'`` is an alias of ``'gl'``)."""
    try:
        return SAMPLINGS[str(sampling).lower()]
    except KeyError:
        raise QShockInputError(f"unknown sphere sampling {sampling!r}; expected 'gl' (alias 'gauss') or 'fejer'") from None


def sphere_band_limit(nlat: int, nlon: int, sampling: str = "gl") -> int:
    r"""Band limit ``L`` (degrees ``l < L``) of an ``nlat × nlon`` grid, chosen from ``nlat``.

    Gauss–Legendre: :math:`L = n_\text{lat}` (``nlat`` nodes integrate degree ``2 nlat − 1``);
    Fejér's first rule: :math:`L = \lfloor (n_\text{lat}+1)/2 \rfloor` (exact to degree
    ``nlat − 1``). Products of two band-limited functions have degree ``≤ 2L − 2`` in
    :math:`\cos\theta`, and azimuthal orders :math:`|m| \le L − 1` need ``nlon ≥ 2L − 1``
    equispaced azimuths: a smaller ``nlon`` raises ``QShockInputError``. For the T31-style
    ``48 × 96`` Gaussian grid this gives ``L = 48``.
    """
    sampling = _sampling_name(sampling)
    nlat, nlon = int(nlat), int(nlon)
    L = nlat if sampling == "gl" else (nlat + 1) // 2
    if L < 2:
        raise QShockInputError(f"sphere grid {nlat} x {nlon}: too few latitudes for sampling {sampling!r}")
    if nlon < 2 * L - 1:
        raise QShockInputError(f"sphere grid {nlat} x {nlon}: {sampling!r} sampling with {nlat} latitudes has band "
                               f"limit L = {L} and needs nlon >= 2L - 1 = {2 * L - 1} longitudes")
    return L


@functools.lru_cache(maxsize=16)
def sphere_transform(L: int, sampling: str = "gl", nlat: Optional[int] = None,
                     nlon: Optional[int] = None) -> SphereTransform:
    r"""Build (and cache) the transform for band limit ``L`` (degrees ``l < L``).

    ``nlat`` polar nodes (default ``L`` for ``'gl'``, ``2L`` for ``'fejer'``; at least
    ``L`` / ``2L − 1``) and ``nlon ≥ 2L − 1`` azimuths (default ``2L − 1``)
    :math:`\phi_j = (j + \tfrac12)2\pi/n_\text{lon}`.
    """
    if not isinstance(L, (int, np.integer)) or L < 2:
        raise QShockInputError(f"band limit L must be an integer >= 2, got {L!r}")
    if L > 256:
        raise QShockInputError(f"band limit L={L} too large for the float64 Legendre recurrence (max 256)")
    sampling = _sampling_name(sampling)
    n = int(nlat) if nlat is not None else (L if sampling == "gl" else 2 * L)
    nphi = int(nlon) if nlon is not None else 2 * L - 1
    if n < (L if sampling == "gl" else 2 * L - 1) or nphi < 2 * L - 1:
        raise QShockInputError(f"sampling {sampling!r} at L={L} needs nlat >= {L if sampling == 'gl' else 2 * L - 1} "
                               f"and nlon >= {2 * L - 1}, got {n} x {nphi}")
    if sampling == "gl":
        x, w = np.polynomial.legendre.leggauss(n)
        theta = np.arccos(x)[::-1].copy()  # increasing θ
        w = w[::-1].copy()
    else:
        theta = (np.arange(n) + 0.5) * np.pi / n
        w = _fejer_weights(n)
    phi = (np.arange(nphi) + 0.5) * 2 * np.pi / nphi
    P, dP = _legendre_tables(L, theta)
    return SphereTransform(int(L), sampling, theta, phi, w, P, dP)


# ----------------------------------------------------------------------------- public helpers
def sphere_laplacian_eigenvalues(L: int, sampling: str = "gl") -> np.ndarray:
    r"""Measured spectrum of the discrete :math:`-\Delta` on S² at band limit ``L``.

    Builds the grid-space operator ``S · diag(l(l+1)) · A`` (synthesis, analysis) column by
    column from unit samples, symmetrises it with the quadrature weights and returns its
    ``L²`` largest eigenvalues in increasing order (the rest of the grid space is its
    null space). Exact answer: ``l(l+1)`` with multiplicity ``2l+1``.
    """
    T = sphere_transform(L, sampling)
    nth, nph = T.shape
    n = nth * nph
    lam = T.degrees() * (T.degrees() + 1)
    eye = np.eye(n).reshape(n, nth, nph)
    cols = T.synthesis(lam * T.analysis(eye))  # (n, nth, nph): row k = operator applied to e_k
    A = np.asarray(cols).reshape(n, n).T
    wq = np.repeat(T.weights * (2 * np.pi / nph), nph)  # area weight of each node
    sw = np.sqrt(wq)
    S = (sw[:, None] * A) / sw[None, :]
    S = 0.5 * (S + S.T)
    ev = np.linalg.eigvalsh(S)
    return np.sort(ev)[-L * L:]


def sphere_laplacian(f, L: int, sampling: str = "gl"):
    r"""Spectral Laplace–Beltrami :math:`\Delta f` on S² of samples ``f`` (band limit ``L``)."""
    T = sphere_transform(L, sampling)
    lam = T.degrees() * (T.degrees() + 1)
    return T.synthesis(-lam * T.analysis(f))


def heat_trace(t, L: int):
    r"""Heat trace :math:`Z(t) = \sum_{l<L}(2l+1)e^{-l(l+1)t}` of S² (band limited to ``l < L``).

    For small ``t``: :math:`Z(t) = 1/t + 1/3 + t/15 + 4t^2/315 + O(t^3)`.
    """
    t = np.asarray(t, dtype=np.float64)
    l = np.arange(L, dtype=np.float64)
    return np.sum((2 * l + 1) * np.exp(-np.multiply.outer(t, l * (l + 1))), axis=-1)


# ----------------------------------------------------------------------------- solver
def _samples(u0, T: SphereTransform):
    if callable(u0):
        th, ph = np.meshgrid(T.theta, T.phi, indexing="ij")
        vals = np.asarray(u0(th, ph), dtype=np.float64)
        vals = np.broadcast_to(vals, T.shape)
    else:
        vals = np.asarray(u0, dtype=np.float64)
        if vals.shape != T.shape:
            raise QShockInputError(
                f"u0 samples have shape {vals.shape}; sampling {T.sampling!r} with L={T.L} needs {T.shape}")
    if not np.all(np.isfinite(vals)):
        raise QShockInputError("u0 contains NaN or inf")
    return np.array(vals)


def solve_sphere(equation, u0: Union[Callable, np.ndarray], L: int, t1: float, *,
                 save_at: Optional[Sequence[float]] = None, sampling: str = "gl",
                 nlat: Optional[int] = None, nlon: Optional[int] = None) -> Solution:
    r"""Solve the heat equation or viscous HJ on the unit sphere S² spectrally.

    * ``Heat(nu)``: :math:`u_t = \nu\Delta u`, exact in time.
    * ``HamiltonJacobi(nu=ν)`` with the default Hamiltonian:
      :math:`u_t + \tfrac12|\nabla u|^2 = \nu\Delta u` via Cole–Hopf
      :math:`u = -2\nu\log\varphi`, :math:`\varphi_t = \nu\Delta\varphi`.

    Args:
        equation: :class:`Heat` or :class:`solver.HamiltonJacobi` (default H, ν > 0).
        u0: callable ``u0(theta, phi)`` (vectorised over numpy arrays) or samples of shape
            ``sphere_transform(L, sampling).shape``.
        L: band limit (degrees ``l < L``).
        t1: final time; ``save_at`` output times in ``[0, t1]`` (default ``[0, t1]``).
        sampling: ``'gl'`` (alias ``'gauss'``: Gauss–Legendre θ nodes, default ``(L, 2L-1)``)
            or ``'fejer'`` (equiangular cell-centred θ, default ``(2L, 2L-1)``).
        nlat, nlon: optional grid size (any ``nlat ≥ L`` (gl) / ``2L − 1`` (fejer), ``nlon ≥ 2L − 1``;
            :func:`sphere_band_limit` chooses ``L`` from a given grid).

    Returns:
        :class:`solver.Solution` on a ('theta', 'phi') grid; for ``'gl'`` the θ nodes are not
        the grid's cell centres: the true nodes are in ``Solution.coords`` (written to NetCDF)
        and ``metadata['theta_nodes']``. For HJ,
        ``p = (∂_θ u, ∂_φ u)`` (coordinate covector, shape ``(nt, 2, Nθ, Nφ)``).

    Raises:
        QShockInputError: bad input, or (HJ) when the band-limited φ is not positive on
            the nodes (the data are too steep for ``L`` at this ν).
    """
    if not isinstance(equation, (Heat, HamiltonJacobi)):
        raise QShockInputError(f"solve_sphere: equation must be Heat or HamiltonJacobi, got {type(equation).__name__}")
    if isinstance(equation, HamiltonJacobi):
        if not equation.is_default_hamiltonian:
            raise QShockInputError("solve_sphere: Cole–Hopf needs the default Hamiltonian H = |p|^2/2")
        if equation.nu <= 0:
            raise QShockInputError("solve_sphere: Cole–Hopf needs nu > 0")
    t1 = final_time(t1)
    ts = np.array([0.0, t1]) if save_at is None else np.atleast_1d(np.asarray(save_at, dtype=np.float64))
    if ts.ndim != 1 or not np.all(np.isfinite(ts)) or np.any(ts < 0) or np.any(ts > t1 * (1 + 1e-12)):
        raise QShockInputError(f"save_at must be finite times within [0, t1={t1}]")
    T = sphere_transform(L, sampling, nlat, nlon)
    u = _samples(u0, T)
    nu = equation.nu
    decay = np.exp(-nu * np.multiply.outer(ts, T.degrees() * (T.degrees() + 1))) * T.valid()  # (nt, L, L)
    if isinstance(equation, Heat):
        c0 = T.analysis(u)
        _check_band(T, u, c0, "u0")
        out, p = np.asarray(T.synthesis(decay * c0)), None
    else:
        out, p = _cole_hopf_sphere(T, u, nu, ts, decay)
    meta = {"equation": equation.name, "scheme": "spectral", "method": "spherical-harmonic",
            "nu": nu, "L": int(L), "sampling": T.sampling, "dt": 0.0,
            "theta_nodes": tuple(float(v) for v in T.theta), "phi_nodes": tuple(float(v) for v in T.phi)}
    # the true nodes go to NetCDF (Gauss–Legendre theta nodes are not the grid's cell centres)
    coords = {"theta": tuple(float(v) for v in T.theta), "phi": tuple(float(v) for v in T.phi)}
    return Solution(t=jnp.asarray(ts), u=jnp.asarray(out), grid=T.grid(), p=None if p is None else jnp.asarray(p),
                    n_steps=0, metadata=meta, coords=coords)


def _cole_hopf_sphere(T: SphereTransform, u, nu, ts, decay):
    r"""Viscous HJ by Cole–Hopf: :math:`\varphi = e^{-(u_0 - \min u_0)/2\nu}` decays exactly per degree;
    returns ``u = min u0 − 2ν log φ`` and ``p = (∂_θ u, ∂_φ u) = −2ν ∇φ/φ`` (shape ``(nt, 2, Nθ, Nφ)``)."""
    umin = float(u.min())
    phi0 = np.exp(-(u - umin) / (2 * nu))
    c0 = T.analysis(phi0)
    _check_band(T, phi0, c0, "phi0 = exp(-u0/2nu)", stacklevel=4)
    ct = decay * c0
    phi = np.asarray(T.synthesis(ct))
    bad = ~(phi > 0)
    if np.any(bad):
        k, i, j = np.argwhere(bad)[0]
        raise QShockInputError(
            f"Cole–Hopf: phi = exp(-u/2nu) is not positive at {int(bad.sum())} nodes (first at t={ts[k]:.4g}, "
            f"theta={T.theta[i]:.4g}, phi={T.phi[j]:.4g}); the data are not resolved at L={T.L} for nu={nu}: "
            f"increase L or nu")
    out = umin - 2 * nu * np.log(phi)
    dth = np.asarray(T.synthesis(ct, T.dP))
    dph = np.asarray(T.synthesis(np.arange(T.L)[:, None] * 1j * ct))
    return out, np.stack([-2 * nu * dth / phi, -2 * nu * dph / phi], axis=1)


def _check_band(T: SphereTransform, f, c, name, tol: float = 1e-8, stacklevel: int = 3):
    """Warn when ``f`` is not captured by degrees < L (round trip error relative to max|f|)."""
    back = np.asarray(T.synthesis(c))
    err = float(np.max(np.abs(back - f)) / max(np.max(np.abs(f)), 1e-300))
    if err > tol:
        warnings.warn(f"{name} is not band-limited to L={T.L} (round-trip error {err:.1e}); increase L "
                      f"(try L >= {2 * T.L})", ResolutionWarning, stacklevel=stacklevel)
    return err
