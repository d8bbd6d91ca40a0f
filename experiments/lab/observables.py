"""Quotient observables of the parameter symmetries of the training-lab models.

A symmetry is a group acting on the parameters that leaves the loss unchanged. For each
one we implement (all pure functions of an equinox model):

* ``act(model, xi)``  the group element exp(xi) (xi in the Lie algebra, flat vector; xi = 0
  is the identity). Its derivative at xi = 0 spans the orbit tangent space.
* ``section(model)``  a canonical orbit representative (a chart of the quotient):
    - translation (softmax logits): centre the logits layer, W <- W - mean_c W, b <- b - mean_c b;
    - scale (weights feeding a normalisation): w <- w / |w| (the unit sphere);
    - rescale (ReLU neuron): incoming (w_in, b) <- unit norm, outgoing / |w_in|, layer by
      layer from the input (the base of the cone);
    - GL(d_h) (attention head): balanced factors, W_Q = U S^{1/2}, W_K = V S^{1/2} from the SVD
      W_Q W_K^T = U S V^T, signs fixed so the largest entry of each U column is positive (unique
      for distinct singular values); same for W_V W_O;
    - permutation (mean-field particles): particles sorted by their outgoing norm.
* ``conserved(model)`` the gradient-flow conserved quantity (Kunin et al. 2021, docs/theory.md §3):
    translation 1^T b and column sums 1^T W of the logits layer; scale |w|^2; rescale
    c_i = |w_in,i|^2 + b_i^2 - |w_out,i|^2; GL  W_Q^T W_Q - W_K^T W_K and W_V^T W_V - W_O W_O^T.
    These are NOT gauge invariant: they are the coordinates along the orbit.
* ``invariants`` quotient coordinates / gauge-invariant summaries computed on the section:
    rescale: |w_out| per neuron at the section (= |w_in| |w_out centred|); GL: singular values
    of W_Q W_K^T and W_V W_O per head; mean field: sorted particle norms.

The conserved quantities and the GL(r) singular values are computed by the ``manifolds``
quotients (``TranslationQuotient``, ``ScaleQuotient``, ``RescaleQuotient``, ``FactorisedQuotient``),
applied per logit column / parameter group / neuron / head. The sections above are our own: they
handle multi-output neurons and fix the SVD sign freedom, which the single-group classes do not.

``project(model)`` applies all sections (translation first, then continuous groups, then
permutations), so ``ravel(project(model))`` is a point of the quotient chart; it is the point
at which the quotient sharpness is evaluated (see ``qshock.experiments.lab.sharpness``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jax.scipy.linalg import expm

from qshock.experiments.lab.models import CNN, MLP, MeanField, Transformer
from qshock.manifolds import FactorisedQuotient, RescaleQuotient, ScaleQuotient, TranslationQuotient

__all__ = ["Symmetry", "symmetries", "project", "conserved", "invariants", "quotient_observables",
           "gauge_transform", "orbit_tangents", "ravel_model"]


@dataclass(frozen=True)
class Symmetry:
    """One continuous (dim > 0) or discrete (dim == 0) parameter symmetry."""

    name: str
    kind: str  # translation | scale | rescale | gl | permutation
    dim: int
    act: Callable  # (model, xi) -> model
    section: Callable  # model -> model
    conserved: Callable  # model -> dict[str, array]
    invariants: Callable  # sectioned model -> dict[str, array]
    lin: Callable | None = None  # optional map with the same derivative as ``act`` at xi = 0 (cheaper)


def ravel_model(model):
    """Flat parameter vector of ``model`` (same ordering as the training state)."""
    return ravel_pytree(eqx.filter(model, eqx.is_array))[0]


def _sq(*arrs):
    return sum(jnp.sum(a * a) for a in arrs)


# ---------------------------------------------------------------- building blocks
def _translation(get, set_, axis, name="logits"):
    """Softmax translation of a logits layer (W, b): W gets v added along the class ``axis``
    (same v for every class), b gets c added to every class."""

    def act(m, xi):
        W, b = get(m)
        v = xi[:-1]
        shift = v[None, :] if axis == 0 else v[:, None]
        return set_(m, (W + shift, b + xi[-1]))

    def section(m):
        W, b = get(m)
        return set_(m, (W - W.mean(axis=axis, keepdims=True), b - b.mean()))

    def cons(m):  # 1^T z of every logit vector z (a column of W along the class axis, and b)
        W, b = get(m)
        tq = TranslationQuotient(k=int(b.shape[0]))
        return {f"{name}_bias_sum": tq.conserved(b)[0],
                f"{name}_col_sums": jax.vmap(tq.conserved, in_axes=1 - axis)(W)[:, 0]}

    def inv(m):
        W, b = get(m)
        return {f"{name}_centred_sqnorm": _sq(W, b)}

    return act, section, cons, inv


def _scale(get, set_, name):
    """Scale symmetry of a parameter group feeding a normalisation: theta_A -> e^xi theta_A."""

    def act(m, xi):
        return set_(m, tuple(a * jnp.exp(xi[0]) for a in get(m)))

    def section(m):
        arrs = get(m)
        n = jnp.sqrt(_sq(*arrs))
        return set_(m, tuple(a / n for a in arrs))

    def cons(m):
        flat = jnp.concatenate([a.reshape(-1) for a in get(m)])
        return {f"scale_sqnorm_{name}": ScaleQuotient(n=int(flat.shape[0])).conserved(flat)[0]}

    return Symmetry(f"scale:{name}", "scale", 1, act, section, cons, lambda m: {})


def _rescale_c(w_in, a_out):
    """c_i = |w_in,i|^2 - |a_out,i|^2 per neuron (rows), via ``manifolds.RescaleQuotient``: the
    rescale orbit of (a, w_in) with a vector outgoing weight a acts on |a| like on a scalar."""
    rq = RescaleQuotient(n=int(w_in.shape[1]))
    a = jnp.sqrt(jnp.sum(a_out ** 2, axis=1))
    return jax.vmap(lambda ai, wi: rq.conserved(jnp.concatenate([ai[None], wi]))[0])(a, w_in)


# ---------------------------------------------------------------- per model
def _mlp_symmetries(model: MLP, task):
    L = len(model.weights)
    syms = []
    if task == "classification":
        get = lambda m: (m.weights[-1], m.biases[-1])  # noqa: E731
        set_ = lambda m, wb: eqx.tree_at(lambda t: (t.weights[-1], t.biases[-1]), m, wb)  # noqa: E731
        a, s, c, i = _translation(get, set_, axis=0)
        syms.append(Symmetry("translation:logits", "translation", model.weights[-1].shape[1] + 1, a, s, c, i))
    if model.norm:
        for l in range(L - 1):
            get = lambda m, l=l: (m.weights[l], m.biases[l])  # noqa: E731
            set_ = lambda m, wb, l=l: eqx.tree_at(lambda t: (t.weights[l], t.biases[l]), m, wb)  # noqa: E731
            syms.append(_scale(get, set_, f"layer{l}"))
    elif model.activation == "relu":
        sizes = [w.shape[0] for w in model.weights[:-1]]
        offs = [sum(sizes[:l]) for l in range(L)]

        def act(m, xi):
            for l in range(L - 1):
                al = jnp.exp(xi[offs[l]:offs[l] + sizes[l]])
                m = eqx.tree_at(lambda t: (t.weights[l], t.biases[l], t.weights[l + 1]), m,
                                (m.weights[l] * al[:, None], m.biases[l] * al, m.weights[l + 1] / al[None, :]))
            return m

        def section(m):
            for l in range(L - 1):
                n = jnp.sqrt(jnp.sum(m.weights[l] ** 2, axis=1) + m.biases[l] ** 2)
                m = eqx.tree_at(lambda t: (t.weights[l], t.biases[l], t.weights[l + 1]), m,
                                (m.weights[l] / n[:, None], m.biases[l] / n, m.weights[l + 1] * n[None, :]))
            return m

        def cons(m):
            return {"rescale_c": jnp.concatenate([
                _rescale_c(jnp.concatenate([m.weights[l], m.biases[l][:, None]], axis=1), m.weights[l + 1].T)
                for l in range(L - 1)])}

        def inv(m):  # m is sectioned: |w_in| = 1, so this is |w_in| |w_out|
            return {"rescale_out_norm": jnp.concatenate(
                [jnp.sqrt(jnp.sum(m.weights[l + 1] ** 2, axis=0)) for l in range(L - 1)])}

        syms.append(Symmetry("rescale:hidden", "rescale", sum(sizes), act, section, cons, inv))
    return syms


def _cnn_symmetries(model: CNN, task):
    syms = []
    get = lambda m: (m.W_out, m.b_out)  # noqa: E731
    set_ = lambda m, wb: eqx.tree_at(lambda t: (t.W_out, t.b_out), m, wb)  # noqa: E731
    a, s, c, i = _translation(get, set_, axis=0)
    syms.append(Symmetry("translation:logits", "translation", model.W_out.shape[1] + 1, a, s, c, i))
    for l in range(len(model.kernels)):
        get = lambda m, l=l: (m.kernels[l], m.biases[l])  # noqa: E731
        set_ = lambda m, kb, l=l: eqx.tree_at(lambda t: (t.kernels[l], t.biases[l]), m, kb)  # noqa: E731
        syms.append(_scale(get, set_, f"conv{l}"))
    return syms


def _balanced(P, Q):
    """Balanced factors of M = P Q^T (P, Q: (d, r)): U_r S^{1/2}, V_r S^{1/2} and S."""
    U, S, Vt = jnp.linalg.svd(P @ Q.T)
    r = P.shape[1]
    # fix the SVD sign freedom: largest |entry| of each left singular vector is positive
    sg = jnp.sign(jnp.take_along_axis(U, jnp.argmax(jnp.abs(U), axis=0)[None], axis=0))[0]
    U, Vt = U * sg, Vt * sg[:, None]
    rs = jnp.sqrt(S[:r])
    return U[:, :r] * rs, Vt[:r].T * rs, S[:r]


def _transformer_symmetries(model: Transformer, task):
    syms = []
    get = lambda m: (m.W_U, m.b_U)  # noqa: E731
    set_ = lambda m, wb: eqx.tree_at(lambda t: (t.W_U, t.b_U), m, wb)  # noqa: E731
    a, s, c, i = _translation(get, set_, axis=1)
    syms.append(Symmetry("translation:readout", "translation", model.W_U.shape[0] + 1, a, s, c, i))
    for bi, blk in enumerate(model.blocks):
        H, d, dh = blk.W_Q.shape
        n = H * dh * dh

        def act(m, xi, bi=bi, H=H, dh=dh, n=n):
            b = m.blocks[bi]
            X = xi[:n].reshape(H, dh, dh)
            Y = xi[n:].reshape(H, dh, dh)
            A, Ainv_T = jax.vmap(expm)(X), jax.vmap(expm)(-jnp.swapaxes(X, 1, 2))
            B, Binv = jax.vmap(expm)(Y), jax.vmap(expm)(-Y)
            new = (b.W_Q @ A, b.W_K @ Ainv_T, b.W_V @ B, Binv @ b.W_O)
            return eqx.tree_at(lambda t: (t.blocks[bi].W_Q, t.blocks[bi].W_K, t.blocks[bi].W_V, t.blocks[bi].W_O), m, new)

        def lin(m, xi, bi=bi, H=H, dh=dh, n=n):  # first order in xi: W_Q (I + X), W_K (I - X^T), ...
            b = m.blocks[bi]
            X = xi[:n].reshape(H, dh, dh)
            Y = xi[n:].reshape(H, dh, dh)
            new = (b.W_Q + b.W_Q @ X, b.W_K - b.W_K @ jnp.swapaxes(X, 1, 2), b.W_V + b.W_V @ Y, b.W_O - Y @ b.W_O)
            return eqx.tree_at(lambda t: (t.blocks[bi].W_Q, t.blocks[bi].W_K, t.blocks[bi].W_V, t.blocks[bi].W_O), m, new)

        def section(m, bi=bi):
            b = m.blocks[bi]
            Q, K, _ = jax.vmap(_balanced)(b.W_Q, b.W_K)
            V, Ot, _ = jax.vmap(_balanced)(b.W_V, jnp.swapaxes(b.W_O, 1, 2))
            return eqx.tree_at(lambda t: (t.blocks[bi].W_Q, t.blocks[bi].W_K, t.blocks[bi].W_V, t.blocks[bi].W_O),
                               m, (Q, K, V, jnp.swapaxes(Ot, 1, 2)))

        fq = FactorisedQuotient(m=d, n=d, r=dh)  # (U, V) -> U V^T with U = W_Q, V = W_K (or W_V, W_O^T)
        pair = lambda U, V: jnp.concatenate([U.reshape(-1), V.reshape(-1)])  # noqa: E731

        def cons(m, bi=bi, fq=fq, dh=dh):
            b = m.blocks[bi]
            c = lambda U, V: fq.conserved(pair(U, V)).reshape(dh, dh)  # noqa: E731
            return {f"gl_qk_{bi}": jax.vmap(c)(b.W_Q, b.W_K),
                    f"gl_vo_{bi}": jax.vmap(c)(b.W_V, jnp.swapaxes(b.W_O, 1, 2))}

        def inv(m, bi=bi, fq=fq, dh=dh):
            b = m.blocks[bi]
            sv = lambda U, V: fq.singular_values(fq.project(pair(U, V)))[:dh]  # noqa: E731
            return {f"sv_qk_{bi}": jax.vmap(sv)(b.W_Q, b.W_K),
                    f"sv_vo_{bi}": jax.vmap(sv)(b.W_V, jnp.swapaxes(b.W_O, 1, 2))}

        syms.append(Symmetry(f"gl:block{bi}", "gl", 2 * n, act, section, cons, inv, lin))
    return syms


def _meanfield_symmetries(model: MeanField, task):
    m_ = model.W.shape[0]
    syms = []
    if task == "classification":
        def act_t(m, xi):
            return eqx.tree_at(lambda t: t.A, m, m.A + xi[:, None])

        def sec_t(m):
            return eqx.tree_at(lambda t: t.A, m, m.A - m.A.mean(axis=1, keepdims=True))

        syms.append(Symmetry("translation:particles", "translation", m_, act_t, sec_t,
                             lambda m: {"particle_A_sums": jnp.sum(m.A, axis=1)}, lambda m: {}))
    if model.activation == "relu":
        def act_r(m, xi):
            al = jnp.exp(xi)
            return eqx.tree_at(lambda t: (t.W, t.b, t.A), m, (m.W * al[:, None], m.b * al, m.A / al[:, None]))

        def sec_r(m):
            n = jnp.sqrt(jnp.sum(m.W ** 2, axis=1) + m.b ** 2)
            return eqx.tree_at(lambda t: (t.W, t.b, t.A), m, (m.W / n[:, None], m.b / n, m.A * n[:, None]))

        def cons_r(m):
            return {"rescale_c": _rescale_c(jnp.concatenate([m.W, m.b[:, None]], axis=1), m.A)}

        syms.append(Symmetry("rescale:particles", "rescale", m_, act_r, sec_r, cons_r, lambda m: {}))

    def sec_p(m):
        order = jnp.argsort(jnp.sum(m.A ** 2, axis=1) + 1e-3 * m.b)  # ties broken by the bias
        return eqx.tree_at(lambda t: (t.W, t.b, t.A), m, (m.W[order], m.b[order], m.A[order]))

    def inv_p(m):  # sectioned: sorted particles in quotient coordinates
        return {"mf_particle_norms": jnp.sqrt(jnp.sum(m.A ** 2, axis=1) + jnp.sum(m.W ** 2, axis=1) + m.b ** 2)}

    syms.append(Symmetry("permutation:particles", "permutation", 0, lambda m, xi: m, sec_p, lambda m: {}, inv_p))
    return syms


def symmetries(model, task: str) -> list[Symmetry]:
    """The symmetries of ``model`` under the loss of ``task`` (softmax CE has translations)."""
    for cls, fn in ((MLP, _mlp_symmetries), (CNN, _cnn_symmetries), (Transformer, _transformer_symmetries),
                    (MeanField, _meanfield_symmetries)):
        if isinstance(model, cls):
            return fn(model, task)
    raise TypeError(f"no symmetries registered for {type(model).__name__}")


# ---------------------------------------------------------------- public maps
def project(model, task: str):
    """Canonical representative sigma(pi(theta)) of the orbit of ``model`` (all sections)."""
    for s in symmetries(model, task):
        model = s.section(model)
    return model


def conserved(model, task: str) -> dict:
    """Gradient-flow conserved quantities of every continuous symmetry (raw, not invariant)."""
    out = {}
    for s in symmetries(model, task):
        out.update(s.conserved(model))
    return out


def invariants(model, task: str) -> dict:
    """Gauge-invariant quotient coordinates / summaries (computed on ``project(model)``)."""
    pm = project(model, task)
    out = {}
    for s in symmetries(model, task):
        out.update(s.invariants(pm))
    return out


def quotient_observables(model, task: str, lr) -> dict:
    """conserved + invariants, plus the effective learning rate lr / |w|^2 of each scale group."""
    out = conserved(model, task)
    for k in [k for k in out if k.startswith("scale_sqnorm_")]:
        out["eff_lr_" + k[len("scale_sqnorm_"):]] = lr / out[k]
    out.update(invariants(model, task))
    return out


def _act_all(model, task, xi, linear=False):
    off = 0
    for s in symmetries(model, task):
        if s.dim:
            f = s.lin if (linear and s.lin is not None) else s.act
            model = f(model, xi[off:off + s.dim])
            off += s.dim
    return model


def lie_dim(model, task: str) -> int:
    """Total dimension of the continuous symmetry group."""
    return sum(s.dim for s in symmetries(model, task))


def gauge_transform(model, task: str, key, size: float = 1.0):
    """A random group element applied to ``model``: xi ~ size * N(0, 1) in every continuous
    symmetry, followed by a random permutation of mean-field particles."""
    k1, k2 = jax.random.split(key)
    xi = size * jax.random.normal(k1, (lie_dim(model, task),))
    model = _act_all(model, task, xi)
    if isinstance(model, MeanField):
        p = jax.random.permutation(k2, model.W.shape[0])
        model = eqx.tree_at(lambda t: (t.W, t.b, t.A), model, (model.W[p], model.b[p], model.A[p]))
    return model


def orbit_tangents(model, task: str):
    """(P, K) matrix whose columns span the orbit tangent space at ``model``: d/dxi of
    ravel(exp(xi) . theta) at xi = 0 (K = ``lie_dim``; may be 0)."""
    K = lie_dim(model, task)
    P = ravel_model(model).shape[0]
    if K == 0:
        return jnp.zeros((P, 0), ravel_model(model).dtype)
    f = lambda xi: ravel_model(_act_all(model, task, xi, linear=True))  # noqa: E731
    return jax.jacfwd(f)(jnp.zeros(K, ravel_model(model).dtype))
