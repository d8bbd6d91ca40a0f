r"""Shock detection in a computed solution.

Estimators (all evaluated on the output snapshots of a :class:`~solver.solution.Solution`; the
velocity field is ``u`` for Burgers and ``p = ∇u`` for HJ):

* **gradient fit** (primary): the compression :math:`G(t) = \max_x(-λ_{\min}(\operatorname{sym}\nabla v))`
  (on a chart the covariant gradient in orthonormal components, :func:`compression_field`)
  obeys :math:`G = 1/(t^*-t)` exactly along flat characteristics (:math:`λ = λ_0/(1+tλ_0)`) and
  to leading order on curved ones (Riccati: :math:`s \approx -1/(t^*-t)`). Every output at which
  the gradient is still resolved (:math:`G\,Δx \le r\cdot\operatorname{osc}(v_0)`, and for ν > 0
  below a quarter of the peak; ``r`` is doubled up to twice until three outputs qualify) gives
  :math:`t_k + 1/G_k`; with three or more such outputs a
  straight-line fit of :math:`1/G` against ``t`` (its zero) absorbs the curvature correction.
  The shock place is the steepest point at the last resolved output moved along its
  characteristic to :math:`t^*`.
* **smoothness-indicator jump** (fallback when fewer than two resolved outputs precede the
  blow-up): the largest WENO-JS indicator :math:`\max_k β_k` normalised by
  :math:`\operatorname{osc}(v_0)^2` first exceeds ``sensor_threshold`` (a jump of about a third
  of the data range inside one stencil); the shock formed within the preceding output interval.
* **total-variation loss** (reported, 1-D): first output where TV fell by more than
  ``tv_tolerance`` relative to TV(0) (exact solutions keep TV until the shock).
* **ν > 0**: the time of maximal steepening (peak of ``G``, parabolic interpolation) and the
  measured layer width :math:`a/G_{\max}` against the theory :math:`2ν/a`,
  :math:`a = |p_L - p_R|/2` (the tanh layer :math:`p = s - a\tanh(a(x-st)/2ν)`).

``time`` is ``None`` when no shock forms before the last output (fit zero beyond it, or
no indicator jump).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..errors import QShockInputError
from ._result import ShockEstimate

__all__ = ["detect", "compression_history", "compression_field", "smoothness_sensor", "total_variation"]


def _velocity(solution):
    """Velocity snapshots as ``(nt, d, *shape)`` numpy array."""
    g = solution.grid
    f = solution.p if solution.p is not None else solution.u
    f = np.asarray(f, float)
    if f.ndim == g.ndim + 1:
        f = f[:, None]
    if f.ndim != g.ndim + 2 or f.shape[1] != g.ndim:
        raise QShockInputError(f"detect: cannot interpret a field of shape {f.shape} on a {g.ndim}-D grid")
    return f


def _diff(f, axis, periodic, h=1.0):
    """Forward difference ``f_{i+1} - f_i`` (a jump shows in full, as in 1-D); the last cell
    of an open axis repeats its neighbour's value."""
    if periodic:
        return (np.roll(f, -1, axis) - f) / h
    d = np.diff(f, axis=axis) / h
    last = np.take(d, [-1], axis=axis)
    return np.concatenate([d, last], axis=axis)


def _frame(grid, manifold):
    r"""Chart geometry at the cell centres for the metric-aware strain: ``A`` (``(*shape, D, d)``,
    ambient velocity :math:`W = J g^{-1} p`), ``Q`` (orthonormal tangent frame, ``(*shape, D, d)``) and
    ``Rinv`` (``(*shape, d, d)``) from the QR factorisation :math:`J = QR` of the embedding Jacobian,
    so :math:`G = R^T R`; or ``None`` for a flat grid without a manifold."""
    if manifold is None or not hasattr(manifold, "to_embedding"):
        return None
    import jax
    import jax.numpy as jnp

    d = grid.ndim
    flat = jnp.asarray(np.asarray(grid.points()).reshape(-1, d))
    J, ginv = (np.asarray(a) for a in jax.jit(jax.vmap(
        lambda x: (jax.jacfwd(manifold.to_embedding)(x), manifold.inverse_metric(x))))(flat))  # (B, D, d), (B, d, d)
    Q, R = np.linalg.qr(J)
    A = np.einsum("bDi,bij->bDj", J, ginv)
    shp = grid.shape
    return A.reshape(shp + A.shape[1:]), Q.reshape(shp + Q.shape[1:]), np.linalg.inv(R).reshape(shp + (d, d))


