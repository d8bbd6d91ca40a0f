"""Named studies: predicted vs observed shock-like events in real training (``qshock experiment``).

* ``edge-of-stability`` (alias ``eos``): full-batch GD on an MLP (digits). The GD map
  x -> x - eta grad L folds where eta lambda_max = 1 (I - eta H singular: oscillation along the
  top eigenvector starts) and diverges where eta lambda_max = 2 (THEORY.md §2, §4). Per eta we
  measure the sharpness lambda_max(H) by Lanczos and report max lambda / (2/eta), the first
  observed steps with eta lambda > 1 and > 2, and the detected oscillation-onset / loss-spike steps.
* ``catapult``: two-layer (linear = uv model, or ReLU) network f(x) = v^T s(U x) / sqrt(m) with
  1/2 mean squared error. lambda_0 = lambda_max(H) at initialisation (Lanczos). Predicted
  regime from eta lambda_0: lazy (< 2), catapult (2 .. c_max, c_max = 4 linear, 12 ReLU), divergent
  (> c_max); observed: divergence, or a loss spike above L_0 followed by lambda_final < 2/eta.
* ``conservation``: Kunin et al. (THEORY.md §3). SGD with weight decay lambda on an MLP whose
  hidden (W, b) feed a layer norm without epsilon (exact scale symmetry). Checks the discrete identity
  |theta_{k+1}|^2 = (1 - eta lambda)^2 |theta_k|^2 + eta^2 |g_k|^2, the modified-gradient-flow
  integral |theta(t)|^2 = e^{-2 lambda t}|theta(0)|^2 + eta int_0^t e^{-2 lambda (t-tau)} |g(tau)|^2 dtau
  (t = eta k), and the translation law 1^T b(t) = e^{-lambda t} 1^T b(0) of the logits layer.

Each study writes ``OUT/config.json``, one ``OUT/items/<key>.json`` per (parameter, seed) item
(written atomically as soon as it is done; ``--resume`` reuses items whose parameters match),
``OUT/results.json`` (summary table + items) and ``OUT/figures/`` (PDF + PNG).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from solver.errors import QShockInputError

__all__ = ["STUDIES", "ALIASES", "DEFAULTS", "run", "run_study", "COUNTERS", "resolve_name", "load_config"]

ALIASES = {"eos": "edge-of-stability"}

DEFAULTS = {
    "edge-of-stability": dict(model="mlp", data="digits", width=32, depth=2, activation="tanh",
                              lrs=[0.3, 0.6, 1.2], steps=400, sharpness_every=10, lanczos_iters=20,
                              dtype="float32"),
    "catapult": dict(activation="linear", width=256, d=1, n=1, target=1.0, eta_lambda0=[1.0, 3.0, 6.0],
                     steps=300, sharpness_every=10, spike_factor=1.05),
    "conservation": dict(model="mlp", data="digits", width=32, depth=2, lr=0.1, weight_decay=0.01,
                         steps=1000, batch=64),
}
STUDIES = tuple(DEFAULTS)

#: number of items actually computed (not reused) in this process, per study (for tests of --resume)
COUNTERS = {name: 0 for name in STUDIES}


def resolve_name(name: str) -> str:
    """Canonical study name; QShockInputError listing the valid names otherwise."""
    name = ALIASES.get(name, name)
    if name not in DEFAULTS:
        raise QShockInputError(f"experiment: unknown study {name!r}; expected one of "
                               f"{', '.join(STUDIES)} (alias: eos)")
    return name


def load_config(name: str, path: str | None) -> dict:
    """Defaults of study ``name`` overridden by the TOML file ``path`` (top level or a [name] table)."""
    params = json.loads(json.dumps(DEFAULTS[name]))
    if path is None:
        return params
    import tomllib

    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise QShockInputError(f"--config: cannot read {path!r}: {e}") from e
    doc = doc.get(name, doc)
    bad = [k for k in doc if k not in params]
    if bad:
        raise QShockInputError(f"--config: unknown parameter(s) {', '.join(bad)} for study {name}; "
                               f"expected some of {', '.join(params)}")
    for k, v in doc.items():
        if isinstance(params[k], list) and not isinstance(v, list):
            raise QShockInputError(f"--config: {k} must be a list, got {v!r}")
        params[k] = v
    return params


# ------------------------------------------------------------------------------------- storage
def _atomic_json(path: str, obj) -> None:
    from experiments.runstore import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(obj, indent=1, default=_jsonable).encode())


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x))


def _clean(x):
    """Floats -> JSON-safe (NaN/inf -> None) recursively."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _item(out: str, name: str, key: str, params: dict, resume: bool, compute):
    """Return the stored item ``key`` if --resume and its params match, else compute + store it."""
    path = os.path.join(out, "items", f"{key}.json")
    if resume and os.path.exists(path):
        try:
            with open(path) as f:
                doc = json.load(f)
            if doc.get("params") == _clean(params):
                return doc, True
        except (OSError, json.JSONDecodeError):
            pass  # unreadable item: recompute it
    COUNTERS[name] += 1
    doc = _clean(dict(compute(), params=params, key=key))
    _atomic_json(path, doc)
    return doc, False


