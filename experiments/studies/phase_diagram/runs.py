r"""Training items of the phase-diagram study and the per-run measurements.

One item per batch size B: every (σ_w², T, seed) run with η = T·B, vmapped in one jitted scan
(``lab.svtrain.train_runs``). The smallest batch runs ``steps`` SGD steps; a batch k times larger
runs ``steps/k`` steps logged k times more often, so every run with the same T covers the same
SGD time τ = η·steps and is logged at the same τ (the (η, B) pairs are compared at equal τ).

Measurements of one run, on the stationary window (the last ``window`` fraction of log points):

* ``loss_rel``: mean full-batch loss over the window / loss at initialisation;
* per matrix ``l``: the time-averaged sorted spectrum ``sbar``; the fluctuation width of each
  singular value (standard deviation of its linearly detrended trajectory); ``width`` = median
  over the bulk (all but the top ``d_out`` values); ``pe`` = median over the bulk of
  |linear trend × window length| / width (a drift/fluctuation Péclet number: > 1 means the
  spectrum is still moving, not stationary);
* W₂ (the square hidden matrix): KS distance of the last spectrum to Marchenko–Pastur at the
  initial scale (``ks_init``) and at the scale fitted by the mean of s² (``ks_fit``); the
  Langevin parameters of the linear drift model :math:`\partial L/\partial s_i = \kappa_i(s_i - \mu_i)`
  (least squares of the logged ∂L/∂s_i on s_i over the window) and
  :math:`\varsigma_i^2 = B\,\overline{n_i^2}` from the logged minibatch noise projections.
"""

from __future__ import annotations

import numpy as np

from qshock.experiments.lab import dyson, svtrain

__all__ = ["spec_of", "train_item", "run_metrics", "window_slice"]


def spec_of(p) -> svtrain.NetSpec:
    return svtrain.NetSpec(d_in=int(p.d_in), width=int(p.width), depth=int(p.depth), d_out=int(p.d_out),
                           n_train=int(p.n_train), label_noise=float(p.label_noise))


def grid_runs(p, seeds):
    """Flattened (σ_w², T, seed) triples of the grid."""
    return [(float(s2), float(t), int(sd)) for s2 in p.sigma2s for t in p.temps for sd in seeds]


def window_slice(n_points: int, frac: float) -> slice:
    return slice(n_points - max(4, int(round(frac * n_points))), n_points)


def _detrended_width(traj):
    """Per column: (std of the residual of a linear fit, |slope × length|)."""
    n = traj.shape[0]
    t = np.linspace(-0.5, 0.5, n)
    slope = (t @ (traj - traj.mean(0))) / (t @ t)
    resid = traj - traj.mean(0) - np.outer(t, slope)
    return resid.std(0), np.abs(slope)


def _langevin_params(s, g, noise, batch):
    """κ_i, μ_i (∂L/∂s_i ≈ κ_i (s_i − μ_i)) by least squares over time; ς_i² = B mean(noise²)."""
    sc = s - s.mean(0)
    var = (sc * sc).sum(0)
    kappa = np.where(var > 0, (sc * (g - g.mean(0))).sum(0) / np.where(var > 0, var, 1.0), np.nan)
    mu = s.mean(0) - np.where(np.abs(kappa) > 0, g.mean(0) / np.where(np.abs(kappa) > 0, kappa, 1.0), np.nan)
    noise = np.asarray(noise, float)  # float32 noise of a diverging run overflows when squared
    return kappa, mu, batch * np.mean(noise * noise, axis=0)


