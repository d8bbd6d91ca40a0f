"""Sphere packings (qshock.experiments.lab.particles): the cell list against all pairs, energies and
forces against autodiff, invariances, capacity overflow, the SGD/BRO kick moments and the two phases."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.lab import particles as P

N, PHI, RC = 300, 0.62, 1.3


def _config(seed, n=N, phi=PHI, faces=True):
    """Poisson positions; with ``faces`` a third of the particles sit within 0.5σ of a box face, so
    many overlapping pairs exist only through a periodic image."""
    L = P.box_side(n, phi)
    x = np.array(P.random_positions(jax.random.PRNGKey(seed), n, L))
    if faces:
        r = np.random.default_rng(seed)
        idx = r.choice(n, n // 3, replace=False)
        ax = r.integers(0, 3, idx.size)
        x[idx, ax] = np.where(r.random(idx.size) < 0.5, r.random(idx.size) * 0.5, L - r.random(idx.size) * 0.5)
    return jnp.asarray(x), L


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cell_list_equals_all_pairs_with_periodic_images(seed):
    x, L = _config(seed)
    m = P.cell_count(L, RC)
    nb, occ, most = P.neighbour_list(x, L, RC, m, 200, 48)
    nd, most_d = P.neighbour_list_dense(x, L, RC, 48)
    assert int(occ) <= 200 and int(most) == int(most_d) <= 48
    a, b = np.sort(np.asarray(nb), 1), np.sort(np.asarray(nd), 1)
    assert np.array_equal(a, b)
    # the check is not vacuous: pairs found only through a periodic image
    xs = np.asarray(x)
    i, k = np.nonzero(a < N)
    j = a[i, k]
    raw = np.linalg.norm(xs[i] - xs[j], axis=1)
    img = np.linalg.norm(np.asarray(P.minimum_image(xs[i] - xs[j], L)), axis=1)
    assert np.sum((raw > L / 2) & (img < RC)) > 50
    assert (a < N).sum() > 5 * N  # > 5 neighbours per particle on average


@pytest.mark.parametrize("alpha", [1, 2])
def test_energy_and_forces_match_all_pairs_and_autodiff(alpha):
    x, L = _config(3)
    nb, _, _ = P.neighbour_list(x, L, RC, P.cell_count(L, RC), 200, 48)
    e_cell, e_dense = float(P.energy(x, nb, L, 1.0, alpha)), float(P.energy_dense(x, L, 1.0, alpha))
    assert e_dense > 10.0
    assert abs(e_cell - e_dense) <= 1e-12 * e_dense
    f = np.asarray(P.forces(x, nb, L, 1.0, alpha))
    g = np.asarray(jax.grad(P.energy_dense)(x, L, 1.0, alpha))
    assert np.max(np.abs(f + g)) <= 1e-12 * np.max(np.abs(g))
    assert np.max(np.abs(f.sum(0))) <= 1e-11  # Newton's third law: Σ F_i = 0


def test_translation_and_permutation_invariance():
    x, L = _config(4)
    m = P.cell_count(L, RC)
    e0 = float(P.energy(x, P.neighbour_list(x, L, RC, m, 200, 48)[0], L, 1.0, 2))
    for shift in ([0.37, -1.2, 2.9], [L / 2, L / 3, -L]):
        y = (x + jnp.asarray(shift)) % L
        e = float(P.energy(y, P.neighbour_list(y, L, RC, m, 200, 48)[0], L, 1.0, 2))
        assert abs(e - e0) <= 1e-12 * e0
    perm = np.random.default_rng(0).permutation(N)
    y = x[perm]
    e = float(P.energy(y, P.neighbour_list(y, L, RC, m, 200, 48)[0], L, 1.0, 2))
    assert abs(e - e0) <= 1e-12 * e0
    fa = float(P.active_fraction(y, P.neighbour_list(y, L, RC, m, 200, 48)[0], L, 1.0))
    assert fa == float(P.active_fraction(x, P.neighbour_list(x, L, RC, m, 200, 48)[0], L, 1.0))


@pytest.mark.parametrize("bro", [0.0, 1.0])
def test_update_conserves_centre_of_mass(bro):
    """c_ij = c_ji (one draw per unordered pair), so Σ_i dx_i = 0 for SGD and BRO alike."""
    x, L = _config(5)
    nb, _, _ = P.neighbour_list(x, L, RC, P.cell_count(L, RC), 200, 48)
    dx, na, _ = P.displacement(x, nb, L, 1.0, (0.1, 0.75, 0.1, bro), jnp.uint32(17), 1)
    dx = np.asarray(dx)
    assert np.abs(dx).max() > 0.05 and int(na) > N // 2
    assert np.abs(dx.sum(0)).max() <= 1e-12


def test_sgd_and_bro_kicks_match_in_mean_and_variance():
    """One overlapping pair, 40000 salts: α = 1, b = 3/4, η = ε/(2b) gives per-step displacement
    ησ·Bernoulli(b); BRO gives U[0, εσ]. Both: mean ε/2, variance ε²/12."""
    eps, L = 0.1, 10.0
    x = jnp.asarray([[1.0, 1.0, 1.0], [1.6, 1.0, 1.0]])
    nb = jnp.asarray([[1], [0]])
    salts = jnp.arange(40000, dtype=jnp.uint32)
    for bro in (0.0, 1.0):
        f = jax.vmap(lambda s: P.displacement(x, nb, L, 1.0, (eps / 1.5, 0.75, eps, bro), s, 1)[0][0, 0])
        d = -np.asarray(f(salts))  # particle 0 is pushed in −x
        assert d.min() >= 0
        assert abs(d.mean() - eps / 2) < 0.01 * eps / 2 * 3  # 3 % (sampling error ~0.5 %)
        assert abs(d.var() - eps ** 2 / 12) < 0.03 * eps ** 2 / 12


def test_phi_of_generated_configurations():
    for n, phi in ((200, 0.3), (1000, 0.64), (517, 0.7)):
        L = P.box_side(n, phi)
        assert abs(P.packing_fraction(n, 1.0, L) - phi) < 1e-14
        L2 = 11.0
        assert abs(P.packing_fraction(n, P.sigma_for(n, phi, L2), L2) - phi) < 1e-14
    r = P.simulate(200, [0.3, 0.6], [0, 0], mode="bro", eps=0.1, steps=10, record_every=5)
    assert np.allclose([P.packing_fraction(200, s, r["L"]) for s in r["sigma"]], [0.3, 0.6], atol=1e-14)
    x = r["x"]
    assert x.min() >= 0 and x.max() < r["L"]


def test_dilute_absorbs_quickly_dense_stays_active():
    seeds = [0, 1, 2]
    r = P.simulate(200, [0.3] * 3 + [0.7] * 3, seeds + seeds, mode="bro", eps=0.02, steps=600, record_every=60)
    t = r["t_absorb"]
    assert np.all((t[:3] >= 0) & (t[:3] < 300)), t  # absorbed within 300 steps of kick 0.02σ
    assert np.all(t[3:] == -1) and r["f_a"][3:, -1].min() > 0.9, r["f_a"][3:, -1]
    assert np.all(r["f_a"][:3, -1] == 0)
    s = P.simulate(200, [0.3, 0.7], [0, 0], mode="sgd", eta=0.02 / 1.5, b=0.75, steps=600, record_every=60)
    assert 0 <= s["t_absorb"][0] < 300 and s["t_absorb"][1] == -1 and s["f_a"][1, -1] > 0.9


def test_capacity_overflow_raises_naming_the_capacity():
    with pytest.raises(RuntimeError, match="cell_capacity = 2"):
        P.simulate(200, [0.6], [0], mode="bro", eps=0.1, steps=10, record_every=5, cell_capacity=2)
    with pytest.raises(RuntimeError, match="neighbour_capacity = 3"):
        P.simulate(200, [0.6], [0], mode="bro", eps=0.1, steps=10, record_every=5, neighbour_capacity=3)
    with pytest.raises(RuntimeError, match="cell_capacity = 1"):
        P.check_capacity(2, 1, 1, 5)


@pytest.mark.parametrize("kw,match", [
    (dict(mode="adam"), "mode"), (dict(alpha=3), "alpha"), (dict(b=0.0), "b"),
    (dict(record_every=7), "record_every"), (dict(skin=0.0), "skin")])
def test_bad_input(kw, match):
    args = dict(mode="sgd", eta=0.1, steps=10, record_every=5)
    args.update(kw)
    with pytest.raises(QShockInputError, match=match):
        P.simulate(200, [0.5], [0], **args)


def test_box_too_small_for_cell_list():
    with pytest.raises(QShockInputError, match="cell"):
        P.cell_count(3.0, 1.3)
    assert P.cell_count(3.9, 1.3) == 3 and math.isclose(P.box_side(1, math.pi / 6), 1.0)


def test_benchmark_codes_compute_the_same_update():
    """benchmarks/bench_particles.py: the NumPy cell list and the O(N²) JAX step give the production
    displacement (same pairs, same random numbers) to float32 round-off."""
    from benchmarks import bench_particles as bp

    x, L, dx, m1, cap = bp._reference_dx(400)
    assert np.abs(dx).max() > 1e-3
    d_np = bp.numpy_bro_step(x, L, 1.0, bp.EPS, 5, m1, cap + 8)
    step, _ = bp._jax_dense_step()
    d_dense = np.asarray(step(jnp.asarray(x), L, 1.0, bp.EPS, jnp.uint32(5)))
    assert np.abs(d_np - dx).max() < 1e-6 and np.abs(d_dense - dx).max() < 1e-6
    # the previous layout and build (profiled in the benchmark) compute the same list and update
    xj = jnp.asarray(x)
    rc = 1.0 + bp.SKIN
    m = P.cell_count(L, rc)
    new = np.sort(np.asarray(P.neighbour_list(xj, L, rc, m, 400, 40)[0]), 1)
    old = np.asarray(bp._old_build(xj, L, rc, m, 30, 40))
    assert np.array_equal(np.sort(old, 1), new)
    d_old = np.asarray(bp._old_step(xj, jnp.asarray(new), L, bp.EPS, jnp.uint32(5)))
    assert np.abs(d_old - dx).max() < 1e-6


@pytest.mark.parametrize("alpha", [1, 2])
def test_hessian_matches_autodiff(alpha):
    n = 40
    L = P.box_side(n, 0.7)
    x = P.random_positions(jax.random.PRNGKey(1), n, L)
    H = P.hessian(x, L, 1.0, alpha)
    Hj = np.asarray(jax.hessian(lambda y: P.energy_dense(y.reshape(n, 3), L, 1.0, alpha))(x.reshape(-1)))
    assert np.abs(H).max() > 1.0
    assert np.abs(H - Hj).max() <= 1e-12 * np.abs(Hj).max()


def test_quench_reaches_a_minimum_with_translation_zero_modes():
    """Gradient descent to max |F| < 1e-9; above jamming E > 0 and the spectrum is ≥ 0 with the
    three translations (and 3 per rattler) as zero modes; below jamming E → 0."""
    n = 128
    L = P.box_side(n, 0.72)
    q = P.quench(P.random_positions(jax.random.PRNGKey(2), n, L), L, 1.0, 2, step=0.15, tol=1e-9)
    assert q["max_force"] < 1e-9 and q["energy"] > 1e-3 * n
    ev = P.hessian_spectrum(q["x"], L, 1.0, 2)
    assert ev[0] > -1e-8 * ev[-1]
    d = q["x"][:, None] - q["x"][None]
    r = np.linalg.norm(d - L * np.round(d / L), axis=-1) + 2 * np.eye(n)
    rattlers = int(np.sum(np.all(r >= 1.0, axis=1)))
    assert np.sum(ev < 1e-7 * ev[-1]) == 3 + 3 * rattlers
    L = P.box_side(n, 0.4)
    q = P.quench(P.random_positions(jax.random.PRNGKey(2), n, L), L, 1.0, 2, step=0.15, tol=1e-9)
    assert q["energy"] < 1e-15
