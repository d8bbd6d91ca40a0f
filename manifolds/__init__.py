"""qshock.manifolds: manifolds, charts and quotients of neural-network parameter symmetries.

Every manifold is an equinox Module with a chart (``coordinate_names``, ``domain``,
``periodic``, ``singular``, ``to_embedding``, ``from_embedding``, ``check_point``) and a
metric; geometry (g⁻¹, log √G, Γ[k,i,j], gradient, divergence, Laplace–Beltrami, Hamiltonian,
geodesics, exp/log) is derived by autodiff or given in closed form. Conventions:
``docs/conventions.md``.
"""

from .base import FACE_KINDS, Manifold, diagonal_christoffel
from .errors import ManifoldError
from .exact import sphere_hj_exact
from .factorised import FactorisedQuotient, psd_sqrt
from .flat import Circle, Euclidean, FlatManifold, Torus
from .meanfield import MeanFieldQuotient, lexsort_rows
from .permutation import PERMUTATION_CHARTS, PermutationQuotient
from .quotient import Quotient
from .radial import RadialQuotient
from .registry import MANIFOLD_CHARTS, MANIFOLD_NAMES, make_manifold
from .rescale import RESCALE_CHARTS, RescaleQuotient
from .scale import ScaleQuotient
from .sphere import SPHERE_CHARTS, Sphere
from .translation import TranslationQuotient, helmert_basis

__all__ = [
    "FACE_KINDS", "Manifold", "diagonal_christoffel", "ManifoldError", "sphere_hj_exact",
    "FactorisedQuotient", "psd_sqrt", "Circle", "Euclidean", "FlatManifold", "Torus",
    "MeanFieldQuotient", "lexsort_rows", "PERMUTATION_CHARTS", "PermutationQuotient",
    "Quotient", "RadialQuotient", "MANIFOLD_CHARTS", "MANIFOLD_NAMES", "make_manifold",
    "RESCALE_CHARTS", "RescaleQuotient", "ScaleQuotient", "SPHERE_CHARTS", "Sphere", "TranslationQuotient",
    "helmert_basis",
]
