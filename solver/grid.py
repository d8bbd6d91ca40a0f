r"""Cell-centred uniform grids and boundary conditions as data.

A :class:`Grid` of shape ``(N_0, ..., N_{d-1})`` covers the box
:math:`\prod_a [\mathrm{lo}_a, \mathrm{hi}_a)` with spacing
:math:`\Delta x_a = (\mathrm{hi}_a - \mathrm{lo}_a)/N_a`; cell ``i`` along axis ``a`` has
centre :math:`\mathrm{lo}_a + (i + \tfrac12)\Delta x_a`. Field arrays have the grid
shape (axis order = ``axis_names`` order, ``indexing="ij"``).

Boundaries are filled with ghost cells by :meth:`Grid.pad`:

* ``periodic``: wrap around;
* ``reflect``: mirror about the wall, ``u_{-1-k} = s\,u_k`` with parity ``s = +1`` for a
  scalar (Neumann, zero normal derivative) and ``s = -1`` for the velocity component
  normal to the wall (zero normal flux);
* ``outflow``: zeroth-order extrapolation (copy the edge cell);
* ``dirichlet``: odd reflection about the wall value ``g``: ``u_{-1-k} = 2g - u_k``; when
  ``value`` is a callable ``g(points, t)`` the ghost cells hold ``g`` evaluated at the ghost-cell
  centres (exact data on a truncated domain, e.g. a stereographic chart);
* ``pole``: the coordinate singularity of a polar angle (sphere, spherical chart): the
  ghost cell beyond the pole is the interior cell on the opposite meridian,
  ``u(θ_{-1-k}, φ) = s\,u(θ_k, φ + π)``; needs a periodic partner axis with an even number of
  cells. Faces on the pole have ``√G = 0`` and carry no flux. On S^{n-1} (n ≥ 4) crossing the
  pole of an outer angle θ_k also maps every later angle θ_j → π − θ_j (the antipodal map of the
  smaller sphere): those axes are listed in ``flip``.
"""

from __future__ import annotations

from typing import Any, Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax

from .errors import QShockInputError

__all__ = ["Boundary", "Grid", "BOUNDARY_KINDS", "USER_BOUNDARY_KINDS"]

BOUNDARY_KINDS = ("periodic", "reflect", "outflow", "dirichlet", "pole")
#: the kinds a user chooses (``--bc``); ``pole`` is set by the charts of singular faces
USER_BOUNDARY_KINDS = ("periodic", "reflect", "outflow", "dirichlet")


class Boundary(eqx.Module):
    """Boundary condition on both ends of one axis.

    Attributes:
        kind: one of ``periodic``, ``reflect``, ``outflow``, ``dirichlet``.
        value: wall value for ``dirichlet`` as ``(lower, upper)``, or a callable
            ``g(points, t)`` (points last) giving exact ghost values.
        partner: for ``pole``, the periodic azimuth axis whose half-turn maps across the pole.
        upper: kind on the upper end when it differs from ``kind`` (e.g. ``reflect`` at a
            cone tip ``r = 0`` and ``outflow`` at the truncation ``r = R``); ``None``: same.
        flip: for ``pole``, further axes reversed across the pole (θ_j → π − θ_j).
    """

    kind: str = eqx.field(static=True, default="periodic")
    value: Any = eqx.field(static=True, default=(0.0, 0.0))
    partner: int = eqx.field(static=True, default=-1)
    upper: Any = eqx.field(static=True, default=None)
    flip: tuple = eqx.field(static=True, default=())

    def __check_init__(self):
        for k in (self.kind, self.upper or self.kind):
            if k not in BOUNDARY_KINDS:
                raise QShockInputError(
                    f"unknown boundary condition {k!r}; expected one of {', '.join(BOUNDARY_KINDS)}")
        if (self.kind == "periodic") != ((self.upper or self.kind) == "periodic"):
            raise QShockInputError("a periodic boundary must be periodic on both ends of its axis")


def _as_boundary(b) -> Boundary:
    if isinstance(b, Boundary):
        return b
    if isinstance(b, str):
        return Boundary(b)
    raise QShockInputError(f"boundary must be a name or Boundary, got {b!r}")


#: smallest and largest cell width a grid accepts (squares and inverse squares stay finite)
MIN_CELL, MAX_CELL = 1e-100, 1e100


