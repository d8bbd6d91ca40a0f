"""experiments.monitor: forecasts on a synthetic scale-invariant quadratic, equality with the lab's
offline measurements (float64), symmetry sections and tangents, bad input."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.monitor import GL, Forecaster, Measurement, Rescale, Scale, ShockMonitor, Translation
from qshock.experiments.monitor.symmetries import FlatSymmetries


# ---------------------------------------------------------------- synthetic scale-invariant quadratic
def _quadratic(a):
    """L(w) = a/2 (w₂/‖w‖)²: scale invariant, sphere sharpness a at the minimum (1, 0)."""
    return lambda p, batch: 0.5 * a * p["w"][1] ** 2 / jnp.sum(p["w"] ** 2)


def test_forecast_synthetic_scale_invariant_quadratic():
    """GD + weight decay λ: x_k = ‖w_k‖² = (1−ηλ)^{2k} x₀ (the gradient is ~0), the edge
    η a/x ≥ 2 is crossed at the known step k* = ⌈ln(2x₀/(ηa)) / (−2 ln(1−ηλ))⌉. Every forecast
    made at least 50 steps ahead must be within ±2 steps of k*, from the periodic-spike law."""
    a, eta, lam = 1.0, 0.1, 0.01
    loss = _quadratic(a)
    opt = optax.inject_hyperparams(lambda learning_rate, weight_decay: optax.chain(
        optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate)))(learning_rate=eta, weight_decay=lam)
    p = {"w": jnp.array([1.0, 1e-9])}
    state = opt.init(p)
    mon = ShockMonitor(loss, p, [Scale(("w",))], every=25, horizon=4000)
    k_star = math.ceil(math.log(2 * 1.0 / (eta * a)) / (-2 * math.log1p(-eta * lam)))
    step = jax.jit(lambda p, s: opt.update(jax.grad(loss)(p, None), s, p))
    checked = 0
    for k in range(k_star + 1):
        fc = mon.update(k, p, None, state)
        if fc is not None and k <= k_star - 50:
            assert fc.source == "periodic-spike-law"
            assert abs(fc.predicted_step - k_star) <= 2, (k, fc.predicted_step, k_star)
            assert fc.lambda_q == pytest.approx(a, rel=1e-10)
            assert fc.eta_eff * fc.lambda_q == pytest.approx(fc.ratio, rel=1e-12)
            assert fc.to_edge == pytest.approx(2 - fc.ratio) and fc.to_fold == pytest.approx(1 - fc.ratio)
            checked += 1
        u, state = step(p, state)
        p = optax.apply_updates(p, u)
    assert checked >= 50
    assert eta * a / float(jnp.sum(p["w"] ** 2)) >= 2.0 > eta * a / (1.0 * (1 - eta * lam) ** (2 * (k_star - 1)))
    late = mon.forecasts[-1]
    assert late.warning and late.predicted_step - late.step <= 25


def test_step_map_trend_forecast_exact_exponential():
    """ρ_k = ρ₀ e^{ck} (no scale groups): the log-linear trend hits 2 at k* = ln(2/ρ₀)/c exactly."""
    c, r0 = 0.002, 0.5
    fcst = Forecaster("sgd", horizon=5000)
    k_star = math.log(2 / r0) / c
    for k in range(0, 600, 20):
        fc = fcst.observe(Measurement(k, 0.1, loss=1.0, lam_q=r0 * math.exp(c * k) / 0.1))
    assert fc.source == "step-map"
    assert fc.predicted_step == pytest.approx(k_star, abs=1e-6)
    assert fc.uncertainty == pytest.approx(0.0, abs=1e-6)


def test_coarse_graining_drop_on_plateau():
    """Plateau with negative curvature μ: k* = k + 1/(2 η μ) (reading (i), t = 2ηk)."""
    fcst = Forecaster("sgd", plateau_window=3)
    for k in range(0, 100, 10):
        fc = fcst.observe(Measurement(k, 0.05, loss=2.0, lam_q=1.0, lam_min=-0.5))
    assert fc.source == "coarse-graining" and fc.kind == "drop"
    assert fc.predicted_step == pytest.approx(90 + 1 / (2 * 0.05 * 0.5))


def test_momentum_and_adam_edges():
    """ρ = 2 exactly at the published edges: heavy ball 2(1+β)/η, Adam 38/η at β₁ = 0.9."""
    eta, beta = 0.01, 0.9
    f = Forecaster("momentum", beta=beta).observe(Measurement(0, eta, lam_q=2 * (1 + beta) / eta))
    assert f.ratio == pytest.approx(2.0) and f.warning
    f = Forecaster("adam", b1=0.9).observe(Measurement(0, eta, lam_pre=38 / eta))
    assert f.ratio == pytest.approx(2.0)


# ---------------------------------------------------------------- equality with the lab (float64)
def _lab(norm):
    from qshock.experiments.lab.training import TrainConfig, get_trainer

    cfg = TrainConfig(model="mlp", data="digits", lr=0.05, steps=4, sharpness_every=4, norm=norm, width=6, depth=2,
                      dtype="float64", log_groups=True, lanczos_iters=12, sharpness_batch=64).validate(10 ** 6)
    return cfg, get_trainer(cfg)


def _lab_symmetries(norm):
    syms = [Translation("weights.2", "biases.2", axis=0)]
    if norm:
        return syms + [Scale(("weights.0", "biases.0")), Scale(("weights.1", "biases.1"))]
    return syms + [Rescale(("weights.0", "biases.0"), ("weights.1",)), Rescale(("weights.1", "biases.1"), ("weights.2",))]


@pytest.mark.parametrize("norm", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_monitor_equals_lab_offline_measurements(norm):
    """The monitor's quotient sharpness, per-group sphere sharpness (normalised MLP) and Adam's
    λ_max(P⁻¹H) equal the lab's offline measurements (observables.project/orbit_tangents +
    sharpness.quotient_sharpness, Trainer.group_sharpness, sharpness.preconditioned_sharpness; same
    Lanczos key) to 1e-10, with the symmetries given by parameter paths."""
    from qshock.experiments.lab import observables as O
    from qshock.experiments.lab.sharpness import preconditioned_sharpness, quotient_sharpness

    cfg, tr = _lab(norm)
    theta = tr.init(jnp.asarray([0], jnp.int32), cfg.lr, 0.0, 0.9)[0][0]
    A = tr.arrays
    ravel = lambda p: jax.flatten_util.ravel_pytree(p)[0]  # noqa: E731
    opt = optax.adam(1e-2)
    st = opt.init(theta)
    f = lambda th: tr.loss_acc(th, A["Xs"], A["Ys"])[0]  # noqa: E731
    for _ in range(2):  # two Adam steps: a non-trivial preconditioner and parameters off the init
        u, st = opt.update(jax.grad(f)(theta), st, theta)
        theta = theta + u
    t = 7
    key = jax.random.fold_in(jax.random.split(jax.random.PRNGKey(0), 3)[2], t)
    pm = O.project(tr.model_of(theta), tr.task)
    lab_q = float(quotient_sharpness(f, O.ravel_model(pm), O.orbit_tangents(pm, tr.task), key, cfg.lanczos_iters)[0])
    nu_hat = st[0].nu / (1 - 0.999 ** 2)
    lab_pre = float(preconditioned_sharpness(f, theta, jnp.sqrt(nu_hat) + 1e-8, key, cfg.lanczos_iters)[0])
    params = eqx.filter(tr.model_of(theta), eqx.is_array)
    mon = ShockMonitor(lambda p, b: tr.loss_acc(ravel(p), *b)[0], params, _lab_symmetries(norm), every=1, lr=0.01,
                       lanczos_iters=cfg.lanczos_iters, key=jax.random.split(jax.random.PRNGKey(0), 3)[2])
    m = mon.measure(t, params, (A["Xs"], A["Ys"]), st)
    assert m.lam_q == pytest.approx(lab_q, rel=1e-10, abs=1e-10)
    assert m.lam_pre == pytest.approx(lab_pre, rel=1e-10, abs=1e-10)
    if norm:
        lab_s = np.asarray(tr.group_sharpness(f, theta, key))
        np.testing.assert_allclose(m.lam_s, lab_s, rtol=1e-10, atol=1e-10)
        Q = np.asarray(tr.groups["Q"])[np.asarray(tr.groups["scale"])]
        np.testing.assert_allclose(m.x, Q @ np.asarray(theta) ** 2, rtol=1e-12)


# ---------------------------------------------------------------- sections and tangents
def test_sections_are_gauge_invariant_and_tangents_annihilate_gradient():
    """section(g·θ) = section(θ) for a random element of each group; ⟨∇L, J⟩ = 0 for an invariant L."""
    k = jax.random.split(jax.random.PRNGKey(3), 6)
    p = {"W1": jax.random.normal(k[0], (5, 3)), "b1": jax.random.normal(k[1], (5,)),
         "W2": jax.random.normal(k[2], (4, 5)), "b2": jax.random.normal(k[3], (4,)),
         "Q": jax.random.normal(k[4], (2, 6, 3)), "K": jax.random.normal(k[5], (2, 6, 3))}
    syms = [Translation("W2", "b2"), Rescale(("W1", "b1"), ("W2",)), GL("Q", "K")]
    fs = FlatSymmetries(p, syms)
    theta = jax.flatten_util.ravel_pytree(p)[0]
    al = jnp.exp(jax.random.normal(k[0], (5,)))
    A = jnp.eye(3) + 0.3 * jax.random.normal(k[1], (2, 3, 3))
    q = dict(p, W1=p["W1"] * al[:, None], b1=p["b1"] * al, W2=p["W2"] / al[None, :] + 0.7, b2=p["b2"] - 0.2,
             Q=p["Q"] @ A, K=p["K"] @ jnp.linalg.inv(jnp.swapaxes(A, 1, 2)))
    sec = jax.jit(fs.section)
    s1, s2 = sec(theta), sec(jax.flatten_util.ravel_pytree(q)[0])
    # GL sections agree up to the sign of each singular pair: compare the invariant products
    pr = lambda t: fs.unravel(t)  # noqa: E731
    for n in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(pr(s1)[n], pr(s2)[n], atol=1e-10)
    np.testing.assert_allclose(pr(s1)["Q"] @ jnp.swapaxes(pr(s1)["K"], 1, 2),
                               pr(s2)["Q"] @ jnp.swapaxes(pr(s2)["K"], 1, 2), atol=1e-10)

    def L(t):
        d = fs.unravel(t)
        h = jax.nn.relu(d["W1"] @ jnp.ones(3) + d["b1"])
        z = d["W2"] @ h + d["b2"]
        att = jnp.sum((d["Q"] @ jnp.swapaxes(d["K"], 1, 2)) ** 2)
        return jax.nn.logsumexp(z) - z[0] + 0.1 * att
    J = jax.jit(fs.tangents)(theta)
    assert J.shape == (theta.shape[0], 5 + 1 + 5 + 2 * 9)
    np.testing.assert_allclose(jax.grad(L)(theta) @ J, 0.0, atol=1e-10)


def test_bad_input_names_the_problem():
    p = {"w": jnp.ones(3)}
    with pytest.raises(QShockInputError, match="no parameter at path 'v'"):
        ShockMonitor(lambda p, b: 0.0, p, [Scale(("v",))])
    with pytest.raises(QShockInputError, match="every"):
        ShockMonitor(lambda p, b: 0.0, p, [], every=0)
    with pytest.raises(QShockInputError, match="learning rate"):
        ShockMonitor(lambda p, b: jnp.sum(p["w"] ** 2), p, []).update(0, p, None)
    with pytest.raises(QShockInputError, match="steps must increase"):
        f = Forecaster()
        f.observe(Measurement(5, 0.1, lam_q=1.0))
        f.observe(Measurement(5, 0.1, lam_q=1.0))
