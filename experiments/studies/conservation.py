"""Conservation laws of Neural Mechanics (Kunin et al. 2021, docs/theory.md §3) in real training.

Two MLPs on digits train through the lab trainer (float64, ``log_groups``): ``scale`` (hidden
layers feed a layer norm without epsilon: each hidden (W, b) is exactly scale invariant) and
``rescale`` (ReLU, no norm: each hidden neuron has c = ‖w_in‖² + b² − ‖w_out‖²). Both have the
softmax translation symmetry of the logits layer, s = 1ᵀb. For every (η, λ, β) of the sweep the
study compares the measurement with

* the **discrete law** (exact up to round-off): SGD c_{k+1} = (1−ηλ)²c_k + η²G_k with
  G = ‖g_A‖² (rescale: ‖g_A1‖² − ‖g_A2‖²); heavy ball (x, p) recurrence
  c_{k+1} = c_k + 2p_k + U_k, p_{k+1} = β(p_k + U_k) − ηλc_{k+1}, U = ‖Δθ_A‖² (signed for
  rescale); translation s_{k+1} − s_k = β(s_k − s_{k−1}) − ηλ s_k;
* the **continuous law** (t = ηk): SGD modified flow c(t) = e^{−2λt}c(0) + η∫e^{−2λ(t−τ)}G dτ;
  heavy ball the damped oscillator c̈ + 2γċ + ω²c = 2U/η², γ = (1−β)/(η(1+β)),
  ω² = 4λ/(η(1+β)); translation e^{−λt}s(0) (SGD) or s̈ + 2γṡ + ω_T²s = 0, ω_T² = 2λ/(η(1+β));
* the **gradient-flow** prediction without the η terms, θ̇ = −g_λ/(1−β): c(t) = e^{−2λt/(1−β)}c(0),
  s(t) = e^{−λt/(1−β)}s(0).

Heavy-ball runs use the step η(1−β) (``momentum_scales_lr``), so that the effective step η/(1−β)
equals the SGD step of the same row: with the raw η = 0.2 and β = 0.9 the ReLU net diverges.
Errors are max over steps and groups of |prediction − measurement| / Σ|s_j|θ_j² (scale: ‖θ_A‖²)
or / |s(0)| (translation bias sum). The continuous laws hold to O(ηλ) (heavy ball:
O(ηλ/(1−β)²) plus the start-up of the momentum buffer).

Figures: ``conservation_sqnorm``, ``conservation_residual``, ``conservation_translation`` (the first
item), ``conservation_laws`` (theory over measurement at t_end for every law and setting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .figures_common import arr, figure_stem
from .stats import fmt

__all__ = ["NAME", "Config", "run", "figures", "oscillator_solution", "write_doc_data", "headline"]

NAME = "conservation"
ALIASES = ()
NETS = ("scale", "rescale")


@dataclass(frozen=True)
class Config(StudyConfig):
    model: str = "mlp"
    data: str = "digits"
    width: int = 32
    depth: int = 2
    lrs: tuple = (0.05, 0.1, 0.2)
    weight_decays: tuple = (0.0, 0.01, 0.05)
    momenta: tuple = (0.0, 0.9)
    nets: tuple = NETS
    momentum_scales_lr: bool = True  # heavy ball runs with step eta (1 - beta): the same effective step eta
    lr: float | None = None  # one setting (lr, weight_decay) with the first of momenta and nets only
    weight_decay: float | None = None  # a single setting: overrides weight_decays
    steps: int = 1000
    batch: int = 64

    @classmethod
    def quick(cls):
        return cls(width=16, steps=200, batch=32, lrs=(0.1,), weight_decays=(0.05,))

    def settings(self):
        """(η, λ, β) triples of the sweep (η is the optimiser's step, already scaled for heavy ball)."""
        lrs = (self.lr,) if self.lr is not None else self.lrs
        wds = (self.weight_decay,) if self.weight_decay is not None else self.weight_decays
        sc = lambda c: (1.0 - c) if self.momentum_scales_lr else 1.0  # noqa: E731
        return [(float(a) * sc(c), float(b), float(c)) for a in lrs for b in wds for c in self.betas()]

    def betas(self):
        """The momenta swept: ``momenta`` (only the first with the single setting ``lr``)."""
        return tuple(self.momenta)[:1] if self.lr is not None else tuple(self.momenta)

    def net_list(self):
        """The nets run: ``nets`` (only the first with the single setting ``lr``)."""
        return tuple(self.nets)[:1] if self.lr is not None else tuple(self.nets)

    def validate(self):
        for v, name in ((self.lr, "lr"), (self.weight_decay, "weight_decay")):
            if v is not None and not isinstance(v, (int, float)):
                raise QShockInputError(f"--config: {name} must be a number, got {v!r}")
        lrs = (self.lr,) if self.lr is not None else self.lrs
        wds = (self.weight_decay,) if self.weight_decay is not None else self.weight_decays
        if not lrs or any(not (a > 0) for a in lrs):
            raise QShockInputError(f"--config: lrs (lr) must be numbers > 0, got {list(lrs)}")
        if not wds or any(not (b >= 0) for b in wds):
            raise QShockInputError(f"--config: weight_decays (weight_decay) must be numbers >= 0, got {list(wds)}")
        if not self.momenta or any(not (0 <= c < 1) for c in self.momenta):
            raise QShockInputError(f"--config: momenta must be in [0, 1), got {list(self.momenta)}")
        if not self.nets or any(n not in NETS for n in self.nets):
            raise QShockInputError(f"--config: nets must be among {', '.join(NETS)}, got {list(self.nets)}")
        if self.steps < 2 or self.batch < 1:
            raise QShockInputError("--config: need steps >= 2, batch >= 1")


def oscillator_solution(c0, v0, forcing, dt, gamma, omega2):
    """Exact solution at t = k dt of c̈ + 2γċ + ω²c = f(t), f piecewise constant (``forcing[k]`` on
    [k dt, (k+1) dt)), c(0) = c0, ċ(0) = v0; shape (len(forcing) + 1, *c0.shape)."""
    from scipy.linalg import expm

    M = np.zeros((3, 3))
    M[0, 1], M[1, 0], M[1, 1], M[1, 2] = 1.0, -omega2, -2.0 * gamma, 1.0
    E = expm(M * dt)
    c, v = np.asarray(c0, float), np.asarray(v0, float)
    out = [c]
    for f in forcing:
        c, v = E[0, 0] * c + E[0, 1] * v + E[0, 2] * f, E[1, 0] * c + E[1, 1] * v + E[1, 2] * f
        out.append(c)
    return np.asarray(out)


def _quadratic_laws(c, G, U, scale, eta, lam, beta):
    """Discrete / continuous / gradient-flow errors of a quadratic law; c, G, U, scale (K, R)."""
    K = c.shape[0]
    t = eta * np.arange(K)
    if beta == 0:
        disc = (1 - eta * lam) ** 2 * c[:-1] + eta ** 2 * G[:-1]
        integ = np.zeros_like(c)
        for k in range(1, K):
            integ[k] = (integ[k - 1] + eta * eta * G[k - 1]) * math.exp(-2 * lam * eta)
        cont = np.exp(-2 * lam * t)[:, None] * c[0] + integ
    else:
        p = 0.5 * (c[1] - c[0] - U[0])  # p_0 = <theta_0, u_0>; every later p_k comes from the recurrence
        disc = [c[0] + 2 * p + U[0]]
        for k in range(1, K - 1):
            p = beta * (p + U[k - 1]) - eta * lam * c[k]
            disc.append(c[k] + 2 * p + U[k])
        disc = np.asarray(disc)
        g = (1 - beta) / (eta * (1 + beta))
        w2 = 4 * lam / (eta * (1 + beta))
        v0 = (c[1] - c[0]) / eta
        cont = oscillator_solution(c[0], v0, 2 * U[:-1] / eta ** 2, eta, g, w2)
    gf = np.exp(-2 * lam * t / (1 - beta))[:, None] * c[0]  # overdamped gradient flow, theta' = -g_lam/(1-beta)
    rel = lambda pred, meas, sc: float(np.max(np.abs(pred - meas) / sc)) if pred.size else 0.0  # noqa: E731
    return dict(discrete=rel(disc, c[1:], scale[1:]), continuous=rel(cont, c, scale),
                continuous_final=rel(cont[-1:], c[-1:], scale[-1:]), gradient_flow_final=rel(gf[-1:], c[-1:], scale[-1:]),
                ratio_final=float(np.median(cont[-1] / c[-1])), gf_ratio_final=float(np.median(gf[-1] / c[-1])),
                cont_series=cont[:, 0], meas_series=c[:, 0])


def _translation_laws(s, eta, lam, beta):
    """Laws of the logits-bias sum s (K,): discrete recurrence, continuous, gradient flow."""
    K = s.shape[0]
    t = eta * np.arange(K)
    prev, cur, disc = s[0], s[0], [s[0]]
    for _ in range(K - 1):
        prev, cur = cur, cur + beta * (cur - prev) - eta * lam * cur
        disc.append(cur)
    disc = np.asarray(disc)
    if beta == 0:
        cont = np.exp(-lam * t) * s[0]
    else:
        g, w2 = (1 - beta) / (eta * (1 + beta)), 2 * lam / (eta * (1 + beta))
        cont = oscillator_solution(s[0], -lam * s[0], np.zeros(K - 1), eta, g, w2)
    gf = np.exp(-lam * t / (1 - beta)) * s[0]
    sc = abs(s[0]) + 1e-300
    return dict(discrete=float(np.max(np.abs(disc - s)) / sc), continuous=float(np.max(np.abs(cont - s)) / sc),
                gradient_flow_final=float(abs(gf[-1] - s[-1]) / sc), ratio_final=float(cont[-1] / s[-1]),
                gf_ratio_final=float(gf[-1] / s[-1]), cont_series=cont, meas_series=s)


def _item(p, net, eta, lam, beta, seeds):
    from qshock.experiments.lab import training

    cfg = training.TrainConfig(model=p.model, data=p.data, lr=eta, weight_decay=lam, steps=int(p.steps),
                               optimizer="momentum" if beta > 0 else "sgd", momentum=beta if beta > 0 else 0.9,
                               norm=(net == "scale"), activation="relu", width=int(p.width), depth=int(p.depth),
                               dtype="float64", batch=int(p.batch), seeds=tuple(int(s) for s in seeds),
                               sharpness_every=int(p.steps), quotient_sharpness=False, n_eigs=1, lanczos_iters=2,
                               sharpness_batch=64, log_groups=True)
    r = training.train(cfg)
    groups = training.get_trainer(r.config).groups
    bias = [i for i, n in enumerate(groups["lin_names"]) if n.endswith("bias_sum")][0]
    sm, per_seed = r.step_metrics, []
    for i, s in enumerate(seeds):
        c, G, U, A = (np.asarray(sm[k][i], float) for k in ("grp_sq", "grp_gsq", "grp_usq", "grp_abs"))
        q = _quadratic_laws(c, G, U, A, eta, lam, beta)
        tr = _translation_laws(np.asarray(sm["grp_lin"][i][:, bias], float), eta, lam, beta)
        cos = np.abs(np.asarray(sm["grp_dot"][i])) / np.sqrt(A * np.abs(np.asarray(sm["grp_gsq"][i])) + 1e-300)
        per_seed.append(dict(seed=int(s), q=q, tr=tr, cos=float(cos.max()),
                             gsum=float(np.max(np.abs(np.asarray(sm["grp_glin"][i]))))))
    return _summarise(net, eta, lam, beta, per_seed, r)


def _summarise(net, eta, lam, beta, per_seed, r):
    """The item: per-seed scalars (legacy names for the scale net kept) and the first seed's series."""
    first = per_seed[0]
    d = dict(net=net, lr=eta, weight_decay=lam, momentum=beta, seeds=[x["seed"] for x in per_seed],
             eta_lambda=eta * lam, lambda_t=lam * eta * (r.config.steps - 1), wall=float(r.wall_time),
             law=("scale ‖θ_A‖²" if net == "scale" else "rescale ‖w_in‖²−‖w_out‖²"))
    for key, src, name in (("discrete_max_rel", "q", "discrete"), ("continuous_max_rel", "q", "continuous"),
                           ("continuous_final_rel", "q", "continuous_final"),
                           ("gradient_flow_final_rel", "q", "gradient_flow_final"), ("ratio_final", "q", "ratio_final"),
                           ("gf_ratio_final", "q", "gf_ratio_final"),
                           ("translation_discrete_max_rel", "tr", "discrete"),
                           ("translation_continuous_max_rel", "tr", "continuous"),
                           ("translation_gradient_flow_final_rel", "tr", "gradient_flow_final"),
                           ("translation_ratio_final", "tr", "ratio_final"),
                           ("translation_gf_ratio_final", "tr", "gf_ratio_final")):
        d[key] = float(np.max([x[src][name] for x in per_seed])) if "ratio" not in key else \
            float(np.median([x[src][name] for x in per_seed]))
    d["max_abs_cos_g_theta"] = float(np.max([x["cos"] for x in per_seed]))
    d["translation_max_abs_gsum"] = float(np.max([x["gsum"] for x in per_seed]))
    # names of the single-setting study (tests/test_studies.py)
    d.update(discrete_identity_max_rel=d["discrete_max_rel"], integral_law_max_rel=d["continuous_max_rel"],
             integral_law_final_rel=d["continuous_final_rel"], gradient_flow_only_final_rel=d["gradient_flow_final_rel"],
             translation_exp_max_rel=d["translation_continuous_max_rel"])
    step = max(1, len(first["q"]["meas_series"]) // 400)
    d["series"] = dict(t=(r.config.lr * np.arange(len(first["q"]["meas_series"])))[::step],
                       measured=first["q"]["meas_series"][::step], law=first["q"]["cont_series"][::step],
                       bsum=first["tr"]["meas_series"][::step], bsum_law=first["tr"]["cont_series"][::step])
    return d


def run(p, seeds, store, log) -> StudyResult:
    """One item per (net, η, λ, β) with every seed vmapped; one row per item and law."""
    items, rows = [], []
    grid = [(net, eta, lam, beta) for net in p.net_list() for eta, lam, beta in p.settings()]
    for net, eta, lam, beta in grid:  # every item requested before any is read (parallel executors)
        ip = dict(p.params(), lrs=None, weight_decays=None, momenta=None, nets=None, lr=None, weight_decay=None,
                  net=net, eta=eta, lam=lam, beta=beta, seeds=list(seeds))
        key = f"{net}_lr{eta:g}_wd{lam:g}_b{beta:g}"
        items.append(store.item(key, ip, lambda: _item(p, net, eta, lam, beta, seeds)))
    for (net, eta, lam, beta), it in zip(grid, items):
        for law, pre in ((it["law"], ""), ("translation 1ᵀb", "translation_")):
            vals = {k: it[pre + k] for k in ("discrete_max_rel", "continuous_max_rel", "gradient_flow_final_rel")}
            rows.append(dict(net=net, law=law, eta=eta, weight_decay=lam, momentum=beta, eta_lambda=eta * lam,
                             **vals, _fmt=[law, f"{eta:g}", f"{lam:g}", f"{beta:g}", f"{eta * lam:.3g}",
                                           fmt([vals["discrete_max_rel"]]), fmt([vals["continuous_max_rel"]]),
                                           fmt([vals["gradient_flow_final_rel"]])]))
    header = ["law", "eta", "lambda", "beta", "eta*lambda", "discrete law (max rel err)",
              "modified flow / oscillator (max rel err)", "gradient flow (rel err at t_end)"]
    return StudyResult(header, rows, items, _summary(items))


def _summary(items):
    """Worst errors per law and optimiser over the sweep."""
    out = {}
    for it in items:
        for law, pre in ((it["net"], ""), ("translation", "translation_")):
            key = f"{law}/{'momentum' if it['momentum'] > 0 else 'sgd'}"
            d = out.setdefault(key, dict(discrete_max_rel=0.0, continuous_max_rel=0.0, gradient_flow_final_rel=0.0,
                                         continuous_over_eta_lambda=0.0))
            for k in ("discrete_max_rel", "continuous_max_rel", "gradient_flow_final_rel"):
                d[k] = max(d[k], it[pre + k])
            if it["eta_lambda"] > 0:
                d["continuous_over_eta_lambda"] = max(d["continuous_over_eta_lambda"],
                                                      it[pre + "continuous_max_rel"] / it["eta_lambda"])
    return out


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """Draw the conservation figures from the results document ``doc``."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    items, stem = doc["items"], figure_stem(run_dir)
    if not items:
        return []
    written = []
    d = items[0]
    s = d["series"]
    t = arr(s["t"])
    fig, ax = figure()
    ax.plot(t, arr(s["measured"]), color=COLORS[0], lw=1.2, label=f"{d['law']} measured (group 0)")
    ax.plot(t, arr(s["law"]), color="k", ls="--", lw=0.9, label="continuous law")
    ax.set(xlabel="t = η k", ylabel="conserved quantity",
           title=f"η={d['lr']:g} λ={d['weight_decay']:g} β={d['momentum']:g}")
    ax.legend(fontsize=7)
    written += save(fig, stem("conservation_sqnorm"), formats)
    fig, ax = figure()
    ax.semilogy(t, np.maximum(np.abs(arr(s["law"]) - arr(s["measured"])) / np.abs(arr(s["measured"])), 1e-18),
                color=COLORS[1], lw=0.8, label="|law − measured| / measured")
    ax.set(xlabel="t = η k", ylabel="relative error")
    ax.legend(fontsize=7)
    written += save(fig, stem("conservation_residual"), formats)
    fig, ax = figure()
    ax.plot(t, arr(s["bsum"]), color=COLORS[2], lw=1.2, label="1ᵀb measured")
    ax.plot(t, arr(s["bsum_law"]), color="k", ls="--", lw=0.8, label="continuous law")
    ax.set(xlabel="t = η k", ylabel="1ᵀb (logits bias)")
    ax.legend(fontsize=7)
    written += save(fig, stem("conservation_translation"), formats)
    fig, ax = figure()
    for j, (pre, name) in enumerate((("", "scale/rescale"), ("translation_", "translation"))):
        for mk, (key, lab) in zip("os", (("ratio_final", "law"), ("gf_ratio_final", "gradient flow"))):
            ys = [it[pre + key] for it in items]
            ax.scatter(np.arange(len(items)) + 0.15 * j, ys, s=12, marker=mk, color=COLORS[2 * j + (mk == "s")],
                       label=f"{name}: {lab}")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_xticks(np.arange(len(items)), [f"{it['net'][0]} {it['lr']:g}/{it['weight_decay']:g}/{it['momentum']:g}"
                                          for it in items], rotation=90, fontsize=5)
    ax.set(ylabel="theory / measurement at t_end", yscale="log")
    ax.legend(fontsize=6)
    written += save(fig, stem("conservation_laws"), formats)
    return written


def write_doc_data(run_dir: str, dest: str) -> list:
    """Write ``table.txt`` (the study table) and ``summary.md`` (worst error per law and optimiser,
    and the worst continuous-law error divided by ηλ) from ``run_dir/results.json`` into ``dest``."""
    import json
    import os

    from .stats import text_table

    with open(os.path.join(run_dir, "results.json")) as f:
        doc = json.load(f)
    os.makedirs(dest, exist_ok=True)
    paths = [os.path.join(dest, "table.txt"), os.path.join(dest, "summary.md")]
    with open(paths[0], "w") as f:
        f.write(text_table(doc["header"], [r["_fmt"] for r in doc["rows"]]) + "\n")
    lines = ["| law/optimiser | discrete law, max rel. err | continuous law, max rel. err | "
             "max (continuous err)/(ηλ) | gradient flow, max rel. err at t_end |", "|---|---|---|---|---|"]
    for key, d in doc["summary"].items():
        lines.append(f"| {key} | {d['discrete_max_rel']:.2g} | {d['continuous_max_rel']:.2g} | "
                     f"{d['continuous_over_eta_lambda']:.3g} | {d['gradient_flow_final_rel']:.2g} |")
    lines += ["", f"{len(doc['items'])} runs, {len(doc['seeds'])} seed(s) each, wall time "
              f"{doc['wall_time'] / 60:.1f} min on 2 shared cores."]
    with open(paths[1], "w") as f:
        f.write("\n".join(lines) + "\n")
    paths.append(os.path.join(dest, "headline.md"))
    with open(paths[2], "w") as f:
        f.write(headline(doc) + "\n")
    return paths


def headline(doc: dict) -> str:
    """One line for the README's studies block: worst discrete, continuous and gradient-flow errors."""
    s = doc["summary"].values()
    worst = lambda k: max(d[k] for d in s)  # noqa: E731
    vals = lambda k: "{" + ", ".join(f"{v:g}" for v in sorted({it[k] for it in doc["items"]})) + "}"  # noqa: E731
    return (f"**conservation** ({len(doc['items'])} runs: η ∈ {vals('lr')}, λ ∈ {vals('weight_decay')}, β ∈ "
            f"{vals('momentum')}; scale, rescale and translation laws): the discrete laws hold to {worst('discrete_max_rel'):.1g} (relative), the modified-flow / "
            f"damped-oscillator laws to {worst('continuous_max_rel'):.2g} (at most {worst('continuous_over_eta_lambda'):.3g} ηλ); "
            f"plain gradient flow misses by up to {worst('gradient_flow_final_rel'):.2g}.")
