r"""Flat manifolds: :class:`Euclidean` R^d, :class:`Torus` T^d and :class:`Circle` S^1.

Metric :math:`g = I` in Cartesian / angle coordinates: Γ = 0, √G = 1, geodesics are straight
lines, ``exp(x, v) = x + v`` (wrapped on periodic axes) and ``log`` is the shortest periodic
difference.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp

from .base import Manifold
from .errors import ManifoldError

__all__ = ["Euclidean", "Torus", "Circle", "FlatManifold"]


class FlatManifold(Manifold):
    """Base for manifolds whose chart metric is constant: closed forms for everything."""

    def metric(self, x):
        return jnp.eye(self.dim, dtype=jnp.result_type(x, float))

    def inverse_metric(self, x):
        return jnp.linalg.inv(self.metric(x))

    def log_sqrt_det(self, x):
        return 0.5 * jnp.linalg.slogdet(self.metric(x))[1]

    def christoffel(self, x):
        return jnp.zeros((self.dim,) * 3, dtype=jnp.result_type(x, float))

    def exp(self, x, v, t=1.0):
        """exp_x(t v) = x + t v (wrapped on periodic axes)."""
        return self.wrap(jnp.asarray(x) + t * jnp.asarray(v))

    def log(self, x, y):
        """log_x(y) = y − x (shortest image on periodic axes)."""
        return self._nearest_image(jnp.asarray(y) - jnp.asarray(x))


class Euclidean(FlatManifold):
    """Euclidean space R^d, Cartesian chart ``x, y, z, x3, ...``; metric g = I."""

    d: int = eqx.field(static=True, default=2)

    def __check_init__(self):
        if not (isinstance(self.d, int) and self.d >= 1):
            raise ManifoldError(f"euclidean: dimension must be a positive integer, got {self.d!r}")

    @property
    def name(self):
        return "euclidean"

    @property
    def chart_name(self):
        return "cartesian"

    @property
    def coordinate_names(self):
        base = ("x", "y", "z")
        return tuple(base[i] if i < 3 else f"x{i}" for i in range(self.d))

    @property
    def domain(self):
        return (tuple(-math.inf for _ in range(self.d)), tuple(math.inf for _ in range(self.d)))


class Torus(FlatManifold):
    """Flat torus R^d / (L_1 Z × ... × L_d Z), angles in ``[0, L_a)``; metric g = I.

    Args:
        d: dimension; periods: one period per axis (default 2π each).
    """

    d: int = eqx.field(static=True, default=2)
    periods: tuple[float, ...] | None = eqx.field(
        static=True, default=None, converter=lambda p: None if p is None else tuple(float(v) for v in p)
    )

    def __check_init__(self):
        if not (isinstance(self.d, int) and self.d >= 1):
            raise ManifoldError(f"torus: dimension must be a positive integer, got {self.d!r}")
        if self.periods is not None and (len(self.periods) != self.d or min(self.periods) <= 0):
            raise ManifoldError(f"torus: need {self.d} positive periods, got {self.periods!r}")

    @property
    def name(self):
        return "torus"

    @property
    def chart_name(self):
        return "angles"

    @property
    def _periods(self):
        return tuple(float(p) for p in self.periods) if self.periods is not None else (2 * math.pi,) * self.d

    @property
    def coordinate_names(self):
        if self.d == 1:
            return ("x",)
        return tuple(f"x{i + 1}" for i in range(self.d))

    @property
    def domain(self):
        return (tuple(0.0 for _ in range(self.d)), self._periods)

    @property
    def singular(self):
        return tuple(("periodic", "periodic") for _ in range(self.d))

    def to_embedding(self, x):
        """T^d -> R^{2d}: (L/2π)(cos(2πx/L), sin(2πx/L)) per axis (flat in the product of circles)."""
        L = jnp.asarray(self._periods)
        a = 2 * jnp.pi * x / L
        r = L / (2 * jnp.pi)
        return jnp.concatenate([r * jnp.cos(a), r * jnp.sin(a)])

    def from_embedding(self, X):
        L = jnp.asarray(self._periods)
        c, s = X[: self.d], X[self.d:]
        return jnp.mod(jnp.arctan2(s, c), 2 * jnp.pi) * L / (2 * jnp.pi)


class Circle(Torus):
    """The unit circle S^1 = R / 2πZ, coordinate ``phi`` in ``[0, 2π)``; metric g = 1."""

    def __init__(self):
        self.d = 1
        self.periods = None

    @property
    def name(self):
        return "circle"

    @property
    def chart_name(self):
        return "angle"

    @property
    def coordinate_names(self):
        return ("phi",)
