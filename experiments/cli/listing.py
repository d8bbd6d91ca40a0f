"""``qshock list manifolds|charts|schemes|fluxes|studies``: what the names on the command line can be.

One line per entry, read from the registries themselves (``qshock.manifolds.MANIFOLD_CHARTS``,
``qshock.solver.schemes``, the study registry), so the list cannot drift from the code.
"""

from __future__ import annotations

import dataclasses

__all__ = ["run", "WHAT", "lines", "studies_help"]

WHAT = ("manifolds", "charts", "schemes", "fluxes", "studies")

SCHEME_TEXT = {
    "godunov": "first order (piecewise constant; Godunov flux / upwind HJ derivatives)",
    "muscl": "second order MUSCL (--limiter minmod|mc|vanleer; ENO2 for HJ)",
    "weno5": "fifth-order WENO-JS (default)",
    "wenoz": "fifth-order WENO-Z",
    "spectral": "pseudo-spectral: Fourier on periodic boxes (ETDRK4), spherical harmonics on S2",
}
FLUX_TEXT = {
    ("burgers", "godunov"): "exact Riemann solver (entropy solution)",
    ("burgers", "eo"): "Engquist-Osher",
    ("burgers", "llf"): "local Lax-Friedrichs (Rusanov)",
    ("burgers", "roe"): "Roe with entropy fix",
    ("hj", "godunov"): "Godunov numerical Hamiltonian (separable convex H)",
    ("hj", "lf"): "global Lax-Friedrichs (alpha maximised over the grid)",
    ("hj", "llf"): "local Lax-Friedrichs (alpha per cell)",
}


def _manifold_lines() -> list[str]:
    from qshock.manifolds import MANIFOLD_CHARTS, make_manifold

    out = []
    for name, charts in MANIFOLD_CHARTS.items():
        try:
            doc = (type(make_manifold(name)).__doc__ or "").strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - a listing never fails on one entry
            doc = ""
        out.append(f"{name:12s} charts: {', '.join(charts):36s} {doc}")
    return out


def _chart_lines() -> list[str]:
    from qshock.manifolds import MANIFOLD_CHARTS, make_manifold

    out = []
    for name, charts in MANIFOLD_CHARTS.items():
        for chart in charts:
            try:
                coords = ", ".join(make_manifold(name, chart).coordinate_names)
            except Exception as e:  # noqa: BLE001
                coords = f"(needs --dim: {e})".splitlines()[0][:60]
            out.append(f"{name + '/' + chart:26s} coordinates: {coords}")
    return out


def _scheme_lines() -> list[str]:
    from qshock.solver.schemes import CFL_MAX, SCHEME_NAMES

    return [f"{s:9s} CFL <= {CFL_MAX.get(s, 1.0):g}  {SCHEME_TEXT.get(s, '')}" for s in SCHEME_NAMES]


def _flux_lines() -> list[str]:
    from qshock.solver.schemes import BURGERS_FLUXES, HJ_FLUXES

    return ([f"burgers {f:8s} {FLUX_TEXT.get(('burgers', f), '')}" for f in BURGERS_FLUXES]
            + [f"hj      {f:8s} {FLUX_TEXT.get(('hj', f), '')}" for f in HJ_FLUXES])


def _study_lines(params: bool = False) -> list[str]:
    from qshock.experiments.studies.driver import STUDIES, study_module

    out = []
    for name in STUDIES:
        mod = study_module(name)
        doc = (mod.__doc__ or "").strip().splitlines()[0].replace("``", "")
        out.append(f"{name:18s} {doc}")
        if params:
            out.append("    parameters: " + ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(mod.Config)))
    return out


def lines(what: str) -> list[str]:
    """The listing of ``what`` (one of :data:`WHAT`), one line per entry."""
    return {"manifolds": _manifold_lines, "charts": _chart_lines, "schemes": _scheme_lines,
            "fluxes": _flux_lines, "studies": _study_lines}[what]()


def studies_help() -> str:
    """The epilog of ``qshock experiment --help``: every study and its parameters (TOML keys)."""
    return "studies (parameters are the keys of --config FILE.toml):\n" + "\n".join(
        "  " + ln for ln in _study_lines(params=True))


def run(args) -> int:
    for ln in lines(args.what):
        print(ln)
    return 0
