"""Absorbing-state transition of SGD on overlapping spheres (Zhang & Martiniani 2024, docs/theory.md §6).

For each dynamics (SGD at α, batch probability b, step η = kick/(2b); BRO with kick ε = kick),
each kick and each packing fraction φ, ``seeds`` systems of N spheres start from Poisson
positions and run ``ceil(steps_scale / kick)`` steps (:func:`qshock.experiments.lab.particles.simulate`).

Per (dynamics, kick):

* f_a(t) and the long-time active fraction f_∞ (mean of f_a over the last quarter of the run);
* φ_c per seed = midpoint between the largest absorbed φ and the smallest φ still active at the
  end (bisection bracket on the grid); φ_c = mean over seeds, uncertainty
  sqrt(std²/S + Δφ²/12) (seed scatter and grid resolution);
* φ_c(kick → 0) by a weighted linear fit in the kick, compared with 0.64;
* Manna checks at the smallest kick: β from f_∞ ∝ (φ − φ_c)^β for φ_c < φ ≤ φ_c + ``fit_window``,
  ν∥ from the median absorption time τ ∝ (φ_c − φ)^{−ν∥} for φ_c − ``fit_window`` ≤ φ < φ_c;
  least-squares standard errors, plus the spread from moving φ_c by its uncertainty.

A finite run length labels slowly absorbing systems as active, so φ_c is biased low by an amount
that shrinks with ``steps_scale``; a finite N rounds the transition. Both are reported, not hidden.

Stage ``critical`` (one dynamics at ``crit_kick``): per-seed φ_c by bisection for each N of
``crit_sizes`` (every run at one N shares a box, cut-off and capacities, hence one compilation);
ν⊥ from the sample-to-sample width std(φ_c) ∝ N^{−1/(3ν⊥)}; then at the largest N, β and ν∥ from
scans at φ_c ± ``crit_offsets`` (:func:`critical_exponents`). Stage ``hessian``: at φ above φ_c,
SGD and BRO run ``steps_for(hess_kick)`` steps, then gradient descent on the harmonic energy
finds the minimum below that state (and below the Poisson start, the reference); the dense
Hessian spectrum gives λ_max, the zero-mode fraction (translations and rattlers) and the median.

Figures: ``absorbing_fa_phi`` (f_∞ against φ, SGD against BRO), ``absorbing_fa_t`` (f_a(t) at the
smallest kick), ``absorbing_phic`` (φ_c against kick with the extrapolation) and
``absorbing_scaling`` (log–log critical scaling, grid data), ``absorbing_critical`` (finite-size
width, β and ν∥ scans) and ``absorbing_hessian`` (spectra).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures", "phi_c_estimate", "extrapolate_phi_c", "power_fit", "MANNA"]

NAME = "absorbing-state"
ALIASES = ()

#: literature 3-D Manna exponents (docs/theory.md §6)
MANNA = {"beta": 0.84, "nu_perp": 0.59, "nu_par": 1.08}


@dataclass(frozen=True)
class Config(StudyConfig):
    n: int = 1000
    alpha: int = 1
    b: float = 0.75
    dynamics: tuple = ("sgd", "bro")
    kicks: tuple = (0.05, 0.03, 0.02, 0.01)
    phis: tuple = (0.52, 0.54, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62, 0.63, 0.64, 0.66)
    steps_scale: float = 100.0
    records: int = 50
    seeds: int = 3
    skin: float = 0.3
    fit_window: float = 0.06
    dtype: str = "float32"
    #: which parts to run: the φ grid over kicks, the critical scaling at one kick, the Hessians
    stages: tuple = ("grid", "critical", "hessian")
    #: critical scaling (BRO or SGD at ``crit_kick``): per-seed φ_c by bisection in ``crit_bracket``
    #: (``crit_rounds`` halvings, runs of ``crit_steps``) for each N in ``crit_sizes``, then scans
    #: at φ_c ± ``crit_offsets`` for the largest N (runs of ``crit_scan_steps``)
    crit_dynamics: str = "bro"
    crit_kick: float = 0.05
    crit_sizes: tuple = (500, 1000, 2000)
    crit_seeds: int = 12
    crit_bracket: tuple = (0.57, 0.61)
    crit_rounds: int = 7
    crit_steps: int = 10000
    crit_offsets: tuple = (0.005, 0.01, 0.02, 0.04, 0.08)
    crit_scan_steps: int = 20000
    #: Hessians: N = ``hess_n`` at each φ of ``hess_phis`` after ``steps_for(hess_kick)`` steps
    #: of each dynamics (and from the Poisson start), quenched by gradient descent on α = 2
    hess_n: int = 256
    hess_phis: tuple = (0.66, 0.7)
    hess_kick: float = 0.05
    hess_tol: float = 1e-9

    @classmethod
    def quick(cls):
        return cls(n=200, kicks=(0.2, 0.1, 0.05), phis=(0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65),
                   steps_scale=20.0, records=20, fit_window=0.1, crit_kick=0.1, crit_sizes=(150, 300),
                   crit_seeds=4, crit_bracket=(0.45, 0.6), crit_rounds=3, crit_steps=1000,
                   crit_offsets=(0.01, 0.03), crit_scan_steps=1000, hess_n=128, hess_phis=(0.7,), hess_tol=1e-7)

    def validate(self):
        if self.n < 100:
            raise QShockInputError(f"--config: n must be >= 100 (the cell list needs 3 cells per side), got {self.n}")
        if self.alpha not in (1, 2):
            raise QShockInputError(f"--config: alpha must be 1 or 2, got {self.alpha}")
        if not 0 < self.b <= 1:
            raise QShockInputError(f"--config: b must lie in (0, 1], got {self.b}")
        if not self.dynamics or any(d not in ("sgd", "bro") for d in self.dynamics):
            raise QShockInputError(f"--config: dynamics must be a non-empty list of 'sgd'/'bro', got {self.dynamics}")
        if not self.kicks or any(k <= 0 or k >= 1 for k in self.kicks):
            raise QShockInputError(f"--config: kicks must lie in (0, 1), got {self.kicks}")
        if len(self.phis) < 3 or any(not 0 < p < 1 for p in self.phis) or list(self.phis) != sorted(set(self.phis)):
            raise QShockInputError(f"--config: phis must be >= 3 increasing values in (0, 1), got {self.phis}")
        if self.steps_scale <= 0 or self.records < 4 or self.skin <= 0 or self.fit_window <= 0:
            raise QShockInputError("--config: need steps_scale > 0, records >= 4, skin > 0, fit_window > 0")
        self._validate_stages()
        if self.dtype not in ("float32", "float64"):
            raise QShockInputError(f"--config: dtype must be float32 or float64, got {self.dtype!r}")

    def _validate_stages(self):
        if not self.stages or any(s not in ("grid", "critical", "hessian") for s in self.stages):
            raise QShockInputError(f"--config: stages must be a non-empty list of grid/critical/hessian, got {self.stages}")
        lo, hi = (tuple(self.crit_bracket) + (None, None))[:2]
        if self.crit_dynamics not in ("sgd", "bro") or not 0 < self.crit_kick < 1 or len(self.crit_bracket) != 2 \
                or not 0 < lo < hi < 1:
            raise QShockInputError("--config: need crit_dynamics sgd/bro, 0 < crit_kick < 1, crit_bracket = [lo, hi]")
        if len(self.crit_sizes) < 2 or min(self.crit_sizes) < 100 or self.crit_seeds < 2 or self.crit_rounds < 1:
            raise QShockInputError("--config: need >= 2 crit_sizes >= 100, crit_seeds >= 2, crit_rounds >= 1")
        if self.crit_steps % 10 or self.crit_scan_steps % 10 or not self.crit_offsets:
            raise QShockInputError("--config: crit_steps and crit_scan_steps must be multiples of 10; crit_offsets non-empty")
        if self.hess_n < 100 or not self.hess_phis or not 0 < self.hess_kick < 1 or self.hess_tol <= 0:
            raise QShockInputError("--config: need hess_n >= 100, non-empty hess_phis, 0 < hess_kick < 1, hess_tol > 0")

    def steps_for(self, kick: float) -> int:
        """Run length for ``kick``: ceil(steps_scale / kick) rounded up to a multiple of ``records``."""
        r = int(self.records)
        return int(math.ceil(math.ceil(self.steps_scale / kick) / r) * r)


def _item(p, dyn, kick, phi, seeds):
    import time

    from qshock.experiments.lab import particles

    steps = p.steps_for(kick)
    t0 = time.perf_counter()
    r = particles.simulate(int(p.n), [phi] * len(seeds), seeds, steps=steps, record_every=steps // int(p.records),
                           skin=float(p.skin), **_fixed_box(int(p.n), max(p.phis), p.skin), **_sim_kw(p, dyn, kick))
    fa = r["f_a"]
    q = max(1, fa.shape[1] // 4)
    return dict(dynamics=dyn, kick=float(kick), phi=float(phi), seeds=list(seeds), steps=steps,
                f_inf=fa[:, -q:].mean(axis=1), t_absorb=r["t_absorb"], active=(r["t_absorb"] < 0).astype(int),
                wall=time.perf_counter() - t0, steps_done=r["steps_done"], builds=r["builds"],
                series=dict(f_a=fa, record_steps=r["record_steps"], energy=r["energy"]))


def phi_c_estimate(phis, active) -> tuple[float | None, float | None, list]:
    """φ_c from a grid: ``active[s, i]`` (seed s, φ_i, 1 = still active). Per seed, the midpoint
    between the smallest active φ and the largest absorbed φ below it; returns (mean,
    sqrt(std²/S + Δφ²/12) with Δφ the mean bracket width, per-seed values). ``None`` if no seed
    has both an absorbed and an active φ."""
    phis, active = np.asarray(phis, float), np.asarray(active, bool)
    per, widths = [], []
    for row in active:
        on = np.nonzero(row)[0]
        if on.size == 0 or on[0] == 0:
            per.append(None)
            continue
        i = on[0]
        per.append(0.5 * (phis[i - 1] + phis[i]))
        widths.append(phis[i] - phis[i - 1])
    v = np.array([x for x in per if x is not None])
    if v.size == 0:
        return None, None, per
    err = math.sqrt((v.std(ddof=1) ** 2 / v.size if v.size > 1 else 0.0) + np.mean(widths) ** 2 / 12)
    return float(v.mean()), float(err), per


def extrapolate_phi_c(kicks, phic, err) -> dict:
    """Weighted least squares φ_c(k) = φ_0 + a k; returns φ_0, its standard error (scaled by the
    reduced χ² when that exceeds 1), the slope and χ²/dof."""
    k, y, e = (np.asarray(v, float) for v in (kicks, phic, err))
    ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
    k, y, e = k[ok], y[ok], e[ok]
    if k.size < 2:
        return dict(phi0=None, phi0_err=None, slope=None, chi2_dof=None, points=int(k.size))
    A = np.stack([np.ones_like(k), k], 1) / e[:, None]
    coef, *_ = np.linalg.lstsq(A, y / e, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    dof = k.size - 2
    chi2 = float(np.sum(((y - coef[0] - coef[1] * k) / e) ** 2))
    scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
    return dict(phi0=float(coef[0]), phi0_err=float(math.sqrt(cov[0, 0] * scale)), slope=float(coef[1]),
                chi2_dof=chi2 / dof if dof > 0 else None, points=int(k.size))


def power_fit(x, y) -> tuple[float | None, float | None, int]:
    """Slope of log y against log x by least squares: (exponent, standard error, points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    x, y = np.log(x[ok]), np.log(y[ok])
    if x.size < 2:
        return None, None, int(x.size)
    A = np.stack([x, np.ones_like(x)], 1)
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    if x.size < 3:
        return float(coef[0]), None, 2
    s2 = float(np.sum((y - A @ coef) ** 2)) / (x.size - 2)
    return float(coef[0]), float(math.sqrt(s2 * np.linalg.inv(A.T @ A)[0, 0])), int(x.size)


def _exponent(xs, ys, phic, err, side):
    """Power-law exponent in |φ − φ_c| with the fit error and the spread under φ_c ± err."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    fits = [power_fit(side * (xs - c), ys) for c in (phic, phic - err, phic + err)]
    e0, se, npts = fits[0]
    if e0 is None:
        return dict(value=None, err=None, points=npts)
    shifts = [f[0] for f in fits[1:] if f[0] is not None]
    spread = 0.5 * (max(shifts) - min(shifts)) if len(shifts) == 2 else 0.0
    return dict(value=e0, err=math.sqrt((se or 0.0) ** 2 + spread ** 2), fit_err=se, phi_c_spread=spread,
                points=npts)


def _manna(p, its, phic, err):
    """β from f_∞ above φ_c and ν∥ from the absorption time below φ_c (one dynamics, one kick)."""
    w = float(p.fit_window)
    phis = np.array([d["phi"] for d in its])
    finf = np.array([np.mean(d["f_inf"]) for d in its])
    above = (phis > phic) & (phis <= phic + w) & (finf > 0)
    tau = np.array([np.median(d["t_absorb"]) if min(d["t_absorb"]) >= 0 else np.nan for d in its])
    below = (phis < phic) & (phis >= phic - w) & np.isfinite(tau)
    beta = _exponent(phis[above], finf[above], phic, err, +1)
    nu = _exponent(phis[below], tau[below], phic, err, -1)
    if nu["value"] is not None:  # tau ~ (phi_c - phi)^(-nu_par)
        nu["value"] = -nu["value"]
    return dict(beta=beta, nu_par=nu, nu_perp=dict(value=None, err=None, points=0,
                                                    note="needs finite-size scaling over several N; not measured"))


def _group(p, items, dyn, kick):
    its = sorted((d for d in items if d["dynamics"] == dyn and d["kick"] == float(kick)), key=lambda d: d["phi"])
    active = np.array([d["active"] for d in its]).T  # (seeds, phis)
    phic, err, per = phi_c_estimate([d["phi"] for d in its], active)
    return its, phic, err, per


#: the configuration fields a grid item depends on (--resume survives changes to the others)
_GRID_KEYS = ("n", "alpha", "b", "skin", "dtype", "steps_scale", "records")


def _grid(p, seeds, store):
    """One item per (dynamics, kick, φ) holding all seeds; one row per (dynamics, kick)."""
    items = []
    for dyn in p.dynamics:
        for kick in p.kicks:
            for phi in p.phis:
                ip = dict({k: v for k, v in p.params().items() if k in _GRID_KEYS}, dynamics=dyn, kick=float(kick),
                          phi=float(phi), phi_box=max(p.phis), seeds=list(seeds))
                items.append(store.item(f"{dyn}_k{kick:g}_phi{phi:g}", ip, lambda: _item(p, dyn, kick, phi, seeds)))
    rows, groups, summary = [], {}, {"dynamics": {}, "equivalence": [], "manna_reference": MANNA}
    for dyn in p.dynamics:
        for kick in p.kicks:
            its, phic, err, per = _group(p, items, dyn, kick)
            groups[(dyn, kick)] = (its, phic, err)
            rows.append(dict(dynamics=dyn, kick=float(kick), eta=kick / (2 * p.b) if dyn == "sgd" else None,
                             steps=its[0]["steps"], phi_c=phic, phi_c_err=err, phi_c_seeds=per,
                             f_inf=[float(np.mean(d["f_inf"])) for d in its], phis=[d["phi"] for d in its],
                             wall=float(sum(d["wall"] for d in its))))
        ks = [r["kick"] for r in rows if r["dynamics"] == dyn]
        ext = extrapolate_phi_c(ks, [r["phi_c"] if r["phi_c"] is not None else np.nan for r in rows
                                     if r["dynamics"] == dyn], [r["phi_c_err"] or np.nan for r in rows
                                                                if r["dynamics"] == dyn])
        if ext["phi0"] is not None:
            ext["z_vs_0.64"] = (ext["phi0"] - 0.64) / ext["phi0_err"] if ext["phi0_err"] else None
        kmin = min(p.kicks)
        its, phic, err = groups[(dyn, kmin)]
        man = _manna(p, its, phic, err) if phic is not None else {}
        summary["dynamics"][dyn] = dict(extrapolation=ext, manna_kick=float(kmin), manna=man)
    if {"sgd", "bro"} <= set(p.dynamics):
        for kick in p.kicks:
            (a, pa, ea), (b_, pb, eb) = groups[("sgd", kick)], groups[("bro", kick)]
            fd = [abs(float(np.mean(x["f_inf"]) - np.mean(y["f_inf"]))) for x, y in zip(a, b_)]
            dz = None if pa is None or pb is None else (pa - pb) / math.hypot(ea, eb)
            summary["equivalence"].append(dict(kick=float(kick), max_abs_df_inf=max(fd), phi_c_sgd=pa,
                                               phi_c_bro=pb, z=dz))
    return rows, items, summary


def _format_rows(rows):
    for r in rows:
        r["_fmt"] = [r["dynamics"], f"{r['kick']:g}", "-" if r["eta"] is None else f"{r['eta']:.3g}", str(r["steps"]),
                     "-" if r["phi_c"] is None else f"{r['phi_c']:.4f}±{r['phi_c_err']:.4f}",
                     f"{r['f_inf'][-1]:.3f}", f"{r['wall']:.0f}"]
    return ["dynamics", "kick", "eta", "steps", "phi_c", "f_inf(phi_max)", "wall s"]


def run(p, seeds, store, log) -> StudyResult:
    """The stages of ``p.stages``: the φ grid (rows of the table), the critical scaling and the
    Hessians (``summary['critical']``, ``summary['hessian']``; their items carry ``stage``)."""
    rows, items, summary = [], [], {"dynamics": {}, "equivalence": [], "manna_reference": MANNA}
    if "grid" in p.stages:
        rows, items, summary = _grid(p, seeds, store)
    if "critical" in p.stages:
        log(f"absorbing-state: critical scaling at {p.crit_dynamics} kick {p.crit_kick:g}, N = {list(p.crit_sizes)}")
        summary["critical"], more = _critical(p, seeds, store)
        items += more
    if "hessian" in p.stages:
        log(f"absorbing-state: Hessians at N = {p.hess_n}, phi = {list(p.hess_phis)}")
        summary["hessian"], more = _hessian(p, seeds, store)
        items += more
    return StudyResult(_format_rows(rows), rows, items, summary)


def _sim_kw(p, dyn, kick):
    return dict(mode=dyn, eta=kick / (2 * p.b), b=float(p.b), eps=float(kick), alpha=int(p.alpha), dtype=p.dtype)


def _fixed_box(n, phi_hi, skin):
    """One box for every φ ≤ phi_hi (σ ≤ 1), with a fixed cut-off and Poisson-bound capacities,
    so every run at this N shares one compilation."""
    from qshock.experiments.lab import particles

    L = particles.box_side(n, phi_hi)
    cap, k = particles.default_capacities(n, L, 1.0 + skin, 0.0, 0.0)
    return dict(L=L, cutoff=1.0 + skin, cell_capacity=cap, neighbour_capacity=k)


def _bisect(p, n, seeds):
    """Per-seed φ_c at N = ``n``: ``crit_rounds`` halvings of ``crit_bracket``, each a run of
    ``crit_steps`` steps from the seed's Poisson start (active at the end → φ_c below the midpoint)."""
    import time

    from qshock.experiments.lab import particles

    t0 = time.perf_counter()
    lo, hi = np.full(len(seeds), float(p.crit_bracket[0])), np.full(len(seeds), float(p.crit_bracket[1]))
    box, runs = _fixed_box(n, hi[0], p.skin), []
    for _ in range(int(p.crit_rounds)):
        mid = 0.5 * (lo + hi)
        r = particles.simulate(n, mid, seeds, steps=int(p.crit_steps), record_every=int(p.crit_steps) // 10,
                               skin=float(p.skin), **box, **_sim_kw(p, p.crit_dynamics, p.crit_kick))
        act = r["t_absorb"] < 0
        lo, hi = np.where(act, lo, mid), np.where(act, mid, hi)
        runs.append(dict(phi=mid, t_absorb=r["t_absorb"]))
    return dict(stage="critical", kind="bisect", n=n, seeds=list(seeds), phi_c=0.5 * (lo + hi), lo=lo, hi=hi,
                runs=runs, wall=time.perf_counter() - t0)


def _scan(p, n, phi, seeds, phi_box):
    """Runs of ``crit_scan_steps`` at one φ near φ_c: f∞ (mean f_a over the second half) and τ."""
    import time

    from qshock.experiments.lab import particles

    t0, T = time.perf_counter(), int(p.crit_scan_steps)
    r = particles.simulate(n, [phi] * len(seeds), seeds, steps=T, record_every=T // 10, skin=float(p.skin),
                           **_fixed_box(n, phi_box, p.skin), **_sim_kw(p, p.crit_dynamics, p.crit_kick))
    return dict(stage="critical", kind="scan", n=n, phi=float(phi), seeds=list(seeds), f_inf=r["f_a"][:, 5:].mean(1),
                t_absorb=r["t_absorb"], f_a=r["f_a"], record_steps=r["record_steps"], wall=time.perf_counter() - t0)


def _crit_params(p, **kw):
    """The parameters an item of the critical stage depends on (so --resume survives changes to
    the list of sizes, seeds or offsets)."""
    keys = ("crit_dynamics", "crit_kick", "crit_bracket", "b", "alpha", "skin", "dtype")
    return dict({k: v for k, v in p.params().items() if k in keys}, **kw)


def _critical(p, seeds, store):
    """Bisection per N (items of 4 seeds), then scans at φ_c(N_max) ± offsets; the exponents by
    :func:`critical_exponents`."""
    cs = [int(seeds[0]) + i for i in range(int(p.crit_seeds))]
    groups = [cs[i:i + 4] for i in range(0, len(cs), 4)]
    items, fss = [], {}
    for n in p.crit_sizes:
        docs = [store.item(f"crit_n{n}_s{g[0]}", _crit_params(p, n=int(n), seeds=g, rounds=int(p.crit_rounds),
                                                             steps=int(p.crit_steps)),
                           lambda n=int(n), g=g: _bisect(p, n, g)) for g in groups]
        items += docs
        fss[int(n)] = np.concatenate([np.asarray(d["phi_c"], float) for d in docs])
    nmax = max(fss)
    pc = float(np.mean(fss[nmax]))
    offs = sorted(float(o) for o in p.crit_offsets)
    scans = []
    for phi in [pc - o for o in offs[::-1]] + [pc + o for o in offs]:
        box = max(float(p.crit_bracket[1]), phi)  # one compilation for all φ inside the bracket
        scans.append(store.item(f"crit_scan_{phi:.5f}", _crit_params(p, n=nmax, phi=round(phi, 6), seeds=cs[:4],
                                                                     box=box, steps=int(p.crit_scan_steps)),
                                lambda phi=phi, box=box: _scan(p, nmax, phi, cs[:4], box)))
    items += scans
    out = critical_exponents(fss, [(d["phi"], d["f_inf"], d["t_absorb"]) for d in scans],
                             resolution=(p.crit_bracket[1] - p.crit_bracket[0]) / 2 ** int(p.crit_rounds))
    out.update(dynamics=p.crit_dynamics, kick=float(p.crit_kick), steps=int(p.crit_steps),
               scan_steps=int(p.crit_scan_steps), n_scan=nmax)
    return out, items


def critical_exponents(fss: dict, scans: list, resolution: float = 0.0) -> dict:
    """Manna checks from per-seed critical points and scans near φ_c.

    * ``fss[N]``: per-seed φ_c at size N. The sample-to-sample width w(N) = std ∝ N^{−1/(dν⊥)}
      (d = 3; the rounding of the transition by L = N^{1/3}): ν⊥ = −1/(3 s) from the slope s of
      log w against log N, with var(log w) = 1/(2(S − 1)) per size (the sampling error of a
      standard deviation of S values; the bisection resolution adds w² += resolution²/12 to
      nothing: it is reported, not subtracted).
    * ``scans``: (φ, f∞ per seed, τ per seed) at the largest N. φ_c = mean per-seed φ_c there ±
      std/√S; β from f∞ ∝ (φ − φ_c)^β above, ν∥ from the median τ ∝ (φ_c − φ)^{−ν∥} below
      (only φ where every seed was absorbed), errors as in :func:`_exponent`.
    """
    sizes = sorted(fss)
    rows = [dict(n=n, phi_c=float(np.mean(fss[n])), sem=float(np.std(fss[n], ddof=1) / math.sqrt(len(fss[n]))),
                 width=float(np.std(fss[n], ddof=1)), seeds=len(fss[n])) for n in sizes]
    x = np.log(np.array(sizes, float))
    y = np.log(np.array([r["width"] for r in rows]))
    var = np.array([1.0 / (2 * (r["seeds"] - 1)) for r in rows])
    w = 1.0 / var
    xm = np.sum(w * x) / np.sum(w)
    slope = float(np.sum(w * (x - xm) * y) / np.sum(w * (x - xm) ** 2))
    se = float(math.sqrt(1.0 / np.sum(w * (x - xm) ** 2)))
    nu_perp = dict(value=-1.0 / (3 * slope) if slope < 0 else None, err=se / (3 * slope ** 2) if slope < 0 else None,
                   slope=slope, slope_err=se, points=len(sizes))
    big = rows[-1]
    pc, pe = big["phi_c"], big["sem"]
    ph = np.array([s[0] for s in scans], float)
    finf = np.array([float(np.mean(s[1])) for s in scans])
    tau = np.array([float(np.median(s[2])) if min(s[2]) >= 0 else np.nan for s in scans])
    above, below = (ph > pc) & (finf > 0), (ph < pc) & np.isfinite(tau)
    beta = _exponent(ph[above], finf[above], pc, pe, +1)
    nu_par = _exponent(ph[below], tau[below], pc, pe, -1)
    if nu_par["value"] is not None:
        nu_par["value"] = -nu_par["value"]
    return dict(fss=rows, phi_c=pc, phi_c_err=pe, resolution=float(resolution), nu_perp=nu_perp, beta=beta,
                nu_par=nu_par, scan=[dict(phi=float(a), f_inf=float(b), tau=None if not np.isfinite(c) else float(c))
                                     for a, b, c in zip(ph, finf, tau)])


def _hess_item(p, phi, start, seeds):
    """From the Poisson start, or after ``steps_for(hess_kick)`` steps of SGD/BRO at φ: gradient
    descent on the harmonic energy to a minimum, then its Hessian spectrum per seed."""
    import time

    import jax

    from qshock.experiments.lab import particles

    t0, n = time.perf_counter(), int(p.hess_n)
    L = particles.box_side(n, phi)
    if start == "poisson":
        xs = [np.asarray(particles.random_positions(jax.random.PRNGKey(s), n, L)) for s in seeds]
    else:
        steps = p.steps_for(p.hess_kick)
        xs = particles.simulate(n, [phi] * len(seeds), seeds, steps=steps, record_every=steps // 10, skin=float(p.skin),
                                L=L, **_sim_kw(p, start, p.hess_kick))["x"]
    out = dict(stage="hessian", phi=float(phi), start=start, seeds=list(seeds), lambda_max=[], zero_fraction=[],
               lambda_median=[], energy_per_particle=[], contacts=[], rattlers=[], max_force=[], gd_steps=[])
    for x in xs:
        q = particles.quench(np.asarray(x, float), L, 1.0, 2, step=0.15, tol=float(p.hess_tol), max_steps=300000)
        ev = particles.hessian_spectrum(q["x"], L, 1.0, 2)
        d = q["x"][:, None, :] - q["x"][None, :, :]
        r = np.sqrt(np.sum((d - L * np.round(d / L)) ** 2, -1)) + 2.0 * np.eye(n)
        z = np.sum(r < 1.0, 1)
        for key, v in (("lambda_max", ev[-1]), ("zero_fraction", np.mean(ev < 1e-7 * ev[-1])),
                       ("lambda_median", np.median(ev)), ("energy_per_particle", q["energy"] / n),
                       ("contacts", z[z > 0].mean() if (z > 0).any() else 0.0), ("rattlers", np.sum(z == 0)),
                       ("max_force", q["max_force"]), ("gd_steps", q["steps"])):
            out[key].append(float(v))
    out["spectrum_quantiles"] = np.quantile(ev, np.linspace(0, 1, 41)).tolist()
    out["wall"] = time.perf_counter() - t0
    return out


def _hessian(p, seeds, store):
    """SGD vs BRO vs the Poisson start at each φ of ``hess_phis``: mean ± s.e.m. over seeds."""
    items, table = [], []
    q = {k: v for k, v in p.params().items() if k in ("hess_n", "hess_kick", "hess_tol", "b", "alpha", "skin", "dtype",
                                                      "steps_scale", "records")}
    for phi in p.hess_phis:
        for start in ("sgd", "bro", "poisson"):
            d = store.item(f"hess_{start}_phi{phi:g}", dict(q, phi=float(phi), start=start, seeds=list(seeds)),
                           lambda phi=float(phi), start=start: _hess_item(p, phi, start, seeds))
            items.append(d)
            row = dict(phi=float(phi), start=start, seeds=len(d["seeds"]))
            for key in ("lambda_max", "zero_fraction", "lambda_median", "energy_per_particle", "contacts", "rattlers",
                        "max_force"):
                v = np.asarray(d[key], float)
                row[key] = float(v.mean())
                row[key + "_sem"] = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None
            table.append(row)
    return dict(n=int(p.hess_n), kick=float(p.hess_kick), steps=p.steps_for(p.hess_kick), rows=table), items


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """Draw the figures (module docstring) and ``summary.md`` from the results document ``doc``."""
    stem, rows = figure_stem(run_dir), doc["rows"]
    written = _grid_figures(stem, doc, formats) if rows else []
    written += _critical_figure(stem, doc, formats) + _hessian_figure(stem, doc, formats)
    path = os.path.join(run_dir, "summary.md")
    with open(path, "w") as f:
        f.write(summary_markdown(doc))
    return written + [path]


def _grid_items(doc):
    return [d for d in doc["items"] if d.get("stage", "grid") == "grid"]


def _grid_figures(stem, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    rows, items = doc["rows"], _grid_items(doc)
    kicks = sorted({r["kick"] for r in rows})
    written = []
    fig, ax = figure()
    for i, k in enumerate(kicks):
        for r in (r for r in rows if r["kick"] == k):
            ls = "-o" if r["dynamics"] == "sgd" else "--s"
            ax.plot(r["phis"], arr(r["f_inf"]), ls, ms=3, color=COLORS[i % len(COLORS)], lw=1,
                    label=f"{r['dynamics'].upper()} kick {k:g}")
    ax.axvline(0.64, color="k", ls=":", lw=0.8)
    ax.set(xlabel="φ", ylabel="long-time active fraction f∞", title="SGD (solid) vs BRO (dashed)")
    ax.legend(fontsize=7)
    written += save(fig, stem("absorbing_fa_phi"), formats)
    fig, ax = figure()
    kmin = kicks[0]
    phis = sorted({d["phi"] for d in items})
    for d in items:
        if d["kick"] == kmin and d["dynamics"] == rows[0]["dynamics"]:
            s = d["series"]
            col = COLORS[phis.index(d["phi"]) % len(COLORS)]
            for j, fa in enumerate(s["f_a"]):
                ax.plot(s["record_steps"], arr(fa), color=col, lw=0.8, label=f"φ = {d['phi']:g}" if j == 0 else None)
    ax.set(xlabel="step", ylabel="f_a", xscale="log", title=f"{rows[0]['dynamics'].upper()}, kick {kmin:g}")
    ax.legend(fontsize=6, ncol=2)
    written += save(fig, stem("absorbing_fa_t"), formats)
    written += _phic_figure(stem, doc, formats)
    return written + _scaling_figure(stem, doc, formats)


def _pm(v, e, d=4):
    return "–" if v is None else (f"{v:.{d}f}" if e is None else f"{v:.{d}f} ± {e:.{d}f}")


def summary_markdown(doc: dict) -> str:
    """``summary.md``: φ_c per (dynamics, kick), the kick → 0 extrapolation, the SGD–BRO comparison
    and the Manna exponents, all from the results document (the guide quotes this file)."""
    p = doc["params"]
    items_wall = sum(float(d.get("wall", 0.0)) for d in doc["items"])
    out = [f"Stages {', '.join(p['stages'])}; wall time {doc['wall_time']:.0f} s, summed over items (also those "
           f"reused by --resume) {items_wall:.0f} s\n"]
    if doc["rows"]:
        out += _grid_markdown(doc)
    if doc["summary"].get("critical"):
        out += _critical_markdown(doc["summary"]["critical"])
    if doc["summary"].get("hessian"):
        out += _hessian_markdown(doc["summary"]["hessian"])
    return "\n".join(out) + "\n"


def _grid_markdown(doc) -> list:
    p = doc["params"]
    out = [f"N = {p['n']}, α = {p['alpha']}, b = {p['b']}, seeds = {len(doc['seeds'])}, steps = "
           f"⌈{p['steps_scale']:g}/kick⌉, φ grid {p['phis'][0]:g}..{p['phis'][-1]:g} ({len(p['phis'])} values)\n",
           "| dynamics | kick | η | steps | φ_c | f∞ at φ_max |", "|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        eta = "–" if r["eta"] is None else f"{r['eta']:.4g}"
        out.append(f"| {r['dynamics']} | {r['kick']:g} | {eta} | {r['steps']} | {_pm(r['phi_c'], r['phi_c_err'])} | "
                   f"{r['f_inf'][-1]:.3f} |")
    out += ["", "| dynamics | φ_c(kick → 0) | z vs 0.64 | χ²/dof | β (Manna 0.84) | ν∥ (Manna 1.08) | ν⊥ (Manna 0.59) |",
            "|---|---|---|---|---|---|---|"]
    for dyn, s in doc["summary"].get("dynamics", {}).items():
        e, m = s["extrapolation"], s.get("manna", {})
        z = e.get("z_vs_0.64")
        c2 = e.get("chi2_dof")
        ex = {k: m.get(k, {}) for k in ("beta", "nu_par", "nu_perp")}
        fitted = [f"{_pm(v.get('value'), v.get('err'), 2)} ({v.get('points', 0)} pts)" if v.get("value") is not None
                  else "not measured" for v in ex.values()]
        out.append(f"| {dyn} | {_pm(e.get('phi0'), e.get('phi0_err'))} | {'–' if z is None else f'{z:+.1f}'} | "
                   f"{'–' if c2 is None else f'{c2:.2g}'} | " + " | ".join(fitted) + " |")
    if doc["summary"].get("equivalence"):
        out += ["", "| kick | φ_c SGD | φ_c BRO | (SGD − BRO)/σ | max over φ of abs(f∞ SGD − f∞ BRO) |",
                "|---|---|---|---|---|"]
        for q in doc["summary"]["equivalence"]:
            z = "–" if q["z"] is None else f"{q['z']:+.1f}"
            out.append(f"| {q['kick']:g} | {_pm(q['phi_c_sgd'], None)} | {_pm(q['phi_c_bro'], None)} | {z} | "
                       f"{q['max_abs_df_inf']:.3f} |")
    return out


def _phic_figure(stem, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    fig, ax = figure()
    for i, dyn in enumerate(doc["summary"].get("dynamics", {})):
        rs = [r for r in doc["rows"] if r["dynamics"] == dyn and r["phi_c"] is not None]
        ax.errorbar([r["kick"] for r in rs], [r["phi_c"] for r in rs], [r["phi_c_err"] for r in rs], fmt="o",
                    color=COLORS[i], label=dyn.upper(), capsize=2)
        ext = doc["summary"]["dynamics"][dyn]["extrapolation"]
        if ext.get("phi0") is not None and rs:
            kk = np.linspace(0, max(r["kick"] for r in rs), 20)
            ax.plot(kk, ext["phi0"] + ext["slope"] * kk, "-", color=COLORS[i], lw=0.8)
            ax.errorbar([0], [ext["phi0"]], [ext["phi0_err"]], fmt="*", color=COLORS[i], capsize=2)
    ax.axhline(0.64, color="k", ls=":", lw=0.8, label="0.64")
    ax.set(xlabel="kick ε (SGD: η = ε/(2b))", ylabel="φ_c")
    ax.legend()
    return save(fig, stem("absorbing_phic"), formats)


def _scaling_figure(stem, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    fig, (a1, a2) = figure(1, 2)
    for i, (dyn, s) in enumerate(doc["summary"].get("dynamics", {}).items()):
        r = next((r for r in doc["rows"] if r["dynamics"] == dyn and r["kick"] == s["manna_kick"]), None)
        if r is None or r["phi_c"] is None:
            continue
        ph, fi = np.asarray(r["phis"]), arr(r["f_inf"])
        up = (ph > r["phi_c"]) & (fi > 0)
        a1.loglog(ph[up] - r["phi_c"], fi[up], "o", color=COLORS[i], label=dyn.upper())
        its = sorted((d for d in _grid_items(doc) if d["dynamics"] == dyn and d["kick"] == s["manna_kick"]),
                     key=lambda d: d["phi"])
        tau = [(d["phi"], np.median(d["t_absorb"])) for d in its if d["phi"] < r["phi_c"] and min(d["t_absorb"]) >= 0]
        if tau:
            a2.loglog([r["phi_c"] - t[0] for t in tau], [t[1] for t in tau], "o", color=COLORS[i], label=dyn.upper())
    x = np.array([0.005, 0.1])
    a1.loglog(x, 0.5 * (x / 0.1) ** MANNA["beta"], "k:", label="β = 0.84")
    a2.loglog(x, 1e3 * (x / 0.1) ** -MANNA["nu_par"], "k:", label="ν∥ = 1.08")
    a1.set(xlabel="φ − φ_c", ylabel="f∞")
    a2.set(xlabel="φ_c − φ", ylabel="absorption step τ")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    return save(fig, stem("absorbing_scaling"), formats)


def _critical_figure(stem, doc, formats):
    """Finite-size width w(N), f∞ against φ − φ_c and τ against φ_c − φ, with the Manna slopes."""
    from qshock.experiments.lab.plotting import figure, save

    c = doc["summary"].get("critical")
    if not c:
        return []
    fig, (a1, a2, a3) = figure(1, 3, figsize=(11, 3.4))
    ns = np.array([r["n"] for r in c["fss"]], float)
    ws = np.array([r["width"] for r in c["fss"]])
    a1.loglog(ns, ws, "o")
    a1.loglog(ns, ws[0] * (ns / ns[0]) ** (-1 / (3 * MANNA["nu_perp"])), "k:", label="ν⊥ = 0.59")
    a1.set(xlabel="N", ylabel="std of per-seed φ_c")
    sc = [q for q in c["scan"] if q["phi"] > c["phi_c"] and q["f_inf"] > 0]
    if sc:
        x = np.array([q["phi"] - c["phi_c"] for q in sc])
        a2.loglog(x, [q["f_inf"] for q in sc], "o")
        a2.loglog(x, sc[0]["f_inf"] * (x / x[0]) ** MANNA["beta"], "k:", label="β = 0.84")
    below = [q for q in c["scan"] if q["phi"] < c["phi_c"] and q["tau"]]
    if below:
        x = np.array([c["phi_c"] - q["phi"] for q in below])
        a3.loglog(x, [q["tau"] for q in below], "o")
        a3.loglog(x, below[0]["tau"] * (x / x[0]) ** -MANNA["nu_par"], "k:", label="ν∥ = 1.08")
    a2.set(xlabel="φ − φ_c", ylabel="f∞")
    a3.set(xlabel="φ_c − φ", ylabel="median absorption step τ")
    for a in (a1, a2, a3):
        a.legend(fontsize=7)
    return save(fig, stem("absorbing_critical"), formats)


def _hessian_figure(stem, doc, formats):
    """Quantiles of the Hessian spectrum at each φ: SGD, BRO and the Poisson start (last seed)."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    hs = [d for d in doc["items"] if d.get("stage") == "hessian"]
    if not hs:
        return []
    fig, ax = figure()
    starts = ["sgd", "bro", "poisson"]
    phis = sorted({d["phi"] for d in hs})
    for d in hs:
        q = np.asarray(d["spectrum_quantiles"])
        ax.plot(q, np.linspace(0, 1, q.size), ["-", "--", ":"][starts.index(d["start"])],
                color=COLORS[phis.index(d["phi"]) % len(COLORS)], label=f"{d['start']} φ = {d['phi']:g}")
    ax.set(xlabel="Hessian eigenvalue λ (harmonic energy, σ = 1)", ylabel="fraction of modes below λ")
    ax.legend(fontsize=7)
    return save(fig, stem("absorbing_hessian"), formats)


def _critical_markdown(c) -> list:
    out = ["", f"Critical scaling ({c['dynamics'].upper()}, kick {c['kick']:g}, {c['steps']} steps per bisection run, "
           f"bisection resolution {c['resolution']:.4f}):", "", "| N | seeds | mean φ_c | std (width) |",
           "|---|---|---|---|"]
    out += [f"| {r['n']} | {r['seeds']} | {_pm(r['phi_c'], r['sem'])} | {r['width']:.4f} |" for r in c["fss"]]
    v = c["nu_perp"]
    out += ["", f"Width slope d log std / d log N = {_pm(v['slope'], v['slope_err'], 3)} (Manna: −1/(3 × 0.59) = −0.565; "
            "ν⊥ = −1/(3 slope) is defined only for a negative slope)."]
    ex = [(k, c[k]) for k in ("beta", "nu_perp", "nu_par")]
    out += ["", "| exponent | measured | Manna | points |", "|---|---|---|---|"]
    out += [f"| {k} | {_pm(v.get('value'), v.get('err'), 2)} | {MANNA[k]} | {v.get('points', 0)} |" for k, v in ex]
    out += ["", f"Scans at N = {c['n_scan']} ({c['scan_steps']} steps), φ_c = {_pm(c['phi_c'], c['phi_c_err'])}:", "",
            "| φ | f∞ | median τ |", "|---|---|---|"]
    for q in c["scan"]:
        tau = "some seed active" if q["tau"] is None else f"{q['tau']:.0f}"
        out.append(f"| {q['phi']:.4f} | {q['f_inf']:.4f} | {tau} |")
    return out


def _hessian_markdown(h) -> list:
    out = ["", f"Minima above φ_c (N = {h['n']}, {h['steps']} steps at kick {h['kick']:g}, then gradient descent "
           "on the harmonic energy):", "",
           "| φ | start | λ_max | zero-mode fraction | median λ | E/N | contacts z | rattlers | max force |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in h["rows"]:
        out.append(f"| {r['phi']:g} | {r['start']} | {_pm(r['lambda_max'], r['lambda_max_sem'], 3)} | "
                   f"{_pm(r['zero_fraction'], r['zero_fraction_sem'], 4)} | {_pm(r['lambda_median'], r['lambda_median_sem'], 4)} | "
                   f"{r['energy_per_particle']:.2e} | {r['contacts']:.2f} | {r['rattlers']:.1f} | {r['max_force']:.1e} |")
    return out
