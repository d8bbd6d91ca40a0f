"""Overlapping spheres in a periodic 3-D box: cell lists, pair energies, SGD and BRO.

The model of Zhang & Martiniani (2024), docs/theory.md §6. N spheres of diameter σ in a periodic
cube of side L at packing fraction φ = N π σ³ / (6 L³). Lengths are in units of σ where a
rule says so; energies are in units of ε_E = 1.

**Energy.** E = Σ_{i<j} (1/α) h_ij^α with the overlap h_ij = max(0, 1 − r_ij/σ) and r_ij the
minimum-image distance; α = 1 (linear) or α = 2 (harmonic). The force on i is
F_i = −∂E/∂x_i = Σ_j h_ij^{α−1} d_ij / (σ r_ij), d_ij = x_i − x_j (minimum image).

**One update path.** Every step moves each particle by dx_i = Σ_j c_ij d_ij / r_ij over its
overlapping pairs, with a symmetric pair coefficient c_ij = c_ji (so Σ_i dx_i = 0):

* SGD: c_ij = η σ h_ij^{α−1} 1[u_ij < b], i.e. x ← x − η σ² ∇E_batch, where each overlapping
  pair joins the batch with probability b (u_ij uniform, shared by i and j);
* BRO: c_ij = ε σ u'_ij, each particle of an overlapping pair kicked away from the other by a
  magnitude uniform in [0, εσ] (one draw per pair).

At α = 1 the per-pair SGD displacement is ησ·Bernoulli(b): mean ηbσ, variance η²b(1−b)σ²;
the BRO kick has mean εσ/2 and variance ε²σ²/12. Both agree iff b = 3/4 and η = ε/(2b) = 2ε/3
(docs/theory.md §6 writes η = ε/b with a kick convention twice as large; see docs/guide/absorbing-state.md).

**Observable.** The active fraction f_a = (number of particles with at least one overlap)/N.
f_a = 0 is absorbing: no pair overlaps, so nothing moves again.

**Neighbours.** A Verlet list of fixed width ``k`` with cut-off r_c = σ_max + skin, rebuilt
from a cell list (m³ cells of side L/m ≥ r_c; the particles of each cell's 3 × 3 × 3 block
packed into ``cap`` slots, so there is no per-cell padding) whenever some particle moved more
than skin/2 since the last build. Capacities are never silently exceeded: the largest block
occupancy and neighbour count are tracked and :func:`check_capacity` raises a ``RuntimeError``
naming the capacity after the run.

**Layout.** Pair arrays are (N, k) per coordinate axis (structure of arrays): XLA on CPU
vectorises these about 5× better than (N, k, 3) (benchmarks/bench_particles.py).
"""

from __future__ import annotations

import math

import numpy as np

from qshock.errors import QShockInputError

__all__ = ["box_side", "sigma_for", "packing_fraction", "random_positions", "minimum_image", "cell_count",
           "cell_table", "block_cells", "neighbour_list", "neighbour_list_dense", "pair_overlaps", "energy", "energy_dense",
           "forces", "active_fraction", "pair_uniform", "displacement", "check_capacity", "make_simulator",
           "simulate", "default_capacities", "quench", "hessian", "hessian_spectrum"]


def box_side(n: int, phi: float, sigma: float = 1.0) -> float:
    """L = σ (N π / (6 φ))^{1/3}, the box side giving packing fraction φ."""
    return float(sigma * (n * math.pi / (6.0 * phi)) ** (1.0 / 3.0))


def sigma_for(n: int, phi: float, L: float) -> float:
    """σ = L (6 φ / (N π))^{1/3}, the diameter giving packing fraction φ in a box of side L."""
    return float(L * (6.0 * phi / (n * math.pi)) ** (1.0 / 3.0))


def packing_fraction(n: int, sigma: float, L: float) -> float:
    """φ = N π σ³ / (6 L³)."""
    return float(n * math.pi * sigma ** 3 / (6.0 * L ** 3))


def random_positions(key, n: int, L: float, dtype=None):
    """N independent uniform positions in [0, L)³ (a Poisson configuration at φ fixed by L, σ)."""
    import jax

    return jax.random.uniform(key, (n, 3), dtype=dtype, minval=0.0, maxval=L) % L


