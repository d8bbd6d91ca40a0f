r"""Sharded solves: the grid split across devices with :func:`jax.shard_map`.

A :class:`jax.sharding.Mesh` with ``m <= d`` axes splits grid axis ``a`` (``a < m``) into
``k_a`` equal blocks, one per device along mesh axis ``a``. Each device runs the same
finite-volume stepper on its block ``u[i_0 n_0/k_0 : (i_0+1) n_0/k_0, ...]``:

* **halo exchange**: before every stencil the ``g`` ghost cells of a block face are the ``g``
  edge cells of the neighbouring block, sent with :func:`jax.lax.ppermute`
  (``i -> i+1`` carries the upper edge, ``i -> i-1`` the lower edge). On a periodic axis the
  permutation is cyclic; otherwise the first and last block fill their outer ghost cells with
  the physical boundary condition of :meth:`solver.grid.Grid.pad` (reflect, outflow, constant
  Dirichlet) and ignore the (empty) message;
* **global CFL**: the stable step :math:`Δt = C/(\sum_a α_a/Δx_a + \sum_a ν/(c_ν Δx_a^2))` needs
  the global wave speeds :math:`α_a = \max_i |\cdot|`; every device computes its local maxima
  and :func:`jax.lax.pmax` makes them global (exact: a maximum does not depend on the order);
* **global blow-up check**: a step is accepted when :math:`\sum_{\text{devices}} \#\{\text{non-finite}\}
  = 0` (:func:`jax.lax.psum`), so every device leaves the ``while_loop`` at the same step.

Every cell of every block computes the same floating-point operations on the same operands as
the single-device solve, so the result is bit-identical (``tests/test_sharding.py``).

Supported: Burgers (1-D, N-D gradient form) and Hamilton–Jacobi with the default or a separable
constant-coefficient Hamiltonian, on flat grids, with ``ssprk3`` or ``ssprk3-fixed``. Charts
(position-dependent metrics), Hamiltonians depending on ``x``, the global Lax–Friedrichs
``lf`` flux, callable Dirichlet data and ``diffrax`` are refused with a
:class:`~solver.errors.QShockInputError` (they need the block's coordinates or a global
reduction inside the right-hand side).

Spectral solves on tori (:func:`spectral_mesh`, :class:`solver.spectral.fourier.SlabTransforms`):
the Fourier state is split in slabs along the rfft axis and the fields along the first grid axis;
a transform is a local rfft, one :func:`jax.lax.all_to_all` (the slab transpose) and local FFTs
along the remaining axes. The result equals the single-device solve to round-off (the transforms
are the same sums in another order).

Multi-host: call ``jax.distributed.initialize(coordinator_address, num_processes, process_id)``
in every process before anything else; ``jax.devices()`` then lists the devices of all hosts
and a mesh built from it spans them (see ``docs/guide/scale.md``).
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ._diffusion import VISCOUS_STABILITY
from ._hamiltonians import sum_components
from ._rhs import _hj_derivatives, build_rhs, ghost_width, runtime_viscosity
from .equations import Burgers, HamiltonJacobi
from .errors import QShockInputError
from .grid import Grid

__all__ = ["device_mesh", "as_mesh", "HaloGrid", "check_shardable", "sharded_stepper", "spectral_mesh",
           "MESH_AXES"]

#: default mesh axis names: mesh axis ``a`` splits grid axis ``a``
MESH_AXES = ("gx", "gy", "gz")


def device_mesh(shape: int | Sequence[int], devices=None) -> Mesh:
    """A mesh of ``prod(shape)`` devices (default: the first of ``jax.devices()``), axes ``gx, gy, ...``."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(k) for k in shape)
    if not shape or len(shape) > len(MESH_AXES) or any(k < 1 for k in shape):
        raise QShockInputError(f"mesh shape must be 1 to 3 positive device counts, got {shape}")
    devices = list(jax.devices() if devices is None else devices)
    need = math.prod(shape)
    if need > len(devices):
        raise QShockInputError(f"mesh {shape} needs {need} devices but only {len(devices)} are available "
                               "(CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N before JAX starts)")
    return Mesh(np.array(devices[:need]).reshape(shape), MESH_AXES[:len(shape)])


def as_mesh(mesh, grid: Grid) -> tuple[Mesh, tuple]:
    """``(Mesh, names)``: ``names[a]`` is the mesh axis splitting grid axis ``a`` (``None``: not split).

    ``mesh`` is a :class:`~jax.sharding.Mesh` (its axes split grid axes ``0, 1, ...`` in order), a
    device count (split the first grid axis) or a tuple of counts (one per leading grid axis).
    """
    if not isinstance(mesh, Mesh):
        mesh = device_mesh(mesh)
    names = tuple(mesh.axis_names)
    if len(names) > grid.ndim:
        raise QShockInputError(f"mesh has {len(names)} axes but the grid only {grid.ndim}")
    names = names + (None,) * (grid.ndim - len(names))
    for a, name in enumerate(names):
        k = mesh.shape[name] if name is not None else 1
        if grid.shape[a] % k:
            raise QShockInputError(f"grid axis {grid.axis_names[a]!r} has {grid.shape[a]} cells, "
                                   f"not divisible by its {k} devices")
    return mesh, names


