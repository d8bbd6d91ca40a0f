"""Bridge from a manifold name (``--manifold``/``--chart``) to what the finite-volume solver needs.

:func:`chart_setup` builds the manifold through :func:`manifolds.make_manifold` and derives the
grid boundary treatment of every chart face from its kind (``manifolds.FACE_KINDS``):

* ``periodic`` → periodic axis (the grid must span the whole period);
* ``singular`` (√G = 0: pole, cone tip, r = 0) → on a polar angle of the sphere's spherical
  chart the ``pole`` boundary (ghost cells across the pole: azimuth φ + π and, on S^{n-1} with
  n ≥ 4, every later polar angle θ_j → π − θ_j), elsewhere an even mirror; the face carries no
  flux because its √G vanishes;
* ``wall`` (chamber wall, reflecting) → even mirror (zero normal derivative);
* ``open`` → the user's ``--bc`` (default ``outflow``).

A chart face kind applies only where the grid box actually reaches that face: a grid on
``theta ∈ [0.5, 2]`` has ordinary (open) faces, not poles.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .errors import QShockInputError
from .grid import Boundary

__all__ = ["chart_setup", "chart_boundaries"]


def _same(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def chart_boundaries(manifold: Any, open_kind: str = "outflow", lower: Optional[Sequence[float]] = None,
                     upper: Optional[Sequence[float]] = None) -> list[Boundary]:
    """One :class:`~solver.grid.Boundary` per chart axis for the grid box ``[lower, upper]``.

    ``lower``/``upper`` default to the chart's own domain. Raises :class:`QShockInputError` when a
    periodic axis is not covered by exactly one period, or when a pole boundary would need a
    polar angle that the box does not cover completely.
    """
    faces = manifold.singular
    c_lo, c_hi = (tuple(float(v) for v in b) for b in manifold.domain)
    lo = c_lo if lower is None else tuple(float(v) for v in lower)
    hi = c_hi if upper is None else tuple(float(v) for v in upper)
    names = tuple(manifold.coordinate_names)
    periodic_axes = [a for a, (k, _) in enumerate(faces) if k == "periodic"]
    for a in periodic_axes:
        if not (_same(lo[a], c_lo[a]) and _same(hi[a], c_hi[a])):
            raise QShockInputError(
                f"chart axis {names[a]!r} is periodic on [{c_lo[a]:.6g}, {c_hi[a]:.6g}); the domain must cover "
                f"exactly one period, got [{lo[a]:.6g}, {hi[a]:.6g}]")
    polar = [a for a in range(len(faces)) if periodic_axes and _is_polar(manifold, a)]
    out = []
    for a, (k_lo, k_hi) in enumerate(faces):
        if k_lo == "periodic":
            out.append(Boundary("periodic"))
            continue
        kinds = []
        for k, at_face in ((k_lo, _same(lo[a], c_lo[a])), (k_hi, _same(hi[a], c_hi[a]))):
            if not at_face:
                kinds.append(open_kind)
            elif k == "singular" and a in polar:
                kinds.append("pole")
            elif k in ("singular", "wall"):
                kinds.append("reflect")
            else:
                kinds.append(open_kind)
        partner, flip = -1, ()
        if "pole" in kinds:
            partner = periodic_axes[-1]
            flip = tuple(j for j in polar if j > a)
            for j in flip:
                if not (_same(lo[j], c_lo[j]) and _same(hi[j], c_hi[j])):
                    raise QShockInputError(
                        f"the pole of {names[a]!r} maps {names[j]!r} to pi - {names[j]}; the domain must cover "
                        f"{names[j]!r} completely [{c_lo[j]:.6g}, {c_hi[j]:.6g}], got [{lo[j]:.6g}, {hi[j]:.6g}]")
        out.append(Boundary(kinds[0], partner=partner, upper=kinds[1] if kinds[1] != kinds[0] else None,
                            flip=flip))
    return out


def _is_polar(manifold: Any, axis: int) -> bool:
    """A polar angle of a spherical chart: domain [0, π] with singular (√G = 0) faces."""
    lo, hi = manifold.domain
    return (tuple(manifold.singular[axis]) == ("singular", "singular")
            and math.isclose(lo[axis], 0.0, abs_tol=1e-12) and _same(hi[axis], math.pi))


def chart_setup(name: str, chart: Optional[str] = None, dim: Optional[int] = None):
    """``(manifold, coordinate_names, domain, boundaries, sqrt_det, bounds)`` for ``--manifold NAME``.

    ``domain`` is ``None`` when a coordinate is unbounded (the user must give ``--domain``);
    ``bounds`` is the chart's coordinate box (possibly infinite); ``boundaries`` are those of the
    full chart box (recompute with :func:`chart_boundaries` for a sub-box);
    ``sqrt_det(points)`` evaluates the volume density for √G-weighted cell averages.
    """
    from qshock.manifolds import make_manifold

    try:
        m = make_manifold(name, chart, dim)
    except ValueError as exc:
        raise QShockInputError(str(exc)) from None
    lower, upper = m.domain
    domain = (tuple(lower), tuple(upper)) if all(np.isfinite(lower)) and all(np.isfinite(upper)) else None
    bounds = (tuple(lower), tuple(upper))

    def sqrt_det(points):
        flat = jnp.asarray(points).reshape(-1, points.shape[-1])
        rho = jax.vmap(m.volume_density)(flat)
        return np.asarray(rho).reshape(points.shape[:-1])

    return m, tuple(m.coordinate_names), domain, chart_boundaries(m), sqrt_det, bounds
