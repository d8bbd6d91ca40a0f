"""Self-describing NetCDF files of the command line (CF-1.8 attributes).

:func:`solution_dataset` turns a solve into an ``xarray.Dataset`` whose every variable has
``long_name`` and ``units`` (the equations are non-dimensional: ``units = "1"``; angles of a
chart are in ``radian``), whose global attributes say what was solved (``equation``, ``scheme``,
``flux``, ``nu``, ``cfl``, ``n_steps``, ``bc``, ``domain``, ``hamiltonian``, ``manifold``,
``chart``, ``ic``, ``t1``) and where it came from (``Conventions``, ``history``, ``source``,
``qshock_version``, ``command_line``), and whose ``component`` dimension of ``p`` is labelled by
a coordinate holding the axis names.

Spelling: ``manifold`` and ``chart`` are the registry names of ``qshock.manifolds``
(``euclidean`` / ``cartesian`` on a flat box); ``bc`` and ``domain`` are written as the flags
take them, one entry per axis (``periodic,reflect``; ``0:6.28319,-1:1``); boundary kinds that a
chart imposes are named as the solver names them (``pole``, ``reflect``).

For Burgers, ``p`` is the same array as ``u``: the Burgers velocity is the momentum
``p = ∂u/∂x`` of the HJ value function (docs/guide/cli.md, "p for the Burgers form"), so HJ and
Burgers files have the same variables; its ``comment`` attribute says so.
"""

from __future__ import annotations

import datetime

import numpy as np

__all__ = ["solution_dataset", "ANGLES"]

#: chart coordinates measured in radians
ANGLES = ("theta", "phi", "psi", "alpha", "angle")


def _axis_units(name: str) -> str:
    base = name.rstrip("0123456789")
    return "radian" if base in ANGLES or name.startswith("theta") else "1"


def _bc_text(grid) -> str:
    out = []
    for b in grid.boundaries:
        kind = getattr(b, "kind", str(b))
        upper = getattr(b, "upper", None)
        out.append(kind if not upper or upper == kind else f"{kind}/{upper}")
    return ",".join(out)


def _domain_text(grid) -> str:
    lo, hi = np.atleast_1d(grid.lower), np.atleast_1d(grid.upper)
    return ",".join(f"{float(a):.10g}:{float(b):.10g}" for a, b in zip(lo, hi))


def _manifold_names(manifold) -> tuple[str, str]:
    if manifold is None:
        return "euclidean", "cartesian"
    return str(getattr(manifold, "name", type(manifold).__name__)).lower(), str(getattr(manifold, "chart_name", ""))


def _field_names(equation: str) -> tuple[str, str]:
    if equation == "burgers":
        return "Burgers velocity u", "momentum p (identical to u for Burgers)"
    return "value function u of the viscous Hamilton-Jacobi equation", "momentum p = grad u (chart components)"


def solution_dataset(sol, *, ic: str, t1: float, command_line, version: str, hamiltonian=None,
                     manifold=None, extra: dict | None = None):
    """The CF-described ``xarray.Dataset`` of a :class:`~qshock.solver.solution.Solution`."""
    import shlex

    meta_man, meta_chart = _manifold_names(manifold)
    cmd = " ".join(shlex.quote(str(a)) for a in command_line)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = {"ic": ic, "t1": float(t1), "qshock_version": version, "command_line": cmd,
             "bc": _bc_text(sol.grid), "domain": _domain_text(sol.grid),
             "hamiltonian": hamiltonian or "0.5*|p|_g^2", "manifold": meta_man, "chart": meta_chart,
             "partial": 0}
    attrs.update(extra or {})
    ds = sol.to_dataset(attrs)
    ds.attrs.update(Conventions="CF-1.8", title=f"qshock {ds.attrs.get('equation', '')} solution",
                    history=f"{now}: {cmd}", source=f"qshock {version}",
                    manifold=meta_man, chart=meta_chart)
    # non-dimensional time: no CF time axis (that needs "units since epoch"), units "1"
    ds["t"].attrs.update(long_name="time (non-dimensional)", units="1")
    for name in sol.grid.axis_names:  # no CF "axis": X/Y would claim longitude/latitude
        ds[name].attrs.update(long_name=f"chart coordinate {name}", units=_axis_units(name))
    for name in ("t", *sol.grid.axis_names):
        ds[name].encoding["_FillValue"] = None  # CF: coordinate variables carry no fill value
    lu, lp = _field_names(ds.attrs.get("equation", ""))
    ds["u"].attrs.update(long_name=lu, units="1")
    if "component" in ds.dims:
        ds = ds.assign_coords(component=np.array([str(n) for n in sol.grid.axis_names], dtype=object))
        ds["component"].attrs.update(long_name="chart axis of the vector component", units="1")
    if "p" in ds:
        ds["p"].attrs.update(long_name=lp, units="1")
        if ds.attrs.get("equation") == "burgers":
            ds["p"].attrs["comment"] = ("same values as u: the Burgers velocity is the momentum p = du/dx of the "
                                        "HJ value function; kept so HJ and Burgers files have the same variables")
    return ds
