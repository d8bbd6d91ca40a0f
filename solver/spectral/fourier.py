r"""Fourier pseudo-spectral building blocks on periodic boxes.

Fields live on the cell-centred :class:`~solver.grid.Grid`; the spectral state is the real
FFT (``rfftn``) over the grid axes. Wavenumbers along axis ``a`` are
:math:`k = 2\pi n / (\mathrm{hi}_a - \mathrm{lo}_a)`. Dealiasing follows Orszag's 2/3 rule:
quadratic products are formed from, and projected back onto, the modes with
:math:`|n_a| < N_a/3` on every axis, which makes them alias-free on the retained modes.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..equations import Burgers, HamiltonJacobi
from ..grid import Grid

__all__ = [
    "wavenumbers", "dealias_mask", "spectral_gradient", "fourier_interpolate",
    "linear_symbol", "nonlinear_term",
]


def _axes(grid: Grid, lead: int = 0):
    return tuple(range(lead, lead + grid.ndim))


def wavenumbers(grid: Grid) -> tuple[np.ndarray, ...]:
    """Wavenumber arrays (broadcastable to the ``rfftn`` shape, last axis halved), float64."""
    d = grid.ndim
    ks = []
    for a, (n, lo, hi) in enumerate(zip(grid.shape, grid.lower, grid.upper)):
        scale = 2 * np.pi / (hi - lo)
        k = np.fft.rfftfreq(n, 1.0 / n) if a == d - 1 else np.fft.fftfreq(n, 1.0 / n)
        shp = [1] * d
        shp[a] = k.size
        ks.append((scale * k).reshape(shp))
    return tuple(ks)


def _mode_index(grid: Grid) -> tuple[np.ndarray, ...]:
    d = grid.ndim
    out = []
    for a, n in enumerate(grid.shape):
        m = np.fft.rfftfreq(n, 1.0 / n) if a == d - 1 else np.fft.fftfreq(n, 1.0 / n)
        shp = [1] * d
        shp[a] = m.size
        out.append(np.abs(m).reshape(shp))
    return tuple(out)


def dealias_mask(grid: Grid) -> np.ndarray:
    """2/3-rule mask: 1 where ``|n_a| < N_a/3`` on every axis, else 0 (rfft shape)."""
    mask = np.ones((), dtype=bool)
    for a, m in enumerate(_mode_index(grid)):
        mask = mask & (3 * m < grid.shape[a])
    return mask.astype(np.float64)


def _derivative_symbols(grid: Grid) -> tuple[np.ndarray, ...]:
    """``i k_a`` with the (even-N) Nyquist mode zeroed: odd derivatives of a real field."""
    out = []
    for a, (k, m) in enumerate(zip(wavenumbers(grid), _mode_index(grid))):
        n = grid.shape[a]
        out.append(np.where((n % 2 == 0) & (2 * m == n), 0.0, 1j * k))
    return tuple(out)


def linear_symbol(grid: Grid, nu: float) -> np.ndarray:
    r"""Symbol of :math:`\nu\Delta`: :math:`-\nu|k|^2` on the rfft grid (float64)."""
    k2 = sum(k**2 for k in wavenumbers(grid))
    return -nu * np.broadcast_to(k2, np.broadcast_shapes(*(k.shape for k in wavenumbers(grid))))


def spectral_gradient(u, grid: Grid):
    r"""Spectral gradient :math:`\nabla u` of a periodic field ``u`` of the grid shape.

    Returns shape ``(d, *grid.shape)`` (1-D: ``grid.shape``). Batched leading axes are
    allowed (``u`` of shape ``(..., *grid.shape)``; result ``(..., d, *shape)``).
    """
    u = jnp.asarray(u)
    d = grid.ndim
    ax = tuple(range(u.ndim - d, u.ndim))
    uh = jnp.fft.rfftn(u, axes=ax)
    cdt = uh.dtype
    comps = [jnp.fft.irfftn(uh * jnp.asarray(s, cdt), s=grid.shape, axes=ax) for s in _derivative_symbols(grid)]
    return comps[0] if d == 1 else jnp.stack(comps, axis=u.ndim - d)


def fourier_interpolate(u, grid: Grid, points, derivative: tuple[int, ...] | None = None):
    r"""Evaluate the trigonometric interpolant of ``u`` (or a derivative) at arbitrary points.

    ``points`` has shape ``(m, d)`` (1-D: ``(m,)``); ``derivative`` gives the derivative
    order per axis (e.g. ``(1,)`` for :math:`u_x`). Exact for band-limited ``u``; an
    even-N Nyquist coefficient is split evenly between :math:`\pm k_N` so that the
    interpolant is real and interpolates the samples. Host (numpy) helper for analysis.
    """
    u = np.asarray(u, dtype=np.float64)
    d = grid.ndim
    pts = np.asarray(points, dtype=np.float64).reshape(-1, d)
    derivative = tuple(derivative) if derivative is not None else (0,) * d
    uh = np.fft.fftn(u) / u.size
    ks = []
    for a, n in enumerate(grid.shape):
        k = 2 * np.pi * np.fft.fftfreq(n, 1.0 / n) / (grid.upper[a] - grid.lower[a])
        if n % 2 == 0:  # duplicate the Nyquist mode at +k_N and -k_N with half weight each
            j = n // 2
            half = 0.5 * np.take(uh, [j], axis=a)
            uh = np.concatenate([np.take(uh, range(j), axis=a), half, half,
                                 np.take(uh, range(j + 1, n), axis=a)], axis=a)
            k = np.concatenate([k[:j], [-k[j]], [k[j]], k[j + 1:]])
        ks.append(k)
    vals = uh[None]
    for a, k in enumerate(ks):
        x0 = grid.lower[a] + 0.5 * grid.dx[a]  # FFT sample origin = first cell centre
        fac = np.exp(1j * np.outer(pts[:, a] - x0, k)) * (1j * k) ** derivative[a]
        shp = [pts.shape[0]] + [1] * d
        shp[1 + a] = k.size
        vals = vals * fac.reshape(shp)
    return np.real(np.sum(vals, axis=tuple(range(1, d + 1))))


def padded_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """3/2-rule grid: ``M_a >= 3N_a/2`` (even), enough for alias-free quadratic products."""
    return tuple(int(2 * math.ceil(3 * n / 4)) for n in shape)


def retained_mask(grid: Grid, dealias: str) -> np.ndarray:
    """Modes the nonlinear term acts on: ``|n_a| < N_a/3`` ('2/3') or ``|n_a| < N_a/2`` ('3/2')."""
    if dealias == "2/3":
        return dealias_mask(grid)
    mask = np.ones((), dtype=bool)
    for a, m in enumerate(_mode_index(grid)):
        mask = mask & (2 * m < grid.shape[a])
    return mask.astype(np.float64)


def _pad_ops(grid: Grid, lead: int):
    """Zero-pad rfft coefficients to the 3/2 grid and truncate back (scaled so values match)."""
    shape, big = grid.shape, padded_shape(grid.shape)
    d = grid.ndim
    scale = float(np.prod(big) / np.prod(shape))

    def pad(v):
        for a in range(d):
            ax = lead + a
            n, m = shape[a], big[a]
            if a == d - 1:
                widths = [(0, 0)] * v.ndim
                widths[ax] = (0, m // 2 + 1 - v.shape[ax])
                v = jnp.pad(v, widths)
            else:
                h = (n + 1) // 2  # non-negative modes 0..h-1 (Nyquist dropped by the mask)
                lo = lax.slice_in_dim(v, 0, h, axis=ax)
                hi = lax.slice_in_dim(v, n - (n - 1) // 2, n, axis=ax)
                zshape = list(v.shape)
                zshape[ax] = m - h - (n - 1) // 2
                v = jnp.concatenate([lo, jnp.zeros(zshape, v.dtype), hi], axis=ax)
        return v * scale

    def trunc(w):
        for a in range(d):
            ax = lead + a
            n, m = shape[a], big[a]
            if a == d - 1:
                w = lax.slice_in_dim(w, 0, n // 2 + 1, axis=ax)
            else:
                h = (n + 1) // 2
                nneg = n - h
                lo = lax.slice_in_dim(w, 0, h, axis=ax)
                hi = lax.slice_in_dim(w, m - nneg, m, axis=ax)
                w = jnp.concatenate([lo, hi], axis=ax)
        return w / scale

    return pad, trunc, big


def _hj_h(eq: HamiltonJacobi, grid: Grid, dtype) -> Callable:
    if eq.is_default_hamiltonian and eq.manifold is None:
        return lambda p: 0.5 * jnp.sum(p * p, axis=0)
    x = grid.points(dtype).reshape(-1, grid.ndim)
    Hv = jax.vmap(eq.H)

    def H(p):
        pf = p.reshape(grid.ndim, -1).T
        return Hv(x, pf).reshape(grid.shape)

    return H


def nonlinear_term(equation, grid: Grid, dtype, dealias: str = "3/2") -> Callable:
    r"""Dealiased nonlinear part ``N(v̂)`` of the spectral system :math:`\hat v_t = L\hat v + N(\hat v)`.

    * 1-D Burgers: :math:`N = -\tfrac{ik}{2}\,\mathcal F[u^2]`;
    * N-D Burgers (gradient form, ``v̂`` shaped ``(d, ...)``):
      :math:`N_a = -ik_a\,\mathcal F[|v|^2/2]`;
    * HJ: :math:`N = -\mathcal F[H(x, \nabla u)]`.

    ``dealias='3/2'`` (default) forms products on the zero-padded 3N/2 grid: alias-free for
    quadratic terms while keeping every mode ``|n| < N/2``; ``'2/3'`` truncates to
    ``|n| < N/3`` on the N grid (Orszag's rule). Both are exact for quadratic products on the
    retained modes; padding keeps 1.5x more modes for 1.5x larger FFTs.
    """
    d = grid.ndim
    cdt = jnp.result_type(dtype, jnp.complex64)
    if dealias not in ("2/3", "3/2"):
        from ..errors import QShockInputError
        raise QShockInputError(f"dealias must be '2/3' or '3/2', got {dealias!r}")
    mask = jnp.asarray(retained_mask(grid, dealias), dtype)
    ik = [jnp.asarray(s, cdt) for s in _derivative_symbols(grid)]
    ax = _axes(grid)
    pgrid = grid if dealias == "2/3" else grid.with_shape(padded_shape(grid.shape))
    if dealias == "2/3":
        pad = trunc = lambda f: f
        padv, truncv = pad, trunc
    else:
        pad, trunc, _ = _pad_ops(grid, 0)
        padv, truncv, _ = _pad_ops(grid, 1)
    fwd = lambda f: trunc(jnp.fft.rfftn(f, axes=ax))
    inv = lambda f: jnp.fft.irfftn(pad(f), s=pgrid.shape, axes=ax)

    if isinstance(equation, Burgers):
        if equation.manifold is not None:
            from ..errors import QShockInputError
            raise QShockInputError("spectral solver: Burgers on a curved chart is not supported (flat periodic boxes only)")
        if d == 1:
            def N(v):
                u = inv(mask * v)
                return -0.5 * ik[0] * mask * fwd(u * u)
        else:
            axv = tuple(range(1, d + 1))

            def N(v):
                w = jnp.fft.irfftn(padv(mask * v), s=pgrid.shape, axes=axv)
                e = fwd(0.5 * jnp.sum(w * w, axis=0)) * mask
                return -jnp.stack([s * e for s in ik])
        return N

    if isinstance(equation, HamiltonJacobi):
        if equation.manifold is not None:
            from ..errors import QShockInputError
            raise QShockInputError("spectral solver: HJ on a curved chart is not supported on tori; use solve_sphere for S^2")
        # padded samples sit at x0 + i*Lx/M, x0 the first original cell centre
        shift = tuple(0.5 * (g - q) for g, q in zip(grid.dx, pgrid.dx))
        hgrid = Grid(tuple(lo + c for lo, c in zip(grid.lower, shift)), tuple(hi + c for hi, c in zip(grid.upper, shift)),
                     pgrid.shape, grid.boundaries, grid.axis_names)
        H = _hj_h(equation, hgrid, dtype)

        def N(v):
            vm = mask * v
            p = jnp.stack([inv(s * vm) for s in ik])
            return -mask * fwd(H(p).astype(p.dtype))
        return N

    from ..errors import QShockInputError
    raise QShockInputError(f"spectral solver: unsupported equation {type(equation).__name__}; expected Burgers or HamiltonJacobi")


# ----------------------------------------------------------------------------- slab-distributed transforms
def _factor_mask(grid: Grid, dealias: str, width: int) -> list[np.ndarray]:
    """``retained_mask`` as per-axis broadcastable factors (their product is the mask), the last
    (rfft) axis zero-padded to ``width`` columns."""
    band = 3 if dealias == "2/3" else 2
    out = []
    for a, m in enumerate(_mode_index(grid)):
        f = (band * m < grid.shape[a]).astype(np.float64)
        if a == grid.ndim - 1:
            f = np.pad(f, [(0, 0)] * (grid.ndim - 1) + [(0, width - f.shape[-1])])
        out.append(f)
    return out


class SlabTransforms:
    r"""Real FFTs of fields split in slabs along the first grid axis over ``k`` devices (inside a
    ``shard_map`` over ``axis_name``).

    Physical blocks are ``(..., n_0/k, n_1, ..., n_{d-1})``; spectral blocks are
    ``(..., n_0, ..., n_{d-2}, m_p/k)``, the rfft axis (``m = n_{d-1}/2 + 1`` modes, zero-padded to
    ``m_p``, a multiple of ``k``) split instead. Forward: rfft along the last axis, one
    :func:`jax.lax.all_to_all` (slab transpose), complex FFTs along the other axes; inverse in the
    opposite order. ``M`` may be the 3/2-padded grid: the inverse zero-pads the rfft axis after the
    transpose and the forward truncates it before.
    """

    def __init__(self, grid: Grid, axis_name: str, k: int):
        self.d, self.k, self.name = grid.ndim, k, axis_name
        self.m = grid.shape[-1] // 2 + 1
        self.mp = -(-self.m // k) * k

    def rfftn(self, u, lead: int = 0):
        w = jnp.fft.rfft(u, axis=-1)[..., : self.m]
        w = jnp.pad(w, [(0, 0)] * (w.ndim - 1) + [(0, self.mp - self.m)])
        w = lax.all_to_all(w, self.name, w.ndim - 1, lead, tiled=True)
        return jnp.fft.fftn(w, axes=tuple(range(lead, lead + self.d - 1)))

    def irfftn(self, v, n_last: int, lead: int = 0):
        w = jnp.fft.ifftn(v, axes=tuple(range(lead, lead + self.d - 1)))
        w = lax.all_to_all(w, self.name, lead, w.ndim - 1, tiled=True)[..., : self.m]
        w = jnp.pad(w, [(0, 0)] * (w.ndim - 1) + [(0, n_last // 2 + 1 - self.m)])
        return jnp.fft.irfft(w, n=n_last, axis=-1)

    def local(self, c):
        """This device's columns of a constant over the padded rfft axis (``c.shape[-1] == m_p``)."""
        if c.shape[-1] == 1:
            return c
        w = self.mp // self.k
        return lax.dynamic_slice_in_dim(c, lax.axis_index(self.name) * w, w, axis=c.ndim - 1)


def slab_nonlinear_term(equation, grid: Grid, dtype, dealias: str, axis_name: str, k: int) -> Callable:
    r""":func:`nonlinear_term` on slab-distributed spectral blocks (:class:`SlabTransforms`), for
    flat Burgers (N-D gradient form) and HJ with :math:`H = \tfrac12|p|^2` on 2-D/3-D tori."""
    from ..errors import QShockInputError

    if grid.ndim < 2 or equation.manifold is not None or (
            isinstance(equation, HamiltonJacobi) and not equation.is_default_hamiltonian):
        raise QShockInputError("sharded spectral solves: flat 2-D/3-D tori, Burgers or HJ with H = |p|^2/2")
    d, T = grid.ndim, SlabTransforms(grid, axis_name, k)
    cdt = jnp.result_type(dtype, jnp.complex64)
    big = grid.shape if dealias == "2/3" else padded_shape(grid.shape)
    if any(n % k for n in (grid.shape[0], big[0])):
        raise QShockInputError(f"grid axis {grid.axis_names[0]!r}: {grid.shape[0]} points (padded {big[0]}) "
                               f"not divisible by {k} devices")
    scale = float(np.prod(big) / np.prod(grid.shape))
    mask_f = [jnp.asarray(f, dtype) for f in _factor_mask(grid, dealias, T.mp)]
    syms = list(_derivative_symbols(grid))
    syms[-1] = np.pad(syms[-1], [(0, 0)] * (d - 1) + [(0, T.mp - syms[-1].shape[-1])])
    ik_full = [jnp.asarray(s, cdt) for s in syms]
    pgrid = grid.with_shape(big)

    def pad_others(v, lead):  # zero modes inserted along the full (non-rfft) axes, x scale
        if dealias == "2/3":
            return v
        for a in range(d - 1):
            n, h = grid.shape[a], (grid.shape[a] + 1) // 2
            lo, hi = lax.slice_in_dim(v, 0, h, axis=lead + a), lax.slice_in_dim(v, n - (n - 1) // 2, n, axis=lead + a)
            z = list(v.shape)
            z[lead + a] = big[a] - h - (n - 1) // 2
            v = jnp.concatenate([lo, jnp.zeros(z, v.dtype), hi], axis=lead + a)
        return v * scale

    def trunc_others(w):
        if dealias == "2/3":
            return w
        for a in range(d - 1):
            n, h = grid.shape[a], (grid.shape[a] + 1) // 2
            w = jnp.concatenate([lax.slice_in_dim(w, 0, h, axis=a),
                                 lax.slice_in_dim(w, big[a] - (n - h), big[a], axis=a)], axis=a)
        return w / scale

    def inv(f, lead=0):
        return T.irfftn(pad_others(f, lead), pgrid.shape[-1], lead)

    def fwd(f):
        return trunc_others(T.rfftn(f))

    def N(v):
        mask = _product([T.local(f) for f in mask_f])
        ik = [T.local(s) for s in ik_full]
        if isinstance(equation, Burgers):
            w = inv(mask * v, lead=1)
            e = fwd(0.5 * jnp.sum(w * w, axis=0)) * mask
            return -jnp.stack([s * e for s in ik])
        vm = mask * v
        p = jnp.stack([inv(s * vm) for s in ik])
        return -mask * fwd((0.5 * jnp.sum(p * p, axis=0)).astype(p.dtype))
    return N, T


def _product(xs):
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out
