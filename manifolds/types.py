"""Shape-annotated array types of the ``manifolds`` public API (jaxtyping).

Dimension names: ``d`` the chart dimension (``Manifold.dim``), ``D`` the embedding or total
parameter dimension (``Quotient.total_dim``), ``k`` the number of orbit directions, ``c`` the number of conserved quantities. Every
method acts on ONE point; batch with ``jax.vmap``. The annotations document shapes; they are
not checked at run time (wrap a call in ``jaxtyping.jaxtyped`` with a type checker to check).
"""

from __future__ import annotations

from jaxtyping import Array, Float

__all__ = ["Point", "Tangent", "Covector", "Matrix", "Christoffel", "Scalar", "Embedded", "Parameters",
           "OrbitTangents", "Conserved"]

#: a point of the chart, shape (d,)
Point = Float[Array, " d"]
#: a tangent vector v^i at a point, shape (d,)
Tangent = Float[Array, " d"]
#: a covector p_i (e.g. du) at a point, shape (d,)
Covector = Float[Array, " d"]
#: a (d, d) matrix: g_ij, g^ij
Matrix = Float[Array, "d d"]
#: Christoffel symbols Γ[k, i, j] = Γ^k_ij, shape (d, d, d)
Christoffel = Float[Array, "d d d"]
#: a scalar (0-d array)
Scalar = Float[Array, ""]
#: a point of the embedding space, shape (D,)
Embedded = Float[Array, " D"]
#: a point θ of the parameter space of a quotient, shape (D,) with D = total_dim
Parameters = Float[Array, " D"]
#: orbit tangent vectors as columns, shape (D, k)
OrbitTangents = Float[Array, "D k"]
#: the conserved quantities of a quotient at θ, shape (c,)
Conserved = Float[Array, " c"]
