r"""Random-matrix statistics of weight spectra and the Dyson-Brownian-motion Langevin equation.

**Marchenko–Pastur.** For :math:`W \in \mathbb R^{M\times N}` with i.i.d. entries of variance
:math:`v`, let :math:`m = \min(M, N)`, :math:`n = \max(M, N)`, :math:`q = m/n`,
:math:`\sigma^2 = n v`. The :math:`m` singular values have, as :math:`n\to\infty`, the density

.. math:: p(s) = \frac{\sqrt{(\lambda_+ - s^2)(s^2 - \lambda_-)}}{\pi \sigma^2 q\, s},\qquad
   \lambda_\pm = \sigma^2 (1 \pm \sqrt q)^2

(q = 1: the quarter circle :math:`\sqrt{4\sigma^2 - s^2}/(\pi\sigma^2)`).

**Wigner surmise.** Unfolded nearest-neighbour spacings (unit mean) of a GOE spectrum follow
:math:`P_1(s) = \tfrac{\pi}{2} s\, e^{-\pi s^2/4}`; the family
:math:`P_\beta(s) = a_\beta s^\beta e^{-b_\beta s^2}` with
:math:`b_\beta = [\Gamma(\tfrac{\beta+2}{2})/\Gamma(\tfrac{\beta+1}{2})]^2`,
:math:`a_\beta = 2 b_\beta^{(\beta+1)/2}/\Gamma(\tfrac{\beta+1}{2})` (unit mass and mean) is
fitted by maximum likelihood in β (GOE: β = 1).

**Dyson Langevin equation** (THEORY §5, Park–Lucini–Aarts 2025) for the singular values of
:math:`W\in\mathbb R^{M\times N}` under SGD at temperature :math:`T = \eta/B`:

.. math:: ds_i = \Big[-\partial_{s_i}L + \frac{T\varsigma^2}{2}\Big(\frac{M-N}{s_i}
   + \sum_{j\ne i}\Big(\frac{1}{s_i - s_j} + \frac{1}{s_i + s_j}\Big)\Big)\Big]d\tau
   + \sqrt{T}\,\varsigma\, d\beta_i ,

with τ = η × steps and :math:`\varsigma^2` the per-example gradient variance along
:math:`u_i v_i^\top`. For a 2×2 matrix its stationary density is
:math:`\propto |s_1^2 - s_2^2|\, e^{-2U/(T\varsigma^2)}` on the chamber :math:`s_1\ge s_2\ge 0`
(``solver.fokker_planck`` with :math:`D = T\varsigma^2/2`). :func:`simulate_dyson` integrates it
with diffrax (Euler–Maruyama, fixed step) in the unfolded coordinates — the vector field is
equivariant under permutations and sign flips of the :math:`s_i` (for an even U), so the chamber
process is the folded path ``sort(|s|)`` — and returns folded states. The drift is tamed,
:math:`b/(1 + (\Delta t\,b)^2)` (kicks at most 1/2): a step that lands next to a collision (gap ε) would otherwise
receive a kick :math:`\sim T\varsigma^2\Delta t/ε` without bound.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError

__all__ = ["mp_singular_pdf", "mp_singular_cdf", "ks_mp", "surmise_pdf", "surmise_cdf", "fit_surmise_beta",
           "unfold_spacings", "unfold_pooled", "unfold_mp", "goe_spacings", "dyson_drift", "simulate_dyson", "fold",
           "linear_dyson_paths"]


def _mp_params(m_rows: int, n_cols: int, var: float):
    m, n = min(m_rows, n_cols), max(m_rows, n_cols)
    q, s2 = m / n, n * var
    return q, s2, s2 * (1 - math.sqrt(q)) ** 2, s2 * (1 + math.sqrt(q)) ** 2


def mp_singular_pdf(s, m_rows: int, n_cols: int, var: float):
    """Marchenko–Pastur density of the singular values (module docstring)."""
    q, s2, lo, hi = _mp_params(m_rows, n_cols, var)
    s = np.asarray(s, float)
    x = s * s
    inside = (x > lo) & (x < hi) & (s > 0)
    val = np.sqrt(np.clip((hi - x) * (x - lo), 0, None)) / (math.pi * s2 * q * np.where(s > 0, s, 1.0))
    return np.where(inside, val, 0.0)


def mp_singular_cdf(s, m_rows: int, n_cols: int, var: float, n_grid: int = 20001):
    """CDF of :func:`mp_singular_pdf` (Chebyshev-spaced trapezoid, exact at the edges' √ behaviour
    to ~1e-7)."""
    q, s2, lo, hi = _mp_params(m_rows, n_cols, var)
    a, b = math.sqrt(lo), math.sqrt(hi)
    t = np.linspace(0.0, math.pi, n_grid)
    grid = a + (b - a) * (1 - np.cos(t)) / 2  # clusters at both edges
    pdf = mp_singular_pdf(grid, m_rows, n_cols, var)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    return np.interp(np.asarray(s, float), grid, cdf, left=0.0, right=1.0)


def ks_mp(svals, m_rows: int, n_cols: int, var: float) -> float:
    """Kolmogorov–Smirnov distance between the sample ``svals`` and Marchenko–Pastur."""
    x = np.sort(np.asarray(svals, float).ravel())
    if x.size == 0:
        raise QShockInputError("ks_mp needs at least one singular value")
    c = mp_singular_cdf(x, m_rows, n_cols, var)
    k = np.arange(1, x.size + 1) / x.size
    return float(max(np.max(k - c), np.max(c - (k - 1.0 / x.size))))


def _surmise_ab(beta: float):
    b = math.exp(2 * (math.lgamma((beta + 2) / 2) - math.lgamma((beta + 1) / 2)))
    a = 2 * b ** ((beta + 1) / 2) / math.gamma((beta + 1) / 2)
    return a, b


def surmise_pdf(s, beta: float = 1.0):
    """Wigner surmise :math:`P_\\beta(s)` (unit mass and mean); β = 1: :math:`\\frac\\pi2 s e^{-\\pi s^2/4}`."""
    a, b = _surmise_ab(beta)
    s = np.asarray(s, float)
    return a * s ** beta * np.exp(-b * s * s)


def surmise_cdf(s, beta: float = 1.0):
    """CDF of :func:`surmise_pdf` (regularised incomplete gamma)."""
    from scipy.special import gammainc

    _, b = _surmise_ab(beta)
    return gammainc((beta + 1) / 2, b * np.asarray(s, float) ** 2)


def fit_surmise_beta(spacings, lo: float = 0.0, hi: float = 4.0) -> dict:
    """Maximum-likelihood β of the surmise family and the KS distance to the GOE surmise (β = 1).

    Spacings are rescaled to unit mean first. Returns ``{"beta", "beta_se", "ks_goe", "n"}``
    (``beta_se`` from the observed Fisher information, by finite differences)."""
    from scipy.optimize import minimize_scalar

    s = np.asarray(spacings, float)
    s = s[np.isfinite(s) & (s > 0)]
    if s.size < 10:
        raise QShockInputError(f"fit_surmise_beta needs at least 10 positive spacings, got {s.size}")
    s = s / s.mean()

    def nll(beta):
        return -float(np.sum(np.log(surmise_pdf(s, beta))))

    beta = float(minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}).x)
    h = 1e-3
    curv = (nll(beta + h) - 2 * nll(beta) + nll(beta - h)) / h ** 2
    x = np.sort(s)
    c = surmise_cdf(x, 1.0)
    k = np.arange(1, x.size + 1) / x.size
    ks = float(max(np.max(k - c), np.max(c - (k - 1.0 / x.size))))
    return {"beta": beta, "beta_se": float(1 / math.sqrt(curv)) if curv > 0 else None, "ks_goe": ks, "n": int(s.size)}


def unfold_spacings(levels, deg: int = 5, trim: float = 0.15) -> np.ndarray:
    """Nearest-neighbour spacings after unfolding: a degree-``deg`` polynomial fit of the
    counting function N(λ) maps levels to unit mean density; the outer ``trim`` fraction of the
    spectrum at each end (edges, outliers) is dropped."""
    x = np.sort(np.asarray(levels, float))
    n = x.size
    if n < 8:
        raise QShockInputError(f"unfold_spacings needs at least 8 levels, got {n}")
    z = (x - x.mean()) / (x.std() or 1.0)
    coef = np.polynomial.polynomial.polyfit(z, np.arange(1, n + 1), min(deg, n - 2))
    u = np.polynomial.polynomial.polyval(z, coef)
    k0, k1 = int(trim * n), n - int(trim * n)
    return np.diff(u[k0:k1])


def unfold_pooled(snapshots, deg: int = 5, trim: float = 0.15) -> np.ndarray:
    """Spacings of every snapshot (rows of ``snapshots``, k levels each) unfolded with one smooth
    counting function fitted to all snapshots pooled (the ensemble's mean level density, not each
    snapshot's own, which would absorb its fluctuations); the outer ``trim`` of each snapshot dropped."""
    a = np.sort(np.asarray(snapshots, float), axis=1)
    n, k = a.shape
    if k < 8:
        raise QShockInputError(f"unfold_pooled needs at least 8 levels per snapshot, got {k}")
    x = np.sort(a.ravel())
    mu, sd = x.mean(), x.std() or 1.0
    coef = np.polynomial.polynomial.polyfit((x - mu) / sd, (np.arange(1, x.size + 1) - 0.5) / n, min(deg, k - 2))
    u = np.polynomial.polynomial.polyval((a - mu) / sd, coef)
    k0, k1 = int(trim * k), k - int(trim * k)
    return np.diff(u[:, k0:k1], axis=1).ravel()


def unfold_mp(svals, m_rows: int, n_cols: int, var: float, trim: float = 0.15) -> np.ndarray:
    """Spacings of singular values (rows: matrices) unfolded with the exact Marchenko–Pastur CDF."""
    a = np.sort(np.atleast_2d(np.asarray(svals, float)), axis=1)
    k = a.shape[1]
    u = k * mp_singular_cdf(a, m_rows, n_cols, var)
    k0, k1 = int(trim * k), k - int(trim * k)
    return np.diff(u[:, k0:k1], axis=1).ravel()


def goe_spacings(key, n: int = 100, count: int = 50) -> np.ndarray:
    """Bulk spacings of ``count`` GOE(n) matrices, unfolded with the exact semicircle CDF
    (central half of each spectrum)."""
    a = jax.random.normal(key, (count, n, n))
    h = (a + jnp.swapaxes(a, 1, 2)) / math.sqrt(2 * n)  # off-diagonal variance 1/n: support [-2, 2]
    ev = np.asarray(jnp.linalg.eigvalsh(h))
    x = np.clip(ev / 2, -1, 1)
    u = n * (0.5 + (x * np.sqrt(1 - x * x) + np.arcsin(x)) / math.pi)  # n * semicircle CDF
    k0, k1 = n // 4, 3 * n // 4
    return np.diff(u[:, k0:k1], axis=1).ravel()


def dyson_drift(s, grad_l, T: float, varsigma2, m_rows: int, n_cols: int):
    """The drift of the Dyson Langevin equation (module docstring) at ``s`` given ``grad_l = ∂L/∂s``."""
    d = s[:, None] - s[None, :]
    p = s[:, None] + s[None, :]
    eye = jnp.eye(s.shape[0], dtype=bool)
    rep = jnp.sum(jnp.where(eye, 0.0, 1.0 / jnp.where(eye, 1.0, d) + 1.0 / p), axis=1)
    return -grad_l + 0.5 * T * varsigma2 * ((m_rows - n_cols) / s + rep)


def fold(s):
    """Chamber representative: ``sort(|s|)`` in decreasing order (last axis)."""
    return -jnp.sort(-jnp.abs(s), axis=-1)


def simulate_dyson(key, s0, grad_fn: Callable, T: float, varsigma2, m_rows: int, n_cols: int, t1: float,
                   dt: float, n_save: int = 100):
    """Euler–Maruyama paths of the Dyson Langevin equation with diffrax.

    Args:
        key: PRNG key (one path per key if ``s0`` is batched; see :func:`jax.vmap`).
        s0: initial singular values, shape ``(k,)``.
        grad_fn: ``∂L/∂s`` as a function of ``s`` (shape ``(k,) -> (k,)``).
        T: temperature η/B; ``varsigma2``: ς² (scalar or ``(k,)``).
        t1, dt: final time and fixed step (τ units); ``n_save`` equally spaced saves in ``(0, t1]``.

    Returns:
        ``(ts, s)`` with ``s`` of shape ``(n_save, k)``, folded into the chamber.
    """
    import diffrax
    import lineax

    if not (t1 > 0 and dt > 0) or (isinstance(T, (int, float)) and not T > 0):
        raise QShockInputError(f"simulate_dyson needs t1 > 0, dt > 0, T > 0, got {t1}, {dt}, {T}")
    s0 = jnp.asarray(s0)
    sig = jnp.sqrt(T * jnp.broadcast_to(jnp.asarray(varsigma2, s0.dtype), s0.shape))
    def tamed(t, s, a):  # b/(1 + (dt b)^2): kicks |b| dt <= 1/2, O(dt^2 |b|^3) change elsewhere
        b = dyson_drift(s, grad_fn(s), T, varsigma2, m_rows, n_cols)
        return b / (1.0 + (dt * b) ** 2)

    drift = diffrax.ODETerm(tamed)
    bm = diffrax.UnsafeBrownianPath(shape=s0.shape, key=key, levy_area=diffrax.BrownianIncrement)
    diff = diffrax.ControlTerm(lambda t, s, a: lineax.DiagonalLinearOperator(sig), bm)
    ts = jnp.linspace(t1 / n_save, t1, n_save)
    sol = diffrax.diffeqsolve(diffrax.MultiTerm(drift, diff), diffrax.Euler(), 0.0, t1, dt, s0,
                              saveat=diffrax.SaveAt(ts=ts), max_steps=int(math.ceil(t1 / dt)) + 8,
                              adjoint=diffrax.DirectAdjoint())
    return ts, fold(sol.ys)


@partial(jax.jit, static_argnames=("m_rows", "n_cols", "t1", "dt", "n_save"))
def linear_dyson_paths(keys, s0, kappa, mu, T, varsigma2, m_rows: int, n_cols: int, t1: float, dt: float,
                       n_save: int):
    r"""One :func:`simulate_dyson` path per key with the linear drift model
    :math:`\partial L/\partial s_i = \kappa_i (s_i - \mu_i)`; every parameter may be traced
    (one compilation per shape and static argument). Returns folded states ``(paths, n_save, k)``."""
    def one(key):
        return simulate_dyson(key, s0, lambda s: kappa * (s - mu), T, varsigma2, m_rows, n_cols, t1, dt, n_save)[1]
    return jax.vmap(one)(keys)
