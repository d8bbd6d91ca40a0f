r"""Implicit viscosity for Hamilton–Jacobi on charts: Strang splitting with an exact diffusion propagator.

On a latitude–longitude chart the explicit viscous step of :math:`\nu\Delta_g u` shrinks like
:math:`(\sin\theta_0\,\Delta\varphi)^2 \sim N^{-4}` next to the poles. Here the semi-discrete
equation :math:`\dot u = A(u) + \nu L u` (``A`` the upwind Hamiltonian part, ``L`` the discrete
Laplace–Beltrami operator of :func:`solver.kernels.build_rhs`, linear and time-independent) is
advanced by Strang splitting,

.. math:: u^{n+1} = e^{\nu\Delta t L/2}\; \mathrm{RK3}_A(\Delta t)\; e^{\nu\Delta t L/2}\, u^n,

second order in time, with :math:`\Delta t = C\,\Delta t_{\max}^{A}` set by the advective CFL
alone (SSP-RK3 on ``A``). The propagator :math:`e^{\tau\nu L}` is applied exactly:

* when the chart factors do not depend on a periodic axis (the azimuth of the spherical chart;
  the pole ghost cells are a half-turn along it, which commutes with shifts), ``L`` is block
  diagonal in the Fourier modes ``k`` of that axis; each block ``L_k`` (one row of cells, e.g.
  ``N_θ × N_θ``) is read off the impulse response of ``L`` (one FFT) and diagonalised once,
  :math:`L_k = V_k Λ_k V_k^{-1}` (Hermitian after the :math:`\sqrt G` similarity when ``L`` is
  self-adjoint in the :math:`\sqrt G`-weighted inner product, as the conservative 2nd-order form is);
* otherwise ``L`` is diagonalised as one dense matrix (at most ``DENSE_LIMIT`` cells).

Each step then costs one SSP-RK3 step of ``A`` plus two batched mat-vecs per Fourier mode.
Boundaries must be homogeneous (periodic, pole, reflect, outflow): ``L`` must be linear.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._geometry import chart_factors
from ._rhs import _laplacian, build_rhs, ghost_width
from .equations import HamiltonJacobi
from .errors import QShockInputError
from .grid import Grid

__all__ = ["DENSE_LIMIT", "DiffusionPropagator", "diffusion_propagator", "apply_propagator", "fourier_axis",
           "imex_parts", "imex_step", "imex_integrator"]

#: largest number of cells for a dense diagonalisation of ``L`` (no usable Fourier axis)
DENSE_LIMIT = 4096
_LINEAR_KINDS = ("periodic", "pole", "reflect", "outflow")


class DiffusionPropagator(NamedTuple):
    r"""Modal form of ``L``: :math:`L_k = A_k\,\mathrm{diag}(λ_k)\,B_k` per Fourier mode ``k`` of axis
    ``axis`` (``axis = None``: one dense block). ``lam`` are the eigenvalues (real, ≤ 0 up to round-off
    for the conservative form)."""

    axis: int | None
    A: jnp.ndarray  # (K, M, M)
    B: jnp.ndarray  # (K, M, M)
    lam: jnp.ndarray  # (K, M)
    n_axis: int


def fourier_axis(grid: Grid, fac) -> int | None:
    """A periodic grid axis along which the chart factors are constant (the last such axis), or ``None``."""
    for a in reversed(range(grid.ndim)):
        if not grid.periodic[a]:
            continue
        if fac is None:
            return a
        arrays = [fac.inv_sqrt_det_centres, *fac.face_weights]
        if all(np.allclose(np.asarray(w), np.take(np.asarray(w), [0], axis=a), rtol=1e-13, atol=0.0) for w in arrays):
            return a
    return None


def _check_linear(grid: Grid):
    for a, b in enumerate(grid.boundaries):
        for kind in (b.kind, b.upper or b.kind):
            if kind not in _LINEAR_KINDS:
                raise QShockInputError(
                    f"method 'imex' needs homogeneous boundaries ({', '.join(_LINEAR_KINDS)}); axis "
                    f"{grid.axis_names[a]!r} has {kind!r}")


def _impulse_response(lap, grid: Grid, axis, dtype):
    """``R[j] = L e_j`` for the unit impulses ``e_j`` at the cells of the first slice of ``axis``
    (``axis = None``: every cell). Returns ``(R (M, *shape), rest_shape)``."""
    shape = grid.shape
    if axis is None:
        rest, m = shape, grid.size
        flat_index = np.arange(m)
    else:
        rest = shape[:axis] + shape[axis + 1:]
        m = int(np.prod(rest))
        multi = np.unravel_index(np.arange(m), rest) if rest else ()  # 1-D: one slice, no other axes
        full = list(multi)
        full.insert(axis, np.zeros(m, int))
        flat_index = np.ravel_multi_index(tuple(full), shape)

    E = np.zeros((m, grid.size))
    E[np.arange(m), flat_index] = 1.0
    R = jax.jit(jax.vmap(lambda e: lap(e.reshape(shape), 0.0)))(jnp.asarray(E, dtype))
    return np.asarray(R), rest


def diffusion_propagator(lap, grid: Grid, weights=None, axis: int | None = None, dtype=None) -> DiffusionPropagator:
    r"""Diagonalise the linear operator ``lap`` (``u, t -> L u``) on ``grid`` (see the module docstring).

    ``axis``: a periodic axis along which ``L`` commutes with shifts (:func:`fourier_axis`), or
    ``None`` for one dense block. ``weights`` (grid shape, > 0; default 1): the inner product in
    which ``L`` is self-adjoint (:math:`\sqrt G`), used to symmetrise each block; a block that is
    not Hermitian after it is diagonalised by ``eig``.
    """
    dtype = dtype or jnp.result_type(float)
    _check_linear(grid)
    return _modal(lap, grid, weights, axis, dtype)


def _modal(lap, grid, weights, ax, dtype):
    if ax is None and grid.size > DENSE_LIMIT:
        raise QShockInputError(
            f"method 'imex': the chart depends on every periodic axis (or has none) and the grid has "
            f"{grid.size} > {DENSE_LIMIT} cells; the dense diffusion propagator would be too large")
    R, rest = _impulse_response(lap, grid, ax, dtype)
    m = R.shape[0]
    if ax is None:
        blocks = R.reshape(m, m).T[None]  # L[i, j] = (L e_j)_i
        w = np.ones(m) if weights is None else np.asarray(weights, float).reshape(m)
        n_axis = 1
    else:
        n_axis = grid.shape[ax]
        F = np.fft.rfft(np.moveaxis(R, 1 + ax, -1), axis=-1)  # (M_j, *rest, K)
        blocks = np.moveaxis(F.reshape(m, m, -1), -1, 0).transpose(0, 2, 1)  # (K, i, j)
        w = np.ones(m) if weights is None else np.take(np.asarray(weights, float), 0, axis=ax).reshape(m)
    sw = np.sqrt(w)
    S = sw[None, :, None] * blocks / sw[None, None, :]
    herm = np.max(np.abs(S - np.conj(np.swapaxes(S, 1, 2)))) <= 1e-10 * max(np.max(np.abs(S)), 1e-300)
    if herm:
        lam, Q = np.linalg.eigh(0.5 * (S + np.conj(np.swapaxes(S, 1, 2))))
        A = Q / sw[None, :, None]
        B = np.conj(np.swapaxes(Q, 1, 2)) * sw[None, None, :]
    else:
        lam, A = np.linalg.eig(blocks)
        B = np.linalg.inv(A)
        lam = lam.real
    cdt = jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64
    if ax is None:
        A, B = A.real, B.real
        cdt = dtype
    return DiffusionPropagator(ax, jnp.asarray(A, cdt), jnp.asarray(B, cdt), jnp.asarray(lam.real, dtype), n_axis)


def apply_propagator(P: DiffusionPropagator, u, tau):
    r""":math:`e^{\tau L} u` for the modal form ``P`` (``tau`` already includes ν)."""
    shape = u.shape
    if P.axis is None:
        v = P.B[0] @ u.ravel()
        return (P.A[0] @ (jnp.exp(tau * P.lam[0]) * v)).reshape(shape)
    U = jnp.fft.rfft(jnp.moveaxis(u, P.axis, -1), axis=-1)  # (*rest, K)
    rest = U.shape[:-1]
    Uk = U.reshape(-1, U.shape[-1]).T  # (K, M)
    V = jnp.einsum("kij,kj->ki", P.B, Uk)
    V = jnp.exp(tau * P.lam).astype(V.dtype) * V
    W = jnp.einsum("kij,kj->ki", P.A, V)
    out = jnp.fft.irfft(W.T.reshape(rest + (W.shape[0],)), n=P.n_axis, axis=-1)
    return jnp.moveaxis(out, -1, P.axis).astype(u.dtype)


def _without_viscosity(eq: HamiltonJacobi) -> HamiltonJacobi:
    return HamiltonJacobi(eq.hamiltonian, 0.0, eq.manifold, eq.separable_coefficients, eq.max_speed)


def imex_parts(equation, grid: Grid, scheme, dtype):
    """``(advective Discretisation, propagator or None, ν)`` for ``method='imex'`` (HJ, flat or chart)."""
    if not isinstance(equation, HamiltonJacobi):
        raise QShockInputError("method 'imex' is implemented for --equation hj")
    adv = build_rhs(_without_viscosity(equation), grid, scheme, dtype)
    if equation.nu == 0:
        return adv, None, 0.0
    fac = chart_factors(equation.manifold, grid, dtype) if equation.manifold is not None else None
    lap = _laplacian(grid, fac, scheme.viscous_order, ghost_width(equation, scheme))
    weights = None if fac is None else 1.0 / np.asarray(fac.inv_sqrt_det_centres)
    P = diffusion_propagator(lap, grid, weights, fourier_axis(grid, fac), dtype)
    return adv, P, float(equation.nu)


def imex_step(adv_rhs, P, nu, u, t, dt):
    """One Strang step: half diffusion, SSP-RK3 on the advective part, half diffusion."""
    from .stepping import ssprk3_step

    if P is None:
        return ssprk3_step(adv_rhs, u, t, dt)
    half = 0.5 * nu * dt
    u = apply_propagator(P, u, half)
    u = ssprk3_step(adv_rhs, u, t, dt)
    return apply_propagator(P, u, half)


def imex_integrator(rhs, max_dt, ts, opt, all_finite=None):
    """The ``'imex'`` entry of :data:`solver.stepping.INTEGRATORS`: ``run(u0) -> (us, n_steps, status,
    t_bad, i_bad)`` with ``Δt = C Δt_max`` of the advective part only. ``rhs`` must come from
    :func:`solver.kernels.build_rhs` for HJ (it carries ``rhs.imex_parts``)."""
    parts = getattr(rhs, "imex_parts", None)
    if parts is None:
        raise QShockInputError("method 'imex' is available for Hamilton-Jacobi finite-volume solves only")
    adv, P, nu = parts()
    cfl, max_steps = opt.cfl, opt.max_steps

    def body_for(t_next):
        def body(c):
            u, t, n, status = c
            remaining = t_next - t
            dt_ = cfl * adv.max_dt(u)
            last = dt_ >= remaining * (1 - 1e-12)
            dt_ = jnp.where(last, remaining, dt_)
            un = imex_step(adv.rhs, P, nu, u, t, dt_)
            ok = jnp.all(jnp.isfinite(un))
            tn = jnp.where(last, t_next, t + dt_)
            collapsed = (~last) & (dt_ <= 1e-14 * jnp.maximum(jnp.abs(t_next), 1.0))
            status = jnp.where(~ok, 1, jnp.where(n + 1 >= max_steps, 2, jnp.where(collapsed, 3, 0)))
            return (un, jnp.where(ok, tn, t), n + 1, status.astype(jnp.int32))
        return body

    def interval(carry, t_next):
        carry = jax.lax.while_loop(lambda c: (c[1] < t_next) & (c[3] == 0), body_for(t_next), carry)
        return carry, carry[0]

    def run(u0):
        init = (u0, ts[0], jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))
        (u, t, n, status), us = jax.lax.scan(interval, init, ts[1:])
        ibad = jnp.argmin(jnp.isfinite(u).ravel()).astype(jnp.int32)
        return jnp.concatenate([u0[None], us]), n, status, t, ibad
    return run