def minimum_image(d, L):
    """The periodic image of the displacement ``d`` with components in [−L/2, L/2]."""
    import jax.numpy as jnp

    return d - L * jnp.round(d / L)


def cell_count(L: float, rc: float) -> int:
    """m = ⌊L / r_c⌋ cells per side; QShockInputError unless m ≥ 3 (27 distinct neighbour cells)."""
    m = int(math.floor(L / rc + 1e-12))
    if m < 3:
        raise QShockInputError(f"n: box side L = {L:.4g} holds only {m} cell(s) of side r_c = {rc:.4g} per axis; "
                               "the cell list needs >= 3 (use more particles)")
    return m


def _cell_coords(x, L, m):
    import jax.numpy as jnp

    c = jnp.floor(x * (m / L)).astype(jnp.int32) % m
    return c, (c[:, 0] * m + c[:, 1]) * m + c[:, 2]


def cell_table(x, L, m: int, cap: int):
    """Cell list: ``table[c, s]`` is the s-th particle of cell c (padded with N), and the largest
    occupancy. Particles beyond ``cap`` in a cell are dropped from the table, so callers must
    compare the occupancy with ``cap`` (:func:`check_capacity`)."""
    import jax.numpy as jnp

    n = x.shape[0]
    _, cid = _cell_coords(x, L, m)
    order = jnp.argsort(cid)
    sc = cid[order]
    start = jnp.searchsorted(sc, jnp.arange(m ** 3, dtype=sc.dtype))
    rank = jnp.arange(n) - start[sc]
    table = jnp.full((m ** 3, cap), n, jnp.int32).at[sc, rank].set(order.astype(jnp.int32), mode="drop")
    return table, jnp.max(rank) + 1


def _select(j, mask, k):
    """The first ``k`` entries of each row of ``j`` where ``mask`` holds (in order, padded with −1),
    by a cumulative count and one scatter; also the largest number of true entries in a row."""
    import jax.numpy as jnp

    n, _ = j.shape
    cnt = jnp.cumsum(mask.astype(jnp.int32), axis=1, dtype=jnp.int32)
    flat = jnp.where(mask & (cnt <= k), jnp.arange(n, dtype=jnp.int32)[:, None] * k + cnt - 1, n * k)
    out = jnp.full((n * k,), -1, jnp.int32).at[flat.ravel()].set(j.astype(jnp.int32).ravel(), mode="drop")
    return out.reshape(n, k), cnt[:, -1].max()


def block_cells(m: int) -> np.ndarray:
    """``(m³, 27)`` ids of the 3 × 3 × 3 block of cells around each cell (periodic; static)."""
    c = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    off = np.array([(a, b, e) for a in (-1, 0, 1) for b in (-1, 0, 1) for e in (-1, 0, 1)])[None]
    q = (c + off) % m
    return ((q[..., 0] * m + q[..., 1]) * m + q[..., 2]).astype(np.int32)


def _block_candidates(x, L, m: int, cap: int):
    """Candidates per cell without per-cell padding: particles sorted by cell id, and for every
    cell the particles of its 27-cell block packed into ``cap`` slots (padded with N). Slot s of
    cell c holds the particle at position start[b_j] + s − o_j of the sorted order, where j is the
    block cell with o_j ≤ s < o_{j+1} (o = running count over the block). Returns ((m³, cap)
    table, cell id per particle, largest block occupancy)."""
    import jax.numpy as jnp

    n = x.shape[0]
    _, cid = _cell_coords(x, L, m)
    order = jnp.argsort(cid).astype(jnp.int32)
    start = jnp.searchsorted(cid[order], jnp.arange(m ** 3 + 1, dtype=cid.dtype)).astype(jnp.int32)
    blk = jnp.asarray(block_cells(m))
    cnt = (start[1:] - start[:-1])[blk]  # (m³, 27)
    incl = jnp.cumsum(cnt, axis=1)
    s = jnp.arange(cap, dtype=jnp.int32)
    j = jnp.minimum(jnp.sum(s[None, :, None] >= incl[:, None, :], -1, dtype=jnp.int32), 26)
    pos = start[jnp.take_along_axis(blk, j, 1)] + s - jnp.take_along_axis(incl - cnt, j, 1)
    table = jnp.where(s < incl[:, -1:], order[jnp.clip(pos, 0, n - 1)], n)
    return table, cid, jnp.max(incl[:, -1])


