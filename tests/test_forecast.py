"""The periodic-spike forecaster (``qshock.experiments.lab.forecast``): exact crossing on the
identity, closed form, scale-invariant quadratic (exact GD and heavy-ball maps), momentum law
order, causality, input errors."""

import math

import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.lab import forecast as F


def _identity_sequence(x0, gt2, eta, lam, n):
    xs = [x0]
    for _ in range(n):
        xs.append((1 - eta * lam) ** 2 * xs[-1] + eta ** 2 * gt2 / xs[-1])
    return np.asarray(xs)


@pytest.mark.parametrize("gt2", [0.0, 0.5, 3.0])
def test_crossing_is_exact_on_the_identity(gt2):
    eta, lam, lam_s, x0 = 0.2, 0.01, 150.0, 40.0
    xs = _identity_sequence(x0, gt2, eta, lam, 3000)
    k_star = int(np.argmax(eta * lam_s / xs >= 2.0))
    assert k_star > 100
    for k0 in (0, 17, k_star // 2, k_star - 1, k_star):
        j = float(F.crossing_steps(xs[k0], lam_s, eta, lam, 4000, gt2=gt2))
        assert j == k_star - k0
    # the iterated sequence itself is the identity
    np.testing.assert_allclose(np.asarray(F.iterate_identity(x0, gt2, eta, lam, 50)), xs[:51], rtol=1e-14)
    # equilibrium above the edge: no crossing within the horizon
    assert float(F.crossing_steps(40.0, 150.0, 0.2, 0.01, 500, gt2=1e6)) == 500.0


@pytest.mark.parametrize("eta,lam", [(0.2, 0.005), (0.1, 0.02), (0.5, 0.001)])
def test_closed_form_agrees_with_iteration_without_gradient(eta, lam):
    for x0, lam_s in ((40.0, 150.0), (12.0, 100.0), (7.0, 33.0)):
        closed = float(F.closed_form_crossing(x0, lam_s, eta, lam))
        it = float(F.crossing_steps(x0, lam_s, eta, lam, 100000, gt2=0.0))
        assert it == math.ceil(closed - 1e-9)
        # a small gradient term delays the crossing, by O(eta^2 g^2 / x) per step
        it_g = float(F.crossing_steps(x0, lam_s, eta, lam, 100000, gt2=1e-3))
        assert it <= it_g <= it + 2
    assert float(F.closed_form_crossing(1.0, 150.0, 0.2, 0.005)) == 0.0  # already past the edge
    assert math.isinf(float(F.closed_form_crossing(40.0, 150.0, 0.2, 0.0)))  # no decay


def _quadratic(a):
    """f(w) = 1/2 sum_{i>=1} a_i (w_i/|w|)^2: scale invariant, minimum on the e_0 axis, sphere Hessian
    at e_0 = diag(a) on e_0^perp (lambda_s = max a)."""
    def grad(w):
        n2 = w @ w
        u = w / math.sqrt(n2)
        gu = np.concatenate([[0.0], a * u[1:]])  # d f / d u
        return (gu - (gu @ u) * u) / math.sqrt(n2)
    return grad


def _simulate(a, w0, eta, lam, beta, n):
    grad = _quadratic(a)
    w, u_prev = w0.copy(), np.zeros_like(w0)
    xs, us, gs = [], [], []
    for _ in range(n):
        g = grad(w)
        u = beta * u_prev - eta * (g + lam * w)
        xs.append(w @ w), us.append(u @ u), gs.append(g @ g)
        w, u_prev = w + u, u
    xs.append(w @ w)
    return np.asarray(xs), np.asarray(us), np.asarray(gs)


@pytest.mark.parametrize("beta", [0.0, 0.9])
def test_scale_invariant_quadratic_forecast_within_one_step(beta):
    rng = np.random.default_rng(0)
    a = np.array([60.0, 25.0, 10.0, 4.0])
    w0 = np.concatenate([[3.0], 1e-3 * rng.standard_normal(4)])
    eta = 0.05 * (1 - beta)
    lam = 0.02
    xs, us, gs = _simulate(a, w0, eta, lam, beta, 3000)
    # exact map: the first step with eta * lambda_s / |w|^2 >= 2(1 + beta)
    k_exact = int(np.argmax(eta * a.max() / xs >= F.edge(beta)))
    assert 200 < k_exact < 5000
    if beta == 0:  # the linearised map along e_max, 1 - eta a_max / x, leaves the unit disc exactly there
        mult = np.abs(1 - eta * a.max() / xs)
        assert mult[k_exact - 1] < 1 <= mult[k_exact]
    # forecast from k0 = 50 with the recent values (data up to k0 only)
    k0 = 50
    st = F.recent_state(k0, xs, gs, us, np.full(10, a.max()), np.arange(0, 100, 10), eta, lam, beta, window=5)
    j = float(F.crossing_steps(st.x, st.lam_s, eta, lam, 10000, gt2=st.gt2, beta=beta, p0=st.p, ut2=st.ut2))
    assert abs(k0 + j - k_exact) <= 1


def test_momentum_recurrence_is_exact_and_reduces_to_identity():
    rng = np.random.default_rng(1)
    a = np.array([60.0, 25.0, 10.0])
    w0 = np.concatenate([[2.0], 0.3 * rng.standard_normal(3)])
    eta, lam, beta = 0.01, 0.01, 0.9
    xs, us, _ = _simulate(a, w0, eta, lam, beta, 300)
    # (3) with the measured |u_k|^2: x_{k+1} = x_k + 2 p_k + |u_k|^2, p from the previous step
    p = 0.5 * (xs[1] - xs[0] - us[0])  # p_0 = <theta_0, u_0>
    for k in range(1, 299):
        p = beta * (p + us[k - 1]) - eta * lam * xs[k]  # p_k from (3), never measured again
        assert abs(xs[k] + 2 * p + us[k] - xs[k + 1]) <= 1e-12 * xs[k + 1]
    # the forecaster's own step, with |u|^2 split into tangential (u~^2 / x) and radial (p^2 / x) parts
    k = 150
    pk = 0.5 * (xs[k + 1] - xs[k] - us[k])
    x1, _ = F.momentum_step(xs[k], pk, us[k] * xs[k] - pk ** 2, eta, lam, beta)
    assert abs(x1 - xs[k + 1]) <= 1e-12 * xs[k + 1]
    # beta = 0: one step of (3) with u~^2 = eta^2 g~^2, p = -eta lam x is identity (1)
    x, gt2, eta0 = 7.0, 0.3, 0.2
    x1, _ = F.momentum_step(x, -eta0 * lam * x, eta0 ** 2 * gt2, eta0, lam, 0.0)
    assert abs(x1 - F.sgd_identity_step(x, gt2, eta0, lam)) <= 1e-14 * x


def test_momentum_oscillator_law_first_order_in_eta_lambda():
    """Slow decay of |theta|^2 under heavy ball with g = 0: the oscillator's slow root (t = eta k)
    against the direct simulation; the relative error is O(eta lambda) (measured order ~ 1)."""
    beta, eta = 0.9, 0.01
    errs = []
    for lam in (0.02, 0.01, 0.005):  # overdamped: (1 - beta)^2 > 4 eta lam (1 + beta)
        th = np.array([1.0, 1.0])  # theta_{-1} = theta_0: zero initial velocity
        prev = th.copy()
        logs, acc = [], 0.0
        for k in range(3000):  # the map is linear: renormalise to avoid underflow
            th, prev = th + beta * (th - prev) - eta * lam * th, th
            s = math.sqrt(th @ th)
            th, prev, acc = th / s, prev / s, acc + 2 * math.log(s)
            logs.append(acc)
        rate = (logs[-1] - logs[-1001]) / 1000  # per step, late times (fast mode gone)
        _, _, r = F.oscillator_params(eta, lam, beta)
        errs.append(abs(eta * r - rate) / abs(rate))
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert errs[0] < 0.05
    assert all(0.8 < o < 1.2 for o in orders), (errs, orders)
    # the closed form uses the same rate
    assert abs(float(F.oscillator_crossing(40.0, 150.0, eta, 0.1, beta))
               - math.log(2 * 1.9 * 40.0 / (eta * 150.0)) / (-eta * F.oscillator_params(eta, 0.1, beta)[2])) < 1e-9


def test_equilibrium_baseline():
    eta, lam, gt2 = 0.2, 0.005, 0.5
    xe = F.equilibrium_sqnorm(gt2, eta, lam)
    assert abs(xe ** 2 - eta * gt2 / (2 * lam)) < 1e-12
    xs = _identity_sequence(20.0, gt2, eta, lam, 20000)
    assert abs(xs[-1] - xe) / xe < 2 * eta * lam  # fixed point to first order in eta lambda
    assert math.isinf(F.equilibrium_crossing(20.0, gt2, 2 * xe / eta * 0.9, eta, lam))  # edge below x_eq


def _fake_run(n, seed=0):
    rng = np.random.default_rng(seed)
    sq = 20.0 * np.exp(-0.002 * np.arange(n))[:, None] * np.array([1.0, 1.3])
    gsq = np.abs(rng.standard_normal((n, 2))) * 1e-3
    usq = 0.04 * (gsq + 0.005 ** 2 * sq)
    osteps = np.arange(0, n + 1, 5)
    ls = 140.0 + rng.standard_normal((len(osteps), 2))
    return sq, gsq, usq, ls, osteps


@pytest.mark.parametrize("beta", [0.0, 0.9])
def test_forecasts_are_causal(beta):
    sq, gsq, usq, ls, osteps = _fake_run(600)
    full = F.forecast_run(sq, gsq, usq, ls, osteps, 0.2, 0.005, beta, horizon=3000)
    m = 300
    cut = F.forecast_run(sq[:m], gsq[:m], usq[:m], ls[osteps <= m], osteps[osteps <= m], 0.2, 0.005, beta, horizon=3000)
    n = len(cut["k0"])
    assert n == 60 and np.array_equal(full["k0"][:n], cut["k0"])
    for key in ("iterate", "closed", "equilibrium"):
        assert np.array_equal(full[key][:n], cut[key]), key  # bit-identical
    # corrupting the future leaves the past unchanged
    sq2 = sq.copy()
    sq2[m + 1:] *= 3.0
    fut = F.forecast_run(sq2, gsq, usq, ls, osteps, 0.2, 0.005, beta, horizon=3000)
    assert np.array_equal(fut["iterate"][:n], full["iterate"][:n])
    # history baselines use only spikes <= k0
    spikes = [100, 210, 330]
    h = F.history_forecasts([50, 100, 150, 250, 400], spikes, period=110.0, first=90.0)
    assert list(h["constant"]) == [90.0, 210.0, 210.0, 320.0, 440.0]
    assert list(h["periodic"]) == [90.0, 210.0, 210.0, 320.0, 450.0]


def test_bad_input_raises():
    with pytest.raises(QShockInputError, match="eta"):
        F.closed_form_crossing(1.0, 1.0, -0.1, 0.01)
    with pytest.raises(QShockInputError, match="lam"):
        F.equilibrium_sqnorm(1.0, 0.1, -1.0)
    with pytest.raises(QShockInputError, match="beta"):
        F.oscillator_params(0.1, 0.01, 1.0)


def test_hybrid_exact_on_sharpening_cycle_and_causal():
    """x from the identity, ln lambda_s linear in k after a spike at step 100: from every k0 with
    three cycle observations the hybrid hits the crossing step of eta lambda_s / x >= 2 exactly; it
    reads only spikes and rows up to k0."""
    eta, lam, gt2, rho = 0.2, 0.005, 0.5, 2e-3
    xs = _identity_sequence(30.0, gt2, eta, lam, 1200)
    k = np.arange(len(xs))
    ls = 120.0 * np.exp(rho * (k - 100))
    ls[:100] = 400.0  # before the spike: above the edge
    k_star = int(np.argmax((eta * ls / xs >= 2.0) & (k > 100)))
    assert 200 < k_star < 1000
    k0s = np.arange(0, 1000, 6)
    x, L = xs[k0s, None], ls[k0s, None]
    p, ut2 = -eta * lam * x, np.full_like(x, eta ** 2 * gt2)
    fb = np.full(len(k0s), -7.0)
    fc = F.last_spike_forecasts(k0s, x, p, ut2, L, eta * L / x, [100], eta, lam, horizon=3000, fallback=fb)
    first = np.searchsorted(k0s, 100) + 2  # the third observation of the cycle
    assert np.all(fc[:first] == -7.0)
    ok = (k0s >= k0s[first]) & (k0s <= k_star)
    assert np.all(np.abs(fc[ok] - k_star) <= 1), (fc[ok], k_star)
    # causal: a later spike and a corrupted future leave every earlier entry bit-identical
    m = 80
    x2 = x.copy()
    x2[m:] *= 2.0
    fut = F.last_spike_forecasts(k0s, x2, p, ut2, L, eta * L / x2, [100, 6 * m + 3], eta, lam, horizon=3000,
                                 fallback=fb)
    assert np.array_equal(fut[:m], fc[:m])


def test_interval_coverage_on_jittered_cycle():
    """Spikes at 100 n + J_n, J_n uniform on [-10, 10]; the forecast with a period of 95 made right
    after spike n misses spike n + 1 by 5 + D, D = J_{n+1} - J_n triangular on [-20, 20] with
    P(D <= -a) = (20 - a)^2 / 800, so its exact 80% range is 5 +- (20 - sqrt(80)) = 5 +- 11.056
    and covers 0.8. The interval tuned on one run covers 0.8 of another run's spikes."""
    a = 20.0 - math.sqrt(80.0)

    def cycle(seed, n=6000):
        sp = 100.0 * np.arange(1, n + 1) + np.random.default_rng(seed).uniform(-10, 10, n)
        k0 = sp[:-1] + 0.5  # the first observation after each spike
        fc = F.history_forecasts(k0, sp, 95.0, 95.0)["constant"]
        return sp[1:], fc

    obs, fc = cycle(0)
    lo, hi = F.residual_interval(obs - fc, 0.8)
    assert abs(lo - (5 - a)) < 0.6 and abs(hi - (5 + a)) < 0.6, (lo, hi, a)
    held_obs, held_fc = cycle(1)
    assert abs(F.interval_coverage(held_obs, held_fc, (lo, hi)) - 0.8) < 0.025
    assert abs(F.interval_coverage(held_obs, held_fc, (5 - a, 5 + a)) - 0.8) < 0.025  # the exact range
    # a 50% interval of the same residuals is narrower and covers half
    lo5, hi5 = F.residual_interval(obs - fc, 0.5)
    assert lo < lo5 < hi5 < hi
    assert abs(F.interval_coverage(held_obs, held_fc, (lo5, hi5)) - 0.5) < 0.03
    assert F.interval_coverage([np.nan], [1.0], (lo, hi)) is None
    assert all(math.isnan(v) for v in F.residual_interval([np.inf, np.nan]))
    with pytest.raises(QShockInputError, match="level"):
        F.residual_interval([1.0, 2.0], 1.0)
