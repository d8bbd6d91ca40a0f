"""From command-line flags (and an optional TOML config) to a solver problem.

Shared by ``qshock solve`` and ``qshock shocks``: parses the domain, grid, boundary conditions,
initial-condition expression (in the chart's coordinate names), equation, scheme and output
times, validating each and raising :class:`solver.errors.QShockInputError` with a message that
names the flag at fault.
"""

from __future__ import annotations

import argparse
import math
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from qshock.errors import QShockInputError

__all__ = ["add_problem_arguments", "build_problem", "Problem", "apply_config"]

EQUATIONS = ("burgers", "hj")
DTYPES = ("float64", "float32")

# flag name -> default (None means "required unless given by config or chart")
_PROBLEM_DEFAULTS = {
    "equation": None, "manifold": None, "chart": None, "domain": None, "n": None, "bc": None,
    "ic": None, "nu": 0.0, "t1": None, "scheme": "weno5", "flux": None, "cfl": 0.5, "dtype": "float64",
    "save_every": None, "times": None, "hamiltonian": None, "limiter": "mc", "method": "ssprk3",
    "diffusion_order": None, "dim": None, "grid": None,
}


def add_problem_arguments(p: argparse.ArgumentParser) -> None:
    """Add the problem flags of docs/guide/cli.md (``solve`` and ``shocks``) to ``p``."""
    p.add_argument("--config", metavar="FILE.toml", help="TOML file with any of these flags as keys (flags win)")
    p.add_argument("--equation", help="burgers or hj")
    p.add_argument("--manifold", help="euclidean (default), sphere, torus, circle, radial, ...")
    p.add_argument("--chart", help="chart of the manifold (sphere: spherical or stereographic)")
    p.add_argument("--dim", type=int, help="manifold dimension where the name leaves it open")
    p.add_argument("--domain", metavar="LO:HI[,LO:HI...]", help="box per axis; expressions allowed (0:2*pi)")
    p.add_argument("--n", metavar="N[,N...]", help="cells per axis")
    p.add_argument("--bc", help="periodic|reflect|outflow|dirichlet (one, or one per axis, comma-separated)")
    p.add_argument("--ic", metavar="EXPR", help="initial condition in the coordinate names, e.g. 'sin(x)'")
    p.add_argument("--hamiltonian", metavar="EXPR",
                   help="H in the coordinates and p1..pd (or px, py / ptheta, pphi), e.g. '0.5*(px+1)**2'")
    p.add_argument("--nu", type=str, help="viscosity >= 0 (default 0)")
    p.add_argument("--t1", type=str, help="final time")
    p.add_argument("--scheme", help="godunov|muscl|weno5|wenoz|spectral (default weno5)")
    p.add_argument("--flux", help="Burgers: godunov|eo|llf|roe; HJ: godunov|lf|llf")
    p.add_argument("--limiter", help="MUSCL limiter: minmod|mc|vanleer (default mc)")
    p.add_argument("--method", help="ssprk3 (default, CFL-adaptive) | ssprk3-fixed | diffrax | imex; spectral S^2: "
                                    "auto | cole-hopf | etdrk4")
    p.add_argument("--diffusion-order", dest="diffusion_order", type=int, help="2 or 4")
    p.add_argument("--grid", help="spectral S^2 latitudes: fejer (default, equiangular = cell centres) or gauss "
                                  "(Gauss-Legendre); any --n NLAT,NLON with NLON >= 2L-1, e.g. --n 48,96")
    p.add_argument("--cfl", type=str, help="CFL number in (0, 1] (default 0.5)")
    p.add_argument("--dtype", help="float64 (default) or float32")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--save-every", dest="save_every", type=str, metavar="DT", help="output interval")
    g.add_argument("--times", metavar="T1,T2,...", help="output times")