def neighbour_list(x, L, rc, m: int, cap: int, k: int):
    """Verlet list ``(n, k)`` of the j ≠ i with minimum-image |x_i − x_j| < r_c (padded with N),
    from the 27 cells around each particle, packed into ``cap`` candidates (the capacity of a
    27-cell block, :func:`_block_candidates`); the first ``k`` hits per row are kept (``top_k`` on
    the slot index). Returns (list, largest block occupancy, largest neighbour count)."""
    import jax
    import jax.numpy as jnp

    n = x.shape[0]
    table, cid, occ = _block_candidates(x, L, m, cap)
    cand = table[cid]  # (n, cap)
    d, r2, valid = _pair_geometry(x, cand, L)
    mask = valid & (cand != jnp.arange(n)[:, None]) & (r2 < rc * rc)
    kk = min(k, cap)
    score = jnp.where(mask, -jnp.arange(cap, dtype=jnp.float32)[None, :], -3.0e38)
    val, idx = jax.lax.top_k(score, kk)
    nbr = jnp.where(val > -1.0e38, jnp.take_along_axis(cand, idx, 1), n)
    if kk < k:
        nbr = jnp.concatenate([nbr, jnp.full((n, k - kk), n, nbr.dtype)], 1)
    return nbr.astype(jnp.int32), occ, jnp.max(jnp.sum(mask, 1))


def neighbour_list_dense(x, L, rc, k: int):
    """The same Verlet list by the O(N²) all-pairs search (reference for tests and benchmarks)."""
    import jax.numpy as jnp

    n = x.shape[0]
    d = minimum_image(x[:, None, :] - x[None, :, :], L)
    j = jnp.broadcast_to(jnp.arange(n), (n, n))
    mask = (j != jnp.arange(n)[:, None]) & (jnp.sum(d * d, -1) < rc * rc)
    nbr, most = _select(j, mask, k)
    return jnp.where(nbr < 0, n, nbr), most


def _pair_geometry(x, nbr, L):
    """Minimum-image components d_ij (three (n, k) arrays, one per axis: structure of arrays,
    which XLA vectorises far better than a trailing axis of 3), r²_ij and the validity mask."""
    import jax.numpy as jnp

    n = x.shape[0]
    xs = jnp.concatenate([x, jnp.zeros((1, 3), x.dtype)]).T
    d = [minimum_image(xs[c, :n, None] - xs[c][nbr], L) for c in range(3)]
    return d, d[0] * d[0] + d[1] * d[1] + d[2] * d[2], nbr < n


def _overlaps(x, nbr, L, sigma):
    """(components d_ij, 1/r_ij, h_ij ≥ 0) over a neighbour list; h = 0 on padding entries and
    non-overlapping pairs."""
    import jax.numpy as jnp

    d, r2, valid = _pair_geometry(x, nbr, L)
    r2 = jnp.where(valid, r2, 4.0 * sigma * sigma)
    r = jnp.sqrt(jnp.maximum(r2, 1e-300 if x.dtype == jnp.float64 else 1e-30))
    return d, 1.0 / r, jnp.where(valid & (r < sigma), 1.0 - r / sigma, 0.0)


def _pair_sum(c, d, rinv):
    """Σ_j c_ij d_ij / r_ij as an (n, 3) array."""
    import jax.numpy as jnp

    w = c * rinv
    return jnp.stack([jnp.sum(w * dc, axis=1) for dc in d], axis=1)


def pair_overlaps(x, nbr, L, sigma):
    """Pair geometry over a neighbour list: (unit vectors d_ij/r_ij (n, k, 3), overlaps h_ij ≥ 0),
    zero on padding entries and non-overlapping pairs."""
    import jax.numpy as jnp

    d, rinv, h = _overlaps(x, nbr, L, sigma)
    return jnp.stack([dc * rinv for dc in d], -1), h


