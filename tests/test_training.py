"""Training lab: conservation laws in real training, bad config, exact resume."""

import argparse

import jax.numpy as jnp
import numpy as np
import pytest

from qshock.experiments.lab import observables as O
from qshock.experiments.lab.data import load_dataset
from qshock.experiments.cli.train import add_arguments, main, run
from qshock.experiments.lab.training import TrainConfig, get_trainer, train
from qshock.solver.errors import QShockInputError


def _parse(argv):
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


# ------------------------------------------------------------------ bad configuration
BASE = ["--model", "mlp", "--data", "digits", "--lr", "0.1", "--batch", "32", "--steps", "10"]


@pytest.mark.parametrize("change,needle", [
    ({"--model": "resnet"}, "unknown model 'resnet'"),
    ({"--data": "cifar"}, "unknown dataset 'cifar'"),
    ({"--lr": "0"}, "--lr must be"),
    ({"--lr": "-0.001"}, "--lr must be"),
    ({"--batch": "5000"}, "training-set size 1438"),
    ({"--steps": "0"}, "--steps must be"),
    ({"--data": "sequence"}, "cannot train on --data sequence"),
    ({"--optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
])
def test_bad_config_raises_input_error(tmp_path, capsys, change, needle):
    argv = list(BASE)
    for k, v in change.items():
        if k in argv:
            argv[argv.index(k) + 1] = v
        else:
            argv += [k, v]
    argv += ["--out", str(tmp_path / "run"), "--quiet"]
    with pytest.raises(QShockInputError, match=needle.replace("(", r"\(")):
        run(_parse(argv))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


# ------------------------------------------------------------------ conservation laws
def _drift(cfg, etas, steps):
    """Max |conserved(theta_K) - conserved(theta_0)| per conserved key, for each eta (full-batch GD)."""
    cfg = cfg.validate(load_dataset(cfg.data).n_train)
    tr = get_trainer(cfg)
    seeds = jnp.asarray([0], jnp.int32)
    out = []
    for eta in etas:
        th0, st, v = tr.init(seeds, eta, 0.0, 0.0)
        th, _, m = tr.run_chunk(th0, st, v, seeds, 0)
        c0, c1 = O.conserved(tr.model_of(th0[0]), tr.task), O.conserved(tr.model_of(th[0]), tr.task)
        out.append({k: float(jnp.max(jnp.abs(c1[k] - c0[k]))) for k in c0})
        assert np.allclose(np.asarray(m["lr"]), eta)
    return out


def _slope(etas, d):
    return np.polyfit(np.log(etas), np.log(d), 1)[0]


ETAS = np.array([5e-4, 1e-3, 2e-3])


@pytest.mark.parametrize("kw,keys", [
    (dict(model="mlp", data="digits", width=16, depth=1), ["rescale_c"]),
    (dict(model="mlp", data="digits", width=16, depth=1, norm=True), ["scale_sqnorm_layer0"]),
    (dict(model="transformer", data="sequence", width=8, heads=2), ["gl_qk_0", "gl_vo_0"]),
])
def test_gradient_flow_invariants_drift_as_eta_squared(kw, keys):
    cfg = TrainConfig(lr=1.0, steps=10, full_batch=True, sharpness_every=10, dtype="float64", **kw)
    drifts = _drift(cfg, ETAS, 10)
    for k in keys:
        d = [dr[k] for dr in drifts]
        assert abs(_slope(ETAS, d) - 2.0) < 0.2, (k, d)
        assert d[0] > 1e-12  # measurable, not round-off
    # the softmax translation invariant is conserved exactly (round-off)
    for dr in drifts:
        for k in dr:
            if "bias_sum" in k or "col_sums" in k:
                assert dr[k] < 1e-11, (k, dr[k])


def test_logits_bias_sum_conserved_by_minibatch_sgd():
    cfg = TrainConfig(model="mlp", data="digits", width=16, depth=1, lr=0.5, batch=16, steps=50,
                      sharpness_every=50, dtype="float64").validate(1438)
    tr = get_trainer(cfg)
    seeds = jnp.asarray([0, 1], jnp.int32)
    th0, st, v = tr.init(seeds, 0.5, 0.0, 0.0)
    th, _, m = tr.run_chunk(th0, st, v, seeds, 0)
    for s in range(2):
        m0, m1 = tr.model_of(th0[s]), tr.model_of(th[s])
        c0, c1 = O.conserved(m0, "classification"), O.conserved(m1, "classification")
        assert abs(float(c1["logits_bias_sum"] - c0["logits_bias_sum"])) < 1e-12
        assert float(jnp.max(jnp.abs(c1["logits_col_sums"] - c0["logits_col_sums"]))) < 1e-11
        assert float(jnp.linalg.norm(m1.biases[-1] - m0.biases[-1])) > 1e-2  # the bias itself moved
        assert float(jnp.max(jnp.abs(c1["rescale_c"] - c0["rescale_c"]))) > 1e-4  # rescale c is not exact for SGD
    assert float(np.mean(m["loss"][:, -10:])) < float(np.mean(m["loss"][:, :10]))


# ------------------------------------------------------------------ run directory and resume
SMALL = dict(model="mlp", data="digits", width=16, depth=1, lr=0.2, batch=32, steps=60, seeds=(0, 1),
             sharpness_every=10, checkpoint_every=20, lanczos_iters=10, n_eigs=2, dtype="float64")


def test_resume_from_corrupt_checkpoint_is_exact(tmp_path):
    import json
    import os

    from qshock.experiments.lab.runstore import RunStore, read_metrics

    train(TrainConfig(**SMALL), out=str(tmp_path / "a"))
    ds_full = read_metrics(str(tmp_path / "a"))
    cfgdoc = json.load(open(tmp_path / "a" / "config.json"))
    assert cfgdoc["seeds"] == [0, 1] and "jax" in cfgdoc["versions"] and "git_commit" in cfgdoc
    assert ds_full.loss.shape == (2, 60) and ds_full.obs_sharpness.shape == (2, 7, 2)
    np.testing.assert_allclose(ds_full.lr.values, 0.2)
    # interrupted copy: checkpoints 20, 40 valid, 60 corrupt -> resumes from 40
    b = tmp_path / "b"
    st = RunStore(str(b))
    st.write_config(TrainConfig(**SMALL).validate(1438))
    src = RunStore(str(tmp_path / "a"))
    for p in src.checkpoints():
        for ext in (".npz", ".sha256"):
            q = p[:-4] + ext
            open(os.path.join(st.ckpt_dir if os.path.isdir(st.ckpt_dir) else (os.makedirs(st.ckpt_dir) or st.ckpt_dir),
                              os.path.basename(q)), "wb").write(open(q, "rb").read())
    newest = st.checkpoints()[-1]
    with open(newest, "r+b") as f:
        f.truncate(100)
    assert int(st.load_latest()["step"]) == 40
    res = train(TrainConfig(**SMALL), out=str(b), resume=True)
    ds_b = read_metrics(str(b))
    for k in ds_full.data_vars:
        np.testing.assert_array_equal(ds_full[k].values, ds_b[k].values, err_msg=k)
    assert res.steps_per_second > 0


@pytest.mark.slow  # a second compilation (one seed instead of two)
def test_vmapped_seed_equals_single_seed_run():
    full = train(TrainConfig(**SMALL))
    solo = train(TrainConfig(**dict(SMALL, seeds=(1,))))
    np.testing.assert_allclose(solo.step_metrics["loss"][0], full.step_metrics["loss"][1], rtol=1e-12)
    np.testing.assert_allclose(solo.obs["sharpness"][0], full.obs["sharpness"][1], rtol=1e-10)
