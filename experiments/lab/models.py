"""Small equinox models whose parameter symmetries are exact.

Every model maps ONE example to a vector of ``n_out`` outputs (logits or regression
values); batching is done with ``vmap``. Parameters are explicit named arrays so the
quotient observables (``qshock.experiments.lab.observables``) can find each symmetry group:

* ``MLP``          h_{l+1} = act(N(W_l h_l + b_l)), logits = W_L h_L + b_L. With ``norm=False``
                   and ReLU every hidden neuron has the rescale symmetry; with ``norm=True``
                   N is a layer normalisation without affine part or epsilon, so each
                   (W_l, b_l) has the exact scale symmetry. The logits layer has the softmax
                   translation symmetry.
* ``CNN``          conv -> layer norm (no affine, no epsilon) -> ReLU, twice, global mean pool,
                   linear logits. Each conv (kernel, bias) is scale invariant. 1-D or 2-D.
* ``Transformer``  token + position embedding, pre-LN blocks of multi-head attention
                   (no Q/K/V biases: exact GL(d_h) symmetries W_Q A, W_K A^{-T} and
                   W_V B, B^{-1} W_O per head) and a ReLU MLP, final LN, linear readout of the
                   last position. With ``mlp_norm=True`` (``make_model(..., norm=True)``) the MLP
                   hidden pre-activation is layer-normalised without affine part or epsilon,
                   h + ReLU(N(x W1 + b1)) W2 + b2, so each block's (W1, b1) is exactly scale
                   invariant (<g, w> = 0, g(cw) = g(w)/c): the one group of the pre-LN model to
                   which the scale law and the periodic-spike identity of THEORY §3, §7 apply.
                   ``Transformer.scale_groups()`` names these groups for the trainer's logs.
* ``MeanField``    f(x) = (1/m) sum_i a_i act(w_i . x + b_i): particles (w_i, b_i, a_i).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from qshock.errors import QShockInputError

__all__ = ["MLP", "CNN", "Transformer", "MeanField", "MODELS", "make_model", "layer_norm", "COMPATIBLE"]

MODELS = ("mlp", "cnn", "transformer", "meanfield")
COMPATIBLE = {
    "mlp": ("digits", "mnist1d", "teacher"),
    "cnn": ("digits", "mnist1d"),
    "transformer": ("sequence",),
    "meanfield": ("digits", "mnist1d", "teacher"),
}


def _act(name):
    return {"relu": jax.nn.relu, "tanh": jnp.tanh}[name]


def layer_norm(z, axis=None, eps=0.0):
    """(z - mean z) / sqrt(var z + eps); with eps = 0 it is exactly invariant under z -> c z, c > 0."""
    mu = jnp.mean(z, axis=axis, keepdims=True)
    zc = z - mu
    return zc / jnp.sqrt(jnp.mean(zc * zc, axis=axis, keepdims=True) + eps)


class MLP(eqx.Module):
    weights: list
    biases: list
    activation: str = eqx.field(static=True)
    norm: bool = eqx.field(static=True)

    def __init__(self, d_in, hidden, n_out, key, activation="relu", norm=False):
        sizes = [d_in, *hidden, n_out]
        keys = jax.random.split(key, 2 * (len(sizes) - 1))
        gain = 2.0 if activation == "relu" else 1.0
        self.weights = [jax.random.normal(keys[2 * i], (sizes[i + 1], sizes[i])) * math.sqrt(gain / sizes[i])
                        for i in range(len(sizes) - 1)]
        self.biases = [0.1 * jax.random.normal(keys[2 * i + 1], (sizes[i + 1],)) for i in range(len(sizes) - 1)]
        self.activation, self.norm = activation, bool(norm)

    def __call__(self, x):
        h = x.reshape(-1)
        act = _act(self.activation)
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            z = W @ h + b
            h = act(layer_norm(z) if self.norm else z)
        return self.weights[-1] @ h + self.biases[-1]


class CNN(eqx.Module):
    kernels: list
    biases: list
    W_out: jax.Array
    b_out: jax.Array
    nd: int = eqx.field(static=True)
    stride: int = eqx.field(static=True)

    def __init__(self, input_shape, n_out, key, channels=(8, 8), ksize=3, stride=1):
        nd = len(input_shape)
        c_in = 1
        keys = jax.random.split(key, 2 * len(channels) + 2)
        self.kernels, self.biases = [], []
        for i, c in enumerate(channels):
            fan = c_in * ksize**nd
            self.kernels.append(jax.random.normal(keys[2 * i], (c, c_in) + (ksize,) * nd) * math.sqrt(2.0 / fan))
            self.biases.append(0.1 * jax.random.normal(keys[2 * i + 1], (c,)))
            c_in = c
        self.W_out = jax.random.normal(keys[-2], (n_out, c_in)) / math.sqrt(c_in)
        self.b_out = 0.1 * jax.random.normal(keys[-1], (n_out,))
        self.nd, self.stride = nd, int(stride)

    def __call__(self, x):
        h = x[None]  # one input channel: (1, *spatial)
        for K, b in zip(self.kernels, self.biases):
            z = jax.lax.conv_general_dilated(h[None], K, (self.stride,) * self.nd, "SAME")[0]
            z = z + b.reshape((-1,) + (1,) * self.nd)
            h = jax.nn.relu(layer_norm(z))
        pooled = h.reshape(h.shape[0], -1).mean(axis=1)
        return self.W_out @ pooled + self.b_out


class Block(eqx.Module):
    ln1_g: jax.Array
    ln1_b: jax.Array
    W_Q: jax.Array  # (H, d, d_h)
    W_K: jax.Array
    W_V: jax.Array
    W_O: jax.Array  # (H, d_h, d)
    ln2_g: jax.Array
    ln2_b: jax.Array
    W1: jax.Array
    b1: jax.Array
    W2: jax.Array
    b2: jax.Array
    mlp_norm: bool = eqx.field(static=True)

    def __init__(self, d, heads, key, mlp_norm=False):
        dh = d // heads
        self.mlp_norm = bool(mlp_norm)
        k = jax.random.split(key, 6)
        s = 1.0 / math.sqrt(d)
        self.ln1_g, self.ln1_b = jnp.ones(d), jnp.zeros(d)
        self.W_Q = jax.random.normal(k[0], (heads, d, dh)) * s
        self.W_K = jax.random.normal(k[1], (heads, d, dh)) * s
        self.W_V = jax.random.normal(k[2], (heads, d, dh)) * s
        self.W_O = jax.random.normal(k[3], (heads, dh, d)) / math.sqrt(d)
        self.ln2_g, self.ln2_b = jnp.ones(d), jnp.zeros(d)
        self.W1 = jax.random.normal(k[4], (d, 4 * d)) * math.sqrt(2.0 / d)
        self.b1 = jnp.zeros(4 * d)
        self.W2 = jax.random.normal(k[5], (4 * d, d)) / math.sqrt(4 * d)
        self.b2 = jnp.zeros(d)

    def __call__(self, h):  # h: (T, d)
        x = layer_norm(h, axis=-1, eps=1e-5) * self.ln1_g + self.ln1_b
        q = jnp.einsum("td,hde->hte", x, self.W_Q)
        k = jnp.einsum("td,hde->hte", x, self.W_K)
        v = jnp.einsum("td,hde->hte", x, self.W_V)
        att = jax.nn.softmax(jnp.einsum("hte,hse->hts", q, k) / math.sqrt(q.shape[-1]), axis=-1)
        h = h + jnp.einsum("hts,hse,hed->td", att, v, self.W_O)
        x = layer_norm(h, axis=-1, eps=1e-5) * self.ln2_g + self.ln2_b
        z = x @ self.W1 + self.b1
        z = layer_norm(z, axis=-1) if self.mlp_norm else z  # eps = 0: (W1, b1) -> c (W1, b1) leaves z unchanged
        return h + jax.nn.relu(z) @ self.W2 + self.b2


class Transformer(eqx.Module):
    embed: jax.Array
    pos: jax.Array
    blocks: list
    lnf_g: jax.Array
    lnf_b: jax.Array
    W_U: jax.Array  # (d, n_out)
    b_U: jax.Array

    def __init__(self, vocab, seq_len, n_out, key, d=32, heads=4, layers=1, mlp_norm=False):
        k = jax.random.split(key, layers + 4)
        self.embed = jax.random.normal(k[0], (vocab, d))
        self.pos = 0.1 * jax.random.normal(k[1], (seq_len, d))
        self.blocks = [Block(d, heads, k[2 + i], mlp_norm=mlp_norm) for i in range(layers)]
        self.lnf_g, self.lnf_b = jnp.ones(d), jnp.zeros(d)
        self.W_U = jax.random.normal(k[-2], (d, n_out)) / math.sqrt(d)
        self.b_U = 0.1 * jax.random.normal(k[-1], (n_out,))

    def __call__(self, tokens):
        h = self.embed[tokens] + self.pos
        for blk in self.blocks:
            h = blk(h)
        x = layer_norm(h[-1], eps=1e-5) * self.lnf_g + self.lnf_b
        return x @ self.W_U + self.b_U

    def scale_groups(self):
        """[(name, get)] of the exactly scale-invariant groups: (W1, b1) of each block when
        ``mlp_norm`` (else none). ``get(model)`` returns the group's arrays."""
        return [(f"mlp{i}", lambda m, i=i: (m.blocks[i].W1, m.blocks[i].b1))
                for i, b in enumerate(self.blocks) if b.mlp_norm]