def _pair_power(h, alpha):
    import jax.numpy as jnp

    return jnp.where(h > 0, h ** (alpha - 1), 0.0)


def energy(x, nbr, L, sigma, alpha: int):
    """E = Σ_{i<j} h_ij^α / α over a full (symmetric) neighbour list: ½ Σ_i Σ_j h_ij^α / α."""
    import jax.numpy as jnp

    _, _, h = _overlaps(x, nbr, L, sigma)
    return 0.5 * jnp.sum(h ** alpha) / alpha


def energy_dense(x, L, sigma, alpha: int):
    """E by all pairs i < j with the minimum image (reference; differentiable in x)."""
    import jax.numpy as jnp

    n = x.shape[0]
    d = minimum_image(x[:, None, :] - x[None, :, :], L)
    iu = jnp.triu_indices(n, 1)
    r = jnp.sqrt(jnp.sum(d[iu] ** 2, -1))
    h = jnp.maximum(0.0, 1.0 - r / sigma)
    return jnp.sum(h ** alpha) / alpha


def forces(x, nbr, L, sigma, alpha: int):
    """F_i = −∂E/∂x_i = Σ_j h_ij^{α−1} d_ij / (σ r_ij) (closed form over the neighbour list)."""

    d, rinv, h = _overlaps(x, nbr, L, sigma)
    return _pair_sum(_pair_power(h, alpha), d, rinv) / sigma


def active_fraction(x, nbr, L, sigma):
    """f_a = #{i : h_ij > 0 for some j} / N."""
    import jax.numpy as jnp

    _, _, h = _overlaps(x, nbr, L, sigma)
    return jnp.mean(jnp.any(h > 0, axis=1))


def _mix(v):
    """lowbias32 integer hash (uint32 → uint32)."""
    import jax.numpy as jnp

    v = v ^ (v >> 16)
    v = v * jnp.uint32(0x7FEB352D)
    v = v ^ (v >> 15)
    v = v * jnp.uint32(0x846CA68B)
    return v ^ (v >> 16)


def pair_uniform(i, j, salt):
    """A uniform in [0, 1) that depends on the unordered pair {i, j} and on ``salt`` (uint32):
    u(i, j) = u(j, i), so both particles of a pair see the same batch draw or kick."""
    import jax.numpy as jnp

    a = jnp.minimum(i, j).astype(jnp.uint32)
    b = jnp.maximum(i, j).astype(jnp.uint32)
    h = _mix(a ^ _mix(b ^ _mix(salt.astype(jnp.uint32) + jnp.uint32(0x9E3779B9))))
    return (h >> 8).astype(jnp.float32) * (1.0 / 16777216.0)


def displacement(x, nbr, L, sigma, pars, salt, alpha: int):
    """The shared update dx_i = Σ_j c_ij d_ij/r_ij (module docstring); ``pars`` = (η, b, ε, bro)
    with bro ∈ {0, 1} selecting BRO (a traced value, or a Python constant to draw only the
    uniforms that rule needs). Returns (dx, number of active particles, energy)."""
    import jax.numpy as jnp

    eta, b, eps, bro = pars
    n = x.shape[0]
    d, rinv, h = _overlaps(x, nbr, L, sigma)
    i = jnp.broadcast_to(jnp.arange(n)[:, None], nbr.shape)
    static = isinstance(bro, (int, float))  # a Python constant: draw only the uniform it needs
    if not static or not bro:
        u1 = pair_uniform(i, nbr, salt).astype(x.dtype)
        sgd = eta * sigma * _pair_power(h, alpha) * (u1 < b)
    if not static or bro:
        kick = eps * sigma * pair_uniform(i, nbr, salt ^ jnp.uint32(0x5BD1E995)).astype(x.dtype)
    c = kick if static and bro else (sgd if static else jnp.where(bro > 0, kick, sgd))
    c = jnp.where(h > 0, c, 0.0)
    dx = _pair_sum(c, d, rinv)
    return dx, jnp.sum(jnp.any(h > 0, axis=1)), 0.5 * jnp.sum(h ** alpha) / alpha