class HaloGrid:
    """The block of ``grid`` one device holds, with ghost cells filled by halo exchange.

    Behaves like the block's :class:`~solver.grid.Grid` (shape ``n_a / k_a``, the global ``dx``);
    :meth:`pad` fills ghost cells from the neighbours (inside a ``shard_map`` over ``names``).
    """

    def __init__(self, grid: Grid, names: tuple, counts: tuple):
        self.global_grid, self.names, self.counts = grid, names, counts
        shape = tuple(n // k for n, k in zip(grid.shape, counts))
        upper = tuple(lo + (hi - lo) * m / n for lo, hi, m, n in zip(grid.lower, grid.upper, shape, grid.shape))
        self.local = Grid(grid.lower, upper, shape, grid.boundaries, grid.axis_names)

    def __getattr__(self, name):
        return getattr(self.local, name)

    @property
    def dx(self) -> tuple[float, ...]:
        return self.global_grid.dx

    def pad(self, u, width: int, axis: int = 0, parity: int = 1, field_axis_offset: int = 0, t=0.0):
        """Ghost cells on both ends of ``axis``: neighbours' edge cells, the boundary condition at the ends."""
        name, k = self.names[axis], self.counts[axis]
        if name is None or k == 1:
            return self.local.pad(u, width, axis, parity, field_axis_offset, t)
        ax = axis + field_axis_offset
        n = u.shape[ax]
        if width > n:
            raise QShockInputError(f"grid axis {self.axis_names[axis]!r}: blocks of {n} cells are narrower "
                                   f"than the {width} ghost cells of the stencil; use fewer devices")
        periodic = self.global_grid.boundaries[axis].kind == "periodic"
        up = [(i, (i + 1) % k) for i in range(k) if periodic or i + 1 < k]
        down = [(i, (i - 1) % k) for i in range(k) if periodic or i > 0]
        left = lax.ppermute(lax.slice_in_dim(u, n - width, n, axis=ax), name, up)
        right = lax.ppermute(lax.slice_in_dim(u, 0, width, axis=ax), name, down)
        if not periodic:
            own = self.local.pad(u, width, axis, parity, field_axis_offset, t)
            i = lax.axis_index(name)
            left = jnp.where(i == 0, lax.slice_in_dim(own, 0, width, axis=ax), left)
            right = jnp.where(i == k - 1, lax.slice_in_dim(own, n + width, n + 2 * width, axis=ax), right)
        return jnp.concatenate([left, u, right], axis=ax)


def check_shardable(equation, grid: Grid, scheme, method: str, names: tuple, mesh: Mesh, viscous=None) -> None:
    """Refuse (one-line QShockInputError) what a sharded finite-volume solve does not support."""
    if method not in ("ssprk3", "ssprk3-fixed"):
        raise QShockInputError(f"sharded solves support methods ssprk3 and ssprk3-fixed, not {method!r}")
    if equation.manifold is not None:
        raise QShockInputError("sharded solves need a flat grid; charts (a manifold) are not supported")
    if isinstance(equation, HamiltonJacobi):
        if not (equation.is_default_hamiltonian or equation.separable_coefficients is not None):
            raise QShockInputError("sharded HJ solves need the default or a separable Hamiltonian")
        if scheme.hj_flux(separable=True) == "lf":
            raise QShockInputError("sharded HJ solves do not support the global lf flux; use llf or godunov")
    for a, b in enumerate(grid.boundaries):
        if callable(b.value) or "pole" in (b.kind, b.upper):
            raise QShockInputError(f"sharded solves do not support the {b.kind} boundary of axis "
                                   f"{grid.axis_names[a]!r} (callable data or a pole)")
    ng = ghost_width(equation, scheme, viscous)
    need = max(ng, 2 * ng - 1, 3)
    for a, name in enumerate(names):
        m = grid.shape[a] // (mesh.shape[name] if name is not None else 1)
        if m < need:
            raise QShockInputError(f"grid axis {grid.axis_names[a]!r} split in blocks of {m} cells; the stencil "
                                   f"needs at least {need} per device")


def _global_max(x, axes):
    return lax.pmax(jnp.max(x), axes) if axes else jnp.max(x)


def global_max_dt(equation, hgrid: HaloGrid, scheme, dtype, nu=None):
    r"""The stable step at CFL 1 of the whole grid from one block (same arithmetic as
    :func:`solver.kernels.build_rhs`'s ``max_dt``; the maxima made global with ``pmax``)."""
    axes = tuple(n for n in hgrid.names if n is not None)
    viscous, nu = runtime_viscosity(equation, nu, dtype)
    dx, d = hgrid.dx, hgrid.ndim
    cvis = VISCOUS_STABILITY[scheme.viscous_order]
    if isinstance(equation, Burgers) and d == 1:
        def max_dt(u):
            return 1.0 / (_global_max(jnp.abs(u), axes) / dx[0] + nu / (cvis * dx[0] ** 2) + 1e-300)
        return max_dt
    if isinstance(equation, Burgers):
        def max_dt(v):
            adv = sum(_global_max(jnp.abs(v[a]), axes) / dx[a] for a in range(d))
            vis = sum(nu / (cvis * h * h) for h in dx)
            return 1.0 / (adv + vis + 1e-300)
        return max_dt
    coeffs = jnp.ones((d,), dtype) if equation.is_default_hamiltonian else \
        jnp.asarray(equation.separable_coefficients, dtype)
    cfull = coeffs.reshape((d,) + (1,) * d)
    derivatives = _hj_derivatives(hgrid, scheme.hj_derivative(), ghost_width(equation, scheme, viscous))
    visc_rate = sum(nu / (cvis * h * h) for h in dx)

    def max_dt(u):
        pm, pp = derivatives(u, 0.0)
        local = jnp.max((jnp.maximum(jnp.abs(pm), jnp.abs(pp)) * cfull).reshape(d, -1), axis=1)
        alpha = lax.pmax(local, axes) if axes else local
        return 1.0 / (sum_components(alpha / jnp.asarray(dx, dtype)) + visc_rate + 1e-300)
    return max_dt


def _field_spec(equation, grid: Grid, names: tuple) -> P:
    lead = (None,) if isinstance(equation, Burgers) and grid.ndim > 1 and equation.manifold is None else ()
    return P(*lead, *names)


def _dedup(progress):
    """Every device calls the progress callback; report each ``(t, n)`` once."""
    if progress is None:
        return None
    last = []

    def report(t, n):
        key = (float(t), int(n))
        if not last or last[-1] != key:
            last[:] = [key]
            progress(t, n)
    return report


def sharded_stepper(equation, grid: Grid, ts, mesh, sch, opt, method: str, dtype, nu=None):
    """``(run, discretisation)`` like :func:`solver.stepping.build_stepper`, on a device mesh.

    ``run(u0) -> (us, n_steps, status, t_bad, i_bad)`` takes and returns global arrays (laid out
    over ``mesh``); inside, each device steps its block (module docstring).
    """
    from .stepping import INTEGRATORS, first_failure  # stepping imports this module lazily

    mesh, names = as_mesh(mesh, grid)
    check_shardable(equation, grid, sch, method, names, mesh, viscous=None if nu is None else True)
    counts = tuple(mesh.shape[n] if n is not None else 1 for n in names)
    hgrid = HaloGrid(grid, names, counts)
    local = build_rhs(equation, hgrid, sch, dtype, nu=nu)
    disc = build_rhs(equation, grid, sch, dtype, nu=nu)
    axes = tuple(n for n in names if n is not None)

    def all_finite(u):
        return lax.psum(jnp.sum(~jnp.isfinite(u)), axes) == 0

    opt = opt._replace(progress=_dedup(opt.progress))
    ts = jnp.asarray(ts, dtype)
    block = INTEGRATORS[method](local.rhs, global_max_dt(equation, hgrid, sch, dtype, nu), ts, opt,
                                all_finite=all_finite)
    spec = _field_spec(equation, grid, names)

    def body(u0):
        us, n, status, t, _ = block(u0)
        return us, n, status, t

    mapped = jax.shard_map(body, mesh=mesh, in_specs=(spec,), out_specs=(P(None, *spec), P(), P(), P()),
                           check_vma=False)

    grad_spec = P(None, *names) if isinstance(equation, HamiltonJacobi) and grid.ndim > 1 else P(*names)
    gradient = jax.shard_map(local.gradient, mesh=mesh, in_specs=(spec,), out_specs=grad_spec, check_vma=False)
    disc = disc._replace(gradient=gradient)

    def run(u0):
        us, n, status, t = mapped(u0)
        if method == "ssprk3-fixed":
            ok, t_prev, _ = first_failure(us, ts)
            status = jnp.where(ok, 0, 1).astype(jnp.int32)
            t = jnp.where(ok, ts[-1], t_prev)
        ibad = jnp.argmin(jnp.isfinite(us[-1]).ravel()).astype(jnp.int32)
        return us, n, status, t, ibad
    return run, disc, NamedSharding(mesh, spec)


def spectral_mesh(mesh, grid: Grid) -> tuple[Mesh, str, int]:
    """``(mesh, axis name, devices)`` of a slab-distributed spectral solve: the first mesh axis
    splits the first grid axis (:class:`solver.spectral.fourier.SlabTransforms`)."""
    if not isinstance(mesh, Mesh):
        mesh = device_mesh(mesh)
    name = mesh.axis_names[0]
    if grid.ndim < 2:
        raise QShockInputError("sharded spectral solves split the first axis of a 2-D or 3-D torus; "
                               "solve a 1-D spectral grid on one device")
    return mesh, name, mesh.shape[name]
