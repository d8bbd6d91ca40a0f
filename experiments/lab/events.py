"""Shock-like training events, detected from logged metrics (host-side numpy).

* loss spike: robust z-score z_t = (L_t - med) / (1.4826 MAD) against the median and median
  absolute deviation of the previous ``window`` losses; an event is a maximal run of steps with
  z_t > ``z_thresh``, reported at its first step with size = max z and ratio = max L / med.
* oscillation onset: the first step from which the projection s_t = <theta_{t+1}-theta_t, v_top>
  of successive updates on the top Hessian eigenvector alternates in sign for at least
  ``min_run`` consecutive steps (the period-2 motion of gradient descent at eta lambda_max > 2,
  or its onset at eta lambda_max > 1); size = median |s_t| over the run. Under pure sign noise
  (mini-batch SGD far from the edge) a run of 16 appears with probability ~ 2^-16 per step.
* observable jump: a change between consecutive observations of a quotient observable
  (norm over its components) whose robust z-score against all changes exceeds ``z_thresh``.
* sudden drop after a plateau (:func:`plateau_drops`, causal): with the running mean
  m_t = mean(L_{t-s+1..t}) (``smooth`` = s steps), a plateau at t is a window of ``window``
  steps over which |m_t - m_{t-window}| <= ``plateau_tol`` m_{t-window}; a drop is the first
  step t, at most ``window`` steps after the last flat window, at which
  m_t <= (1 - ``drop_frac``) m_p, with m_p the plateau level (mean of m over the last flat
  window). Reported at that step, size = 1 - m_t / m_p.
  Uses only L_{<= t}.
* quotient-observable jump (:func:`quotient_jumps`, causal): the change d_j = |v_j - v_{j-1}|
  between consecutive observations, scored by the robust z-score against the previous
  changes d_{<j} only (at least ``min_ref``); a jump is d_j with z > ``z_thresh`` and
  d_j > ``rel_min`` |v_{j-1}|. Size = d_j, ratio = d_j / |v_{j-1}|.
"""

from __future__ import annotations

import numpy as np

__all__ = ["loss_spikes", "oscillation_onset", "observable_jumps", "detect_events", "robust_z", "plateau_drops",
           "quotient_jumps", "first_event"]


def robust_z(x, ref):
    """(x - median(ref)) / (1.4826 MAD(ref)); the scale is floored at 1e-3 |median| + 1e-12 so that
    round-off on an exactly flat reference does not count as an event."""
    med = np.median(ref)
    mad = 1.4826 * np.median(np.abs(ref - med))
    return (x - med) / max(mad, 1e-3 * abs(med) + 1e-12), med


def loss_spikes(loss, window: int = 50, z_thresh: float = 6.0, steps=None, min_ref: int = 5):
    """Loss spikes of one loss series (see module docstring): list of {step, size, ratio}.

    The reference is the trailing ``window`` steps; during the first ``window`` steps it is all
    steps so far (at least ``min_ref``), so that early spikes (a catapult in the first steps)
    are found too.
    """
    loss = np.asarray(loss, float)
    steps = np.arange(len(loss)) if steps is None else np.asarray(steps)
    out, active = [], None
    for t in range(min(min_ref, len(loss)), len(loss)):
        ref = loss[max(0, t - window):t]
        ref = ref[np.isfinite(ref)]
        if ref.size < min_ref:
            continue
        z, med = robust_z(loss[t], ref)
        hit = (not np.isfinite(loss[t])) or z > z_thresh
        if hit:
            z = float(z) if np.isfinite(z) else float("inf")
            ratio = float(loss[t] / med) if med > 0 else float("inf")
            if active is None:
                active = {"kind": "loss_spike", "step": int(steps[t]), "size": z, "ratio": ratio}
                out.append(active)
            else:
                active["size"], active["ratio"] = max(active["size"], z), max(active["ratio"], ratio)
        else:
            active = None
    return out


def oscillation_onset(proj, min_run: int = 16, steps=None):
    """First step starting >= ``min_run`` consecutive sign alternations of ``proj`` (or None)."""
    s = np.sign(np.asarray(proj, float))
    steps = np.arange(len(s)) if steps is None else np.asarray(steps)
    alt = (s[1:] * s[:-1]) < 0
    run = 0
    for i, a in enumerate(alt):
        run = run + 1 if a else 0
        if run >= min_run:
            start = i - run + 1
            seg = np.abs(np.asarray(proj)[start:i + 2])
            return {"kind": "oscillation_onset", "step": int(steps[start]), "size": float(np.median(seg))}
    return None