def apply_config(args: argparse.Namespace) -> argparse.Namespace:
    """Fill flags not given on the command line from ``--config`` and then from defaults."""
    cfg: dict[str, Any] = {}
    if getattr(args, "config", None):
        path = args.config
        if not os.path.isfile(path):
            raise QShockInputError(f"--config: no such file {path!r}")
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise QShockInputError(f"--config {path}: invalid TOML ({exc})") from None
        raw = raw.get("problem", raw)
        for k, v in raw.items():
            key = k.replace("-", "_")
            if key not in _PROBLEM_DEFAULTS and key not in ("out", "json"):
                raise QShockInputError(f"--config {path}: unknown key {k!r}")
            cfg[key] = v
    for key, default in _PROBLEM_DEFAULTS.items():
        if getattr(args, key, None) is None:
            setattr(args, key, cfg.get(key, default))
    if getattr(args, "out", None) is None and "out" in cfg:
        if not isinstance(cfg["out"], str):
            raise QShockInputError(f"--config {args.config}: out must be a file name in quotes, got {cfg['out']!r}")
        args.out = cfg["out"]
    return args


def _number(flag: str, text, *, positive=False, nonneg=False) -> float:
    from qshock.experiments.cli.expr import evaluate_constant

    if isinstance(text, (int, float)) and not isinstance(text, bool):
        v = float(text)
    else:
        try:
            v = float(evaluate_constant(str(text)))
        except QShockInputError as exc:
            raise QShockInputError(f"{flag}: {exc}") from None
    if not math.isfinite(v):
        raise QShockInputError(f"{flag} must be finite, got {text!r}")
    if positive and not v > 0:
        raise QShockInputError(f"{flag} must be > 0, got {v}")
    if nonneg and v < 0:
        raise QShockInputError(f"{flag} must be >= 0, got {v}")
    return v


def _split_list(text) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(t) for t in text]
    return [t.strip() for t in str(text).split(",") if t.strip() != ""]


