"""monitor-eval: the alarm metrics on hand-made series (exact counts), the tuning/held-out split,
the settings grammar, and the study registry."""

import math

import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.studies import monitor_eval as M
from qshock.experiments.studies.driver import STUDIES, load_config


def test_metrics_exact_counts():
    """Alarms at 10, 40, 95 with W = 20 and events at 50, 100: the alarm at 40 precedes 50 (lead 10),
    95 precedes 100 (lead 5), 10 is false. Precision 2/3, recall 1, median lead 7.5,
    1 false alarm in 200 steps = 5 per 1000."""
    pts = np.asarray([10.0, 40.0, 95.0, 120.0])
    score = np.asarray([1.0, 1.0, 1.0, 0.0])
    events = np.asarray([50.0, 100.0])
    p = M.Config(window=20)
    res = M._pool([({"x": (pts, score)}, events, 200)], "x", 0.5, p.window)
    assert res["precision"] == pytest.approx(2 / 3) and res["recall"] == 1.0
    assert res["median_lead"] == 7.5 and res["false_alarms_per_1000"] == pytest.approx(5.0)
    assert res["f1"] == pytest.approx(0.8)
    none = M._pool([({"x": (pts, score)}, events, 200)], "x", 2.0, p.window)
    assert none["alarms"] == 0 and math.isnan(none["precision"]) and none["recall"] == 0.0


def test_threshold_tuned_on_one_half_reported_on_the_other():
    """The tuned threshold maximises F1 on the tuning runs; the held-out numbers use it unchanged."""
    p = M.Config(window=10)
    pts = np.arange(0.0, 100.0, 10.0)
    tune = [({n: (pts, np.where(pts == 40, 1.3, 1.0)) for n in M.PREDICTORS}, np.asarray([45.0]), 100)]
    held = [({n: (pts, np.where(pts == 70, 1.3, 1.0)) for n in M.PREDICTORS}, np.asarray([90.0]), 100)]
    res = M.evaluate_runs(tune, held, p)
    g = res["grad-growth"]
    assert g["threshold"] == 1.1  # the lowest threshold of maximal F1 (alarm at 40 only)
    assert g["alarms"] == 1 and g["precision"] == 0.0 and g["recall"] == 0.0  # 70 is 20 steps early
    assert res["constant"]["precision"] == pytest.approx(2 / 10)  # alarms at 80, 90 see the event


def test_scores_are_causal_and_cut_at_the_first_nonfinite_loss():
    loss = [1.0] * 30 + [5.0] + [1.0] * 10 + [float("nan")] + [1.0] * 8
    ev, end = M._events(loss, 6.0)
    assert ev.tolist() == [30.0, 41.0] and end == 42
    run = dict(obs_steps=[0, 10, 20, 30, 40, 50], predicted=[None, 60, 35, 30, 45, None], raw=[0.1] * 6, ratio=[1.0] * 6,
               loss=loss, grad_norm=[1.0] * 50)
    sc = M._scores(run, M.Config(), end)
    assert sc["monitor"][0].tolist() == [0, 10, 20, 30, 40]
    assert sc["monitor"][1].tolist()[1:] == [-50, -15, 0, -5] and np.isnan(sc["monitor"][1][0])
    z = sc["loss-z"][1]
    assert len(z) == end and z[30] > 6 and np.isinf(z[41])
    # the score at step t does not change when the series is extended beyond t
    sc2 = M._scores(dict(run, loss=loss[:35] + [9.0] * 15), M.Config(), 35)
    np.testing.assert_array_equal(sc2["loss-z"][1][:35], z[:35])


def test_settings_grammar_and_registry():
    assert M.parse_setting("mlp+norm/momentum/0.05/0.01/64") == dict(
        model="mlp", norm=True, optimizer="momentum", lr=0.05, weight_decay=0.01, batch=64)
    for bad in ("mlp/sgd/0.1", "rnn/sgd/0.1/0/full", "mlp/lion/0.1/0/full", "cnn/sgd/0.1/0/full"):
        with pytest.raises(QShockInputError, match="setting"):
            M.parse_setting(bad)
    assert STUDIES["monitor-eval"] == "monitor_eval"
    full, quick = load_config("monitor-eval"), load_config("monitor-eval", quick=True)
    assert len(full.settings) * full.seeds >= 100
    assert {M.parse_setting(s)["optimizer"] for s in full.settings} == {"sgd", "momentum", "adam"}
    assert {M.parse_setting(s)["norm"] for s in full.settings} == {True, False}
    assert {M.parse_setting(s)["weight_decay"] > 0 for s in full.settings} == {True, False}
    assert quick.seeds * len(quick.settings) < full.seeds * len(full.settings)