def observable_jumps(values, obs_steps, name: str, z_thresh: float = 8.0):
    """Jumps of one observable series values (n_obs, ...) between consecutive observations."""
    v = np.asarray(values, float).reshape(len(obs_steps), -1)
    if len(obs_steps) < 6:
        return []
    d = np.linalg.norm(np.diff(v, axis=0), axis=1)
    ok = np.isfinite(d)
    if ok.sum() < 5:
        return []
    z, _ = robust_z(d, d[ok])
    return [{"kind": "observable_jump", "observable": name, "step": int(obs_steps[i + 1]), "size": float(d[i]),
             "z": float(z[i])} for i in np.nonzero(ok & (z > z_thresh))[0]]


def plateau_drops(loss, window: int = 20, plateau_tol: float = 0.05, drop_frac: float = 0.3, smooth: int = 5,
                  steps=None):
    """Sudden drops after a plateau of one loss series (see module docstring): list of
    {kind, step, size, plateau_start, plateau_level}. Causal: the decision at t uses L_{<= t}.
    Thresholds: ``window`` (plateau length, steps), ``plateau_tol`` (relative flatness),
    ``drop_frac`` (relative fall below the plateau level), ``smooth`` (running-mean length)."""
    loss = np.asarray(loss, float)
    steps = np.arange(len(loss)) if steps is None else np.asarray(steps)
    s = max(1, int(smooth))
    c = np.concatenate([[0.0], np.cumsum(np.where(np.isfinite(loss), loss, np.nan))])
    m = np.full(len(loss), np.nan)
    m[s - 1:] = (c[s:] - c[:-s]) / s
    out, plateau = [], None  # plateau = (start index, level, last flat index)
    for t in range(s - 1 + window, len(loss)):
        a, b = m[t - window], m[t]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        if plateau is not None and t - plateau[2] <= window and b <= (1.0 - drop_frac) * plateau[1]:
            out.append({"kind": "plateau_drop", "step": int(steps[t]), "size": float(1.0 - b / plateau[1]),
                        "plateau_start": int(steps[plateau[0]]), "plateau_level": float(plateau[1])})
            plateau = None
            continue
        if abs(b - a) <= plateau_tol * abs(a):
            start = plateau[0] if plateau is not None and t - plateau[2] <= 1 else t - window
            plateau = (start, float(np.mean(m[t - window:t + 1])), t)
    return out


def quotient_jumps(values, steps=None, z_thresh: float = 6.0, rel_min: float = 0.1, min_ref: int = 3,
                   name: str = "observable"):
    """Causal jumps of a quotient-observable series ``values`` (n_obs, ...) (see module docstring):
    list of {kind, observable, step, size, ratio, z}."""
    v = np.asarray(values, float).reshape(len(values), -1)
    steps = np.arange(len(v)) if steps is None else np.asarray(steps)
    d = np.linalg.norm(np.diff(v, axis=0), axis=1)
    out = []
    for j in range(1, len(d)):
        ref = d[:j][np.isfinite(d[:j])]
        if ref.size < min_ref or not np.isfinite(d[j]):
            continue
        z, _ = robust_z(d[j], ref)
        base = float(np.linalg.norm(v[j]))
        if z > z_thresh and d[j] > rel_min * base:
            out.append({"kind": "quotient_jump", "observable": name, "step": int(steps[j + 1]), "size": float(d[j]),
                        "ratio": float(d[j] / base) if base > 0 else float("inf"), "z": float(z)})
    return out


def first_event(events) -> dict | None:
    """The earliest event of a list (by step), or ``None``; accepts a single event or None."""
    if events is None or isinstance(events, dict):
        return events
    return min(events, key=lambda e: e["step"]) if events else None


def detect_events(step_metrics: dict, obs: dict, obs_steps, seeds) -> list:
    """All events of a run: step_metrics[k] (K, steps), obs[k] (K, n_obs, ...); list of dicts with seed."""
    events = []
    for i, seed in enumerate(seeds):
        steps = np.arange(step_metrics["loss"].shape[1]) if "loss" in step_metrics else None
        if "loss" in step_metrics:
            events += [dict(e, seed=int(seed)) for e in loss_spikes(step_metrics["loss"][i], steps=steps)]
        if "update_proj" in step_metrics:
            e = oscillation_onset(step_metrics["update_proj"][i], steps=steps)
            if e is not None:
                events.append(dict(e, seed=int(seed)))
        for k, v in obs.items():
            if k.startswith("q_") or k in ("sharpness", "quotient_sharpness"):
                events += [dict(e, seed=int(seed)) for e in observable_jumps(v[i], obs_steps, k)]
    return sorted(events, key=lambda e: (e["seed"], e["step"]))
