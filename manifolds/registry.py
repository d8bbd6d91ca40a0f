"""Name registry: :func:`make_manifold` builds a manifold from a CLI-style name, chart and size.

``dim`` is the size parameter of each family (see the table in ``docs/conventions.md``): the
intrinsic dimension for ``euclidean``, ``torus``, ``sphere`` (``dim=2`` is S², the default) ;
the total-space dimension n for ``radial``, ``scale``, ``rescale``, ``translation`` and the
number of units m for ``permutation``/``chamber``/``meanfield``; the matrix size m = n (with
r = m) for ``factorised``.
"""

from __future__ import annotations

from .errors import ManifoldError
from .factorised import FactorisedQuotient
from .flat import Circle, Euclidean, Torus
from .meanfield import MeanFieldQuotient
from .permutation import PermutationQuotient
from .radial import RadialQuotient
from .rescale import RescaleQuotient
from .scale import ScaleQuotient
from .sphere import Sphere
from .translation import TranslationQuotient

__all__ = ["make_manifold", "MANIFOLD_NAMES", "MANIFOLD_CHARTS"]

#: name -> (valid charts (first = default), default dim)
_TABLE = {
    "euclidean": (("cartesian",), 1),
    "torus": (("angles",), 2),
    "circle": (("angle",), 1),
    "sphere": (("spherical", "stereographic"), 2),
    "radial": (("radial",), 2),
    "scale": (("spherical", "stereographic"), 3),
    "rescale": (("invariant", "polar"), 2),
    "translation": (("helmert",), 3),
    "permutation": (("sorted", "gaps", "orthogonal"), 2),
    "chamber": (("orthogonal", "gaps", "sorted"), 2),
    "factorised": (("matrix",), 2),
    "meanfield": (("sorted",), 3),
}

MANIFOLD_NAMES: tuple[str, ...] = tuple(_TABLE)
MANIFOLD_CHARTS: dict[str, tuple[str, ...]] = {k: v[0] for k, v in _TABLE.items()}


def make_manifold(name: str, chart: str | None = None, dim: int | None = None):
    """Build the manifold called ``name`` in chart ``chart`` (default: the family's first chart).

    Raises :class:`ManifoldError` naming the valid names/charts for an unknown name or chart,
    or the valid range for a bad ``dim``.
    """
    key = str(name).strip().lower()
    if key not in _TABLE:
        raise ManifoldError(f"unknown manifold {name!r}; valid names: {', '.join(MANIFOLD_NAMES)}")
    charts, default_dim = _TABLE[key]
    chart = charts[0] if chart is None else str(chart).strip().lower()
    if chart not in charts:
        raise ManifoldError(f"unknown chart {chart!r} for manifold {key!r}; valid charts: {', '.join(charts)}")
    d = default_dim if dim is None else dim
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise ManifoldError(f"manifold {key!r}: dim must be a positive integer, got {dim!r}")
    if key == "euclidean":
        return Euclidean(d)
    if key == "torus":
        return Torus(d)
    if key == "circle":
        if d != 1:
            raise ManifoldError(f"manifold 'circle' has dim 1, got dim={d}")
        return Circle()
    if key == "sphere":
        return Sphere(d + 1, chart)
    if key == "radial":
        return RadialQuotient(d)
    if key == "scale":
        if d < 2:
            raise ManifoldError(f"manifold 'scale' needs total dimension >= 2, got dim={d}")
        return ScaleQuotient(d, chart)
    if key == "rescale":
        return RescaleQuotient(d, chart=chart)
    if key == "translation":
        if d < 2:
            raise ManifoldError(f"manifold 'translation' needs k >= 2 logits, got dim={d}")
        return TranslationQuotient(d)
    if key in ("permutation", "chamber"):
        return PermutationQuotient(d, chart)
    if key == "factorised":
        return FactorisedQuotient(d, d, d)
    return MeanFieldQuotient(d, 1)