def _stat(vals):
    v = [x for x in vals if x is not None and math.isfinite(x)]
    if not v:
        return None, None, 0
    return float(np.mean(v)), float(np.std(v)), len(v)


def _fmt(vals, digits=3):
    m, s, n = _stat(vals)
    if m is None:
        return "-"
    return f"{m:.{digits}g}" if len(vals) == 1 else f"{m:.{digits}g}±{s:.2g}" + ("" if n == len(vals) else f" ({n}/{len(vals)})")


# ------------------------------------------------------------------------------- edge of stability
def _first(mask, steps):
    idx = np.nonzero(mask)[0]
    return int(steps[idx[0]]) if idx.size else None


def _eos_item(p, lr, seed):
    from experiments import training
    from experiments.events import loss_spikes, oscillation_onset

    cfg = training.TrainConfig(model=p["model"], data=p["data"], lr=float(lr), steps=int(p["steps"]),
                               full_batch=True, sharpness_every=int(p["sharpness_every"]), quotient_sharpness=False,
                               width=int(p["width"]), depth=int(p["depth"]), activation=p["activation"],
                               n_eigs=1, sharpness_batch=10**9, lanczos_iters=int(p["lanczos_iters"]),
                               dtype=p["dtype"], seeds=(int(seed),))
    r = training.train(cfg)
    lam = np.asarray(r.obs["sharpness"][0, :, 0], float)
    osteps = np.asarray(r.obs_steps)
    loss = np.asarray(r.step_metrics["loss"][0], float)
    osc = oscillation_onset(r.step_metrics["update_proj"][0])
    spikes = loss_spikes(loss)
    fin = np.isfinite(lam)
    return dict(lr=float(lr), seed=int(seed), edge=2.0 / lr, lambda0=float(lam[0]),
                max_sharpness=float(np.nanmax(lam)) if fin.any() else float("nan"),
                max_ratio=float(np.nanmax(lam) * lr / 2) if fin.any() else float("nan"),
                final_sharpness=float(lam[-1]), final_loss=float(loss[-1]),
                step_eta_lambda_gt1=_first(lr * lam > 1, osteps), step_eta_lambda_gt2=_first(lr * lam > 2, osteps),
                oscillation_onset=None if osc is None else osc["step"],
                loss_spikes=[s["step"] for s in spikes],
                series=dict(obs_steps=osteps, sharpness=lam, loss=loss), wall=float(r.wall_time))


def _eos(p, seeds, out, resume, log):
    items = []
    for lr in p["lrs"]:
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise QShockInputError(f"--config: lrs must be positive numbers, got {lr!r}")
        for s in seeds:
            ip = dict(p, lrs=None, lr=float(lr), seed=int(s))
            doc, reused = _item(out, "edge-of-stability", f"lr{lr:g}_seed{s}", ip, resume,
                                lambda: _eos_item(p, lr, s))
            log(f"  lr {lr:g} seed {s}: {'reused' if reused else 'trained'}")
            items.append(doc)
    rows = []
    for lr in p["lrs"]:
        its = [d for d in items if d["lr"] == float(lr)]
        g = lambda k: [d[k] for d in its]  # noqa: E731
        rows.append({"lr": float(lr), "2/lr": 2.0 / lr, "max_lambda": _stat(g("max_sharpness"))[:2],
                     "max_lambda/(2/lr)": _stat(g("max_ratio"))[:2],
                     "step eta*lam>1": _stat(g("step_eta_lambda_gt1"))[:2],
                     "step eta*lam>2": _stat(g("step_eta_lambda_gt2"))[:2],
                     "osc onset": _stat(g("oscillation_onset"))[:2],
                     "first spike": _stat([d["loss_spikes"][0] if d["loss_spikes"] else None for d in its])[:2],
                     "final loss": _stat(g("final_loss"))[:2],
                     "lambda0": _stat(g("lambda0"))[:2],
                     "_fmt": [f"{lr:g}", f"{2 / lr:.3g}", _fmt(g("lambda0")), _fmt(g("max_sharpness")), _fmt(g("max_ratio")),
                              _fmt(g("step_eta_lambda_gt1")), _fmt(g("step_eta_lambda_gt2")),
                              _fmt(g("oscillation_onset")),
                              _fmt([d["loss_spikes"][0] if d["loss_spikes"] else None for d in its]),
                              _fmt(g("final_loss"))]})
    header = ["eta", "2/eta", "lam0", "max lam", "max lam/(2/eta)", "step eta*lam>1", "step eta*lam>2",
              "osc onset", "loss spike", "final loss"]
    return header, rows, items