def compression_history(solution, manifold=None, pole_margin: float = 0.0, edge_cells: int = 3):
    """Per output: the compression ``G`` (physical units), its location (chart coordinates),
    the velocity there (chart coordinates per unit time) and the physical cell size there.

    1-D: ``G = max_i -(v_{i+1} - v_i)/(h√g)`` over faces (a jump of ``J`` reads ``J/h``).
    N-D: ``-λ_min`` of the symmetrised velocity gradient (:func:`compression_field`; on a chart
    metric-aware, so cells next to a ``pole`` face count like any other). The ``edge_cells`` cells
    next to any other non-periodic face (where the boundary's ghost cells enter the gradient),
    and cells closer than ``pole_margin`` (chart units; default 0: none) to a pole face, are ignored.
    """
    g = solution.grid
    v = _velocity(solution)
    if g.ndim == 1:
        return _compression_1d(g, v, manifold, edge_cells)
    return _compression_nd(g, v, manifold, pole_margin, edge_cells)


def compression_field(solution, manifold=None):
    r"""Per output and cell (``(nt, *shape)``, N-D grids): :math:`-λ_{\min}` of the symmetrised
    covariant velocity gradient in orthonormal components — on a chart, the eigenvalues of
    :math:`g^{-1}\nabla v` with :math:`\nabla_a v_b = \partial_a v_b - Γ^c_{ab}v_c` (for HJ the
    covariant Hessian of ``u``), second order up to the poles; flat, forward differences. Nothing is masked."""
    g = solution.grid
    if g.ndim < 2:
        raise QShockInputError("compression_field: needs a grid of dimension >= 2 (1-D: compression_history)")
    lam, _ = _min_strain(g, _velocity(solution), manifold)
    return -lam


def _compression_1d(g, v, manifold, edge_cells):
    r"""1-D: :math:`G = \max_i -(v_{i+1} - v_i)/(h\sqrt g)` over faces, in orthonormal components."""
    nt = v.shape[0]
    locs, vel = np.zeros((nt, 1)), np.zeros((nt, 1))
    x = np.asarray(g.centres())
    h = g.dx[0]
    per = g.periodic[0]
    sq = np.ones_like(x)
    if manifold is not None:
        import jax
        import jax.numpy as jnp

        sq = np.sqrt(np.asarray(jax.vmap(lambda c: manifold.metric(c[None])[0, 0])(jnp.asarray(x))))
    vv = v[:, 0] / sq  # orthonormal component (covector / sqrt g)
    if per:
        dv = np.roll(vv, -1, axis=1) - vv
        xf = x + 0.5 * h
        sqf = 0.5 * (sq + np.roll(sq, -1))
        vm = 0.5 * (v[:, 0] + np.roll(v[:, 0], -1, axis=1))
    else:
        dv = vv[:, 1:] - vv[:, :-1]
        xf = x[:-1] + 0.5 * h
        sqf = 0.5 * (sq[1:] + sq[:-1])
        vm = 0.5 * (v[:, 0, 1:] + v[:, 0, :-1])
    c = -dv / (h * sqf)
    if not per:  # edge cells carry the ghost-cell gradient of the boundary condition
        c[:, :edge_cells] = -np.inf
        c[:, c.shape[1] - edge_cells:] = -np.inf
    i = np.argmax(c, axis=1)
    G = c[np.arange(nt), i]
    locs[:, 0] = xf[i]
    vel[:, 0] = vm[np.arange(nt), i] / sqf[i] ** 2
    return G, locs, vel, h * sqf[i]