def parse_domain(text) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``'0:2*pi,-1:1'`` -> ``((0, -1), (2π, 1))``."""
    lo, hi = [], []
    for part in _split_list(text):
        if part.count(":") != 1:
            raise QShockInputError(f"--domain: expected LO:HI per axis, got {part!r}")
        a, b = part.split(":")
        lo.append(_number("--domain", a))
        hi.append(_number("--domain", b))
    if not lo:
        raise QShockInputError("--domain is empty")
    for a, b in zip(lo, hi):
        if not b > a:
            raise QShockInputError(f"--domain: need LO < HI, got {a}:{b}")
    return tuple(lo), tuple(hi)


def parse_counts(text, ndim: int) -> tuple[int, ...]:
    parts = _split_list(text) if not isinstance(text, int) else [str(text)]
    try:
        ns = tuple(int(p) for p in parts)
    except ValueError:
        raise QShockInputError(f"--n: expected integers N[,N...], got {text!r}") from None
    if len(ns) == 1 and ndim > 1:
        ns = ns * ndim
    if len(ns) != ndim:
        raise QShockInputError(f"--n gives {len(ns)} sizes but the domain has {ndim} axes")
    for n in ns:
        if n < 1:
            raise QShockInputError(f"--n: cell counts must be positive, got {n}")
    return ns


def _box_edges(lower, upper, shape) -> list[np.ndarray]:
    """Cell faces per axis of the box ``[lower, upper]`` with ``shape`` cells."""
    return [np.linspace(lo, hi, n + 1) for lo, hi, n in zip(lower, upper, shape)]


def _centres(lower, upper, shape) -> list[np.ndarray]:
    """Coordinate mesh (``indexing='ij'``) of the cell centres ``lo + (i + ½)Δx``."""
    return np.meshgrid(*[lo + (np.arange(n) + 0.5) * (hi - lo) / n for lo, hi, n in zip(lower, upper, shape)],
                       indexing="ij")


def _initial_data(eq_name, scheme, ic_fn, lower, upper, shape, sqrt_det) -> np.ndarray:
    """Initial unknowns per docs/conventions.md.

    Burgers (finite volume): √G-weighted cell averages by 3-point Gauss–Legendre per axis
    (N-D: of each component of ``v0 = ∇u0``). HJ, and every pseudo-spectral solve: point values
    at the cell centres.
    """
    from qshock.solver.exact import cell_average

    d = len(shape)
    finite_volume = scheme != "spectral"

    def values(fn, weight=None):
        if finite_volume:
            return np.asarray(cell_average(fn, _box_edges(lower, upper, shape), n_gauss=3, sqrt_det=weight))
        return np.broadcast_to(np.asarray(fn(*_centres(lower, upper, shape)), dtype=float), tuple(shape)).copy()

    if eq_name == "burgers" and d > 1:
        import jax

        def comp(a):  # on full (broadcast) point arrays: a broadcast axis would sum the other axes' points in
            def v(*xs):
                return jax.grad(lambda *s: ic_fn(*s).sum(), argnums=a)(*jax.numpy.broadcast_arrays(*xs))
            return v
        return np.stack([values(comp(a)) for a in range(d)])
    if eq_name == "burgers":
        return values(lambda *xs: ic_fn(*xs), sqrt_det)
    return np.broadcast_to(np.asarray(ic_fn(*_centres(lower, upper, shape)), dtype=float), tuple(shape)).copy()


@dataclass
class Problem:
    """A fully specified solve: everything :func:`solver.stepping.solve` needs, plus provenance."""

    equation: Any
    grid: Any
    u0: np.ndarray
    t1: float
    times: np.ndarray
    scheme: str
    flux: Optional[str]
    limiter: str
    cfl: float
    method: str
    dtype: str
    diffusion_order: Optional[int]
    ic_text: str
    ic_fn: Any = None
    manifold: Any = None
    extra: dict = field(default_factory=dict)
    devices: Optional[int] = None

    def _solve_sphere_spectral(self):
        from qshock.manifolds import Sphere

        if not (isinstance(self.manifold, Sphere) and self.manifold.chart_name == "spherical"
                and self.grid.ndim == 2):
            raise QShockInputError("--scheme spectral on a manifold is available for the sphere S^2 in the "
                                   "spherical chart only")
        return _sphere_spectral(self)

    def solve(self, max_steps: int = 10_000_000, progress=None):
        import jax.numpy as jnp

        from qshock.solver.stepping import solve

        if self.scheme == "spectral" and self.manifold is not None:
            return self._solve_sphere_spectral()
        return solve(self.equation, self.grid, self.u0, self.t1, scheme=self.scheme, flux=self.flux,
                     limiter=self.limiter, cfl=self.cfl, save_at=self.times, method=self.method,
                     dtype=jnp.float32 if self.dtype == "float32" else jnp.float64,
                     diffusion_order=self.diffusion_order, max_steps=max_steps, progress=progress,
                     mesh=self.devices if (self.devices or 1) > 1 else None)


def _sphere_spectral(prob: "Problem"):
    """S² by spherical harmonics on an ``nlat × nlon`` grid (``--grid fejer``: nodes = cell centres;
    ``gauss``: Gauss–Legendre latitudes, written as the NetCDF coordinate); ``L`` from ``nlat``.
    ``--method``: Cole–Hopf (default H), ETDRK4 (any ``--hamiltonian``), or auto (the default)."""
    from qshock.solver.spectral.sphere_etdrk4 import SPHERE_METHODS, solve_sphere_spectral

    sampling = prob.extra.get("grid") or "fejer"
    return solve_sphere_spectral(prob.equation, lambda th, ph: prob.ic_fn(th, ph), *prob.grid.shape, prob.t1,
                                 save_at=prob.times, sampling=sampling,
                                 method=prob.method if prob.method in SPHERE_METHODS else "auto")


def _sphere_grid(grid, scheme, manifold, shape):
    """Validate ``--grid`` (spectral solves on S² only) and the S² grid size; return the sampling or None."""
    from qshock.solver.spectral import SAMPLINGS, sphere_band_limit

    sphere = scheme == "spectral" and manifold is not None and getattr(manifold, "name", None) == "sphere"
    if grid is not None and str(grid).lower() not in SAMPLINGS:
        raise QShockInputError(f"unknown --grid {grid!r}; expected gauss or fejer")
    if grid is not None and not sphere:
        raise QShockInputError("--grid applies to --scheme spectral on --manifold sphere only")
    if sphere and len(shape) == 2:
        try:
            sphere_band_limit(shape[0], shape[1], grid or "fejer")
        except QShockInputError as exc:
            raise QShockInputError(f"--n {shape[0]},{shape[1]} --grid {grid or 'fejer'}: {exc}") from None
    return None if grid is None else str(grid).lower()


def _chart_info(args):
    """Manifold (or None) plus coordinate names, domain, periodic axes and default boundaries."""
    name = (args.manifold or "euclidean").lower()
    if name in ("euclidean", "flat", "none"):
        if args.chart not in (None, "cartesian", "euclidean"):
            raise QShockInputError(f"--chart {args.chart!r} does not exist on the flat domain (use none or cartesian)")
        return None, None, None, None, None, None
    from qshock.solver.charts import chart_setup

    return chart_setup(name, args.chart, args.dim)


def _merge_bc(chart_bc, user: str):
    """Apply the user's --bc to the open faces of a chart axis only (a name when both faces are open)."""
    from qshock.solver.grid import Boundary

    if chart_bc.kind == "periodic":
        return chart_bc
    fixed = ("pole", "reflect")
    lo = chart_bc.kind if chart_bc.kind in fixed else user
    hi_chart = chart_bc.upper or chart_bc.kind
    hi = hi_chart if hi_chart in fixed else user
    if lo == hi == user:
        return user
    if user in ("periodic", "dirichlet"):
        raise QShockInputError(f"--bc {user} cannot be used on a chart axis with a singular or wall face")
    return Boundary(lo, partner=chart_bc.partner, upper=hi if hi != lo else None, flip=chart_bc.flip)