# ------------------------------------------------------------------------------------- catapult
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
        from experiments.sharpness import sharpness

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

    m, d, n = int(p["width"]), int(p["d"]), int(p["n"])
    k = jax.random.split(jax.random.PRNGKey(int(seed)), 4)
    X = jax.random.normal(k[2], (n, d))
    X = jnp.ones((1, 1)) if (d == 1 and n == 1) else X / jnp.linalg.norm(X, axis=1, keepdims=True)  # unit inputs
    Y = jnp.full((n,), float(p["target"])) if n == 1 else float(p["target"]) * jnp.sign(jax.random.normal(k[3], (n,)))
    U, v = jax.random.normal(k[0], (m, d)), jax.random.normal(k[1], (m,))
    theta0 = jnp.concatenate([U.ravel(), v])
    every, steps = int(p["sharpness_every"]), int(p["steps"])
    run, top = _catapult_fns(m, d, p["activation"], every, steps)
    lam0 = float(top(theta0, X, Y))
    eta = float(c) / lam0
    Ls, lams = run(theta0, X, Y, eta)
    Ls, lams = np.asarray(Ls, float), np.asarray(lams, float)
    L0 = float(Ls[0])
    cmax = 4.0 if p["activation"] == "linear" else 12.0
    pred = "lazy" if c < 2 else ("catapult" if c < cmax else "divergent")
    final = Ls[-1]
    if not np.isfinite(final) or final > 100 * L0 or not np.all(np.isfinite(lams)):
        obs = "divergent"
    elif np.nanmax(Ls) > float(p["spike_factor"]) * L0 and lams[-1] < 2 / eta and final < L0:
        obs = "catapult"
    elif np.nanmax(Ls) <= float(p["spike_factor"]) * L0 and final < L0:
        obs = "lazy"
    else:
        obs = "unclassified"
    return dict(eta_lambda0=float(c), seed=int(seed), lambda0=lam0, eta=eta, edge=2 / eta, predicted=pred,
                observed=obs, L0=L0, max_loss_ratio=float(np.nanmax(Ls) / L0) if np.isfinite(Ls).any() else float("nan"),
                spike_step=int(np.nanargmax(np.where(np.isfinite(Ls), Ls, -np.inf))),
                final_loss=float(final), final_sharpness=float(lams[-1]), final_eta_lambda=float(eta * lams[-1]),
                series=dict(loss=Ls, sharpness=lams, obs_steps=np.arange(1, steps // every + 1) * every))


def _catapult(p, seeds, out, resume, log):
    if p["activation"] not in ("linear", "relu"):
        raise QShockInputError(f"--config: activation must be linear or relu, got {p['activation']!r}")
    if int(p["steps"]) % int(p["sharpness_every"]):
        raise QShockInputError("--config: sharpness_every must divide steps")
    items = []
    for c in p["eta_lambda0"]:
        for s in seeds:
            ip = dict(p, eta_lambda0=None, c=float(c), seed=int(s))
            doc, reused = _item(out, "catapult", f"c{c:g}_seed{s}", ip, resume, lambda: _catapult_item(p, c, s))
            log(f"  eta*lambda0 {c:g} seed {s}: {'reused' if reused else 'trained'}")
            items.append(doc)
    rows = []
    for c in p["eta_lambda0"]:
        its = [d for d in items if d["eta_lambda0"] == float(c)]
        g = lambda k: [d[k] for d in its]  # noqa: E731
        obs = sorted(set(g("observed")))
        agree = sum(d["observed"] == d["predicted"] for d in its)
        rows.append({"eta*lambda0": float(c), "lambda0": _stat(g("lambda0"))[:2], "predicted": its[0]["predicted"],
                     "observed": obs, "agree": f"{agree}/{len(its)}",
                     "_fmt": [f"{c:g}", _fmt(g("lambda0")), its[0]["predicted"], "/".join(obs),
                              f"{agree}/{len(its)}", _fmt(g("max_loss_ratio")),
                              _fmt(g("final_eta_lambda")), _fmt(g("final_loss"))]})
    header = ["eta*lam0", "lam0", "predicted", "observed", "agree", "max L/L0", "eta*lam_final", "final loss"]
    return header, rows, items


# --------------------------------------------------------------------------------- conservation
def _conservation_item(p, seed):
    import jax
    import jax.numpy as jnp

    from experiments import training

    jax.config.update("jax_enable_x64", True)
    cfg = training.TrainConfig(model=p["model"], data=p["data"], lr=float(p["lr"]), steps=1, norm=True,
                               width=int(p["width"]), depth=int(p["depth"]), dtype="float64",
                               batch=int(p["batch"]), quotient_sharpness=False).validate(None)
    tr = training.get_trainer(cfg)
    theta0 = tr.init(jnp.asarray([seed], jnp.int32), cfg.lr, 0.0, 0.0)[0][0]
    # masks of the scale-invariant groups (hidden (W_l, b_l)) and the logits bias / weights
    tmpl = tr.unravel(jnp.zeros_like(theta0))
    L = len(tmpl.weights)

    def mask(fn):
        from jax.flatten_util import ravel_pytree
        return ravel_pytree(fn(tmpl))[0]

    def setter(which):
        def fn(t):
            w = [jnp.ones_like(a) if ("W", i) in which else a for i, a in enumerate(t.weights)]
            b = [jnp.ones_like(a) if ("b", i) in which else a for i, a in enumerate(t.biases)]
            return _replace(t, w, b)
        return fn

    def _replace(t, w, b):
        import equinox as eqx
        t = eqx.tree_at(lambda m: m.weights, t, w)
        return eqx.tree_at(lambda m: m.biases, t, b)

    groups = jnp.stack([mask(setter({("W", l), ("b", l)})) for l in range(L - 1)])  # (G, P)
    bmask = mask(setter({("b", L - 1)}))
    X, Y = tr.arrays["X"], tr.arrays["Y"]
    N, B = X.shape[0], min(int(p["batch"]), X.shape[0])
    eta, lam = float(p["lr"]), float(p["weight_decay"])
    key = jax.random.PRNGKey(1000 + int(seed))

    @jax.jit
    def run(th):
        def step(th, t):
            idx = jax.random.choice(jax.random.fold_in(key, t), N, (B,), replace=False)
            g = jax.grad(lambda z: tr.loss_acc(z, X[idx], Y[idx])[0])(th)
            thA, gA = groups * th, groups * g
            rec = dict(sq=jnp.sum(thA ** 2, 1), gsq=jnp.sum(gA ** 2, 1),
                       cos=jnp.sum(thA * gA, 1) / jnp.sqrt(jnp.sum(thA ** 2, 1) * jnp.sum(gA ** 2, 1) + 1e-300),
                       bsum=jnp.sum(bmask * th), gbsum=jnp.sum(bmask * g))
            return th - eta * (g + lam * th), rec  # the optax sgd + add_decayed_weights update
        th, rec = jax.lax.scan(step, th, jnp.arange(int(p["steps"])))
        last = dict(sq=jnp.sum((groups * th) ** 2, 1), bsum=jnp.sum(bmask * th))
        return rec, last

    rec, last = jax.device_get(run(theta0))
    sq = np.concatenate([rec["sq"], last["sq"][None]], 0)  # (K+1, G): |theta_A|^2 at steps 0..K
    gsq = rec["gsq"]  # (K, G)
    K = gsq.shape[0]
    disc = (1 - eta * lam) ** 2 * sq[:-1] + eta ** 2 * gsq
    disc_err = np.abs(sq[1:] - disc) / sq[1:]
    # modified gradient flow integral, t = eta k, left Riemann sum with d tau = eta
    t = eta * np.arange(K + 1)
    integ = np.zeros_like(sq)
    for k in range(1, K + 1):
        integ[k] = integ[k - 1] * np.exp(-2 * lam * eta) + eta * eta * gsq[k - 1] * np.exp(-2 * lam * eta)
    flow = np.exp(-2 * lam * t)[:, None] * sq[0] + integ
    flow_err = np.abs(flow - sq) / sq
    bs = np.concatenate([rec["bsum"], [last["bsum"]]])
    trans_pred = np.exp(-lam * t) * bs[0]
    trans_disc = (1 - eta * lam) ** np.arange(K + 1) * bs[0]
    return dict(seed=int(seed), lr=eta, weight_decay=lam, lambda_t=float(lam * t[-1]),
                max_abs_cos_g_theta=float(np.max(np.abs(rec["cos"]))),
                discrete_identity_max_rel=float(disc_err.max()),
                integral_law_max_rel=float(flow_err.max()), integral_law_final_rel=float(flow_err[-1].max()),
                gradient_flow_only_final_rel=float(np.max(np.abs(np.exp(-2 * lam * t[-1]) * sq[0] - sq[-1]) / sq[-1])),
                translation_max_abs_gsum=float(np.max(np.abs(rec["gbsum"]))),
                translation_exp_max_rel=float(np.max(np.abs(bs - trans_pred) / np.abs(trans_pred))),
                translation_discrete_max_rel=float(np.max(np.abs(bs - trans_disc) / np.abs(trans_disc))),
                series=dict(t=t, sqnorm=sq.T, flow=flow.T, disc_err=disc_err.T, bsum=bs, bsum_pred=trans_pred))


def _conservation(p, seeds, out, resume, log):
    items = []
    for s in seeds:
        doc, reused = _item(out, "conservation", f"seed{s}", dict(p, seed=int(s)), resume,
                            lambda: _conservation_item(p, s))
        log(f"  seed {s}: {'reused' if reused else 'trained'}")
        items.append(doc)
    keys = [("|cos(g_A, theta_A)| max", "max_abs_cos_g_theta"),
            ("discrete identity, max rel err", "discrete_identity_max_rel"),
            ("integral law (modified flow), max rel err", "integral_law_max_rel"),
            ("integral law, rel err at t_end", "integral_law_final_rel"),
            ("gradient flow e^{-2 lam t} only, rel err at t_end", "gradient_flow_only_final_rel"),
            ("1^T b: |1^T g| max", "translation_max_abs_gsum"),
            ("1^T b vs e^{-lam t}, max rel err", "translation_exp_max_rel"),
            ("1^T b vs (1-eta lam)^k, max rel err", "translation_discrete_max_rel")]
    rows = [{"quantity": label, "value": _stat([d[k] for d in items])[:2],
             "_fmt": [label, _fmt([d[k] for d in items])]} for label, k in keys]
    return ["quantity", f"value (eta {p['lr']:g}, lambda {p['weight_decay']:g}, lambda t_end "
                        f"{items[0]['lambda_t']:.3g})"], rows, items


STUDY_FUNCS = {"edge-of-stability": _eos, "catapult": _catapult, "conservation": _conservation}


# ------------------------------------------------------------------------------------- driver
def _table(header, rows) -> str:
    cells = [header] + [r["_fmt"] for r in rows]
    w = [max(len(str(c[i])) for c in cells) for i in range(len(header))]
    lines = ["  ".join(str(c[i]).rjust(w[i]) if i else str(c[i]).ljust(w[i]) for i in range(len(header)))
             for c in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run_study(name: str, config: str | None = None, seeds: int | None = None, out: str | None = None,
              resume: bool = False, quiet: bool = False, argv=None, formats=("pdf", "png")) -> dict:
    """Run study ``name`` (see module docstring) over seeds 0..seeds-1; returns the results document."""
    from experiments.runstore import _git_commit, _versions

    name = resolve_name(name)
    p = load_config(name, config)
    k = 1 if seeds is None else int(seeds)
    if k < 1:
        raise QShockInputError(f"--seeds must be >= 1, got {seeds}")
    out = out or os.path.join("runs", name)
    try:
        os.makedirs(os.path.join(out, "items"), exist_ok=True)
    except OSError as e:
        raise QShockInputError(f"--out: cannot create {out!r}: {e}") from e
    log = (lambda s: None) if quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    _atomic_json(os.path.join(out, "config.json"),
                 {"study": name, "params": p, "seeds": list(range(k)), "versions": _versions(),
                  "git_commit": _git_commit(), "argv": list(sys.argv if argv is None else argv)})
    t0 = time.perf_counter()
    header, rows, items = STUDY_FUNCS[name](p, list(range(k)), out, resume, log)
    doc = _clean({"study": name, "params": p, "seeds": list(range(k)), "header": header, "rows": rows,
                  "items": items, "wall_time": time.perf_counter() - t0})
    _atomic_json(os.path.join(out, "results.json"), doc)
    from experiments.figures import study_figures

    study_figures(out, formats)
    doc["table"] = _table(header, rows)
    if not quiet:
        print(f"{name}: {k} seed(s), run directory {out}")
        print(doc["table"])
    return doc


def run(args) -> int:
    """CLI entry: ``qshock experiment NAME [--config FILE] [--seeds K] [--out DIR] [--resume]``."""
    run_study(args.name, getattr(args, "config", None), getattr(args, "seeds", None), getattr(args, "out", None),
              bool(getattr(args, "resume", False)))
    return 0
