"""Real (S)GD training with per-step logs, sharpness and quotient observables.

The parameters of every model are one flat vector theta (``jax.flatten_util.ravel_pytree``), so
a run with K seeds carries a (K, P) state and every function is ``vmap``-ed over seeds.

Update (optax, learning rate and weight decay injected as hyper-parameters):
  sgd       theta <- theta - eta (g + lambda theta)
  momentum  m <- beta m + (g + lambda theta),  theta <- theta - eta m          (heavy ball)
  adam      AdamW (decoupled weight decay), b1 = 0.9, b2 = 0.999, eps = 1e-8
with g the gradient of the mean loss on a mini-batch drawn without replacement by
``jax.random.choice(fold_in(key_batch(seed), t), N, (B,))``: the randomness at step t is a
function of (seed, t) only, which makes ``--resume`` exact.

Logged every step (shape (K, steps)): loss and accuracy of the mini-batch before the update,
|g|, learning rate, and ``update_proj`` = <theta_{t+1} - theta_t, v_top> with v_top the top
Hessian eigenvector from the last observation (oscillation detector, ``qshock.experiments.lab.events``).
With ``log_groups`` also, per step, for every quadratic conserved quantity c_A(theta) = sum_j s_j theta_j^2
(scale groups: s = 1 on the group; ReLU rescale neurons: s = +1 incoming, -1 outgoing) the rows
``grp_sq`` = c_A(theta_t), ``grp_gsq`` = c_A(g_t), ``grp_usq`` = c_A(theta_{t+1} - theta_t),
``grp_dot`` = sum_j s_j theta_j g_j, ``grp_abs`` = sum_j |s_j| theta_j^2, and for every linear one
(softmax translation, 1^T theta_A) ``grp_lin`` = 1^T theta_A, ``grp_glin`` = 1^T g_A (see ``Trainer.groups``); and at each observation
``group_sharpness``: for each scale group A, lambda_max(P_A H(theta_s) P_A) at the unit-norm section
theta_s = project(theta), P_A the projector onto the tangent space of group A's unit sphere.
Every ``sharpness_every`` steps (and at step 0): loss/accuracy on the sharpness batch and the test
set, top Hessian eigenvalues (Lanczos), preconditioned sharpness for Adam, quotient sharpness, and
every quotient observable of ``qshock.experiments.lab.observables``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import time
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from qshock.experiments.lab import observables as obs_mod
from qshock.experiments.lab.data import DATASETS, load_dataset
from qshock.experiments.lab.models import COMPATIBLE, MODELS, make_model
from qshock.experiments.lab.sharpness import hvp, preconditioned_sharpness, quotient_sharpness, sharpness, top_eigs
from qshock.errors import QShockInputError

__all__ = ["TrainConfig", "Trainer", "TrainResult", "train", "get_trainer", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. ``validate`` resolves defaults and checks the values."""

    model: str
    data: str
    lr: float
    steps: int
    batch: int = 64
    optimizer: str = "sgd"
    weight_decay: float = 0.0
    momentum: float = 0.9
    seeds: tuple = (0,)
    full_batch: bool = False
    sharpness_every: int = 0  # 0: largest divisor of steps that is <= 50
    checkpoint_every: int = 0  # 0: about 10 checkpoints per run
    lanczos_iters: int = 20
    n_eigs: int = 3
    sharpness_batch: int = 512
    quotient_sharpness: bool = True
    width: int | None = None
    depth: int = 2
    activation: str = "relu"
    norm: bool = False
    heads: int = 2
    dtype: str = "float32"
    data_seed: int = 0
    log_groups: bool = False  # per-step symmetry-group logs and per-group sphere sharpness (below)

    def validate(self, n_train: int | None = None) -> "TrainConfig":
        """Return a copy with defaults resolved; raise QShockInputError on bad values."""
        if self.model not in MODELS:
            raise QShockInputError(f"--model: unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.data not in DATASETS:
            raise QShockInputError(f"--data: unknown dataset {self.data!r}; expected one of {', '.join(DATASETS)}")
        if self.data not in COMPATIBLE[self.model]:
            raise QShockInputError(f"--model {self.model} cannot train on --data {self.data}; "
                                   f"compatible datasets: {', '.join(COMPATIBLE[self.model])}")
        if self.optimizer not in OPTIMIZERS:
            raise QShockInputError(f"--optimizer: unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise QShockInputError(f"--lr must be a finite number > 0, got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise QShockInputError(f"--weight-decay must be >= 0, got {self.weight_decay}")
        if not (0 <= self.momentum < 1):
            raise QShockInputError(f"--momentum must be in [0, 1), got {self.momentum}")
        if self.steps <= 0:
            raise QShockInputError(f"--steps must be a positive integer, got {self.steps}")
        if len(self.seeds) == 0 or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise QShockInputError(f"seeds must be distinct non-negative integers, got {list(self.seeds)}")
        if self.dtype not in ("float32", "float64"):
            raise QShockInputError(f"--dtype must be float32 or float64, got {self.dtype!r}")
        if self.lanczos_iters < 1 or self.n_eigs < 1:
            raise QShockInputError("--lanczos-iters and --n-eigs must be >= 1")
        if self.n_eigs > self.lanczos_iters:
            raise QShockInputError(f"--n-eigs {self.n_eigs} exceeds --lanczos-iters {self.lanczos_iters} "
                                   "(Lanczos gives at most that many eigenvalues)")
        if self.width is not None and self.width < 1:
            raise QShockInputError(f"--width must be >= 1, got {self.width}")
        if self.activation not in ("relu", "tanh"):
            raise QShockInputError(f"--activation must be relu or tanh, got {self.activation!r}")
        batch = self.batch
        if n_train is not None:
            if self.full_batch:
                batch = n_train
            elif not (1 <= batch <= n_train):
                raise QShockInputError(f"--batch {batch} must be between 1 and the training-set size {n_train} "
                                       f"of --data {self.data}")
        elif batch < 1:
            raise QShockInputError(f"--batch must be >= 1, got {batch}")
        every = self.sharpness_every
        if every == 0:
            every = max(d for d in range(1, min(50, self.steps) + 1) if self.steps % d == 0)
        if every < 1 or self.steps % every:
            raise QShockInputError(f"--sharpness-every {every} must be a positive divisor of --steps {self.steps}")
        ck = self.checkpoint_every
        if ck == 0:
            ck = every * max(1, (self.steps // every) // 10)
        if ck < 1 or ck % every:
            raise QShockInputError(f"--checkpoint-every {ck} must be a positive multiple of --sharpness-every {every}")
        return dataclasses.replace(self, batch=batch, sharpness_every=every, checkpoint_every=ck,
                                   seeds=tuple(int(s) for s in self.seeds))

    def static_key(self):
        """The fields that change compiled code (lr, wd, momentum, seeds, steps do not)."""
        skip = {"lr", "weight_decay", "momentum", "seeds", "steps", "checkpoint_every"}
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in skip)


def _make_optimizer(kind):
    if kind == "sgd":
        def make(learning_rate, weight_decay, momentum):
            return optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate))
    elif kind == "momentum":
        def make(learning_rate, weight_decay, momentum):
            return optax.chain(optax.add_decayed_weights(weight_decay),
                               optax.trace(decay=momentum), optax.scale(-learning_rate))
    else:
        def make(learning_rate, weight_decay, momentum):
            return optax.adamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=weight_decay)
    return optax.inject_hyperparams(make)