def _required(args: argparse.Namespace) -> tuple[float, float, float]:
    """Check the required flags and the scheme; returns (t1, nu, cfl)."""
    from qshock.solver.schemes import Scheme

    if args.equation is None:
        raise QShockInputError("--equation is required (burgers or hj)")
    if args.equation not in EQUATIONS:
        raise QShockInputError(f"unknown --equation {args.equation!r}; expected one of {', '.join(EQUATIONS)}")
    if args.ic is None:
        raise QShockInputError("--ic is required (an expression in the coordinates, e.g. 'sin(x)')")
    if args.t1 is None:
        raise QShockInputError("--t1 is required")
    t1 = _number("--t1", args.t1, positive=True)
    nu = _number("--nu", args.nu, nonneg=True)
    cfl = _number("--cfl", args.cfl)
    if args.dtype not in DTYPES:
        raise QShockInputError(f"unknown --dtype {args.dtype!r}; expected float64 or float32")
    Scheme(args.scheme, args.flux, args.limiter, args.diffusion_order).check_cfl(cfl)  # validates names
    from qshock.solver.spectral.sphere_etdrk4 import SPHERE_METHODS
    from qshock.solver.stepping import METHODS

    sphere = args.scheme == "spectral" and args.manifold is not None
    if args.method not in METHODS and not (sphere and args.method in SPHERE_METHODS):
        extra = f" (spectral S^2: {', '.join(SPHERE_METHODS)})" if sphere else ""
        raise QShockInputError(f"unknown --method {args.method!r}; expected one of {', '.join(METHODS)}{extra}")
    return t1, nu, cfl


