r"""Exact solutions on manifolds, for verifying the solver.

:func:`sphere_hj_exact`: on the unit sphere :math:`S^{n-1}` the function
:math:`u = -2\nu\log(1 + \varepsilon e^{-(n-1)\nu t}X_1)` (on S²: :math:`e^{-2\nu t}`), with
:math:`X_1` the first embedding coordinate, solves the viscous HJ equation
:math:`u_t + \tfrac12|\nabla u|_g^2 = \nu\Delta_g u` exactly: by Cole–Hopf
:math:`\varphi = e^{-u/2\nu} = 1 + \varepsilon e^{-(n-1)\nu t}X_1` solves
:math:`\varphi_t = \nu\Delta_g\varphi` because :math:`X_1` is a degree-1 spherical harmonic,
:math:`\Delta_g X_1 = -(n-1)X_1`. Needs :math:`|\varepsilon| < 1`.
"""

from __future__ import annotations

import jax.numpy as jnp

from .sphere import Sphere

__all__ = ["sphere_hj_exact"]


def sphere_hj_exact(x, t, nu, eps, chart: str = "spherical", n: int = 3):
    """u(x, t) = −2ν log(1 + ε e^{−(n−1)νt} X₁(x)) at one chart point x of S^{n−1} (S² by default)."""
    X = Sphere(n, chart).to_embedding(jnp.asarray(x))
    return -2.0 * nu * jnp.log1p(eps * jnp.exp(-(n - 1) * nu * t) * X[0])
