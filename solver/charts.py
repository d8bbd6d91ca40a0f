"""Bridge from a manifold name (``--manifold``/``--chart``) to what the finite-volume solver needs.

:func:`chart_setup` builds the manifold through :func:`manifolds.make_manifold` and derives the
grid boundary treatment of every chart face from its kind (``manifolds.FACE_KINDS``):

* ``periodic`` → periodic axis;
* ``singular`` (√G = 0: pole, cone tip, r = 0) → on the sphere's polar axis the ``pole``
  boundary (ghost cells across the pole on the opposite meridian), elsewhere an even mirror;
  the face carries no flux because its √G vanishes;
* ``wall`` (chamber wall, reflecting) → even mirror (zero normal derivative);
* ``open`` → the user's ``--bc`` (default ``outflow``).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np

from .errors import QShockInputError
from .grid import Boundary

__all__ = ["chart_setup", "chart_boundaries"]


def chart_boundaries(manifold: Any, open_kind: str = "outflow") -> list[Boundary]:
    """One :class:`~solver.grid.Boundary` per chart axis from the manifold's face kinds."""
    faces = manifold.singular
    periodic_axes = [a for a, (lo, _) in enumerate(faces) if lo == "periodic"]
    out = []
    for a, (lo, hi) in enumerate(faces):
        if lo == "periodic":
            out.append(Boundary("periodic"))
            continue
        kinds = []
        for k in (lo, hi):
            if k == "singular" and periodic_axes and _is_polar(manifold, a):
                kinds.append("pole")
            elif k in ("singular", "wall"):
                kinds.append("reflect")
            else:
                kinds.append(open_kind)
        partner = periodic_axes[-1] if "pole" in kinds else -1
        out.append(Boundary(kinds[0], partner=partner, upper=kinds[1] if kinds[1] != kinds[0] else None))
    return out


def _is_polar(manifold: Any, axis: int) -> bool:
    lo, hi = manifold.domain
    return math.isclose(lo[axis], 0.0, abs_tol=1e-12) and math.isclose(hi[axis], math.pi, rel_tol=1e-12)


def chart_setup(name: str, chart: Optional[str] = None, dim: Optional[int] = None):
    """``(manifold, coordinate_names, domain, boundaries, sqrt_det)`` for ``--manifold NAME``.

    ``domain`` is ``None`` when a coordinate is unbounded (the user must give ``--domain``);
    ``sqrt_det(points)`` evaluates the volume density for √G-weighted cell averages.
    """
    from manifolds import make_manifold

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
