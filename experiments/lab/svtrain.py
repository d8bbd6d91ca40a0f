r"""SGD on a teacher–student tanh network with the singular values of every weight matrix logged.

Model: :math:`f(x) = W_L \tanh(W_{L-1} \cdots \tanh(W_1 x))` (no biases), widths
``(d_in, width, ..., width, d_out)``, ``depth`` = L weight matrices. Initialisation
:math:`(W_l)_{ij} \sim \mathcal N(0, \sigma_w^2/n_{l-1})` (fan-in). Data: :math:`x \sim \mathcal N(0, I)`,
targets :math:`y = f_{\text{teacher}}(x)` with a teacher of the same shape at :math:`\sigma_w^2 = 1`
(its own seed), plus Gaussian label noise of standard deviation ``label_noise`` (a non-zero
gradient noise at the minimum). Loss :math:`L = \frac1n \sum_\mu \tfrac12 |f(x_\mu) - y_\mu|^2`.

SGD: :math:`W \leftarrow W - \eta \nabla L_B` with a minibatch of ``B`` examples, fresh teacher
samples every step (``online``, the default: the loss is the population loss, estimated on a fixed
set of ``n_train`` examples) or drawn with replacement from the ``n_train`` examples; either way the update noise has covariance :math:`\eta^2 \Sigma / B` (Σ the per-example
gradient covariance) and in time τ = η·step the temperature is T = η/B.

Every ``log_every`` steps, per matrix with SVD :math:`W = \sum_i s_i u_i v_i^\top`:
the singular values ``sv``; the full-batch :math:`\partial L/\partial s_i = u_i^\top \nabla_W L\, v_i`
(``dlds``); and one minibatch noise sample :math:`u_i^\top(\nabla_W L_B - \nabla_W L) v_i`
(``noise``), whose mean square times B estimates :math:`\varsigma_i^2`. Plus the full-batch loss.

One call trains R runs (flattened grid points × seeds) with :func:`jax.vmap` inside one
:func:`jax.jit`; the steps are a ``lax.scan`` (outer: log points, inner: ``log_every`` SGD steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError

__all__ = ["NetSpec", "init_mlp", "mlp", "make_data", "mse", "train_runs", "layer_shapes"]


@dataclass(frozen=True)
class NetSpec:
    """Architecture and data of the teacher–student problem (hashable: a static jit argument)."""

    d_in: int = 32
    width: int = 32
    depth: int = 3
    d_out: int = 8
    n_train: int = 512
    teacher_sigma2: float = 1.0
    label_noise: float = 0.0
    online: bool = True

    def validate(self):
        if self.depth < 2 or min(self.d_in, self.width, self.d_out, self.n_train) < 1:
            raise QShockInputError(f"NetSpec: need depth >= 2 and positive sizes, got {self}")


def layer_shapes(spec: NetSpec):
    """``(out, in)`` of each weight matrix."""
    sizes = [spec.d_in] + [spec.width] * (spec.depth - 1) + [spec.d_out]
    return [(sizes[i + 1], sizes[i]) for i in range(spec.depth)]


def init_mlp(key, spec: NetSpec, sigma2):
    """Weights with entries :math:`\\mathcal N(0, \\sigma_w^2/\\text{fan-in})`."""
    keys = jax.random.split(key, spec.depth)
    return [jax.random.normal(k, s) * jnp.sqrt(sigma2 / s[1]) for k, s in zip(keys, layer_shapes(spec))]


def mlp(ws, x):
    h = x
    for w in ws[:-1]:
        h = jnp.tanh(h @ w.T)
    return h @ ws[-1].T


def mse(ws, x, y):
    """:math:`\\frac1n\\sum \\tfrac12|f(x) - y|^2`."""
    return 0.5 * jnp.mean(jnp.sum((mlp(ws, x) - y) ** 2, axis=-1))


def sample(key, teacher, n: int, spec: NetSpec):
    r"""``n`` fresh examples: :math:`x \sim \mathcal N(0, I)`, y = teacher(x) + ``label_noise`` × noise."""
    kx, kn = jax.random.split(key)
    x = jax.random.normal(kx, (n, spec.d_in))
    y = mlp(teacher, x)
    return x, y + spec.label_noise * jax.random.normal(kn, y.shape)


def make_data(key, spec: NetSpec):
    """``(x, y, teacher)``: the fixed set of ``n_train`` examples (the training set; with
    ``online`` the evaluation set of the full-batch loss and gradient) and the teacher weights."""
    kt, kd = jax.random.split(key)
    teacher = init_mlp(kt, spec, spec.teacher_sigma2)
    x, y = sample(kd, teacher, spec.n_train, spec)
    return x, y, teacher


def _batch(key, x, y, teacher, batch: int, spec: NetSpec):
    """A minibatch: fresh teacher samples (``online``) or ``batch`` indices drawn with replacement."""
    if spec.online:
        return sample(key, teacher, batch, spec)
    idx = jax.random.randint(key, (batch,), 0, x.shape[0])
    return x[idx], y[idx]


def _log(ws, x, y, teacher, key, batch, spec):
    """Singular values, ∂L/∂s_i, one minibatch noise projection per matrix; full-batch loss."""
    loss, g = jax.value_and_grad(mse)(ws, x, y)
    gb = jax.grad(mse)(ws, *_batch(key, x, y, teacher, batch, spec))
    out = []
    for w, gw, gbw in zip(ws, g, gb):
        u, s, vt = jnp.linalg.svd(w, full_matrices=False)
        proj = lambda m: jnp.einsum("ik,ij,kj->k", u, m, vt)  # noqa: E731
        out.append((s, proj(gw), proj(gbw - gw)))
    return loss, out


def _one_run(key, sigma2, eta, data_key, init_id, spec: NetSpec, batch: int, n_log: int, log_every: int):
    x, y, teacher = make_data(data_key, spec)
    k_init, k_run = jax.random.split(key)
    ws = init_mlp(jax.random.fold_in(k_init, init_id), spec, sigma2)

    def sgd(carry, k):
        w = carry
        g = jax.grad(mse)(w, *_batch(k, x, y, teacher, batch, spec))
        return [a - eta * b for a, b in zip(w, g)], None

    def chunk(carry, k):
        w = carry
        k_steps, k_log = jax.random.split(k)
        w, _ = jax.lax.scan(sgd, w, jax.random.split(k_steps, log_every))
        return w, _log(w, x, y, teacher, k_log, batch, spec)

    k0, k_rest = jax.random.split(k_run)
    first = _log(ws, x, y, teacher, k0, batch, spec)
    ws, logs = jax.lax.scan(chunk, ws, jax.random.split(k_rest, n_log))
    stack = lambda a, b: jnp.concatenate([a[None], b])  # noqa: E731
    return jax.tree_util.tree_map(stack, first, logs), ws


@partial(jax.jit, static_argnames=("spec", "batch", "n_log", "log_every"))
def _train_batch(keys, sigma2, eta, data_keys, init_ids, spec, batch, n_log, log_every):
    f = partial(_one_run, spec=spec, batch=batch, n_log=n_log, log_every=log_every)
    return jax.vmap(f)(keys, sigma2, eta, data_keys, init_ids)


def train_runs(seeds, sigma2, eta, batch: int, steps: int, log_every: int, spec: NetSpec = NetSpec(),
               max_parallel: int = 256, init_ids=None) -> dict:
    """Train ``len(seeds)`` runs (vmapped) with per-run ``sigma2``, ``eta`` and a common ``batch``.

    The teacher and the data depend on the seed only; the initial weights on (seed, ``init_ids``)
    (default 0) and the SGD noise on the seed: runs sharing both see the same initial matrices up to
    the σ_w² scale (so the (η, B) pairs of one grid point start from identical weights).

    Returns numpy arrays: ``loss`` (R, n_log+1), per layer ``sv``, ``dlds``, ``noise``
    (lists over layers of (R, n_log+1, k_l)), ``log_steps`` (n_log+1,).
    """
    spec.validate()
    seeds = np.asarray(seeds, int)
    sigma2, eta = np.broadcast_to(np.asarray(sigma2, float), seeds.shape), np.broadcast_to(np.asarray(eta, float),
                                                                                           seeds.shape)
    if steps % log_every or steps < log_every or batch < 1:
        raise QShockInputError(f"train_runs: log_every ({log_every}) must divide steps ({steps}); batch >= 1")
    if np.any(sigma2 <= 0) or np.any(eta <= 0):
        raise QShockInputError("train_runs: sigma2 and eta must be > 0")
    n_log = steps // log_every
    ids = np.zeros(seeds.shape, int) if init_ids is None else np.broadcast_to(np.asarray(init_ids, int), seeds.shape)
    parts = []
    for lo in range(0, seeds.size, max_parallel):
        sl = slice(lo, lo + max_parallel)
        keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds[sl]])
        dkeys = jnp.stack([jax.random.PRNGKey(10_000 + int(s)) for s in seeds[sl]])
        (loss, layers), _ = _train_batch(keys, jnp.asarray(sigma2[sl]), jnp.asarray(eta[sl]), dkeys,
                                         jnp.asarray(ids[sl]), spec, int(batch), n_log, int(log_every))
        parts.append((np.asarray(loss), [[np.asarray(a) for a in lay] for lay in layers]))
    loss = np.concatenate([p[0] for p in parts])
    out = {"loss": loss, "log_steps": np.arange(n_log + 1) * log_every}
    for j, name in enumerate(("sv", "dlds", "noise")):
        out[name] = [np.concatenate([p[1][lay][j] for p in parts]) for lay in range(spec.depth)]
    if not np.all(np.isfinite(loss)):
        bad = int(np.sum(~np.all(np.isfinite(loss), axis=1)))
        out["diverged"] = bad
    return out

