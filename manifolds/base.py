r"""The abstract :class:`Manifold`: a chart with a metric, and everything derived from it.

A concrete manifold supplies only ``metric(x)`` (the matrix :math:`g_{ij}(x)` at ONE point
``x`` of shape ``(d,)``) and its chart description; the rest follows by automatic
differentiation:

* :math:`g^{ij}` (``inverse_metric``), :math:`\log\sqrt{G}` (``log_sqrt_det``; a weighted
  manifold overrides it with its volume density),
* Christoffel symbols ``Γ[k, i, j]`` :math:`=\Gamma^k_{ij}=\tfrac12 g^{kl}(\partial_i g_{jl}
  + \partial_j g_{il} - \partial_l g_{ij})` (upper index first),
* gradient :math:`g^{ij}\partial_j f`, divergence :math:`G^{-1/2}\partial_i(G^{1/2}V^i)`,
  Laplace–Beltrami :math:`\Delta_g f = G^{-1/2}\partial_i(G^{1/2}g^{ij}\partial_j f)\le 0`,
* Hamiltonian :math:`\tfrac12 g^{ij}p_ip_j`, geodesic equation
  :math:`\ddot x^k = -\Gamma^k_{ij}\dot x^i\dot x^j`, ``exp`` (diffrax Tsit5) and ``log``
  (Newton shooting with implicit differentiation).

Points come first in every signature; methods act on a single point and are batched with
``jax.vmap``. All methods are pure JAX (``jit``/``vmap``/``grad``-safe) except
:meth:`Manifold.check_point`, which validates concrete user input on the host.

Chart description (attributes of every manifold instance, see ``docs/conventions.md``):
``coordinate_names``, ``domain = (lower, upper)``, ``periodic``, ``singular`` (per axis a pair
``(lower_face, upper_face)`` of kinds from :data:`FACE_KINDS`), ``to_embedding``,
``from_embedding``, ``check_point``.
"""

from __future__ import annotations

import abc
import math
from typing import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import ManifoldError
from .types import Christoffel, Covector, Embedded, Matrix, Point, Scalar, Tangent

__all__ = ["Manifold", "FACE_KINDS"]

#: Kinds of chart boundary faces. ``open``: not reached (infinite, or a regular boundary
#: the user chooses); ``periodic``: identified with the opposite face; ``singular``: √G = 0
#: there (pole, cone tip, r = 0) – the face is not a point of the chart and carries zero
#: flux; ``wall``: a reflecting boundary of the quotient (chamber wall, r = 0 of R/O(1)),
#: a point of the chart where the normal flux vanishes.
FACE_KINDS = ("open", "periodic", "singular", "wall")

_INF = math.inf


def _christoffel_from_metric(metric: Callable, ginv: jax.Array, x: jax.Array) -> jax.Array:
    """Γ^k_ij = ½ g^{kl}(∂_i g_jl + ∂_j g_il − ∂_l g_ij), returned as Γ[k, i, j]."""
    dg = jax.jacfwd(metric)(x)  # dg[a, b, c] = ∂_c g_ab
    first = jnp.einsum("jli->ijl", dg) + jnp.einsum("ilj->ijl", dg) - dg
    return 0.5 * jnp.einsum("kl,ijl->kij", ginv, first)


def diagonal_christoffel(log_scale: jax.Array, dlog_scale: jax.Array) -> jax.Array:
    r"""Christoffel symbols of a diagonal metric :math:`g_{kk} = e^{2 s_k}`.

    With ``D[k, j]`` :math:`=\partial_j s_k`:
    :math:`\Gamma^k_{ij} = \delta_{ki}D_{kj} + \delta_{kj}D_{ki} - \delta_{ij}e^{2(s_i-s_k)}D_{ik}`.
    """
    d = log_scale.shape[0]
    eye = jnp.eye(d, dtype=dlog_scale.dtype)
    t1 = jnp.einsum("ki,kj->kij", eye, dlog_scale)
    t2 = jnp.einsum("kj,ki->kij", eye, dlog_scale)
    ratio = jnp.exp(2.0 * (log_scale[None, :] - log_scale[:, None]))  # [k, i] = e^{2(s_i - s_k)}
    t3 = jnp.einsum("ij,ki,ik->kij", eye, ratio, dlog_scale)
    return t1 + t2 - t3