class MeanField(eqx.Module):
    W: jax.Array  # (m, d) particle input weights
    b: jax.Array  # (m,)
    A: jax.Array  # (m, n_out) particle output weights
    activation: str = eqx.field(static=True)

    def __init__(self, d_in, n_out, key, width=256, activation="relu"):
        k = jax.random.split(key, 3)
        self.W = jax.random.normal(k[0], (width, d_in)) / math.sqrt(d_in)
        self.b = 0.1 * jax.random.normal(k[1], (width,))
        self.A = jax.random.normal(k[2], (width, n_out))
        self.activation = activation

    def __call__(self, x):
        """f(x) = (1/m) sum_i A_i act(W_i . x + b_i)  (mean-field 1/m output scaling)."""
        h = _act(self.activation)(self.W @ x.reshape(-1) + self.b)
        return h @ self.A / self.W.shape[0]


def make_model(name: str, data, key, *, width: int | None = None, depth: int = 2,
               activation: str = "relu", norm: bool = False, heads: int = 2):
    """Build model ``name`` sized for ``data`` (an ``qshock.experiments.lab.data.Dataset``)."""
    if name not in MODELS:
        raise QShockInputError(f"--model: unknown model {name!r}; expected one of {', '.join(MODELS)}")
    if data.name not in COMPATIBLE[name]:
        raise QShockInputError(f"--model {name} cannot train on --data {data.name}; "
                               f"compatible datasets: {', '.join(COMPATIBLE[name])}")
    if activation not in ("relu", "tanh"):
        raise QShockInputError(f"--activation: expected relu or tanh, got {activation!r}")
    d_in = int(math.prod(data.input_shape))
    if name == "mlp":
        return MLP(d_in, [width or 32] * depth, data.n_out, key, activation=activation, norm=norm)
    if name == "cnn":
        stride = 2 if len(data.input_shape) == 1 else 1
        return CNN(data.input_shape, data.n_out, key, channels=(width or 8,) * 2, stride=stride)
    if name == "transformer":
        d = width or 16
        if d % heads:
            raise QShockInputError(f"--width {d} must be divisible by the number of heads {heads}")
        return Transformer(data.vocab, data.input_shape[0], data.n_out, key, d=d, heads=heads, layers=max(1, depth - 1),
                           mlp_norm=norm)
    return MeanField(d_in, data.n_out, key, width=width or 256, activation=activation)
