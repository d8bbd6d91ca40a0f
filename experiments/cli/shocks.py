"""``qshock shocks``: predicted and detected first shock (Burgers) or kink (HJ), time and place.

The problem flags are those of ``qshock solve`` (docs/guide/cli.md). Steps: build the problem,
predict from the initial data (:func:`solver.shocks.predict`, on the ``--ic`` expression), solve,
detect in the solution (:func:`solver.shocks.detect`), print.

Output schedule: when neither ``--times`` nor ``--save-every`` is given, 61 equally spaced
outputs on ``[0, min(t1, 1.5 t_pred)]`` (plus ``t1``) are used, so the detector has many
snapshots before the predicted time; with no predicted shock, 61 outputs on ``[0, t1]``.

``--json`` prints exactly ``{"predicted": {"time", "location", "uncertainty"}, "detected": {...}}``.
Conventions: the predicted time is reported even when it exceeds ``t1`` (``null`` only when the
characteristics never fold, e.g. expanding data); the detected time is ``null`` (with
``location`` ``null``) when no shock formed before ``t1``. Locations are lists of chart
coordinates.
"""

from __future__ import annotations

import json
import math

import numpy as np

from qshock.errors import BlowUpError, QShockInputError

__all__ = ["run", "default_schedule"]


def default_schedule(t1: float, t_pred: float, n: int = 61) -> np.ndarray:
    """Dense output times around the predicted shock (see the module docstring)."""
    end = min(t1, 1.5 * t_pred) if math.isfinite(t_pred) and t_pred > 0 else t1
    ts = np.linspace(0.0, end, n)
    if ts[-1] < t1:
        ts = np.append(ts, t1)
    return ts


def _fmt_loc(names, loc):
    if loc is None:
        return "-"
    return ", ".join(f"{n}={c:.6g}" for n, c in zip(names, loc))


def run(args) -> int:
    """Run ``qshock shocks`` with parsed ``args`` (problem flags, ``json``, ``out``); returns 0."""
    from qshock.experiments.cli.problem import apply_config, build_problem
    from qshock.solver.shocks import detect, predict

    from qshock.experiments.cli import guard
    from qshock.experiments.cli.main import check_solve_resources, solve_with_limits, write_solution
    from qshock.experiments.lab.runstore import track_output

    apply_config(args)
    if getattr(args, "out", None):
        guard.check_output_file(args.out, "--out")  # before any work
    prob = build_problem(args)
    user_schedule = getattr(args, "times", None) is not None or getattr(args, "save_every", None) is not None
    pred = predict(prob.equation, prob.ic_fn, prob.grid)
    if not user_schedule:
        prob.times = default_schedule(prob.t1, pred.time if pred.found else math.inf)
    if len(prob.times) < 3:
        raise QShockInputError("qshock shocks needs at least 3 output times (use --save-every or --times)")
    check_solve_resources(prob, args)
    if getattr(args, "out", None):
        track_output(args.out)
    try:
        sol = solve_with_limits(prob, args)
    except BlowUpError as exc:  # exit 3 with its time and place, as for qshock solve
        raise BlowUpError(exc.time, exc.location, exc.step,
                          "before the detector could run; use a smaller --cfl or a monotone --scheme") from None
    det = detect(sol, manifold=prob.manifold)
    if getattr(args, "out", None):
        write_solution(sol, prob, args, args.out,
                       extra={"predicted_shock_time": pred.time if pred.found else "none",
                              "detected_shock_time": det.time if det.found else "none"})
    if getattr(args, "json", False):
        print(json.dumps({"predicted": pred.to_json(), "detected": det.to_json()}))  # docs/guide/cli.md: exactly these keys
        return 0
    names = prob.grid.axis_names
    rows = [("predicted", pred), ("detected", det)]
    print(f"{'':10s} {'time':>12s} {'± uncertainty':>14s}  {'location':28s} method")
    for name, r in rows:
        tt = f"{r.time:12.6g}" if r.found else f"{'none':>12s}"
        un = f"{r.uncertainty:14.3g}" if r.found and math.isfinite(r.uncertainty) else f"{'-':>14s}"
        print(f"{name:10s} {tt} {un}  {_fmt_loc(names, r.location if r.found else None):28s} {r.method}")
    if pred.found and pred.time > prob.t1:
        print(f"(predicted shock after t1 = {prob.t1:g})")
    if not det.found:
        print(f"(no shock detected before t1 = {prob.t1:g})")
    return 0
