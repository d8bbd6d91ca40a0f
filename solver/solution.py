"""The result of a solve: times, fields, grid and metadata, with NetCDF output."""

from __future__ import annotations

import os
import tempfile
from typing import Any, Optional

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .grid import Grid

__all__ = ["Solution", "atomic_write_netcdf"]


class Solution(eqx.Module):
    """Snapshots of a solve.

    Attributes:
        t: output times, shape ``(nt,)``.
        u: field at the output times, shape ``(nt, *grid.shape)`` (N-D Burgers:
            ``(nt, d, *grid.shape)``).
        grid: the :class:`~solver.grid.Grid`.
        p: for HJ, the gradient ``∇u`` (``(nt, d, *shape)``; 1-D: ``(nt, *shape)``),
            otherwise ``None``.
        n_steps: number of time steps taken in total.
        metadata: plain-Python dictionary (equation, scheme, flux, nu, cfl, ...).
        coords: optional ``{axis_name: 1-D array}`` of the true node coordinates when they
            are not the grid's cell centres (e.g. Gauss–Legendre θ nodes of a spectral solve).
    """

    t: jnp.ndarray
    u: jnp.ndarray
    grid: Grid = eqx.field(static=True)
    p: Optional[jnp.ndarray] = None
    n_steps: Any = 0
    metadata: dict = eqx.field(static=True, default_factory=dict)
    coords: Optional[dict] = eqx.field(static=True, default=None)

    def at(self, i: int) -> jnp.ndarray:
        """Field at output index ``i``."""
        return self.u[i]

    def to_dataset(self, attrs: Optional[dict] = None):
        """Convert to an ``xarray.Dataset`` with coordinate ``t`` and the axis names."""
        import xarray as xr

        g = self.grid
        coords = {"t": np.asarray(self.t)}
        for a, name in enumerate(g.axis_names):
            override = (self.coords or {}).get(name)
            coords[name] = np.asarray(override if override is not None else g.centres(a))
        data_vars = {}
        u = np.asarray(self.u)
        if u.ndim == g.ndim + 1:
            data_vars["u"] = (("t", *g.axis_names), u)
        else:
            data_vars["u"] = (("t", "component", *g.axis_names), u)
        if self.p is not None:
            p = np.asarray(self.p)
            dims = ("t", *g.axis_names) if p.ndim == g.ndim + 1 else ("t", "component", *g.axis_names)
            data_vars["p"] = (dims, p)
        meta = {k: _attr(v) for k, v in {**self.metadata, "n_steps": int(np.asarray(self.n_steps))}.items()}
        if attrs:
            meta.update({k: _attr(v) for k, v in attrs.items()})
        return xr.Dataset(data_vars, coords=coords, attrs=meta)

    def to_netcdf(self, path: str, attrs: Optional[dict] = None) -> str:
        """Write to NetCDF atomically (temporary file in the same folder, then rename)."""
        return atomic_write_netcdf(self.to_dataset(attrs), path)


def _attr(v):
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, float, str, np.integer, np.floating)):
        return v
    return str(v)


def atomic_write_netcdf(ds, path: str) -> str:
    """Write an xarray Dataset to ``path`` through a temporary file and ``os.replace``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".nc", dir=folder)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