def check_capacity(cell_max: int, nbr_max: int, cap: int, k: int) -> None:
    """RuntimeError naming the capacity if a 27-cell block held more than ``cap`` particles or a
    particle had more than ``k`` neighbours within r_c at some build (the run is then invalid)."""
    if int(cell_max) > cap:
        raise RuntimeError(f"cell list overflow: a 27-cell block held {int(cell_max)} particles but cell_capacity = "
                           f"{cap}; rerun with a larger cell_capacity")
    if int(nbr_max) > k:
        raise RuntimeError(f"neighbour list overflow: a particle had {int(nbr_max)} neighbours within r_c but "
                           f"neighbour_capacity = {k}; rerun with a larger neighbour_capacity")


def default_capacities(n: int, L: float, rc: float, phi_max: float, sigma_max: float) -> tuple[int, int]:
    """(27-cell block capacity, neighbour capacity) from Poisson statistics: mean + 7 √mean + 4."""
    m = cell_count(L, rc)
    rho = n / L ** 3
    mc, mk = rho * 27 * (L / m) ** 3, rho * 4.0 / 3.0 * math.pi * rc ** 3
    return int(mc + 7 * math.sqrt(mc) + 4), int(mk + 7 * math.sqrt(mk) + 4)


_SIMS: dict = {}


def _capacities(x0, L, rc, m, cell_capacity, neighbour_capacity) -> tuple[int, int]:
    """Capacities for a run from the Poisson start ``x0`` (B, N, 3), the most clustered state of
    this repulsive dynamics: the largest 27-cell block occupancy + 8 and the largest neighbour count + 6
    (one cell-list search with the Poisson bounds of :func:`default_capacities`), each capped by
    its Poisson bound. Explicit capacities are used as given."""
    if cell_capacity and neighbour_capacity:
        return int(cell_capacity), int(neighbour_capacity)
    n = x0.shape[1]
    dc, dk = default_capacities(n, L, rc, 0.0, 0.0)
    c = np.floor(x0 * (m / L)).astype(np.int64) % m
    blk = block_cells(m)
    occ = max(np.bincount((q[:, 0] * m + q[:, 1]) * m + q[:, 2], minlength=m ** 3)[blk].sum(1).max() for q in c)
    cap = int(cell_capacity or min(dc, occ + 8))
    if neighbour_capacity:
        return cap, int(neighbour_capacity)
    most = max(int(_count_fn(n, m, max(cap, occ), dk)(x, L, rc)) for x in x0)
    return cap, int(min(dk, most + 6))


def _count_fn(n, m, cap, k):
    import jax

    key = ("count", n, m, cap, k)
    if key not in _SIMS:
        _SIMS[key] = jax.jit(lambda x, L, rc: neighbour_list(x, L, rc, m, cap, k)[2])
    return _SIMS[key]