def _box(args, manifold, names, chart_domain, chart_bcs, chart_bounds):
    """The box (lower, upper), the axis names and the chart's face treatment inside it."""
    if args.domain is not None:
        lower, upper = parse_domain(args.domain)
    elif chart_domain is not None:
        lower, upper = chart_domain
    elif manifold is not None:
        raise QShockInputError(f"--domain is required: chart coordinates {', '.join(names)} are unbounded "
                               f"({chart_bounds[0]} to {chart_bounds[1]})")
    else:
        raise QShockInputError("--domain is required on a flat domain (e.g. --domain 0:2*pi)")
    d = len(lower)
    if names is None:
        names = ("x", "y", "z")[:d] if d <= 3 else tuple(f"x{a}" for a in range(d))
    elif len(names) != d:
        raise QShockInputError(f"--domain has {d} axes but chart coordinates are {', '.join(names)}")
    if chart_bounds is not None and args.domain is not None:
        for a in range(d):
            lo_b, hi_b = chart_bounds[0][a], chart_bounds[1][a]
            if lower[a] < lo_b - 1e-12 or upper[a] > hi_b + 1e-12:
                raise QShockInputError(
                    f"--domain axis {names[a]!r} [{lower[a]:.6g}, {upper[a]:.6g}] leaves the chart's domain "
                    f"[{lo_b:.6g}, {hi_b:.6g}]")
    if manifold is not None and args.domain is not None:  # chart faces apply only where the box reaches them
        from qshock.solver.charts import chart_boundaries

        chart_bcs = chart_boundaries(manifold, lower=lower, upper=upper)
    return lower, upper, tuple(names), chart_bcs


def _boundaries(args, d: int, chart_bcs, ic_fn) -> list:
    """One :class:`~qshock.solver.grid.Boundary` per axis from ``--bc`` and the chart's faces."""
    from qshock.solver.grid import USER_BOUNDARY_KINDS, Boundary

    if args.bc is None:
        bcs = list(chart_bcs) if chart_bcs is not None else ["periodic"] * d
    else:
        bcs = _split_list(args.bc)
        if len(bcs) == 1:
            bcs = bcs * d
        if len(bcs) != d:
            raise QShockInputError(f"--bc gives {len(bcs)} conditions for {d} axes")
        for b in bcs:
            if b not in USER_BOUNDARY_KINDS:
                raise QShockInputError(f"unknown --bc {b!r}; expected one of {', '.join(USER_BOUNDARY_KINDS)}")
        if chart_bcs is not None:  # periodic, singular and wall faces keep the chart's treatment
            bcs = [_merge_bc(cb, b) for b, cb in zip(bcs, chart_bcs)]

    if "dirichlet" in bcs and args.equation == "burgers" and d > 1:  # the ghost values would be u0, not ∇u0
        raise QShockInputError("--bc dirichlet is not available for --equation burgers in more than one dimension "
                               "(its unknowns are the components of v = grad u0); use outflow, reflect or periodic, "
                               "or --equation hj")

    def wall_values(points, t):
        return ic_fn(*[points[..., a] for a in range(d)])

    out = []
    for b in bcs:
        if isinstance(b, Boundary) and args.scheme == "spectral" and "pole" in (b.kind, b.upper):
            out.append(Boundary("reflect"))  # spectral transforms handle the poles themselves
        elif isinstance(b, Boundary):
            out.append(b)
        elif b == "dirichlet":
            out.append(Boundary("dirichlet", value=wall_values))
        else:
            out.append(Boundary(b))
    return out


def _equation(args, names, nu, manifold):
    """The :class:`Burgers` or :class:`HamiltonJacobi` equation, with ``--hamiltonian`` compiled."""
    from qshock.experiments.cli.expr import compile_expression
    from qshock.solver.equations import Burgers, HamiltonJacobi

    d = len(names)
    hamiltonian = None
    if args.hamiltonian is not None:
        if args.equation != "hj":
            raise QShockInputError("--hamiltonian applies to --equation hj only")
        pnames = tuple(f"p{a + 1}" for a in range(d))
        alias = tuple(f"p{n}" for n in names)
        h_fn = compile_expression(str(args.hamiltonian), names + pnames + alias, option="--hamiltonian")

        def hamiltonian(xp, pp):
            return h_fn(*[xp[a] for a in range(d)], *[pp[a] for a in range(d)], *[pp[a] for a in range(d)])

    if args.equation == "burgers":
        if manifold is not None and d != 1:
            raise QShockInputError("--equation burgers on a manifold is solved in 1-D charts only; use --equation hj")
        return Burgers(nu=nu, manifold=manifold)
    return HamiltonJacobi(hamiltonian=hamiltonian, nu=nu, manifold=manifold)


