r"""The SGD phase diagram of a multilayer tanh network and its singular-value dynamics
(Park, Lucini, Aarts 2025; THEORY §5).

Teacher–student MSE, student and teacher tanh nets of ``depth`` matrices (``d_in → width … → d_out``),
SGD with minibatches drawn with replacement. The grid is σ_w² (``sigma2s``, initial weight
variance × fan-in) × T = η/B (``temps``); every T is run with every batch size in ``batches``
(η = T·B, equal SGD time τ = η·steps), ``seeds`` seeds each, all runs of one batch size vmapped in
one jitted ``lax.scan`` (``lab.svtrain``). The singular values of every matrix, the full-batch
∂L/∂s_i and a minibatch-noise sample along u_i v_iᵀ are logged ``n_log`` times.

Outputs (``results.json``; figures are drawn only from it):

* a row per grid point: majority phase, confidence, loss plateau, bulk width, width/spacing,
  KS to Marchenko–Pastur, (η, B) collapse distance, fitted surmise β
  (criterion: :mod:`.analysis`; phases ``learning``, ``glassy``, ``noise``, ``unstable``);
* scaling checks: η/B collapse (distance between pairs vs between seeds and neighbouring T),
  width ∝ T^α (fitted α, expected ½), GOE surmise β of unfolded bulk spacings, MP KS at init;
* the Langevin comparison: the Dyson SDE (diffrax) with the fitted linear drift for W₂ against the
  measured stationary means and widths; the 2×2 chamber Fokker–Planck solve (``solver.fokker_planck``)
  against the analytic density and an SDE ensemble.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from ..driver import StudyConfig, StudyResult
from . import analysis
from .runs import train_item, window_slice


def runs_window_start(n_points: int, frac: float) -> int:
    return window_slice(n_points, frac).start

__all__ = ["NAME", "Config", "run", "figures", "write_doc_data"]

NAME = "phase-diagram"
ALIASES = ()


def _geom(a, b, n, digits=3):
    return tuple(float(f"{v:.{digits}g}") for v in np.geomspace(a, b, n))


@dataclass(frozen=True)
class Config(StudyConfig):
    sigma2s: tuple = _geom(0.25, 4.0, 8)
    temps: tuple = _geom(2e-3, 0.16, 8)
    batches: tuple = (4, 8)
    seeds: int = 3
    steps: int = 8000  # SGD steps at the smallest batch (a batch k times larger: steps / k)
    n_log: int = 100
    window: float = 0.4
    d_in: int = 32
    width: int = 32
    depth: int = 3
    d_out: int = 8
    n_train: int = 512
    unfold_deg: int = 5
    unfold_trim: float = 0.15
    label_noise: float = 0.3
    noise_ratio: float = 0.25
    pe_glassy: float = 4.0
    langevin_paths: int = 8
    langevin_t: float = 20.0
    langevin_dt: float = 0.02
    fp_cells: int = 48
    fp_paths: int = 2000

    @classmethod
    def quick(cls):
        return cls(sigma2s=(0.25, 1.0, 4.0), temps=(3e-3, 0.02, 0.1), seeds=2, steps=2000, n_log=40,
                   langevin_paths=8, langevin_t=20.0, langevin_dt=0.02, fp_cells=24, fp_paths=400)  # Langevin: as full

    def validate(self):
        if len(self.sigma2s) < 1 or any(not (s > 0) for s in self.sigma2s):
            raise QShockInputError(f"--config: sigma2s must be a non-empty list of values > 0, got {list(self.sigma2s)}")
        if len(self.temps) < 2 or any(not (t > 0) for t in self.temps):
            raise QShockInputError(f"--config: temps must hold at least 2 values > 0, got {list(self.temps)}")
        b = sorted(self.batches)
        if len(b) < 2 or b[0] < 1 or any(x % b[0] for x in b) or len(set(b)) != len(b):
            raise QShockInputError("--config: batches must hold >= 2 distinct sizes, each a multiple of the smallest, "
                                   f"got {list(self.batches)}")
        if any(self.steps % (self.n_log * (x // b[0])) for x in b) or self.n_log < 10:
            raise QShockInputError(f"--config: n_log >= 10 and n_log x (batch/smallest batch) must divide steps = "
                                   f"{self.steps} for every batch, got n_log = {self.n_log}")
        if not (self.label_noise >= 0 and self.noise_ratio > 0 and self.pe_glassy > 0):
            raise QShockInputError("--config: need label_noise >= 0, noise_ratio > 0, pe_glassy > 0")
        if not 0 < self.window <= 1 or self.depth < 3 or self.width < 2 or self.d_out < 1:
            raise QShockInputError("--config: need 0 < window <= 1, depth >= 3, width >= 2, d_out >= 1")
        if self.fp_cells < 8 or not (self.fp_paths == 0 or self.fp_paths >= 100) or self.langevin_paths < 0:
            raise QShockInputError("--config: need fp_cells >= 8, fp_paths = 0 (no SDE ensemble) or >= 100, "
                                   "langevin_paths >= 0 (0: no Langevin comparison)")


def _langevin_item(p, items, seeds):
    t0 = time.perf_counter()
    it = items[0]
    shape = tuple(it["shapes"][1])
    out = []
    for r in it["runs"] if p.langevin_paths > 0 else []:
        if r["seed"] != seeds[0] or not r["finite"]:
            continue
        n_pts = int(p.n_log) + 1
        window_tau = float(r["eta"]) * it["log_every"] * (n_pts - runs_window_start(n_pts, p.window) - 1)
        res = analysis.langevin_compare(r, shape, 7, int(p.langevin_paths), float(p.langevin_t), float(p.langevin_dt),
                                        window_tau)
        res.update(sigma2=r["sigma2"], temp=r["temp"])
        out.append(res)
    return dict(points=out, wall=time.perf_counter() - t0)


def _fp_item(p):
    """2×2 Dyson chamber: FP stationary density vs analytic vs a diffrax SDE ensemble (D = T ς²/2 = ½)."""
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab.dyson import simulate_dyson
    from qshock.solver import FokkerPlanck, Grid, chamber_fraction, fp_stationary
    from qshock.solver.fokker_planck import cell_average

    t0 = time.perf_counter()
    D, L, n = 0.5, 4.5, int(p.fp_cells)

    def drift(x):
        rep = 1.0 / (x[0] + x[1])
        return jnp.stack([-x[0] + D * (1 / (x[0] - x[1]) + rep), -x[1] + D * (1 / (x[1] - x[0]) + rep)])

    g = Grid((0, 0), (L, L), (n, n), "reflect")
    fr = chamber_fraction(g)
    rho, info = fp_stationary(FokkerPlanck(drift, D), g, fr, t_max=30.0, tol=1e-9)
    rho = np.asarray(rho)
    ex = cell_average(g, lambda x: np.abs(x[..., 0] ** 2 - x[..., 1] ** 2) * np.exp(-(x[..., 0] ** 2 + x[..., 1] ** 2)
                                                                                    / (2 * D)), fr)
    w = fr * g.cell_volume
    ex /= np.sum(ex * w)
    h = g.dx[0]
    centres = np.asarray(g.centres(0))
    marg = [np.sum(rho * w, axis=1) / h, np.sum(rho * w, axis=0) / h]
    marg_ex = [np.sum(ex * w, axis=1) / h, np.sum(ex * w, axis=0) / h]
    hist, z, mean_sde, n_s = None, None, None, 0
    if p.fp_paths > 0:
        keys = jax.random.split(jax.random.PRNGKey(11), int(p.fp_paths))
        run = jax.jit(jax.vmap(lambda k: simulate_dyson(k, jnp.array([1.5, 0.5]), lambda s: s, 0.5, 2.0, 2, 2,
                                                        7.5, 0.002, 5)[1]))
        s = np.asarray(run(keys))[:, 1:].reshape(-1, 2)  # t = 3, 4.5, 6, 7.5: decorrelated (relaxation time 1)
        n_s, mean_sde = int(s.shape[0]), s.mean(0)
        hist = [np.histogram(s[:, i], np.asarray(g.faces(0)), density=True)[0] for i in range(2)]
        # statistical error of the SDE marginals (binomial), over bins with > 20 expected samples
        z = []
        for i in range(2):
            sel = marg[i] * h * n_s > 20
            se = np.sqrt(marg[i] * h * (1 - marg[i] * h) / n_s) / h
            z.append(float(np.max(np.abs(hist[i] - marg[i])[sel] / se[sel])))
    return dict(cells=n, D=D, box=L, l1_fp_vs_analytic=float(np.sum(np.abs(rho - ex) * w)),
                mass=float(np.sum(rho * w)), residual=info["residual"], centres=centres,
                marg_fp=marg, marg_analytic=marg_ex, marg_sde=hist, max_z_sde=z, n_samples=n_s,
                mean_sde=mean_sde, mean_fp=[float(np.sum(marg[i] * centres) * h) for i in range(2)],
                wall=time.perf_counter() - t0)


def _boundaries(table, p):
    """Per σ²: the phases along T (ascending) and the temperatures (geometric midpoints) where they change."""
    out = {}
    for s2 in p.sigma2s:
        labs = [(t, table[f"{float(s2):g}_{float(t):g}"]["phase"]) for t in sorted(p.temps)]
        ch = [f"{labs[i][1]}→{labs[i + 1][1]} at T≈{math.sqrt(labs[i][0] * labs[i + 1][0]):.3g}"
              for i in range(len(labs) - 1) if labs[i][1] != labs[i + 1][1]]
        out[f"{float(s2):g}"] = dict(phases=[lab for _, lab in labs], changes=ch)
    return out


def _f(v, d=3):
    return "-" if v is None else (f"{v:.{d}g}" if isinstance(v, float) else str(v))


def run(p, seeds, store, log) -> StudyResult:
    """One training item per batch size, the Langevin and Fokker–Planck items, then the analysis."""
    if len(seeds) < 2:
        raise QShockInputError("--seeds must be >= 2 (the collapse check compares seeds)")
    items = []
    train_keys = ("sigma2s", "temps", "batches", "steps", "n_log", "window", "d_in", "width", "depth", "d_out",
                  "n_train", "label_noise", "unfold_deg", "unfold_trim")
    tp = {k: v for k, v in p.params().items() if k in train_keys}  # the classification thresholds are not here
    for b in sorted(p.batches):
        ip = dict(tp, batch=int(b), seeds=list(seeds))
        items.append(store.item(f"train_B{b}", ip, lambda b=b: train_item(p, int(b), seeds)))
    table = analysis.point_table(items, p)
    lp = dict(tp, seeds=list(seeds), **{k: getattr(p, k) for k in ("langevin_paths", "langevin_t", "langevin_dt")})
    lang = store.item("langevin", lp, lambda: _langevin_item(p, items, seeds))
    by_run = {(r["sigma2"], r["temp"]): r["phase"] for r in items[0]["runs"] if r["seed"] == seeds[0]}
    for x in lang["points"]:
        x["phase"] = by_run.get((x["sigma2"], x["temp"]), "unstable")
    fp = store.item("fp2x2", dict(fp_cells=p.fp_cells, fp_paths=p.fp_paths), lambda: _fp_item(p))
    col = analysis.collapse(items)
    rows = []
    for k, v in table.items():
        b = [it["surmise"].get(k) for it in items]
        beta = [x["beta"] for x in b if x]
        v.update(collapse=col["per_point"].get(k), beta=float(np.median(beta)) if beta else None)
        rows.append(dict(v, _fmt=[f"{v['sigma2']:g}", f"{v['temp']:g}", v["phase"], f"{v['confidence']:.2f}",
                                  _f(v["loss_rel"]), _f(v["width"]), _f(v["top_ratio"]), _f(v["pe"]),
                                  _f(v["ks_fit"]), _f(v["collapse"]), _f(v["beta"])]))
    header = ["sigma_w^2", "T=eta/B", "phase", "confidence", "loss/loss0", "bulk width", "top width/spacing",
              "drift Pe", "KS(MP fit)", "pair dist", "surmise beta"]
    summary = _summary(p, items, table, col, lang, fp)
    return StudyResult(header, rows, items + [lang, fp], summary)


def _summary(p, items, table, col, lang, fp):
    from collections import Counter

    pts = [x for x in lang["points"] if x.get("ok") and x["phase"] != "unstable"]
    med = lambda v: float(np.median(v)) if v else None  # noqa: E731
    stationary = {"noise", "learning"}
    return dict(
        phases=dict(Counter(v["phase"] for v in table.values())),
        mean_confidence=float(np.mean([v["confidence"] for v in table.values()])),
        boundaries=_boundaries(table, p), collapse=col,
        width_exponent=analysis.width_exponent(items, {"learning", "glassy", "noise"}),
        width_exponent_noise=analysis.width_exponent(items, {"noise"}),
        width_exponent_stationary=analysis.width_exponent(items, stationary),
        mp_init=analysis.mp_at_init(items, items[0]["shapes"]),
        surmise=analysis.surmise_summary(items),
        surmise_pooled={f"B{it['batch']}": dict(trained=it["spacing_hist"]["fit_trained"], init=it["spacing_hist"]["fit_init"])
                        for it in items},
        langevin=dict(n=len(pts), mean_rel_err=med([x["mean_rel_err"] for x in pts]),
                      width_ratio=med([x["width_ratio"] for x in pts]),
                      stationary_over_window=med([x["stationary_over_window"] for x in pts]),
                      beta_sim=med([x["surmise_sim"]["beta"] for x in pts]),
                      window_kappa=med([x["window_kappa"] for x in pts]), clamped=int(sum(x["clamped"] for x in pts))),
        fp=dict(l1=fp["l1_fp_vs_analytic"], mass_err=abs(fp["mass"] - 1.0),
                max_z_sde=max(fp["max_z_sde"]) if fp["max_z_sde"] else None,
                cells=fp["cells"], n_samples=fp["n_samples"]),
        wall=dict(train={f"B{it['batch']}": it["wall"] for it in items}, langevin=lang["wall"], fp=fp["wall"]),
        n_runs=int(sum(len(it["runs"]) for it in items)))


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    from .plots import draw_all

    return draw_all(run_dir, doc, formats)


def write_doc_data(run_dir: str, dest: str) -> list:
    from .plots import write_doc_data as w

    return w(run_dir, dest)