def make_simulator(n: int, m: int, cap: int, k: int, alpha: int, chunks: int, bro: bool):
    """Jitted ``run(x0, L, rc, skin, sigma, pars, seeds, chunk)`` for B systems of N particles at once.

    ``x0`` (B, N, 3), ``sigma`` (B,), ``pars`` (B, 4) = (η, b, ε, ·), ``seeds`` (B,) uint32; ``bro`` (static)
    selects the rule.
    The B systems are looped over (``lax.map``, not vmapped) inside the compiled step.
    A ``lax.while_loop`` over chunks of ``chunk`` steps (a ``fori_loop``; ``chunk`` is traced, so
    one compilation serves every run length) stops after ``chunks``
    chunks or once every system is absorbed. The Verlet lists of all systems are rebuilt together
    (a scalar ``lax.cond``, so the rebuild is really skipped) when some particle moved more than
    skin/2. Returns (x, f_a per chunk (mean over its steps), energy at each chunk's last step,
    absorption step (−1 if never), chunks done, largest cell occupancy, largest neighbour count,
    number of builds).
    """
    key = (n, m, cap, k, alpha, chunks, bool(bro))
    if key in _SIMS:
        return _SIMS[key]
    import jax
    import jax.numpy as jnp

    def run(x0, L, rc, skin, sigma, pars, seeds, chunk):
        mode = 1.0 if bro else 0.0

        def per_system(f, *args):
            """f on each of the B systems in turn (``lax.map``: compiled once, run B times). Not
            ``vmap``: a batched gather is several times slower than B plain ones in XLA on CPU."""
            return jax.lax.map(lambda a: f(*a), args)

        def build(x):
            return per_system(lambda xb: neighbour_list(xb, L, rc, m, cap, k), x)

        def one(x, nb, s, p, salt):
            return displacement(x, nb, L, s, (p[0], p[1], p[2], mode), salt, alpha)

        def disp(*args):
            return per_system(one, *args)

        def rebuild(s):
            x, _, _, cm, km, nb = s
            nbr, occ, most = build(x)
            cm, km = jnp.maximum(cm, occ.max()).astype(cm.dtype), jnp.maximum(km, most.max()).astype(km.dtype)
            return x, x, nbr, cm, km, nb + 1

        def need(geo):
            return jnp.max(jnp.sum(minimum_image(geo[0] - geo[1], L) ** 2, -1)) > (0.5 * skin) ** 2

        def step(c):
            geo, tabs, t, nsum, _ = c
            salt = _mix(seeds ^ _mix(t.astype(jnp.uint32)))
            dx, na, e = disp(geo[0], geo[2], sigma, pars, salt)
            tabs = jnp.where((tabs < 0) & (na == 0), t, tabs)
            geo = ((geo[0] + dx) % L,) + geo[1:]
            return geo, tabs, t + 1, nsum + na.astype(jnp.int32), e.astype(x0.dtype)

        def body(s):
            """One record: segments of steps between list rebuilds (the rebuild test runs before
            every step, the rebuild itself only between segments)."""
            geo, tabs, i, fa, en = s
            end = (i + 1) * chunk

            def segment(c):
                c = (jax.lax.cond(need(c[0]), rebuild, lambda g: g, c[0]),) + c[1:]
                return jax.lax.while_loop(lambda c: (c[2] < end) & ~need(c[0]), step, c)

            zero = jnp.zeros(tabs.shape, jnp.int32)
            c = (geo, tabs, i * chunk, zero, jnp.zeros(tabs.shape, x0.dtype))
            geo, tabs, _, nsum, e = jax.lax.while_loop(lambda c: c[2] < end, segment, c)
            fa = fa.at[:, i].set(nsum / (n * chunk))
            return geo, tabs, i + 1, fa, en.at[:, i].set(e)

        B = x0.shape[0]
        nbr, occ, most = build(x0)
        geo = (x0, x0, nbr, occ.max(), most.max(), jnp.int32(1))
        s0 = (geo, jnp.full((B,), -1, jnp.int32), jnp.int32(0), jnp.zeros((B, chunks), x0.dtype),
              jnp.zeros((B, chunks), x0.dtype))
        geo, tabs, i, fa, en = jax.lax.while_loop(lambda s: (s[2] < chunks) & jnp.any(s[1] < 0), body, s0)
        return geo[0], fa, en, tabs, i, geo[3], geo[4], geo[5]

    _SIMS[key] = jax.jit(run)
    return _SIMS[key]


def _check_sim_args(n, phis, seeds, mode, eta, b, eps, alpha, steps, record_every, skin):
    if not isinstance(n, int) or n < 2:
        raise QShockInputError(f"n must be an integer >= 2, got {n!r}")
    if len(phis) == 0 or len(phis) != len(seeds):
        raise QShockInputError(f"phis and seeds must be non-empty and of equal length, got {len(phis)} and {len(seeds)}")
    if any(not (0.0 < p < 1.5) for p in phis):
        raise QShockInputError(f"phis must lie in (0, 1.5), got {list(phis)}")
    if mode not in ("sgd", "bro"):
        raise QShockInputError(f"mode must be 'sgd' or 'bro', got {mode!r}")
    if alpha not in (1, 2):
        raise QShockInputError(f"alpha must be 1 or 2, got {alpha!r}")
    if not (0.0 < b <= 1.0) or eta < 0 or eps < 0:
        raise QShockInputError(f"need 0 < b <= 1, eta >= 0, eps >= 0; got b={b}, eta={eta}, eps={eps}")
    if record_every < 1 or steps < record_every or steps % record_every:
        raise QShockInputError(f"record_every ({record_every}) must be >= 1 and divide steps ({steps})")
    if not skin > 0:
        raise QShockInputError(f"skin must be > 0, got {skin}")


