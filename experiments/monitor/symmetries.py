"""Parameter symmetries of a user's model, named by parameter paths (docs/theory.md §3).

A symmetry is a group G acting on a subset of the parameters that leaves the loss unchanged.
Each dataclass below names its parameters by *paths* into the parameter pytree: the
``jax.tree_util.keystr`` of a leaf with brackets turned into dots and the leading dot dropped,
e.g. ``"weights.0"`` (an equinox list field), ``"layers.1.weight"`` or
``"params.Dense_0.kernel"`` (a Flax dict). :func:`leaf_paths` lists them for a pytree.

=================  =====================================  ===================================
symmetry           action (ξ in the Lie algebra)          section (canonical representative)
=================  =====================================  ===================================
``Translation``    logits W += 1_C vᵀ, b += c 1_C         W − mean_c W, b − mean b
``Scale``          θ_A ↦ e^ξ θ_A                          θ_A / ‖θ_A‖ (unit sphere)
``Rescale``        neuron i: in_i ↦ e^ξᵢ in_i,            ‖in_i‖ = 1, out_i ↦ ‖in_i‖ out_i
                   out_i ↦ e^−ξᵢ out_i
``GL``             (W_Q, W_K) ↦ (W_Q A, W_K A^−ᵀ)         balanced factors of W_Q W_Kᵀ
=================  =====================================  ===================================

:class:`FlatSymmetries` compiles a list of them against a parameter pytree into pure functions of
the flat parameter vector θ (``jax.flatten_util.ravel_pytree`` order): ``section(θ)`` (all
sections in list order, so list ReLU layers from the input), ``tangents(θ)`` (the (P, K) matrix
d/dξ exp(ξ)·θ at ξ = 0, whose span is the orbit tangent space) and ``scale_masks`` (one 0/1 row
per ``Scale`` group). All are jit-able.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from qshock.errors import QShockInputError
from qshock.manifolds import FactorisedQuotient

__all__ = ["Translation", "Scale", "Rescale", "GL", "FlatSymmetries", "leaf_paths", "normalise_path"]


@dataclass(frozen=True)
class Translation:
    """Softmax translation of a logits layer: every class gets the same vector added.

    ``weight`` has the class axis ``axis`` (e.g. (C, h) with axis 0); ``bias`` is (C,). Either
    may be ``None``. Orbit dimension: (size of ``weight`` / C) + 1."""

    weight: str | None = None
    bias: str | None = None
    axis: int = 0


@dataclass(frozen=True)
class Scale:
    """Scale symmetry of the parameters ``paths`` taken together (weights feeding a normalisation)."""

    paths: tuple = ()


@dataclass(frozen=True)
class Rescale:
    """ReLU rescaling of h neurons: ``incoming`` arrays have the neuron index on axis ``in_axis``
    (a (h, d) weight and an (h,) bias: 0), ``outgoing`` arrays on ``out_axis`` (a (C, h) weight: 1)."""

    incoming: tuple = ()
    outgoing: tuple = ()
    in_axis: int = 0
    out_axis: int = 1


@dataclass(frozen=True)
class GL:
    """GL(r) symmetry of a factorised product W_Q W_Kᵀ (attention logits, low-rank layers).

    ``left`` and ``right`` have shape (..., d, r) (leading axes, e.g. heads, are independent
    copies); with ``right_transposed`` the right factor is stored as (..., r, d) (e.g. W_O in
    W_V W_O)."""

    left: str = ""
    right: str = ""
    right_transposed: bool = False


def normalise_path(path: str) -> str:
    """``".weights[0]"`` / ``"['params']['Dense_0']"`` / ``"weights.0"`` → ``"weights.0"`` / ``"params.Dense_0"``."""
    s = re.sub(r"\[['\"]?([^\]'\"]+)['\"]?\]", r".\1", str(path))
    return s.strip(".")


def leaf_paths(params) -> list:
    """The normalised path of every array leaf of ``params`` (ravel order)."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    return [normalise_path(jax.tree_util.keystr(p)) for p, _ in leaves]


