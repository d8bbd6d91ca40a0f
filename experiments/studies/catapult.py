"""Catapult (Lewkowycz et al. 2020): a two-layer network f(x) = vᵀs(Ux)/√m with ½ MSE.

λ₀ = λ_max(H) at initialisation (Lanczos). The predicted regime from ηλ₀ is lazy (< 2),
catapult (2 .. c_max, with c_max = 4 for the linear uv model and 12 for ReLU) or divergent
(> c_max); the observed regime is divergence, or a loss spike above L₀ followed by
λ_final < 2/η.

Figures: ``catapult_loss`` (L/L₀ against step) and ``catapult_sharpness`` (ηλ against step).
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .stats import fmt, mean_std
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures"]

NAME = "catapult"
ALIASES = ()


@dataclass(frozen=True)
class Config(StudyConfig):
    activation: str = "linear"
    width: int = 256
    d: int = 1
    n: int = 1
    target: float = 1.0
    eta_lambda0: tuple = (1.0, 3.0, 6.0)
    steps: int = 300
    sharpness_every: int = 10
    spike_factor: float = 1.05

    @classmethod
    def quick(cls):
        return cls(width=64, steps=100)

    def validate(self):
        if self.activation not in ("linear", "relu"):
            raise QShockInputError(f"--config: activation must be linear or relu, got {self.activation!r}")
        if self.sharpness_every < 1 or self.steps % self.sharpness_every:
            raise QShockInputError("--config: sharpness_every must divide steps")
        if any(c <= 0 for c in self.eta_lambda0):
            raise QShockInputError("--config: eta_lambda0 must be positive")


_CAT_FNS = {}


def _catapult_fns(m, d, activation, every, steps):
    """Jitted (run, top) for the two-layer net f(x) = v^T s(U x)/sqrt(m), L = 1/2 mean (f - y)^2.

    run(theta, X, Y, eta): GD theta <- theta - eta grad L for ``steps`` steps (frozen once L > 1e10,
    i.e. diverged), returning per-step losses and lambda_max(H) every ``every`` steps (Lanczos, 30 iterations).
    """
    key = (m, d, activation, every, steps)
    if key in _CAT_FNS:
        return _CAT_FNS[key]
    import jax
    import jax.numpy as jnp

    act = {"linear": lambda z: z, "relu": jax.nn.relu}[activation]

    def loss(th, X, Y):
        U_, v_ = th[:m * d].reshape(m, d), th[m * d:]
        return 0.5 * jnp.mean((act(X @ U_.T) @ v_ / math.sqrt(m) - Y) ** 2)

    def top(th, X, Y):
        from qshock.experiments.lab.sharpness import sharpness

        return sharpness(lambda z: loss(z, X, Y), th, jax.random.PRNGKey(7), 30, 1)[0][0]

    def run(th, X, Y, eta):
        def step(th, _):
            L, g = jax.value_and_grad(loss)(th, X, Y)
            ok = jnp.isfinite(L) & (L < 1e10)
            return jnp.where(ok, th - eta * g, th), L

        def chunk(th, _):
            th, Ls = jax.lax.scan(step, th, None, length=every)
            return th, (Ls, top(th, X, Y))

        _, (Ls, lams) = jax.lax.scan(chunk, th, None, length=steps // every)
        return Ls.reshape(-1), lams

    _CAT_FNS[key] = (jax.jit(run), jax.jit(top))
    return _CAT_FNS[key]


def _catapult_item(p, c, seed):
    import jax
    import jax.numpy as jnp

    m, d, n = int(p.width), int(p.d), int(p.n)
    k = jax.random.split(jax.random.PRNGKey(int(seed)), 4)
    X = jax.random.normal(k[2], (n, d))
    X = jnp.ones((1, 1)) if (d == 1 and n == 1) else X / jnp.linalg.norm(X, axis=1, keepdims=True)  # unit inputs
    Y = jnp.full((n,), float(p.target)) if n == 1 else float(p.target) * jnp.sign(jax.random.normal(k[3], (n,)))
    U, v = jax.random.normal(k[0], (m, d)), jax.random.normal(k[1], (m,))
    theta0 = jnp.concatenate([U.ravel(), v])
    every, steps = int(p.sharpness_every), int(p.steps)
    run, top = _catapult_fns(m, d, p.activation, every, steps)
    lam0 = float(top(theta0, X, Y))
    eta = float(c) / lam0
    Ls, lams = run(theta0, X, Y, eta)
    Ls, lams = np.asarray(Ls, float), np.asarray(lams, float)
    L0 = float(Ls[0])
    cmax = 4.0 if p.activation == "linear" else 12.0
    pred = "lazy" if c < 2 else ("catapult" if c < cmax else "divergent")
    final = Ls[-1]
    if not np.isfinite(final) or final > 100 * L0 or not np.all(np.isfinite(lams)):
        obs = "divergent"
    elif np.nanmax(Ls) > float(p.spike_factor) * L0 and lams[-1] < 2 / eta and final < L0:
        obs = "catapult"
    elif np.nanmax(Ls) <= float(p.spike_factor) * L0 and final < L0:
        obs = "lazy"
    else:
        obs = "unclassified"
    return dict(eta_lambda0=float(c), seed=int(seed), lambda0=lam0, eta=eta, edge=2 / eta, predicted=pred,
                observed=obs, L0=L0, max_loss_ratio=float(np.nanmax(Ls) / L0) if np.isfinite(Ls).any() else float("nan"),
                spike_step=int(np.nanargmax(np.where(np.isfinite(Ls), Ls, -np.inf))),
                final_loss=float(final), final_sharpness=float(lams[-1]), final_eta_lambda=float(eta * lams[-1]),
                series=dict(loss=Ls, sharpness=lams, obs_steps=np.arange(1, steps // every + 1) * every))


def run(p, seeds, store, log) -> StudyResult:
    """One item per (ηλ₀, seed); one row per ηλ₀ with the predicted and observed regimes."""
    items = []
    for c in p.eta_lambda0:
        for s in seeds:
            ip = dict(p.params(), eta_lambda0=None, c=float(c), seed=int(s))
            items.append(store.item(f"c{c:g}_seed{s}", ip, lambda: _catapult_item(p, c, s)))
    rows = []
    for c in p.eta_lambda0:
        its = [d for d in items if d["eta_lambda0"] == float(c)]
        g = lambda k: [d[k] for d in its]  # noqa: E731
        obs = sorted(set(g("observed")))
        agree = sum(d["observed"] == d["predicted"] for d in its)
        rows.append({"eta*lambda0": float(c), "lambda0": mean_std(g("lambda0"))[:2], "predicted": its[0]["predicted"],
                     "observed": obs, "agree": f"{agree}/{len(its)}",
                     "_fmt": [f"{c:g}", fmt(g("lambda0")), its[0]["predicted"], "/".join(obs),
                              f"{agree}/{len(its)}", fmt(g("max_loss_ratio")),
                              fmt(g("final_eta_lambda")), fmt(g("final_loss"))]})
    header = ["eta*lam0", "lam0", "predicted", "observed", "agree", "max L/L0", "eta*lam_final", "final loss"]
    return StudyResult(header, rows, items)


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """Draw ``catapult_loss`` and ``catapult_sharpness`` from the results document ``doc``."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    items, stem = doc["items"], figure_stem(run_dir)
    written = []
    cs = sorted({d["eta_lambda0"] for d in items})
    fig, ax = figure()
    fig2, ax2 = figure()
    for i, c in enumerate(cs):
        col = COLORS[i % len(COLORS)]
        for j, d in enumerate(x for x in items if x["eta_lambda0"] == c):
            lab = f"ηλ₀ = {c:g} ({d['predicted']} → {d['observed']})" if j == 0 else None
            s = d["series"]
            ax.plot(arr(s["loss"]) / d["L0"], color=col, lw=1, label=lab)
            ax2.plot(s["obs_steps"], d["eta"] * arr(s["sharpness"]), "o-", ms=2, color=col, lw=1, label=lab)
    ax.set(xlabel="step", ylabel="loss / L₀", yscale="log", title="catapult study")
    ax.legend()
    ax2.axhline(2, color="k", ls="--", lw=0.8, label="ηλ = 2")
    ax2.set(xlabel="step", ylabel="η λmax(H)", yscale="log")
    ax2.legend()
    written += save(fig, stem("catapult_loss"), formats)
    written += save(fig2, stem("catapult_sharpness"), formats)
    return written