def simulate(n: int, phis, seeds, *, mode: str = "sgd", eta: float = 0.0, b: float = 1.0, eps: float = 0.0,
             alpha: int = 1, steps: int = 1000, record_every: int = 10, skin: float = 0.3, L: float | None = None,
             cell_capacity: int | None = None, neighbour_capacity: int | None = None, dtype: str = "float64",
             cutoff: float | None = None) -> dict:
    """Run SGD (``mode='sgd'``, step η, batch probability b) or BRO (``'bro'``, kick ε) for one
    system per entry of ``phis``/``seeds`` (vmapped together) from Poisson initial positions.

    All systems share the box side L (default: φ_max has σ = 1) and use σ(φ) = L (6φ/(Nπ))^{1/3};
    kicks and steps scale with σ, so the dynamics at a given (φ, η or ε) is the same as in a box
    with σ = 1. The positions depend only on the seed (common random numbers across φ).
    Returns numpy arrays: ``f_a`` (B, R) and ``energy`` (B, R) per record of ``record_every``
    steps, ``record_steps``, ``t_absorb`` (B,) (−1: still active), ``x``, ``sigma``, ``L``,
    ``steps_done``, ``builds``, ``cell_capacity``, ``neighbour_capacity``.
    ``cutoff`` fixes the list cut-off r_c (> σ_max; the skin is then r_c − σ_max) so that runs
    at different φ share cells and capacities (and hence one compilation).
    Raises RuntimeError (:func:`check_capacity`) if a capacity was exceeded.
    """
    import jax
    import jax.numpy as jnp

    phis, seeds = [float(p) for p in phis], [int(s) for s in seeds]
    _check_sim_args(n, phis, seeds, mode, eta, b, eps, alpha, steps, record_every, skin)
    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise QShockInputError("dtype: float64 needs jax_enable_x64 (the CLI enables it); or pass dtype='float32'")
    L = box_side(n, max(phis)) if L is None else float(L)
    sig = np.array([sigma_for(n, p, L) for p in phis])
    rc = float(sig.max() + skin) if cutoff is None else float(cutoff)
    if rc <= sig.max():
        raise QShockInputError(f"cutoff {rc} must exceed the largest diameter {sig.max():.4g}")
    skin = rc - float(sig.max())
    m = cell_count(L, rc)
    dt = jnp.dtype(dtype)
    x0 = jnp.stack([random_positions(jax.random.PRNGKey(s), n, L, dt) for s in seeds])
    cap, k = _capacities(np.asarray(x0), L, rc, m, cell_capacity, neighbour_capacity)
    pars = jnp.asarray([[eta, b, eps, 1.0 if mode == "bro" else 0.0]] * len(phis), dt)
    run = make_simulator(n, m, cap, k, int(alpha), steps // record_every, mode == "bro")
    out = run(x0, jnp.asarray(L, dt), jnp.asarray(rc, dt), jnp.asarray(skin, dt), jnp.asarray(sig, dt), pars,
              jnp.asarray(seeds, jnp.uint32), jnp.int32(record_every))
    x, fa, en, tabs, i, cm, km, nb = jax.device_get(out)
    check_capacity(cm, km, cap, k)
    return dict(f_a=np.asarray(fa, float), energy=np.asarray(en, float), t_absorb=np.asarray(tabs, int),
                record_steps=(np.arange(steps // record_every) + 1) * record_every, x=np.asarray(x, float),
                sigma=sig, L=L, steps_done=int(i) * record_every, builds=int(nb), cell_capacity=cap,
                neighbour_capacity=k, cells_per_side=m)


def _quench_fn(n, m, cap, k, alpha):
    import jax
    import jax.numpy as jnp

    key = ("quench", n, m, cap, k, alpha)
    if key not in _SIMS:
        def seg(x, L, rc, sigma, step, tol, limit):
            nbr, occ, most = neighbour_list(x, L, rc, m, cap, k)
            skin2 = (0.5 * (rc - sigma)) ** 2

            def go(c):
                y, t, fmax = c
                return (t < limit) & (fmax > tol) & (jnp.max(jnp.sum(minimum_image(y - x, L) ** 2, -1)) < skin2)

            def body(c):
                y, t, _ = c
                f = forces(y, nbr, L, sigma, alpha)
                return (y + step * sigma * sigma * f) % L, t + 1, jnp.max(jnp.abs(f))

            y, t, fmax = jax.lax.while_loop(go, body, (x, jnp.int32(0), jnp.asarray(jnp.inf, x.dtype)))
            return y, t, fmax, occ, most

        _SIMS[key] = jax.jit(seg)
    return _SIMS[key]


def quench(x, L: float, sigma: float, alpha: int = 2, step: float = 0.05, tol: float = 1e-9,
           max_steps: int = 100000, skin: float = 0.3) -> dict:
    """Gradient descent x ← x + step σ² F(x) (full batch, no noise) from ``x`` (N, 3) to the
    nearest energy minimum, until max_i |F_i| < ``tol`` or ``max_steps``; the Verlet list
    (cut-off σ + skin) is rebuilt whenever some particle moved more than skin/2. GD is stable for
    step σ² λ_max < 2 (λ_max ≲ 2 × contacts per particle / σ² at α = 2). Returns the minimum
    ``x``, its ``energy``, ``max_force`` and ``steps``."""
    import jax.numpy as jnp

    x = jnp.asarray(x)
    n = x.shape[0]
    rc = float(sigma + skin)
    m = cell_count(L, rc)
    cap, k = default_capacities(n, L, rc, 0.0, 0.0)
    seg = _quench_fn(n, m, cap, k, int(alpha))
    done, fmax = 0, float("inf")
    while done < max_steps and fmax > tol:
        x, t, fm, occ, most = seg(x, L, rc, sigma, step, tol, max_steps - done)
        check_capacity(occ, most, cap, k)
        done, fmax = done + int(t), float(fm)
    nbr = neighbour_list(x, L, rc, m, cap, k)[0]
    return dict(x=np.asarray(x), energy=float(energy(x, nbr, L, sigma, alpha)), max_force=fmax, steps=done)


def hessian(x, L: float, sigma: float, alpha: int = 2) -> np.ndarray:
    """The 3N × 3N Hessian of E = Σ_{i<j} h_ij^α/α (NumPy, all pairs; N up to a few 10³).
    Per overlapping pair, with unit vector n = d_ij/r_ij, E' = −h^{α−1}/σ and
    E'' = (α−1) h^{α−2}/σ²: the block K = E'' n nᵀ + (E'/r)(I − n nᵀ) enters H_ii and H_jj
    with + and H_ij, H_ji with −. At a minimum of the harmonic energy the three global
    translations and each rattler (a particle without contacts) give exact zero modes."""
    x = np.asarray(x, float)
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    d = x[i] - x[j]
    d -= L * np.round(d / L)
    r = np.sqrt(np.sum(d * d, 1))
    on = r < sigma
    i, j, d, r = i[on], j[on], d[on], r[on]
    h = 1.0 - r / sigma
    e1, e2 = -h ** (alpha - 1) / sigma, (alpha - 1) * h ** (alpha - 2) / sigma ** 2
    u = d / r[:, None]
    nn = u[:, :, None] * u[:, None, :]
    K = e2[:, None, None] * nn + (e1 / r)[:, None, None] * (np.eye(3) - nn)
    H = np.zeros((n, 3, n, 3))
    np.add.at(H, (i, slice(None), i), K.transpose(0, 1, 2))
    np.add.at(H, (j, slice(None), j), K)
    np.add.at(H, (i, slice(None), j), -K)
    np.add.at(H, (j, slice(None), i), -K)
    return H.reshape(3 * n, 3 * n)


def hessian_spectrum(x, L: float, sigma: float, alpha: int = 2) -> np.ndarray:
    """Eigenvalues (ascending) of :func:`hessian` (dense ``eigvalsh``)."""
    return np.linalg.eigvalsh(hessian(x, L, sigma, alpha))