class Grid(eqx.Module):
    """Uniform cell-centred grid in any dimension (hashable, usable as a static argument).

    Args:
        lower, upper: box corners, one float per axis (``upper > lower``).
        shape: number of cells per axis.
        boundaries: one boundary (name or :class:`Boundary`) per axis, or one for all axes.
        axis_names: coordinate names; defaults to ``x, y, z`` then ``x3, x4, ...``.
    """

    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)
    boundaries: tuple[Boundary, ...] = eqx.field(static=True)
    axis_names: tuple[str, ...] = eqx.field(static=True)

    def __init__(
        self,
        lower: Sequence[float] | float,
        upper: Sequence[float] | float,
        shape: Sequence[int] | int,
        boundaries: Sequence | str | Boundary = "periodic",
        axis_names: Sequence[str] | None = None,
    ):
        lower = tuple(float(v) for v in np.atleast_1d(lower))
        upper = tuple(float(v) for v in np.atleast_1d(upper))
        shape = tuple(int(v) for v in np.atleast_1d(shape))
        d = len(shape)
        if len(lower) != d or len(upper) != d:
            raise QShockInputError(
                f"domain has {len(lower)} lower and {len(upper)} upper bounds but the grid has {d} axes"
            )
        for a in range(d):
            if not (np.isfinite(lower[a]) and np.isfinite(upper[a])) or upper[a] <= lower[a]:
                raise QShockInputError(
                    f"domain axis {a}: need finite lo < hi, got [{lower[a]}, {upper[a]}]"
                )
            if shape[a] < 1:
                raise QShockInputError(f"grid axis {a}: need at least one cell, got {shape[a]}")
            dx = (upper[a] - lower[a]) / shape[a]
            if not MIN_CELL <= dx <= MAX_CELL:  # dx**2 and 1/dx**2 must stay normal floats (CFL, viscosity)
                raise QShockInputError(
                    f"domain axis {a}: cell width {dx:.3g} of [{lower[a]:.6g}, {upper[a]:.6g}] over {shape[a]} "
                    f"cells is outside [{MIN_CELL:g}, {MAX_CELL:g}]; rescale the problem")
        if isinstance(boundaries, (str, Boundary)):
            boundaries = (boundaries,) * d
        boundaries = tuple(_as_boundary(b) for b in boundaries)
        if len(boundaries) != d:
            raise QShockInputError(f"got {len(boundaries)} boundary conditions for a {d}-D grid")
        if axis_names is None:
            axis_names = ("x", "y", "z")[:d] if d <= 3 else tuple(f"x{a}" for a in range(d))
        axis_names = tuple(axis_names)
        if len(axis_names) != d:
            raise QShockInputError(f"got {len(axis_names)} axis names for a {d}-D grid")
        self.lower, self.upper, self.shape = lower, upper, shape
        self.boundaries, self.axis_names = boundaries, axis_names
        self.validate_boundaries()

    # ------------------------------------------------------------------ geometry
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dx(self) -> tuple[float, ...]:
        """Cell widths per axis (Python floats)."""
        return tuple((h - l) / n for l, h, n in zip(self.lower, self.upper, self.shape))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.dx))

    def centres(self, axis: int = 0, dtype=None) -> jnp.ndarray:
        """1-D array of cell-centre coordinates along ``axis``."""
        n, lo, h = self.shape[axis], self.lower[axis], self.dx[axis]
        return lo + (jnp.arange(n, dtype=dtype or jnp.result_type(float)) + 0.5) * h

    def faces(self, axis: int = 0, dtype=None) -> jnp.ndarray:
        """1-D array of the ``N+1`` face coordinates along ``axis``."""
        n, lo, h = self.shape[axis], self.lower[axis], self.dx[axis]
        return lo + jnp.arange(n + 1, dtype=dtype or jnp.result_type(float)) * h

    def mesh(self, dtype=None) -> tuple[jnp.ndarray, ...]:
        """Cell-centre coordinate arrays, each of the grid shape (``indexing='ij'``)."""
        return tuple(jnp.meshgrid(*[self.centres(a, dtype) for a in range(self.ndim)], indexing="ij"))

    def points(self, dtype=None) -> jnp.ndarray:
        """Cell centres as an array of shape ``(*shape, ndim)`` (points last)."""
        return jnp.stack(self.mesh(dtype), axis=-1)

    @property
    def periodic(self) -> tuple[bool, ...]:
        return tuple(b.kind == "periodic" for b in self.boundaries)

    def with_shape(self, shape: Sequence[int] | int) -> "Grid":
        """Same box and boundaries, different resolution."""
        return Grid(self.lower, self.upper, shape, self.boundaries, self.axis_names)

    # ------------------------------------------------------------------ ghost cells
    def validate_boundaries(self) -> None:
        """Check cross-axis requirements (``pole`` needs an even periodic partner axis)."""
        for a, b in enumerate(self.boundaries):
            if "pole" in (b.kind, b.upper):
                p = b.partner
                if not (0 <= p < self.ndim) or p == a or self.boundaries[p].kind != "periodic":
                    raise QShockInputError(
                        f"pole boundary on axis {self.axis_names[a]!r} needs a periodic partner axis")
                if self.shape[p] % 2:
                    raise QShockInputError(
                        f"pole boundary needs an even number of cells on axis {self.axis_names[p]!r}, got {self.shape[p]}")
                if any(not (0 <= f < self.ndim) or f in (a, p) for f in b.flip):
                    raise QShockInputError(f"pole boundary on axis {self.axis_names[a]!r}: bad flip axes {b.flip}")

    def ghost_centres(self, axis: int, width: int, side: str) -> jnp.ndarray:
        """Ghost-cell centre points ``(..., ndim)`` of one side (``'lower'``/``'upper'``) of ``axis``."""
        axes = [self.centres(a) for a in range(self.ndim)]
        h = self.dx[axis]
        k = jnp.arange(width, dtype=axes[axis].dtype)
        if side == "lower":
            axes[axis] = self.lower[axis] - (width - k - 0.5) * h
        else:
            axes[axis] = self.upper[axis] + (k + 0.5) * h
        return jnp.stack(jnp.meshgrid(*axes, indexing="ij"), axis=-1)

    def pad(self, u: jnp.ndarray, width: int, axis: int = 0, parity: int = 1, field_axis_offset: int = 0,
            t=0.0) -> jnp.ndarray:
        """Pad ``u`` with ``width`` ghost cells on both ends of grid axis ``axis``.

        Args:
            u: array whose grid axes start at ``field_axis_offset`` (e.g. 1 for a vector
                field stored as ``(d, *shape)``).
            width: number of ghost cells per side (must not exceed the number of cells).
            axis: grid axis to pad.
            parity: ``+1`` (scalar) or ``-1`` (normal velocity component) for ``reflect``/``pole``.
            t: time, passed to callable Dirichlet data.
        """
        ax = axis + field_axis_offset
        n = u.shape[ax]
        if width > n:
            raise QShockInputError(
                f"grid axis {self.axis_names[axis]!r} has {n} cells but the stencil needs {width} ghost cells; use N >= {width}"
            )
        b = self.boundaries[axis]
        if b.kind == "periodic":
            left = lax.slice_in_dim(u, n - width, n, axis=ax)
            right = lax.slice_in_dim(u, 0, width, axis=ax)
        else:
            left = self._ghosts(u, b, b.kind, "lower", width, axis, ax, parity, field_axis_offset, t)
            right = self._ghosts(u, b, b.upper or b.kind, "upper", width, axis, ax, parity, field_axis_offset, t)
        return jnp.concatenate([left, u, right], axis=ax)

    def _ghosts(self, u, b, kind, side, width, axis, ax, parity, offset, t):
        n = u.shape[ax]
        lo = side == "lower"
        edge = lax.slice_in_dim(u, 0, width, axis=ax) if lo else lax.slice_in_dim(u, n - width, n, axis=ax)
        if kind == "outflow":
            one = lax.slice_in_dim(u, 0, 1, axis=ax) if lo else lax.slice_in_dim(u, n - 1, n, axis=ax)
            return jnp.repeat(one, width, axis=ax)
        if kind == "reflect":
            return parity * jnp.flip(edge, axis=ax)
        if kind == "dirichlet" and callable(b.value):
            pts = self.ghost_centres(axis, width, side)
            vals = b.value(pts, t)
            return jnp.broadcast_to(vals, u.shape[:offset] + pts.shape[:-1]).astype(u.dtype)
        if kind == "dirichlet":
            g = b.value[0] if lo else b.value[1]
            return 2.0 * g - jnp.flip(edge, axis=ax)
        if kind == "pole":
            pax = b.partner + offset
            across = jnp.roll(edge, u.shape[pax] // 2, axis=pax)
            if b.flip:
                across = jnp.flip(across, axis=tuple(f + offset for f in b.flip))
            return parity * jnp.flip(across, axis=ax)
        raise QShockInputError(f"unknown boundary {kind!r}")  # pragma: no cover - guarded by Boundary
