r"""Conservative Fokker–Planck (advection–diffusion) equation on a box or a masked box.

The equation, for a probability density :math:`\rho(x, t)` (w.r.t. Lebesgue measure on the chart):

.. math:: \partial_t \rho = -\nabla\cdot J, \qquad J = b(x)\,\rho - D\,\nabla\rho,

i.e. the forward (Kolmogorov) equation of the Itô SDE :math:`dX = b(X)\,dt + \sqrt{2D}\,dW`.
Sign convention: ``drift`` is :math:`b` (the SDE drift, e.g. :math:`b = -\nabla U` for a
potential :math:`U`), ``D > 0`` the diffusion constant; with :math:`b = -\nabla U + D\nabla\log V`
the stationary density is :math:`\rho_\infty \propto V e^{-U/D}`.

Discretisation (finite volume, flux form). Cell averages :math:`\rho_c` on a :class:`~solver.grid.Grid`;
each cell may carry a volume fraction :math:`f_c \in [0, 1]` (a masked grid, e.g. the chamber
:func:`chamber_fraction`). The flux through the face between cells ``c`` and ``c + e_a`` is the
Scharfetter–Gummel (exponentially fitted) flux

.. math:: F_{c+\frac12 e_a} = A_a\,\frac{D}{h_a}\big[B(-P)\,\rho_c - B(P)\,\rho_{c+e_a}\big],
   \qquad P = \frac{b_a(x_{c+\frac12 e_a})\,h_a}{D},\qquad B(z) = \frac{z}{e^z - 1},

(:math:`A_a` the face area), second-order accurate, exact for a constant drift in 1-D, and
upwind for :math:`|P| \gg 1`. A face carries flux only when both its cells have positive volume;
every face of the box is reflecting (zero flux), so the grid's boundaries must all be
``reflect``. Cells are updated by :math:`f_c V \dot\rho_c = -\sum_{faces} \pm F` (forward Euler,
step ``cfl / max outflow rate``), so the mass :math:`\sum_c f_c V \rho_c` is conserved to
round-off and the density stays non-negative for ``cfl <= 1``.

The chamber of singular values :math:`s_1 \ge s_2 \ge 0` of a 2×2 matrix is the grid box
:math:`[0, L]^2` with cells above the diagonal removed and the diagonal cells halved: the
diagonal :math:`s_1 = s_2` is a reflecting face (a cut through the diagonal cells, which keep
their two full faces towards the chamber), :math:`s_2 = 0` and :math:`s_1 = L` are box faces.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .errors import QShockInputError
from .grid import Grid

__all__ = ["FokkerPlanck", "chamber_fraction", "fp_coefficients", "fp_rhs", "fp_mass", "fp_solve",
           "fp_stationary", "sg_bernoulli", "cell_average"]


class FokkerPlanck(eqx.Module):
    r"""The Fokker–Planck equation :math:`\rho_t = -\nabla\cdot(b\rho - D\nabla\rho)`.

    Attributes:
        drift: ``b(x)`` for one point ``x`` of shape ``(d,)``, returning shape ``(d,)``
            (time-independent; evaluated at face centres only).
        D: diffusion constant :math:`D > 0` (the SDE noise is :math:`\sqrt{2D}\,dW`).
    """

    drift: Callable = eqx.field(static=True)
    D: float = eqx.field(static=True)

    def __init__(self, drift: Callable, D: float):
        if not callable(drift):
            raise QShockInputError("Fokker–Planck drift must be a callable b(x) -> (d,)")
        try:
            D = float(D)
        except (TypeError, ValueError):
            raise QShockInputError(f"Fokker–Planck diffusion D must be a number, got {D!r}") from None
        if not (math.isfinite(D) and D > 0):
            raise QShockInputError(f"Fokker–Planck diffusion D must be finite and > 0, got {D}")
        self.drift, self.D = drift, D

    name = "fokker-planck"


def sg_bernoulli(z):
    r"""The Bernoulli function :math:`B(z) = z/(e^z - 1)`, :math:`B(0) = 1` (stable near 0)."""
    z = jnp.asarray(z)
    small = jnp.abs(z) < 1e-6
    zs = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 - 0.5 * z + z * z / 12.0, zs / jnp.expm1(zs))


def chamber_fraction(grid: Grid) -> np.ndarray:
    """Volume fractions of the chamber ``x0 >= x1`` on a square 2-D grid: 1 below the diagonal
    (``i > j``), ½ on it (the diagonal cuts the cell), 0 above."""
    if grid.ndim != 2 or grid.shape[0] != grid.shape[1] or not (
            math.isclose(grid.lower[0], grid.lower[1]) and math.isclose(grid.upper[0], grid.upper[1])):
        raise QShockInputError("chamber_fraction needs a 2-D grid on a square box [lo, hi]^2 with equal cells, "
                               f"got lower={grid.lower}, upper={grid.upper}, shape={grid.shape}")
    i, j = np.indices(grid.shape)
    return np.where(i > j, 1.0, np.where(i == j, 0.5, 0.0))


def _check(eq, grid, fraction):
    if not isinstance(eq, FokkerPlanck):
        raise QShockInputError(f"expected a FokkerPlanck equation, got {type(eq).__name__}")
    if not isinstance(grid, Grid):
        raise QShockInputError(f"expected a Grid, got {type(grid).__name__}")
    bad = [b.kind for b in grid.boundaries if b.kind != "reflect" or (b.upper or "reflect") != "reflect"]
    if bad:
        raise QShockInputError(f"Fokker–Planck faces are reflecting (zero flux): every grid boundary must be "
                               f"'reflect', got {', '.join(bad)}")
    frac = np.ones(grid.shape) if fraction is None else np.asarray(fraction, float)
    if frac.shape != tuple(grid.shape) or not np.all((frac >= 0) & (frac <= 1)) or not frac.any():
        raise QShockInputError(f"fraction must have the grid shape {grid.shape} with values in [0, 1], "
                               "not all zero")
    return frac


def _face_points(grid: Grid, axis: int):
    """Centres of the interior faces normal to ``axis``: shape ``(..., N_a - 1, ..., d)``."""
    axes = [grid.centres(a) for a in range(grid.ndim)]
    axes[axis] = grid.faces(axis)[1:-1]
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"), axis=-1)


def fp_coefficients(eq: FokkerPlanck, grid: Grid, fraction=None):
    """Per axis the face coefficients ``(c_minus, c_plus)`` with ``F = c_minus ρ_c − c_plus ρ_{c+1}``
    (zero on closed faces), the cell measures ``f V`` and the largest stable Euler step."""
    frac = _check(eq, grid, fraction)
    vol = frac * grid.cell_volume
    coeffs, rate = [], np.zeros(grid.shape)
    for a in range(grid.ndim):
        h = grid.dx[a]
        area = grid.cell_volume / h
        pts = _face_points(grid, a)
        flat = pts.reshape(-1, grid.ndim)
        b = np.asarray(jax.vmap(eq.drift)(flat))[:, a].reshape(pts.shape[:-1])
        lo = np.take(frac, np.arange(grid.shape[a] - 1), axis=a)
        hi = np.take(frac, np.arange(1, grid.shape[a]), axis=a)
        open_ = (lo > 0) & (hi > 0)
        pe = np.where(open_, b * h / eq.D, 0.0)
        k = area * eq.D / h
        cm = np.where(open_, k * np.asarray(sg_bernoulli(-pe)), 0.0)
        cp = np.where(open_, k * np.asarray(sg_bernoulli(pe)), 0.0)
        if not (np.all(np.isfinite(cm)) and np.all(np.isfinite(cp))):
            raise QShockInputError(f"Fokker–Planck drift is not finite on an open face along axis {a}")
        coeffs.append((cm, cp))
        rate += _pad(cm, a, (0, 1)) + _pad(cp, a, (1, 0))  # outflow coefficients of each cell
    rate = np.where(vol > 0, rate / np.where(vol > 0, vol, 1.0), 0.0)
    dt_max = 1.0 / rate.max() if rate.max() > 0 else np.inf
    return coeffs, vol, float(dt_max)


def _pad(x, axis, width):
    pw = [(0, 0)] * x.ndim
    pw[axis] = width
    return np.pad(x, pw) if isinstance(x, np.ndarray) else jnp.pad(x, pw)


def fp_rhs(eq: FokkerPlanck, grid: Grid, fraction=None):
    """``(rhs, vol, dt_max)``: ``rhs(ρ) = dρ/dt`` of the flux-form semi-discretisation."""
    coeffs, vol, dt_max = fp_coefficients(eq, grid, fraction)
    coeffs = [(jnp.asarray(cm), jnp.asarray(cp)) for cm, cp in coeffs]
    inv = jnp.asarray(np.where(vol > 0, 1.0 / np.where(vol > 0, vol, 1.0), 0.0))

    def rhs(rho):
        div = jnp.zeros_like(rho)
        for a, (cm, cp) in enumerate(coeffs):
            n = rho.shape[a]
            lo, hi = lax.slice_in_dim(rho, 0, n - 1, axis=a), lax.slice_in_dim(rho, 1, n, axis=a)
            f = _pad(cm * lo - cp * hi, a, (1, 1))
            div = div + lax.slice_in_dim(f, 1, n + 1, axis=a) - lax.slice_in_dim(f, 0, n, axis=a)
        return -div * inv

    return rhs, vol, dt_max


def fp_mass(rho, grid: Grid, fraction=None):
    """Total mass :math:`\\sum_c f_c V \\rho_c`."""
    frac = np.ones(grid.shape) if fraction is None else np.asarray(fraction, float)
    return jnp.sum(jnp.asarray(frac * grid.cell_volume) * rho)


def fp_solve(eq: FokkerPlanck, grid: Grid, rho0, t1: float, fraction=None, cfl: float = 0.9):
    """ρ at time ``t1`` from ρ(0) = ``rho0`` (forward Euler, ``ceil(t1/(cfl dt_max))`` equal steps)."""
    if not (0 < cfl <= 1):
        raise QShockInputError(f"cfl must be in (0, 1], got {cfl}")
    if not (math.isfinite(t1) and t1 >= 0):
        raise QShockInputError(f"t1 must be finite and >= 0, got {t1}")
    rhs, vol, dt_max = fp_rhs(eq, grid, fraction)
    rho0 = jnp.where(jnp.asarray(vol) > 0, jnp.asarray(rho0, float), 0.0)
    if t1 == 0:
        return rho0
    n = max(1, int(math.ceil(t1 / (cfl * dt_max))))
    dt = t1 / n
    return _march(rhs, rho0, dt, n)


@partial(jax.jit, static_argnums=(0, 3))
def _march(rhs, rho, dt, n):
    return lax.fori_loop(0, n, lambda i, r: r + dt * rhs(r), rho)


def fp_stationary(eq: FokkerPlanck, grid: Grid, fraction=None, rho0=None, t_max: float = 100.0,
                  tol: float = 1e-10, chunk: float = 0.5, cfl: float = 0.9):
    """The stationary density (unit mass), marched from ``rho0`` (default uniform) until the
    L1 change over a time ``chunk`` is below ``tol·chunk`` or ``t_max`` is reached.

    Returns ``(rho, info)`` with ``info = {"t": time marched, "residual": last L1 change / chunk}``."""
    rhs, vol, dt_max = fp_rhs(eq, grid, fraction)
    w = jnp.asarray(vol)
    rho = jnp.where(w > 0, 1.0, 0.0) if rho0 is None else jnp.where(w > 0, jnp.asarray(rho0, float), 0.0)
    rho = rho / jnp.sum(w * rho)
    n = max(1, int(math.ceil(chunk / (cfl * dt_max))))
    dt = chunk / n
    n_chunks = max(1, int(math.ceil(t_max / chunk)))

    def cond(c):
        k, _, res = c
        return (k < n_chunks) & (res > tol)

    def body(c):
        k, r, _ = c
        r2 = _march(rhs, r, dt, n)
        return k + 1, r2, jnp.sum(w * jnp.abs(r2 - r)) / chunk

    k, rho, res = lax.while_loop(cond, body, (0, rho, jnp.asarray(jnp.inf, rho.dtype)))
    return rho, {"t": float(k) * chunk, "residual": float(res)}


def cell_average(grid: Grid, density: Callable, fraction=None, order: int = 8) -> np.ndarray:
    """Cell averages of ``density(points) -> values`` by Gauss–Legendre quadrature (``order``²
    points per cell; in a halved chamber cell only the points with ``x0 >= x1`` count, and the
    average is over the cell's half)."""
    g, wts = np.polynomial.legendre.leggauss(order)
    out = np.zeros(grid.shape)
    pts_c = np.asarray(grid.points())
    wsum = np.zeros(grid.shape)
    offs = [0.5 * g * h for h in grid.dx]
    for idx in np.ndindex(*(order,) * grid.ndim):
        x = pts_c + np.asarray([offs[a][idx[a]] for a in range(grid.ndim)])
        w = np.prod([wts[i] for i in idx]) * np.ones(grid.shape)
        if fraction is not None:
            w = np.where(np.asarray(fraction) < 1, w * (x[..., 0] >= x[..., 1]), w)
        out += w * np.asarray(density(x))
        wsum += w
    return np.where(wsum > 0, out / np.where(wsum > 0, wsum, 1.0), 0.0)