class Manifold(eqx.Module):
    """Abstract Riemannian (or weighted Riemannian) manifold in one chart.

    Subclasses implement :meth:`metric` and the chart properties ``coordinate_names``,
    ``domain``, ``periodic``, ``singular``, ``to_embedding``, ``from_embedding``; they may
    override any derived quantity with a closed form (tests compare it to the autodiff
    version, reached as ``Manifold.<method>(m, ...)``).
    """

    # ---------------------------------------------------------------- chart (abstract)
    @abc.abstractmethod
    def metric(self, x: Point) -> Matrix:
        """The metric tensor g_ij(x), shape (d, d), at one chart point x of shape (d,)."""

    @property
    @abc.abstractmethod
    def coordinate_names(self) -> tuple[str, ...]:
        """Names of the chart coordinates (used as axis names by the solver and CLI)."""

    @property
    @abc.abstractmethod
    def domain(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Coordinate box ``(lower, upper)`` of the chart (``±inf`` for unbounded axes)."""

    @property
    def periodic(self) -> tuple[bool, ...]:
        """Whether each axis is periodic with period ``upper - lower``."""
        return tuple(k[0] == "periodic" for k in self.singular)

    @property
    def singular(self) -> tuple[tuple[str, str], ...]:
        """Per axis, the kinds ``(lower_face, upper_face)`` from :data:`FACE_KINDS`."""
        return tuple(("open", "open") for _ in range(self.dim))

    @property
    def name(self) -> str:
        """Registry name of the manifold."""
        return type(self).__name__.lower()

    @property
    def chart_name(self) -> str:
        """Name of the chart in use."""
        return "default"

    def to_embedding(self, x: Point) -> Embedded:
        """Chart point -> point of the embedding space (identity unless overridden)."""
        return jnp.asarray(x)

    def from_embedding(self, X: Embedded) -> Point:
        """Embedding point -> chart point (identity unless overridden)."""
        return jnp.asarray(X)

    @property
    def dim(self) -> int:
        """Dimension d of the chart (number of coordinates)."""
        return len(self.coordinate_names)

    def _extra_check(self, x: np.ndarray) -> str | None:
        """Non-box constraints of the chart; return a message when violated."""
        return None

    def check_point(self, x) -> np.ndarray:
        """Validate a concrete chart point on the host; raise :class:`ManifoldError`.

        Checks the shape ``(d,)`` (or ``(..., d)`` for a batch), finiteness, the coordinate
        box (periodic axes accept any value) and the singular set (a point on a
        ``singular`` face is rejected; ``wall`` faces are part of the chart). Not jittable
        by design: it is the boundary between user input and the pure JAX code.
        """
        arr = np.asarray(x, dtype=float)
        desc = f"{self.name} (chart {self.chart_name!r}, coordinates {', '.join(self.coordinate_names)})"
        if arr.ndim == 0 or arr.shape[-1] != self.dim:
            raise ManifoldError(
                f"dimension mismatch for {desc}: expected points of shape ({self.dim},), got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ManifoldError(f"non-finite coordinates for {desc}: {arr.tolist()}")
        lower, upper = self.domain
        pts = arr.reshape(-1, self.dim)
        for a, cname in enumerate(self.coordinate_names):
            lo_kind, hi_kind = self.singular[a]
            if lo_kind == "periodic":
                continue
            col = pts[:, a]
            dom = f"{cname} in {'[' if lo_kind == 'wall' else '('}{lower[a]:g}, {upper[a]:g}{']' if hi_kind == 'wall' else ')'}"
            if np.any(col < lower[a]) or np.any(col > upper[a]):
                bad = col[(col < lower[a]) | (col > upper[a])][0]
                raise ManifoldError(f"point outside the domain of {desc}: {cname}={bad:g}, expected {dom}")
            for kind, bound in ((lo_kind, lower[a]), (hi_kind, upper[a])):
                if kind in ("singular", "open") and np.isfinite(bound) and np.any(col == bound):
                    what = "on the singular set (sqrt(G)=0)" if kind == "singular" else "on the boundary"
                    raise ManifoldError(f"point {what} of {desc}: {cname}={bound:g}, expected {dom}")
        for p in pts:
            msg = self._extra_check(p)
            if msg is not None:
                raise ManifoldError(f"invalid point for {desc}: {msg}")
        return arr

    def wrap(self, x: Point) -> Point:
        """Map periodic coordinates into ``[lower, upper)``; other axes unchanged."""
        lower, upper = self.domain
        per = np.asarray(self.periodic)
        if not per.any():
            return x
        lo = np.where(per, np.asarray(lower, dtype=float), 0.0)
        span = np.where(per, np.asarray(upper, dtype=float) - lo, 1.0)
        return jnp.where(per, lo + jnp.mod(x - lo, span), x)

    def _nearest_image(self, dx: jax.Array) -> jax.Array:
        """Shortest representative of a coordinate difference on periodic axes."""
        lower, upper = self.domain
        per = np.asarray(self.periodic)
        if not per.any():
            return dx
        span = np.where(per, np.asarray(upper, dtype=float) - np.where(per, np.asarray(lower, dtype=float), 0.0), 1.0)
        return jnp.where(per, dx - span * jnp.round(dx / span), dx)

    # ---------------------------------------------------------------- derived by autodiff
    def inverse_metric(self, x: Point) -> Matrix:
        """g^{ij}(x) = (g_ij(x))^{-1}."""
        return jnp.linalg.inv(self.metric(x))

    def log_sqrt_det(self, x: Point) -> Scalar:
        """log √G = ½ log det g_ij (a weighted manifold returns its log volume density)."""
        return 0.5 * jnp.linalg.slogdet(self.metric(x))[1]

    @property
    def weighted(self) -> bool:
        """True when ``log_sqrt_det`` is a weight other than ½ log det g (e.g. r^{n−1} on R^n/O(n))."""
        return False

    def volume_density(self, x: Point) -> Scalar:
        """√G (the Riemannian volume density, or the weight of a weighted manifold)."""
        return jnp.exp(self.log_sqrt_det(x))

    def christoffel(self, x: Point) -> Christoffel:
        """Γ[k, i, j] = Γ^k_ij = ½ g^{kl}(∂_i g_jl + ∂_j g_il − ∂_l g_ij)."""
        return _christoffel_from_metric(self.metric, self.inverse_metric(x), x)

    def gradient(self, f: Callable, x: Point) -> Tangent:
        """Riemannian gradient (∇_g f)^i = g^{ij} ∂_j f."""
        return self.inverse_metric(x) @ jax.grad(f)(x)

    def divergence(self, V: Callable, x: Point) -> Scalar:
        """div V = G^{-1/2} ∂_i(G^{1/2} V^i) = ∂_i V^i + V^i ∂_i log √G, for a vector field V(x)."""
        Vx, jac = V(x), jax.jacfwd(V)(x)
        return jnp.trace(jac) + Vx @ jax.grad(self.log_sqrt_det)(x)

    def laplace_beltrami(self, f: Callable, x: Point) -> Scalar:
        """Δ_g f = G^{-1/2} ∂_i(G^{1/2} g^{ij} ∂_j f) (non-positive operator)."""
        return self.divergence(lambda y: self.gradient(f, y), x)

    def norm(self, x: Point, v: Tangent) -> Scalar:
        """|v|_g = sqrt(g_ij v^i v^j) for a tangent vector v at x."""
        return jnp.sqrt(v @ self.metric(x) @ v)

    def hamiltonian(self, x: Point, p: Covector) -> Scalar:
        """H(x, p) = ½ g^{ij}(x) p_i p_j for a covector p."""
        return 0.5 * p @ self.inverse_metric(x) @ p

    def geodesic_rhs(self, x: Point, v: Tangent) -> tuple[Tangent, Tangent]:
        """Geodesic equation as a first-order system: (ẋ, v̇) = (v, −Γ^k_ij v^i v^j)."""
        return v, -jnp.einsum("kij,i,j->k", self.christoffel(x), v, v)

    def _integrate_geodesic(self, x, v, t, adjoint, throw=True):
        def rhs(s, y, args):
            return self.geodesic_rhs(*y)

        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(rhs), diffrax.Tsit5(), 0.0, t, None, (x, v),
            stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-13),
            saveat=diffrax.SaveAt(t1=True), adjoint=adjoint, max_steps=100_000, throw=throw,
        )
        return sol.ys[0][0], sol.ys[1][0]

    def exp(self, x: Point, v: Tangent, t: float = 1.0) -> Point:
        """Exponential map exp_x(t v): the geodesic ODE integrated with diffrax Tsit5 (rtol 1e-12)."""
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        v = jnp.asarray(v, dtype=x.dtype)
        y, _ = self._integrate_geodesic(x, v, jnp.asarray(t, dtype=x.dtype), diffrax.RecursiveCheckpointAdjoint())
        return self.wrap(y)

    def log(self, x: Point, y: Point) -> Tangent:
        """Logarithm log_x(y): the v with exp_x(v) = y, by damped Newton shooting.

        Starts from the second-order guess v0 = Δ + ½Γ(Δ, Δ), Δ = y − x (nearest periodic image).

        Differentiated implicitly (``jax.lax.custom_root``), so ``grad`` works. Only valid
        when y is within the injectivity radius and the Newton iteration converges.
        """
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        y = jnp.asarray(y, dtype=x.dtype)

        def shoot(v):
            end, _ = self._integrate_geodesic(x, v, jnp.asarray(1.0, x.dtype), diffrax.ForwardMode(), throw=False)
            return self._nearest_image(end - y)

        def rk4_end(v):
            # cheap fixed-step RK4 geodesic: only used for the Newton matrix (quasi-Newton)
            h = 1.0 / 48

            def rk(y, _):
                f = lambda z: self.geodesic_rhs(*z)  # noqa: E731
                k1 = f(y)
                k2 = f(jax.tree.map(lambda a, b: a + 0.5 * h * b, y, k1))
                k3 = f(jax.tree.map(lambda a, b: a + 0.5 * h * b, y, k2))
                k4 = f(jax.tree.map(lambda a, b: a + h * b, y, k3))
                return jax.tree.map(lambda a, b1, b2, b3, b4: a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4), y, k1, k2, k3, k4), None

            return jax.lax.scan(rk, (x, v), None, length=48)[0][0]

        def solve(f, v0):
            def body(_, v):
                step = jnp.linalg.solve(jax.jacfwd(rk4_end)(v), f(v))
                # damped Newton: cap the step so a bad Jacobian cannot fling v far away
                cap = 0.5 * (1.0 + jnp.linalg.norm(v)) / jnp.maximum(jnp.linalg.norm(step), 1e-300)
                return v - jnp.minimum(1.0, cap) * step
            return jax.lax.fori_loop(0, 16, body, v0)

        def tangent_solve(g, r):
            return jnp.linalg.solve(jax.jacfwd(g)(r), r)

        dx = self._nearest_image(y - x)
        v0 = dx + 0.5 * jnp.einsum("kij,i,j->k", self.christoffel(x), dx, dx)  # 2nd-order guess
        return jax.lax.custom_root(shoot, v0, solve, tangent_solve)

    def distance(self, x: Point, y: Point) -> Scalar:
        """Geodesic distance |log_x(y)|_g."""
        return self.norm(x, self.log(x, y))