def run_metrics(p, out, r, sigma2, temp, batch, shapes):
    """The measurements of run ``r`` of a ``train_runs`` output (module docstring)."""
    loss = out["loss"][r]
    win = window_slice(loss.size, p.window)
    res = dict(loss0=float(loss[0]), loss_end=float(loss[-1]), loss_rel=float(np.mean(loss[win]) / loss[0]),
               finite=bool(np.all(np.isfinite(loss))), layers=[])
    for lay, (m, n) in enumerate(shapes):
        traj = out["sv"][lay][r][win]
        w, slope = _detrended_width(traj)
        bulk = slice(p.d_out if min(m, n) > p.d_out else 0, None)
        wb = float(np.median(w[bulk]))
        top = max(2, min(m, n, p.d_out) // 2)
        gap_top = float(np.mean(-np.diff(np.sort(traj.mean(0))[::-1][:top + 1])))
        res["layers"].append(dict(sbar=traj.mean(0), width_i=w, width=wb,
                                  top_ratio=float(np.median(w[:top])) / gap_top if gap_top > 0 else None,
                                  pe=float(np.median(slope[bulk] / np.maximum(w[bulk], 1e-12))),
                                  s_init=out["sv"][lay][r][0], s_last=out["sv"][lay][r][-1]))
    m, n = shapes[1]
    last = out["sv"][1][r][-1]
    res["ks_init"] = dyson.ks_mp(last, m, n, sigma2 / n) if res["finite"] else None
    var_fit = float(np.mean(last ** 2)) / n  # E s^2 = n var for a square MP matrix (m = n)
    res["ks_fit"] = dyson.ks_mp(last, m, n, var_fit) if res["finite"] else None
    kappa, mu, vs2 = _langevin_params(out["sv"][1][r][win], out["dlds"][1][r][win], out["noise"][1][r][win], batch)
    res.update(kappa=kappa, mu=mu, varsigma2=vs2, traj_top=out["sv"][1][r][:, :6], loss_curve=loss)
    return res


def _spacings(p, out, rows):
    """Unfolded spacings of W₂'s singular values over the window snapshots of each run of ``rows``
    (one pooled counting function per run: ``dyson.unfold_pooled``)."""
    sp = []
    for r in rows:
        traj = out["sv"][1][r][window_slice(out["sv"][1][r].shape[0], p.window)]
        if np.all(np.isfinite(traj)):
            sp.append(dyson.unfold_pooled(traj, deg=int(p.unfold_deg), trim=float(p.unfold_trim)))
    return np.concatenate(sp) if sp else np.zeros(0)


def train_item(p, batch: int, seeds) -> dict:
    """All grid runs at batch size ``batch`` (one vmapped training) and their measurements."""
    import time

    t0 = time.perf_counter()
    b0 = min(p.batches)
    k = batch // b0
    steps, log_every = int(p.steps) // k, int(p.steps) // int(p.n_log) // k
    runs = grid_runs(p, seeds)
    spec = spec_of(p)
    shapes = svtrain.layer_shapes(spec)
    points = sorted({(r[0], r[1]) for r in runs})
    out = svtrain.train_runs([r[2] for r in runs], [r[0] for r in runs], [r[1] * batch for r in runs], batch,
                             steps, log_every, spec, init_ids=[points.index((r[0], r[1])) for r in runs])
    train_wall = time.perf_counter() - t0
    per_run = [dict(sigma2=s2, temp=t, seed=sd, eta=t * batch, batch=batch,
                    **run_metrics(p, out, i, s2, t, batch, shapes)) for i, (s2, t, sd) in enumerate(runs)]
    spacings, init_sv, pooled = {}, {}, []
    for s2 in p.sigma2s:
        rows0 = [i for i, r in enumerate(runs) if r[0] == float(s2)]
        init_sv[f"{float(s2):g}"] = np.concatenate([out["sv"][1][i][0] for i in rows0])
        for t in p.temps:
            rows = [i for i in rows0 if runs[i][1] == float(t)]
            sp = _spacings(p, out, rows)
            pooled.append(sp)
            spacings[f"{float(s2):g}_{float(t):g}"] = dyson.fit_surmise_beta(sp) if sp.size >= 10 else None
    edges = np.linspace(0.0, 4.0, 41)
    allsp = np.concatenate(pooled) if pooled else np.zeros(0)
    m, n = shapes[1]
    init_sp = np.concatenate([dyson.unfold_mp(out["sv"][1][i][0], m, n, runs[i][0] / n, float(p.unfold_trim))
                              for i in range(len(runs))])
    hist = dict(edges=edges, trained=np.histogram(allsp / max(allsp.mean(), 1e-12), edges)[0] if allsp.size else None,
                init=np.histogram(init_sp / init_sp.mean(), edges)[0],
                fit_trained=dyson.fit_surmise_beta(allsp) if allsp.size >= 10 else None,
                fit_init=dyson.fit_surmise_beta(init_sp))
    return dict(batch=int(batch), steps=steps, log_every=log_every, runs=per_run, spacing_hist=hist,
                surmise=spacings, init_sv=init_sv, shapes=shapes,
                log_steps=out["log_steps"], train_wall=train_wall, wall=time.perf_counter() - t0)