def _check_finite(u0, args, names, lower, upper, shape) -> None:
    """QShockInputError naming the first cell where the initial data are NaN or infinite."""
    d = len(shape)
    if np.all(np.isfinite(u0)):
        return
    bad = np.argwhere(~np.isfinite(u0.reshape(-1, *shape)[0] if u0.ndim > d else u0))[0]
    where = ", ".join(f"{names[a]}={float(lower[a] + (bad[a] + 0.5) * (upper[a] - lower[a]) / shape[a]):.6g}"
                      for a in range(d))
    raise QShockInputError(f"--ic {args.ic!r} is NaN or infinite on the grid (first at {where})")


def _output_times(args, t1: float) -> np.ndarray:
    """The output times from ``--times`` or ``--save-every`` (always including 0 and t1)."""
    if args.times is not None and args.save_every is not None:
        raise QShockInputError("give either --times or --save-every, not both")
    if args.times is not None:
        times = np.array([_number("--times", t) for t in _split_list(args.times)])
        if times.size == 0:
            raise QShockInputError(f"--times {args.times!r} gives no time; list output times T1,T2,...")
        if np.any(times < 0) or np.any(times > t1 * (1 + 1e-12)):
            raise QShockInputError(f"--times must lie in [0, t1={t1}]")
        return np.unique(np.concatenate([[0.0], times, [t1]]))
    if args.save_every is not None:
        dt = _number("--save-every", args.save_every, positive=True)
        k = int(math.floor(t1 / dt + 1e-9))
        if k > 100_000:
            raise QShockInputError(f"--save-every {dt} gives {k} snapshots; use a larger interval")
        times = np.unique(np.concatenate([np.arange(k + 1) * dt, [t1]]))
        return times[times <= t1 * (1 + 1e-12)]
    return np.array([0.0, t1])


def build_problem(args: argparse.Namespace) -> Problem:
    """Validate the flags and build the :class:`Problem` (raises QShockInputError)."""
    from qshock.experiments.cli.expr import compile_expression
    from qshock.experiments.cli.guard import check_memory
    from qshock.solver.grid import Grid

    apply_config(args)
    t1, nu, cfl = _required(args)
    manifold, names, chart_domain, chart_bcs, sqrt_det, chart_bounds = _chart_info(args)
    lower, upper, names, chart_bcs = _box(args, manifold, names, chart_domain, chart_bcs, chart_bounds)
    if args.n is None:
        raise QShockInputError("--n is required (cells per axis, e.g. --n 256 or --n 64,128)")
    shape = parse_counts(args.n, len(lower))
    check_memory(shape, 2, force=bool(getattr(args, "force", False)))  # before evaluating the initial data
    ic_fn = compile_expression(str(args.ic), names, option="--ic")
    grid = Grid(lower, upper, shape, _boundaries(args, len(lower), chart_bcs, ic_fn), names)
    equation = _equation(args, names, nu, manifold)
    u0 = _initial_data(args.equation, args.scheme, ic_fn, lower, upper, shape, sqrt_det)
    _check_finite(u0, args, names, lower, upper, shape)
    times = _output_times(args, t1)
    return Problem(equation=equation, grid=grid, u0=u0, t1=t1, times=times, scheme=args.scheme, flux=args.flux,
                   limiter=args.limiter, cfl=cfl, method=args.method, dtype=args.dtype,
                   diffusion_order=args.diffusion_order, ic_text=str(args.ic), ic_fn=ic_fn, manifold=manifold,
                   extra={"grid": _sphere_grid(args.grid, args.scheme, manifold, shape)},
                   devices=_devices(args, manifold))


def _devices(args, manifold) -> Optional[int]:
    """``--devices N`` checked against the devices JAX has (the host count is set at the CLI entry)."""
    from qshock.experiments.cli.jaxsetup import check_devices

    n = check_devices(getattr(args, "devices", None))
    if n > 1 and manifold is not None:
        raise QShockInputError("--devices needs a flat grid (no --manifold): sharded solves do not cover charts")
    return n
