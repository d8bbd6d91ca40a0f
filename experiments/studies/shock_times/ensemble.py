r"""The x–step diagram: an ensemble of SGD trajectories on a 1-D quotient chart and the solver's
Burgers characteristics (issue 9 §5).

On the quotient chart of a checkpoint (top horizontal direction, loss L(x) on the grid) the
solver solves v_t + v v_x = 0, v(x, 0) = −L'(x) (the step map x ↦ x + τ v₀(x) is its time-τ
characteristic map, fold at τ*). ``n`` trajectories start from a small cloud
x₀ ~ N(x_c, s²) around the origin and follow x_{k+1} = x_k + η v₀(x_k) + (η σ/√B) ξ_k (SGD with
the chart's measured gradient noise σ²) for η/τ* ∈ ``ratios`` (below the fold, past it,
past 2τ*). Characteristics x(τ) of the solver's solution are traced by dx/dτ = v(x, τ)
(interpolated from the saved outputs) from evenly spaced feet.

The same cloud is also trained as ``n`` copies of the *network* (:func:`network_ensemble`):
θ₀ⁱ = σ + x₀ⁱ d, plain SGD in all P parameters on mini-batches of B training examples drawn
without replacement, and the recorded coordinate is the chart coordinate of the section point,
x_kⁱ = ⟨σ(θ_kⁱ) − σ, d⟩. Where the 1-D chart describes the run, the two ensembles agree; the
item stores both and their spreads (``summary``), so the figure shows where they part.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ensemble_item"]


def _trajectories(x_grid, v0, eta, noise, x0, steps, rng):
    lo, hi = float(x_grid[0]), float(x_grid[-1])
    xs = [x0]
    x = x0.copy()
    for _ in range(steps):
        x = x + eta * np.interp(x, x_grid, v0) + noise * rng.standard_normal(x.shape)
        x = np.clip(x, 2 * lo, 2 * hi)
        xs.append(x.copy())
    return np.stack(xs)  # (steps + 1, n)


def _characteristics(sol, x_grid, n_feet=25):
    t = np.asarray(sol.t, float)
    U = np.asarray(sol.u, float)
    feet = np.linspace(x_grid[2], x_grid[-3], n_feet)
    paths = [feet.copy()]
    x = feet.copy()
    for i in range(len(t) - 1):
        x = x + (t[i + 1] - t[i]) * np.interp(x, x_grid, U[i])
        paths.append(x.copy())
    return np.stack(paths)  # (n_t, n_feet)


def network_ensemble(batch_loss_fn, section, X, Y, batch: int, origin, d, eta, x0, steps: int, key):
    """SGD of ``len(x0)`` network copies from θ₀ⁱ = origin + x0ⁱ d; returns the chart
    coordinates x_kⁱ = ⟨section(θ_kⁱ) − origin, d⟩, shape (steps + 1, n) (module docstring).
    Member i at step k uses the batch of the first ``batch`` entries of a random permutation of
    the training set (key folded with k and i): with ``batch`` = N it is full-batch GD.
    ``eta`` may be a 1-D array of step sizes: then every one runs in the same compiled program
    (the same batches for each) and the result has shape (len(eta), steps + 1, n)."""
    n_train = X.shape[0]
    origin, d = jnp.asarray(origin), jnp.asarray(d, origin.dtype)
    coord = jax.vmap(lambda th: jnp.dot(section(th) - origin, d))

    def member_step(th, k_key, lr):
        idx = jax.random.permutation(k_key, n_train)[:batch]
        g = jax.grad(batch_loss_fn)(th, {"x": X[idx], "y": Y[idx]})
        return th - lr * g

    def one(lr):
        def body(th, k):
            keys = jax.random.split(jax.random.fold_in(key, k), th.shape[0])
            th = jax.vmap(member_step, in_axes=(0, 0, None))(th, keys, lr)
            return th, coord(th)

        th0 = origin[None, :] + jnp.asarray(x0, origin.dtype)[:, None] * d[None, :]
        _, xs = jax.lax.scan(body, th0, jnp.arange(steps))
        return jnp.concatenate([coord(th0)[None], xs], axis=0)

    etas = jnp.asarray(eta, origin.dtype)
    out = np.asarray(jax.jit(jax.vmap(one))(jnp.atleast_1d(etas)))
    return out if etas.ndim else out[0]


def _spread(x, e):
    """Median |x − median| of the last step and the fraction of members outside the box [−2e, 2e]."""
    last = np.asarray(x[-1], float)
    ok = np.isfinite(last)
    return {"spread": float(np.median(np.abs(last[ok] - np.median(last[ok])))) if ok.any() else math.nan,
            "escaped": float(np.mean(~ok | (np.abs(last) > 2.0 * e)))}


def ensemble_item(eng, theta, lr, seed, n: int = 256, steps: int = 40, ratios=(0.6, 1.4, 2.4), data=None) -> dict:
    """Trajectories, solver field and characteristics for the figure (module docstring)."""
    from qshock.experiments.lab.readings import chart_gradient, sgd_nu, step_map_fold
    from qshock.solver import Burgers, solve

    chart = eng.chart(theta, jax.random.PRNGKey(int(seed) + 3), lr, noise=True)
    x = np.asarray(chart.grid().centres(0), float)
    v0 = -np.asarray(chart_gradient(chart)[0], float)
    tau = float(step_map_fold(chart, n_out=eng.n_out).time)
    t1 = 2.0 * tau if math.isfinite(tau) else 2.0 / max(float(chart.eigenvalues[0]), 1e-12)
    sol = solve(Burgers(), chart.grid(), v0, t1, scheme="weno5", save_at=np.linspace(0.0, t1, 41), cfl=0.4)
    sigma = math.sqrt(max(float(np.mean(np.asarray(chart.grad_var))), 0.0))
    rng = np.random.default_rng(int(seed))
    e = float(chart.extent[0])
    x0 = 0.02 * e * rng.standard_normal(n)
    etas = [r * (tau if math.isfinite(tau) else t1 / 2) for r in ratios]
    nets = None if data is None else network_ensemble(
        eng.batch_loss_fn, eng.sym.section, data[0], data[1], eng.batch, chart.origin, chart.directions[0],
        np.asarray(etas), x0, steps, jax.random.PRNGKey(int(seed) + 7))  # every ratio in one compiled run
    runs = []
    for i, (r, eta) in enumerate(zip(ratios, etas)):
        xc = _trajectories(x, v0, eta, eta * sigma / math.sqrt(eng.batch), x0, steps, rng)
        panel = {"ratio": float(r), "eta": eta, "x": xc, "chart": _spread(xc, e)}
        if nets is not None:
            panel.update(x_network=nets[i], network=_spread(nets[i], e))
        runs.append(panel)
    return {"x": x, "loss": np.asarray(chart.loss, float), "v0": v0, "tau_star": tau, "lambda": float(chart.eigenvalues[0]),
            "nu": sgd_nu(chart, lr, eng.batch), "t": np.asarray(sol.t, float), "v": np.asarray(sol.u, float),
            "characteristics": _characteristics(sol, x), "panels": runs, "n": int(n), "lr": float(lr)}