def _pad1(f, g, axis, offset):
    """One ghost cell per side along grid ``axis`` (numpy; grid axes of ``f`` start at ``offset``):
    periodic wrap, the cell across a pole (half-turn of the partner axis, flipped axes), else the
    grid's own ghost rule."""
    b, ax = g.boundaries[axis], axis + offset
    n = f.shape[ax]
    if b.kind == "periodic":
        return np.concatenate([np.take(f, [n - 1], axis=ax), f, np.take(f, [0], axis=ax)], axis=ax)
    if "pole" not in (b.kind, b.upper):
        return np.asarray(g.pad(f, 1, axis=axis, field_axis_offset=offset))
    ends = []
    for kind, i in ((b.kind, 0), (b.upper or b.kind, n - 1)):
        e = np.take(f, [i], axis=ax)
        if kind == "pole":
            e = np.roll(e, g.shape[b.partner] // 2, axis=b.partner + offset)
            if b.flip:
                e = np.flip(e, axis=tuple(j + offset for j in b.flip))
        else:
            e = np.asarray(g.pad(f, 1, axis=axis, field_axis_offset=offset)).take([0 if i == 0 else n + 1], axis=ax)
        ends.append(e)
    return np.concatenate([ends[0], f, ends[1]], axis=ax)


def _centred(f, g, axis, offset):
    """Centred chart derivative :math:`(f_{i+1} - f_{i-1})/(2Δx)` along grid ``axis`` of a field whose
    grid axes start at ``offset``; the ends use ghost cells (periodic seam, the cell across a pole —
    ``f`` must be chart-independent there, e.g. ambient components — or the outer boundary)."""
    fp = _pad1(f, g, axis, offset)
    ax = axis + offset
    n = f.shape[ax]
    hi = np.take(fp, np.arange(2, n + 2), axis=ax)
    lo = np.take(fp, np.arange(0, n), axis=ax)
    return (hi - lo) / (2.0 * g.dx[axis])


def _min_strain(g, v, manifold):
    r"""``λ_min`` of the symmetrised covariant velocity gradient per cell ``(nt, *shape)`` and the
    physical spacings per axis ``(*shape)``.

    Flat: forward differences of ``v`` (a jump reads in full). On a chart with an embedding, metric-aware: the ambient
    velocity :math:`W = J g^{-1} v` is a chart-independent field, so its centred chart derivatives
    :math:`\partial_b W` may use the ghost cells across a pole; projected on the orthonormal
    tangent frame, :math:`M = Q^T [\partial_b W] R^{-1}` (:math:`J = QR`) is the covariant derivative
    :math:`\nabla v` in orthonormal components (the tangential projection supplies the Christoffel
    terms). Its error is second order uniformly, next to the poles too (no masking needed).
    """
    d = g.ndim
    fr = _frame(g, manifold)
    if fr is None:  # forward differences: a jump shows in full, as in 1-D
        M = np.stack([np.stack([_diff(v[:, a], 1 + b, g.periodic[b], g.dx[b]) for b in range(d)], axis=-1)
                      for a in range(d)], axis=-2)
        norms = [np.full(g.shape, g.dx[a]) for a in range(d)]
    else:
        A, Q, Rinv = fr
        W = np.einsum("...Dj,tj...->tD...", A, v)  # (nt, D, *shape)
        dW = np.stack([np.moveaxis(_centred(W, g, b, 2), 1, -1) for b in range(d)], axis=-1)  # (nt, *shape, D, d)
        M = np.einsum("...Da,t...Db,...bc->t...ac", Q, dW, Rinv)
        sq = np.sqrt(np.einsum("...ab,...ab->...b", np.linalg.inv(Rinv), np.linalg.inv(Rinv)))  # |J_b| = sqrt(g_bb)
        norms = [sq[..., a] * g.dx[a] for a in range(d)]
    M = 0.5 * (M + np.swapaxes(M, -1, -2))
    return np.linalg.eigvalsh(M)[..., 0], norms


def _mask_faces(lam, g, pole_margin, edge_cells):
    """Zero ``lam`` within ``pole_margin`` (chart units; 0: no masking) of pole faces and in the
    ``edge_cells`` cells next to other non-periodic faces (where the outer boundary's ghost cells
    enter the differences)."""
    d = g.ndim
    for a, b in enumerate(g.boundaries):
        if "pole" in (b.kind, b.upper):
            if pole_margin <= 0:
                continue
            c = np.asarray(g.centres(a))
            near = (c - g.lower[a] < pole_margin) | (g.upper[a] - c < pole_margin)
            sl = [slice(None)] * (d + 1)
            sl[1 + a] = near
            lam[tuple(sl)] = 0.0
        elif b.kind != "periodic":
            sl = [slice(None)] * (d + 1)
            sl[1 + a] = np.r_[0:edge_cells, g.shape[a] - edge_cells:g.shape[a]]
            lam[tuple(sl)] = 0.0
    return lam


def _compression_nd(g, v, manifold, pole_margin, edge_cells):
    """N-D: ``G = -λ_min`` of the symmetrised covariant velocity gradient, its cell, velocity and size."""
    d, nt = g.ndim, v.shape[0]
    lam, norms = _min_strain(g, v, manifold)
    comp = -_mask_faces(lam, g, pole_margin, edge_cells).reshape(nt, -1)
    i = np.argmax(comp, axis=1)
    G = comp[np.arange(nt), i]
    red = np.min if manifold is None else np.max  # chart: the coarsest physical spacing (Δθ at a pole)
    hphys = red(np.stack([n.ravel() for n in norms]), axis=0)[i]
    locs = np.asarray(g.points()).reshape(-1, d)[i]
    vflat = v.reshape(nt, d, -1)
    if manifold is None:
        vel = vflat[np.arange(nt), :, i]
    else:
        import jax
        import jax.numpy as jnp

        ginv = np.asarray(jax.jit(jax.vmap(manifold.inverse_metric))(jnp.asarray(locs)))
        vel = np.einsum("tij,tj->ti", ginv, vflat[np.arange(nt), :, i])
    return G, locs, vel, hphys


def _beta_max(f, axis, periodic):
    """Largest WENO-JS smoothness indicator of the three 3-cell substencils at every cell."""
    if periodic:
        s = {k: np.roll(f, -k, axis) for k in (-2, -1, 0, 1, 2)}
    else:
        pad = [(0, 0)] * f.ndim
        pad[axis] = (2, 2)
        fp = np.pad(f, pad, mode="edge")
        n = f.shape[axis]
        s = {k: np.take(fp, np.arange(2 + k, 2 + k + n), axis=axis) for k in (-2, -1, 0, 1, 2)}
    b0 = 13 / 12 * (s[-2] - 2 * s[-1] + s[0]) ** 2 + 0.25 * (s[-2] - 4 * s[-1] + 3 * s[0]) ** 2
    b1 = 13 / 12 * (s[-1] - 2 * s[0] + s[1]) ** 2 + 0.25 * (s[-1] - s[1]) ** 2
    b2 = 13 / 12 * (s[0] - 2 * s[1] + s[2]) ** 2 + 0.25 * (3 * s[0] - 4 * s[1] + s[2]) ** 2
    return np.maximum(np.maximum(b0, b1), b2)


def smoothness_sensor(solution):
    """Per output: ``max β / osc(v_0)^2`` and the flat index of the cell where it peaks."""
    g = solution.grid
    v = _velocity(solution)
    nt = v.shape[0]
    osc = max(float(np.max(v[0]) - np.min(v[0])), 1e-300)
    best = np.zeros((nt, int(np.prod(g.shape))))
    for a in range(g.ndim):
        b = _beta_max(v, 2 + a, g.periodic[a]).max(axis=1)  # over components
        best = np.maximum(best, b.reshape(nt, -1))
    i = np.argmax(best, axis=1)
    scale = osc ** 2
    if not scale > 0:  # constant initial data: nothing can steepen
        return np.zeros(nt), i
    return best[np.arange(nt), i] / scale, i


def total_variation(solution):
    """Per output: sum over axes and components of ``|Δv|`` between neighbouring cells."""
    g = solution.grid
    v = _velocity(solution)
    tv = np.zeros(v.shape[0])
    for a in range(g.ndim):
        ax = 2 + a
        dv = (np.roll(v, -1, ax) - v) if g.periodic[a] else np.diff(v, axis=ax)
        tv += np.abs(dv).reshape(v.shape[0], -1).sum(axis=1)
    return tv


def _layer(solution, k, G):
    """Half-jump ``a`` across the steepest layer at output ``k`` (1-D)."""
    v = _velocity(solution)[k, 0]
    n = v.size
    i = int(np.argmax(-(np.roll(v, -1) - v) if solution.grid.periodic[0] else -np.diff(v)))
    h = solution.grid.dx[0]
    w = max(6, int(8.0 / max(G * h, 1e-12) * 1.0))  # several layer widths
    w = min(w, n // 4)
    idx = (np.arange(i - w, i + w + 2)) % n if solution.grid.periodic[0] else np.arange(max(0, i - w), min(n, i + w + 2))
    seg = v[idx]
    j = int(np.argmax(-np.diff(seg)))
    pL, pR = float(np.max(seg[: j + 1])), float(np.min(seg[j + 1:]))
    return 0.5 * abs(pL - pR), pL, pR


def _riccati_fit(t, G, t0):
    r"""Fit :math:`1/G = \tan(\sqrt k(t^*-t))/\sqrt k` (Riccati with constant curvature k ≥ 0)."""
    from scipy.optimize import least_squares

    def model(th):
        ts, k = th
        rk = np.sqrt(max(k, 1e-12))
        return np.tan(np.clip(rk * (ts - t), -1.5, 1.5)) / rk - 1.0 / G

    best = None
    for k0 in (1e-6, 0.5, 2.0):
        r = least_squares(model, x0=[t0, k0], bounds=([t[-1], 0.0], [t[-1] + 10 * (t0 - t[-1]) + 1e-9, 50.0]))
        if best is None or r.cost < best.cost:
            best = r
    ts, k = best.x
    lin = np.polyfit(t[-3:], 1.0 / G[-3:], 1)
    t_lin = -lin[1] / lin[0] if lin[0] < 0 else t0
    return float(ts), float(k), float(abs(ts - t_lin) * 0.5 + np.sqrt(2 * best.cost / len(t)))


def detect(solution, *, manifold: Any = None, nu: Optional[float] = None, resolution: float = 0.05,
           sensor_threshold: float = 0.1, tv_tolerance: float = 1e-3, pole_margin: float = 0.0) -> ShockEstimate:
    """Time and place where a computed solution stops being smooth (see the module docstring).

    Args:
        solution: a :class:`~solver.solution.Solution` with several outputs before the shock.
        manifold: the chart the solution lives on (``None``: flat).
        nu: viscosity (default: ``solution.metadata['nu']``).
        resolution: ``r`` in the resolved-gradient criterion ``G Δx <= r osc(v0)``.
        sensor_threshold: normalised WENO indicator level that counts as a jump.
        tv_tolerance: relative total-variation loss that marks the TV onset.
        pole_margin: cells within this chart distance of a pole face are ignored (default 0: the
            metric-aware compression is second order up to the poles, nothing is masked).

    Returns:
        :class:`ShockEstimate` with ``method`` ``'gradient-fit'`` or ``'smoothness-jump'`` (or
        ``'none'`` with ``time=None``); ``details`` carries every estimator's value.
    """
    t = np.asarray(solution.t, float)
    if t.size < 3:
        raise QShockInputError(f"detect: need at least 3 output times, got {t.size}")
    nu = float(solution.metadata.get("nu", 0.0) if nu is None else nu)
    g = solution.grid
    h = min(g.dx)  # sphere chart: polar spacing = physical
    G, locs, vel, hphys = compression_history(solution, manifold, pole_margin)
    v = _velocity(solution)
    osc = float(np.max(v[0]) - np.min(v[0]))
    if not np.all(np.isfinite(v)):
        raise QShockInputError("detect: the solution contains NaN or inf")
    sensor, sensor_idx = smoothness_sensor(solution)
    tv = total_variation(solution)
    details: dict[str, Any] = {"t": t.tolist(), "compression": G.tolist(), "sensor": sensor.tolist(),
                               "total_variation": tv.tolist(), "dx": h}
    # --- TV onset (exact solutions keep TV until the shock; only meaningful in 1-D)
    loss = (tv[0] - tv) / max(tv[0], 1e-300)
    k_tv = np.nonzero(loss > tv_tolerance)[0]
    details["tv_onset"] = float(t[k_tv[0]]) if k_tv.size else None
    # --- indicator jump
    k_s = np.nonzero(sensor > sensor_threshold)[0]
    k_s = k_s[k_s > 0]
    details["sensor_jump"] = float(t[k_s[0]]) if k_s.size else None
    if nu > 0:
        details.update(_viscous_details(solution, t, G, nu))
    ks, details["resolution_used"] = _resolved_outputs(t, G, hphys, osc, nu, resolution)
    est = None
    if ks.size >= 2:
        est = _gradient_fit(t, G, ks, locs, vel, g, h, osc, manifold, details)
    elif k_s.size:
        k = int(k_s[0])
        pts = np.asarray(g.points()).reshape(-1, g.ndim)
        est = (0.5 * (t[k - 1] + t[k]), 0.5 * (t[k] - t[k - 1]) + h / max(osc, 1e-300),
               tuple(float(c) for c in pts[int(sensor_idx[k])]), float(h), "smoothness-jump")
    if est is None or est[0] > t[-1]:
        return ShockEstimate(None, None, math.nan, "none", details=details)
    t_hat, unc, loc, lunc, method = est
    details["output_interval"] = float(np.max(np.diff(t)))
    return ShockEstimate(float(t_hat), loc, float(unc), method, location_uncertainty=lunc, details=details)


def _viscous_details(solution, t, G, nu) -> dict:
    """ν > 0: time of maximal steepening (parabolic peak of ``G``), the maximal gradient and, in 1-D,
    the half-jump ``a`` and the layer width ``a/G`` against the Taylor value ``2ν/a``."""
    out: dict[str, Any] = {}
    k = int(np.argmax(G))
    tm = t[k]
    if 0 < k < len(t) - 1:
        a_, b_, c_ = G[k - 1], G[k], G[k + 1]
        den = a_ - 2 * b_ + c_
        if den < 0:
            tm = t[k] + 0.5 * (a_ - c_) / den * 0.5 * (t[k + 1] - t[k - 1])
    out["max_steepening_time"] = float(tm)
    out["max_gradient"] = float(G[k])
    if solution.grid.ndim == 1:
        a, pL, pR = _layer(solution, k, G[k])
        out["half_jump"] = a
        out["layer_width"] = a / G[k] if G[k] > 0 else math.inf
        out["layer_width_theory"] = 2 * nu / a if a > 0 else math.inf
    return out


def _resolved_outputs(t, G, hphys, osc, nu, resolution):
    """Indices of the outputs before the first unresolved one with ``G Δx <= r osc(v0)`` (and, ν > 0,
    ``G <= max G / 4``); ``r`` is relaxed to 2r, 4r on coarse grids until three qualify."""
    gmax = float(np.max(G))

    def resolved(r):
        ok = (t > 0) & (G > 0) & (G * hphys <= r * max(osc, 1e-300)) & (G > G[0])
        if nu > 0:
            ok &= G <= 0.25 * gmax
        first_bad = np.nonzero((t > 0) & (G * hphys > r * osc))[0]
        if first_bad.size:
            ok &= np.arange(len(t)) < first_bad[0]
        return np.nonzero(ok)[0]

    for r in (resolution, 2 * resolution, 4 * resolution):
        ks = resolved(r)
        if ks.size >= 3:
            break
    return ks, r


def _gradient_fit(t, G, ks, locs, vel, g, h, osc, manifold, details):
    r"""Blow-up time from the resolved outputs ``ks``: flat, a line through the last three
    :math:`1/G` (slope ≈ −1); curved, the Riccati fit; else :math:`t + 1/G` of the last output.
    Returns ``(t, uncertainty, location, location uncertainty, 'gradient-fit')``."""
    fixed = t[ks] + 1.0 / G[ks]
    t_fixed = float(fixed[-1])
    t_hat, unc = t_fixed, abs(float(fixed[-1] - fixed[-2]))
    if ks.size >= 3 and manifold is None:
        kk = ks[-3:]
        slope, icpt = np.polyfit(t[kk], 1.0 / G[kk], 1)
        if -1.5 < slope < -0.5:
            t_hat = float(-icpt / slope)
            unc = abs(t_hat - t_fixed)
    elif ks.size >= 3:
        t_hat, k_fit, unc = _riccati_fit(t[ks[-6:]], G[ks[-6:]], t_fixed)
        details["curvature_fit"] = k_fit
    unc += h / max(osc, 1e-300)
    kl = ks[-1]
    loc = locs[kl] + (t_hat - t[kl]) * vel[kl]
    lo, hi = np.array(g.lower), np.array(g.upper)
    for a_ in range(g.ndim):
        if g.periodic[a_]:
            loc[a_] = lo[a_] + np.mod(loc[a_] - lo[a_], hi[a_] - lo[a_])
    details["fit_points"] = int(ks.size)
    details["gradient_fit"] = t_hat
    return t_hat, unc, tuple(float(c) for c in loc), float(h + np.linalg.norm(vel[kl]) * unc), "gradient-fit"