def _find_adam(state):
    for leaf in jax.tree.leaves(state, is_leaf=lambda s: isinstance(s, optax.ScaleByAdamState)):
        if isinstance(leaf, optax.ScaleByAdamState):
            return leaf
    return None


class Trainer:
    """Compiled pieces of a run for one ``TrainConfig.static_key()`` (shared across lr/seeds)."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
        if cfg.dtype == "float64" and not jax.config.jax_enable_x64:
            raise QShockInputError("dtype float64 needs JAX float64, which is off: call "
                                   "jax.config.update('jax_enable_x64', True) first (the qshock CLI does)")
        data = load_dataset(cfg.data, cfg.data_seed)
        self.dataset = data
        self.task = data.task
        cast_x = (lambda a: jnp.asarray(a, jnp.int32)) if data.vocab else (lambda a: jnp.asarray(a, self.dtype))
        cast_y = (lambda a: jnp.asarray(a, jnp.int32)) if data.task == "classification" else (lambda a: jnp.asarray(a, self.dtype))
        ns = min(cfg.sharpness_batch, data.n_train)
        self.arrays = dict(X=cast_x(data.x), Y=cast_y(data.y), Xs=cast_x(data.x[:ns]), Ys=cast_y(data.y[:ns]),
                           Xt=cast_x(data.x_test), Yt=cast_y(data.y_test))
        template = self._model(jax.random.PRNGKey(0))
        params, self.static = eqx.partition(template, eqx.is_array)
        flat, self.unravel = ravel_pytree(params)
        self.n_params = int(flat.shape[0])
        self.optimizer = _make_optimizer(cfg.optimizer)
        self.groups = self._group_masks(params) if cfg.log_groups else None
        self.run_chunk = jax.jit(self._run_chunk)
        self.observe = jax.jit(self._observe)
        self.init = jax.jit(self._init)

    # ------------------------------------------------------------------ model / loss
    def _model(self, key):
        c = self.cfg
        m = make_model(c.model, self.dataset, key, width=c.width, depth=c.depth, activation=c.activation,
                       norm=c.norm, heads=c.heads)
        return jax.tree.map(lambda a: a.astype(self.dtype) if eqx.is_inexact_array(a) else a, m)

    def model_of(self, theta):
        """The equinox model with flat parameters ``theta``."""
        return eqx.combine(self.unravel(theta), self.static)

    def loss_acc(self, theta, x, y):
        """Mean softmax cross-entropy (accuracy) or 1/2 mean squared error (accuracy = NaN)."""
        out = jax.vmap(self.model_of(theta))(x)
        if self.task == "classification":
            logp = jax.nn.log_softmax(out)
            loss = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
            return loss, jnp.mean(jnp.argmax(out, axis=1) == y).astype(out.dtype)
        return 0.5 * jnp.mean(jnp.sum((out - y) ** 2, axis=1)), jnp.array(jnp.nan, out.dtype)

    def _group_masks(self, params):
        """Signed masks of the conserved quantities: dict(Q (G, P), T (H, P), names, scale (G,) bool).

        Row A of Q is (1/2) d c_A / d theta at theta = 1 (so c_A(theta) = Q_A . theta^2); row of T is
        d(1^T theta_A)/d theta. GL(r) quantities are not diagonal quadratic forms and are skipped."""
        ones = jnp.ones(self.n_params, self.dtype)
        model = self.model_of(ones)
        Q, T, qn, tn, sc = [], [], [], [], []
        for sym in obs_mod.symmetries(model, self.task):
            if sym.kind not in ("scale", "rescale", "translation"):
                continue
            fn = lambda th, sym=sym: ravel_pytree(sym.conserved(self.model_of(th)))[0]  # noqa: E731
            names = [f"{sym.name}:{k}" for k, v in sorted(sym.conserved(model).items()) for _ in range(max(1, v.size))]
            J = jax.jacrev(fn)(ones)
            if sym.kind == "translation":
                T.append(J)
                tn += names
            else:
                Q.append(0.5 * J)
                qn += names
                sc += [sym.kind == "scale"] * J.shape[0]
        for name, get in (model.scale_groups() if hasattr(model, "scale_groups") else []):
            # groups the model declares scale invariant beyond the registry (Transformer mlp_norm)
            zero = jax.tree.map(jnp.zeros_like, params)
            Q.append(ravel_pytree(eqx.tree_at(get, zero, replace_fn=jnp.ones_like))[0][None])
            qn.append(f"scale:{name}")
            sc.append(True)
        cat = lambda a: jnp.concatenate(a) if a else jnp.zeros((0, self.n_params), self.dtype)  # noqa: E731
        return dict(Q=cat(Q), T=cat(T), names=qn, lin_names=tn, scale=np.asarray(sc, bool))

    def group_logs(self, theta, g, u):
        """Per-step group rows (module docstring) for parameters theta, gradient g, update u."""
        Q, T = self.groups["Q"], self.groups["T"]
        return dict(grp_sq=Q @ (theta * theta), grp_gsq=Q @ (g * g), grp_usq=Q @ (u * u),
                    grp_dot=Q @ (theta * g), grp_abs=jnp.abs(Q) @ (theta * theta), grp_lin=T @ theta,
                    grp_glin=T @ g)

    def group_sharpness(self, f, theta, key):
        """lambda_max(P_A H(theta_s) P_A) for every scale group A (module docstring); shape (G_scale,)."""
        model = self.model_of(theta)
        ts = obs_mod.ravel_model(obs_mod.project(model, self.task)).astype(theta.dtype)
        masks = self.groups["Q"][np.nonzero(self.groups["scale"])[0]]
        for m in masks:  # unit norm on every scale group (a no-op on those the registry's section normalises)
            ts = ts + m * ts * (1.0 / jnp.linalg.norm(m * ts) - 1.0)

        def one(m):
            u = m * ts / jnp.linalg.norm(m * ts)
            proj = lambda v: m * v - jnp.dot(u, v) * u  # noqa: E731
            top, _ = top_eigs(lambda v: proj(hvp(f, ts, proj(v).astype(ts.dtype))), theta.shape[0], key,
                              self.cfg.lanczos_iters, 1, ts.dtype)
            return top[0]
        return jax.lax.map(one, masks) if masks.shape[0] else jnp.zeros((0,), theta.dtype)

    def _keys(self, seed):
        return jax.random.split(jax.random.PRNGKey(seed), 3)  # init, batches, lanczos

    # ------------------------------------------------------------------ init / step
    def _init(self, seeds, lr, wd, mom):
        def one(seed):
            theta = ravel_pytree(eqx.filter(self._model(self._keys(seed)[0]), eqx.is_array))[0].astype(self.dtype)
            opt = self.optimizer(learning_rate=jnp.asarray(lr, self.dtype), weight_decay=jnp.asarray(wd, self.dtype),
                                 momentum=jnp.asarray(mom, self.dtype))
            return theta, opt.init(theta), jnp.zeros_like(theta)
        return jax.vmap(one)(seeds)

    def _step(self, theta, opt_state, vtop, seed, t):
        A, c = self.arrays, self.cfg
        if c.batch >= A["X"].shape[0]:
            xb, yb = A["X"], A["Y"]
        else:
            idx = jax.random.choice(jax.random.fold_in(self._keys(seed)[1], t), A["X"].shape[0], (c.batch,), replace=False)
            xb, yb = A["X"][idx], A["Y"][idx]
        (loss, acc), g = jax.value_and_grad(self.loss_acc, has_aux=True)(theta, xb, yb)
        opt = self.optimizer(learning_rate=0.0, weight_decay=0.0, momentum=0.0)  # hyper-params live in the state
        updates, opt_state = opt.update(g, opt_state, theta)
        lr = opt_state.hyperparams["learning_rate"]
        met = dict(loss=loss, accuracy=acc, grad_norm=jnp.linalg.norm(g), lr=lr.astype(theta.dtype),
                   update_proj=jnp.dot(updates, vtop))
        if self.groups is not None:
            met.update(self.group_logs(theta, g, updates))
        return theta + updates, opt_state, met

    def _run_chunk(self, theta, opt_state, vtop, seeds, t0):
        """``sharpness_every`` steps t0, t0+1, ... for every seed (lax.scan over steps, vmap over seeds)."""
        def body(carry, t):
            th, st = carry
            th, st, m = jax.vmap(self._step, in_axes=(0, 0, 0, 0, None))(th, st, vtop, seeds, t)
            return (th, st), m
        (theta, opt_state), mets = jax.lax.scan(body, (theta, opt_state), t0 + jnp.arange(self.cfg.sharpness_every))
        return theta, opt_state, jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), mets)

    # ------------------------------------------------------------------ observation
    def observe_one(self, theta, opt_state, seed, t):
        """Observables of one seed at step t (see module docstring); returns (dict, v_top)."""
        A, c = self.arrays, self.cfg
        f = lambda th: self.loss_acc(th, A["Xs"], A["Ys"])[0]  # noqa: E731
        key = jax.random.fold_in(self._keys(seed)[2], t)
        eigs, vec = sharpness(f, theta, key, c.lanczos_iters, c.n_eigs)
        eigs = jnp.pad(eigs, (0, c.n_eigs - eigs.shape[0]), constant_values=jnp.nan)
        tl, ta = self.loss_acc(theta, A["Xs"], A["Ys"])
        vl, va = self.loss_acc(theta, A["Xt"], A["Yt"])
        out = dict(train_loss=tl, train_accuracy=ta, test_loss=vl, test_accuracy=va, sharpness=eigs)
        adam = _find_adam(opt_state)
        if adam is not None:
            b2 = 0.999
            n = adam.count
            nu_hat = adam.nu / (1 - b2 ** jnp.maximum(n, 1).astype(theta.dtype))
            ps = preconditioned_sharpness(f, theta, jnp.sqrt(nu_hat) + 1e-8, key, c.lanczos_iters, 1)[0]
            out["precond_sharpness"] = jnp.where(n > 0, ps, jnp.nan)
        model = self.model_of(theta)
        lr = opt_state.hyperparams["learning_rate"].astype(theta.dtype)
        for k, v in obs_mod.quotient_observables(model, self.task, lr).items():
            out["q_" + k] = v
        if c.quotient_sharpness:
            pm = obs_mod.project(model, self.task)
            J = obs_mod.orbit_tangents(pm, self.task)
            out["quotient_sharpness"] = quotient_sharpness(f, obs_mod.ravel_model(pm), J, key, c.lanczos_iters, 1)[0]
        if self.groups is not None:
            out["group_sharpness"] = self.group_sharpness(f, theta, key)
        return out, vec

    def _observe(self, theta, opt_state, seeds, t):
        return jax.vmap(self.observe_one, in_axes=(0, 0, 0, None))(theta, opt_state, seeds, t)


@functools.lru_cache(maxsize=16)
def _trainer_cached(key):
    return Trainer(TrainConfig(**dict(key), lr=1.0, steps=1))


def get_trainer(cfg: TrainConfig) -> Trainer:
    """A (cached) Trainer for ``cfg``; configs differing only in lr/wd/momentum/seeds/steps share it."""
    return _trainer_cached(cfg.static_key())


@dataclass
class TrainResult:
    """Metrics of a finished run: ``steps`` (K, steps) per-step arrays, ``obs`` (K, n_obs, ...)."""

    config: TrainConfig
    step_metrics: dict
    obs: dict
    obs_steps: np.ndarray
    events: list
    wall_time: float
    steps_per_second: float


def train(cfg: TrainConfig, out: str | None = None, resume: bool = False, quiet: bool = True,
          argv: list | None = None, on_observe=None) -> TrainResult:
    """Run (or resume) training; with ``out`` write the run directory (see ``qshock.experiments.lab.runstore``).

    ``on_observe(step, theta, opt_state, obs, chunk_metrics)`` (optional) is called after every
    observation with host copies of the observables (``chunk_metrics`` None at step 0)."""
    from qshock.experiments.lab.events import detect_events
    from qshock.experiments.lab.runstore import RunStore

    data = load_dataset(cfg.data, cfg.data_seed) if cfg.data in DATASETS else None
    cfg = cfg.validate(data.n_train if data is not None else None)
    tr = get_trainer(cfg)
    seeds = jnp.asarray(cfg.seeds, jnp.int32)
    store = RunStore(out) if out else None
    state = None
    if store is not None:
        if resume:
            store.check_config(cfg)
            state = store.load_latest()
        if state is None:
            store.write_config(cfg, argv=argv, extra={"n_params": tr.n_params})
    ev = cfg.sharpness_every
    if state is not None:
        t_start = int(state["step"])
        theta = jnp.asarray(state["theta"])
        template = tr.init(seeds, cfg.lr, cfg.weight_decay, cfg.momentum)[1]
        leaves, treedef = jax.tree.flatten(template)
        opt_state = jax.tree.unflatten(treedef, [jnp.asarray(state[f"opt_{i}"], l.dtype) for i, l in enumerate(leaves)])
        vtop = jnp.asarray(state["vtop"])
        step_m = {k[2:]: list(np.swapaxes(np.asarray(state[k]), 0, 1)) for k in state if k.startswith("m/")}
        obs_m = {k[2:]: list(np.swapaxes(np.asarray(state[k]), 0, 1)) for k in state if k.startswith("o/")}
        obs_steps = list(np.asarray(state["obs_steps"]))
    else:
        t_start = 0
        theta, opt_state, vtop = tr.init(seeds, cfg.lr, cfg.weight_decay, cfg.momentum)
        o, vtop = tr.observe(theta, opt_state, seeds, 0)
        step_m, obs_m, obs_steps = {}, {k: [np.asarray(v)] for k, v in o.items()}, [0]
        if on_observe is not None:
            on_observe(0, theta, opt_state, jax.device_get(o), None)
    bar = None
    if not quiet and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=t_start, unit="step", file=sys.stderr, dynamic_ncols=True,
                   desc=f"{cfg.model}/{cfg.data}")
    t0 = time.perf_counter()
    for t in range(t_start, cfg.steps, ev):
        theta, opt_state, m = tr.run_chunk(theta, opt_state, vtop, seeds, t)
        o, vtop = tr.observe(theta, opt_state, seeds, t + ev)
        m = jax.device_get(m)
        for k, v in m.items():
            step_m.setdefault(k, []).extend(np.swapaxes(np.asarray(v), 0, 1))  # per step rows of shape (K, ...)
        for k, v in jax.device_get(o).items():
            obs_m[k].append(np.asarray(v))
        obs_steps.append(t + ev)
        if on_observe is not None:
            on_observe(t + ev, theta, opt_state, {k: v[-1] for k, v in obs_m.items()}, m)
        if bar is not None:
            bar.update(ev)
            bar.set_postfix(loss=f"{float(np.mean(m['loss'][:, -1])):.4g}")
        if store is not None and ((t + ev) % cfg.checkpoint_every == 0 or t + ev == cfg.steps):
            store.save_checkpoint(t + ev, _state_arrays(theta, opt_state, vtop, step_m, obs_m, obs_steps, cfg))
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t0
    steps_arr = {k: np.stack(v, axis=1) for k, v in step_m.items()}  # (K, steps)
    obs_arr = {k: np.stack(v, axis=1) for k, v in obs_m.items()}  # (K, n_obs, ...)
    osteps = np.asarray(obs_steps)
    events = detect_events(steps_arr, obs_arr, osteps, list(cfg.seeds))
    done = cfg.steps - t_start
    res = TrainResult(cfg, steps_arr, obs_arr, osteps, events, wall, done / wall if wall > 0 and done else float("nan"))
    if store is not None:
        store.write_metrics(res)
        store.write_events(events)
        store.write_figures()
    return res


def _state_arrays(theta, opt_state, vtop, step_m, obs_m, obs_steps, cfg):
    out = {"step": np.asarray(obs_steps[-1]), "seeds": np.asarray(cfg.seeds), "theta": np.asarray(theta),
           "vtop": np.asarray(vtop), "obs_steps": np.asarray(obs_steps),
           "rng_keys": np.asarray(jax.vmap(lambda s: jax.random.key_data(jax.random.PRNGKey(s)))(jnp.asarray(cfg.seeds)))}
    for i, leaf in enumerate(jax.tree.leaves(opt_state)):
        out[f"opt_{i}"] = np.asarray(leaf)
    for k, v in step_m.items():
        out["m/" + k] = np.stack(v, axis=1)
    for k, v in obs_m.items():
        out["o/" + k] = np.stack(v, axis=1)
    return out