class FlatSymmetries:
    """Symmetries compiled against the layout of ``params`` (see module docstring).

    Raises :class:`QShockInputError` naming an unknown path, a shape that does not fit the
    symmetry, or a leaf used by two scale groups."""

    def __init__(self, params, symmetries=()):
        flat, self.unravel = ravel_pytree(params)
        self.n_params = int(flat.shape[0])
        leaves = jax.tree_util.tree_flatten_with_path(params)[0]
        self.layout, off = {}, 0
        for p, leaf in leaves:
            shape = tuple(np.shape(leaf))
            self.layout[normalise_path(jax.tree_util.keystr(p))] = (off, shape)
            off += int(np.prod(shape, dtype=int))
        self.symmetries = tuple(symmetries)
        for s in self.symmetries:
            self._check(s)
        masks = []
        for s in self.symmetries:
            if isinstance(s, Scale):
                m = np.zeros(self.n_params)
                for p in s.paths:
                    o, sh = self.layout[normalise_path(p)]
                    m[o:o + int(np.prod(sh, dtype=int))] = 1.0
                masks.append(m)
        self.scale_masks = np.asarray(masks, float).reshape(len(masks), self.n_params)
        self.dim = sum(self._dim(s) for s in self.symmetries)

    # ------------------------------------------------------------------ checks
    def _leaf(self, path, what):
        key = normalise_path(path)
        if key not in self.layout:
            raise QShockInputError(f"{what}: no parameter at path {path!r}; paths are: {', '.join(self.layout)}")
        return self.layout[key]

    def _check(self, s):
        name = type(s).__name__
        if isinstance(s, Translation):
            if s.weight is None and s.bias is None:
                raise QShockInputError("Translation: give weight and/or bias")
            C = None
            if s.weight is not None:
                sh = self._leaf(s.weight, name)[1]
                if not (0 <= s.axis < len(sh)):
                    raise QShockInputError(f"Translation: axis {s.axis} out of range for {s.weight} of shape {sh}")
                C = sh[s.axis]
            if s.bias is not None:
                sh = self._leaf(s.bias, name)[1]
                if len(sh) != 1 or (C is not None and sh[0] != C):
                    raise QShockInputError(f"Translation: bias {s.bias} must be ({C},), got {sh}")
        elif isinstance(s, Scale):
            if not s.paths:
                raise QShockInputError("Scale: paths is empty")
            for p in s.paths:
                self._leaf(p, name)
        elif isinstance(s, Rescale):
            if not s.incoming or not s.outgoing:
                raise QShockInputError("Rescale: give incoming and outgoing paths")
            hs = {self._leaf(p, name)[1][s.in_axis] for p in s.incoming} | \
                 {self._leaf(p, name)[1][s.out_axis] for p in s.outgoing}
            if len(hs) != 1:
                raise QShockInputError(f"Rescale: incoming axis {s.in_axis} and outgoing axis {s.out_axis} "
                                       f"must have one neuron count, got {sorted(hs)}")
        elif isinstance(s, GL):
            a, b = self._leaf(s.left, name)[1], self._leaf(s.right, name)[1]
            b = b[:-2] + b[-2:][::-1] if s.right_transposed else b
            if len(a) < 2 or a != b:
                raise QShockInputError(f"GL: left {s.left} {a} and right {s.right} (as (..., d, r)) {b} differ")
        else:
            raise QShockInputError(f"unknown symmetry {s!r}; use Translation, Scale, Rescale or GL")

    def _dim(self, s):
        if isinstance(s, Translation):
            w = 0 if s.weight is None else int(np.prod(self._leaf(s.weight, "")[1])) // self._leaf(s.weight, "")[1][s.axis]
            return w + (s.bias is not None)
        if isinstance(s, Scale):
            return 1
        if isinstance(s, Rescale):
            return self._leaf(s.incoming[0], "")[1][s.in_axis]
        sh = self._leaf(s.left, "")[1]
        return int(np.prod(sh[:-2], dtype=int)) * sh[-1] ** 2

    # ------------------------------------------------------------------ flat access
    def _get(self, theta, path):
        o, sh = self.layout[normalise_path(path)]
        return theta[o:o + int(np.prod(sh, dtype=int))].reshape(sh)

    def _set(self, theta, path, value):
        o, sh = self.layout[normalise_path(path)]
        return theta.at[o:o + int(np.prod(sh, dtype=int))].set(value.reshape(-1).astype(theta.dtype))

    # ------------------------------------------------------------------ sections
    def _section_one(self, theta, s):
        if isinstance(s, Translation):
            if s.weight is not None:
                W = self._get(theta, s.weight)
                theta = self._set(theta, s.weight, W - W.mean(axis=s.axis, keepdims=True))
            if s.bias is not None:
                b = self._get(theta, s.bias)
                theta = self._set(theta, s.bias, b - b.mean())
            return theta
        if isinstance(s, Scale):
            n = jnp.sqrt(sum(jnp.sum(self._get(theta, p) ** 2) for p in s.paths))
            for p in s.paths:
                theta = self._set(theta, p, self._get(theta, p) / n)
            return theta
        if isinstance(s, Rescale):
            ins = [jnp.moveaxis(self._get(theta, p), s.in_axis, 0) for p in s.incoming]
            n = jnp.sqrt(sum(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in ins))
            for p in s.incoming:
                a = jnp.moveaxis(self._get(theta, p), s.in_axis, 0)
                theta = self._set(theta, p, jnp.moveaxis(a / n.reshape((-1,) + (1,) * (a.ndim - 1)), 0, s.in_axis))
            for p in s.outgoing:
                a = jnp.moveaxis(self._get(theta, p), s.out_axis, 0)
                theta = self._set(theta, p, jnp.moveaxis(a * n.reshape((-1,) + (1,) * (a.ndim - 1)), 0, s.out_axis))
            return theta
        return self._gl_section(theta, s)

    def _gl_pair(self, theta, s):
        U = self._get(theta, s.left)
        V = self._get(theta, s.right)
        V = jnp.swapaxes(V, -1, -2) if s.right_transposed else V
        return U, V

    def _gl_section(self, theta, s):
        U, V = self._gl_pair(theta, s)
        d, r = U.shape[-2:]
        fq = FactorisedQuotient(m=d, n=d, r=r)
        lead = U.shape[:-2]
        Uf, Vf = U.reshape((-1, d, r)), V.reshape((-1, d, r))
        both = jax.vmap(lambda a, b: fq.section(fq.project(jnp.concatenate([a.reshape(-1), b.reshape(-1)]))))(Uf, Vf)
        Un, Vn = both[:, :d * r].reshape(lead + (d, r)), both[:, d * r:].reshape(lead + (d, r))
        theta = self._set(theta, s.left, Un)
        return self._set(theta, s.right, jnp.swapaxes(Vn, -1, -2) if s.right_transposed else Vn)

    def section(self, theta):
        """The canonical representative σ(π(θ)): every symmetry's section, in list order."""
        for s in self.symmetries:
            theta = self._section_one(theta, s)
        return theta

    # ------------------------------------------------------------------ orbit tangents
    def _lin_one(self, theta, s, xi):
        """First-order action θ ↦ θ + ξ·(generator) of one symmetry (derivative = orbit tangents)."""
        out = jnp.zeros_like(theta)
        if isinstance(s, Translation):
            k = 0
            if s.weight is not None:
                W = self._get(theta, s.weight)
                rest = tuple(d for i, d in enumerate(W.shape) if i != s.axis)
                v = xi[:W.size // W.shape[s.axis]].reshape(rest)
                out = self._set(out, s.weight, jnp.broadcast_to(jnp.expand_dims(v, s.axis), W.shape))
                k = v.size
            if s.bias is not None:
                b = self._get(theta, s.bias)
                out = self._set(out, s.bias, jnp.full_like(b, 1.0) * xi[k])
            return out
        if isinstance(s, Scale):
            for p in s.paths:
                out = self._set(out, p, xi[0] * self._get(theta, p))
            return out
        if isinstance(s, Rescale):
            for p, ax, sg in [(p, s.in_axis, 1.0) for p in s.incoming] + [(p, s.out_axis, -1.0) for p in s.outgoing]:
                a = self._get(theta, p)
                shp = [1] * a.ndim
                shp[ax] = -1
                out = self._set(out, p, sg * a * xi.reshape(shp))
            return out
        U, V = self._gl_pair(theta, s)
        r = U.shape[-1]
        X = xi.reshape(U.shape[:-2] + (r, r))
        dV = -V @ jnp.swapaxes(X, -1, -2)
        out = self._set(out, s.left, U @ X)
        return self._set(out, s.right, jnp.swapaxes(dV, -1, -2) if s.right_transposed else dV)

    def tangents(self, theta):
        """(P, K) orbit tangents at θ (K = ``dim``; columns need not be orthonormal)."""
        if self.dim == 0:
            return jnp.zeros((self.n_params, 0), theta.dtype)

        def lin(xi):
            out, off = jnp.zeros_like(theta), 0
            for s in self.symmetries:
                k = self._dim(s)
                out = out + self._lin_one(theta, s, xi[off:off + k])
                off += k
            return out
        return jax.jacfwd(lin)(jnp.zeros(self.dim, theta.dtype))
